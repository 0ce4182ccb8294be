"""A run's metadata: what was run, and checks that fail before the job starts.

``technique`` is free text; the documented vocabulary is :data:`TECHNIQUES`, and
``phase`` is one of :data:`PHASES` or free text.

What the ledger cannot hold as given (:mod:`greenai.ledger.limits`) is fitted, not
refused: text longer than its column is cut, NUL and unencodable characters become
U+FFFD; each change is noted on the metadata, and the run warns and is flagged
``text_cleaned``. Wrong types, blank text and integers beyond 32 bits are refused
before the job starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from greenai.errors import ConfigError
from greenai.ledger.limits import (
    ELLIPSIS,
    INT_MAX,
    TAG_KEY_CHARS,
    TAG_VALUE_CHARS,
    TAGS_MAX,
    TEXT_CHARS,
    brief,
    fit_text,
)

TECHNIQUES = (
    "baseline",
    "bf16",
    "fp16",
    "fp8",
    "int8",
    "int4",
    "pruning",
    "distillation",
    "lora",
    "qlora",
    "smaller-model",
    "speculative-decoding",
    "batching",
    "compile",
)
PHASES = ("training", "fine-tuning", "inference", "evaluation")

META_KEYS = (
    "name",
    "project",
    "model",
    "base_model",
    "technique",
    "precision",
    "phase",
    "batch_size",
    "seq_len",
    "tags",
)


@dataclass(frozen=True, slots=True)
class RunMeta:
    """Describes a run; every field optional.

    Text is at most as long as its ledger column (characters): ``name``, ``project``,
    ``model``, ``base_model`` 200, ``technique`` 100, ``precision`` and ``phase`` 50;
    tags at most 100, keys 200 and values 1000 characters. No NUL or lone surrogate.

    Attributes:
        name: A label for the run.
        project: Project it belongs to.
        model: The model that ran.
        base_model: The model a technique was applied to (the teacher of a distilled
            student); defaults to ``model``.
        technique: Optimization technique (see :data:`TECHNIQUES`).
        precision: Numeric precision (fp32, bf16, int8, ...).
        phase: training, fine-tuning, inference or evaluation.
        batch_size: Batch size, 1 to 2**31-1.
        seq_len: Sequence length in tokens, 1 to 2**31-1.
        tags: Free labels, str -> str.
        notes: What :func:`make_meta` changed to fit the ledger, one sentence each.
    """

    name: str | None = None
    project: str | None = None
    model: str | None = None
    base_model: str | None = None
    technique: str | None = None
    precision: str | None = None
    phase: str | None = None
    batch_size: int | None = None
    seq_len: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _given(value: object) -> object:
    """The value for an error message: itself when short, else a brief description."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int) and value.bit_length() > 64:
        return brief(value)  # its repr may not even be computable
    shown = brief(value)
    return shown if shown.endswith(ELLIPSIS) else value


def _text(key: str, value: object, notes: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, _given(value), "a non-empty string")
    text, changed = fit_text(value.strip(), TEXT_CHARS[key])
    if changed:
        notes.append(f"{key} changed to fit the ledger: {changed}")
    return text


def _positive_int(key: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INT_MAX:
        raise ConfigError(key, _given(value), f"a whole number from 1 to {INT_MAX}")
    return value


def _tag_text(value: str | int | float | bool) -> str:
    try:
        return str(value)
    except ValueError:  # an int past Python's 4300-digit limit
        return brief(value)


def _tags(value: object, notes: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
    ):
        raise ConfigError("tags", _given(value), "a dict of str -> str")
    items = list(value.items())
    changes: list[str] = []
    if len(items) > TAGS_MAX:
        changes.append(f"only the first {TAGS_MAX} of {len(items)} tags kept")
        items = items[:TAGS_MAX]
    tags: dict[str, str] = {}
    for key, raw in items:
        fitted_key, key_change = fit_text(key, TAG_KEY_CHARS)
        fitted, value_change = fit_text(_tag_text(raw), TAG_VALUE_CHARS)
        changes += [f"a key {key_change}"] if key_change else []
        changes += [f"a value {value_change}"] if value_change else []
        tags[fitted_key] = fitted
    if changes:
        notes.append(f"tags changed to fit the ledger: {'; '.join(dict.fromkeys(changes))}")
    return tags


def make_meta(values: Mapping[str, object]) -> RunMeta:
    """Validate metadata keywords; fit text to the ledger's columns (see :class:`RunMeta`).

    Raises:
        ConfigError: A value of the wrong type, blank text, or a size outside 1 to
            2**31-1, naming the key.
    """
    notes: list[str] = []
    model = _text("model", values.get("model"), notes)
    return RunMeta(
        name=_text("name", values.get("name"), notes),
        project=_text("project", values.get("project"), notes),
        model=model,
        base_model=_text("base_model", values.get("base_model"), notes) or model,
        technique=_text("technique", values.get("technique"), notes),
        precision=_text("precision", values.get("precision"), notes),
        phase=_text("phase", values.get("phase"), notes),
        batch_size=_positive_int("batch_size", values.get("batch_size")),
        seq_len=_positive_int("seq_len", values.get("seq_len")),
        tags=_tags(values.get("tags"), notes),
        notes=tuple(notes),
    )
