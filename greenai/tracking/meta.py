"""A run's metadata: what was run, and checks that fail before the job starts.

``technique`` is free text; the documented vocabulary is :data:`TECHNIQUES`, and
``phase`` is one of :data:`PHASES` or free text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from greenai.errors import ConfigError

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

    Attributes:
        name: A label for the run.
        project: Project it belongs to.
        model: The model that ran.
        base_model: The model a technique was applied to (the teacher of a distilled
            student); defaults to ``model``.
        technique: Optimization technique (see :data:`TECHNIQUES`).
        precision: Numeric precision (fp32, bf16, int8, ...).
        phase: training, fine-tuning, inference or evaluation.
        batch_size: Batch size, > 0.
        seq_len: Sequence length in tokens, > 0.
        tags: Free labels, str -> str.
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


def _text(key: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "a non-empty string")
    return value.strip()


def _positive_int(key: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(key, value, "a whole number > 0")
    return value


def _tags(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
    ):
        raise ConfigError("tags", value, "a dict of str -> str")
    return {k: str(v) for k, v in value.items()}


def make_meta(values: Mapping[str, object]) -> RunMeta:
    """Validate metadata keywords (raises ConfigError naming the bad one)."""
    model = _text("model", values.get("model"))
    return RunMeta(
        name=_text("name", values.get("name")),
        project=_text("project", values.get("project")),
        model=model,
        base_model=_text("base_model", values.get("base_model")) or model,
        technique=_text("technique", values.get("technique")),
        precision=_text("precision", values.get("precision")),
        phase=_text("phase", values.get("phase")),
        batch_size=_positive_int("batch_size", values.get("batch_size")),
        seq_len=_positive_int("seq_len", values.get("seq_len")),
        tags=_tags(values.get("tags")),
    )
