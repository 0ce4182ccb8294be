"""What a benchmark runs: the matrix (models x techniques x phases x batch sizes) and how.

Built from CLI flags or a small TOML file (a ``[bench]`` table or top-level keys); every
value is checked in ``__post_init__`` and a bad one raises :class:`greenai.ConfigError`
naming the key and what is accepted. No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from greenai.config.toml_file import read_toml
from greenai.errors import ConfigError

TECHNIQUES = ("baseline", "bf16", "int8", "pruning", "distillation", "smaller-model")
"""Built-in techniques, in the order the summary shows them."""
PHASES = ("inference", "training")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True, slots=True)
class ModelPreset:
    """A built-in model family: the teacher's shape and how the family is trained.

    The distilled student and the smaller model have half the teacher's layers and width.

    Attributes:
        name: Preset name (``gpt-small``).
        n_layer, n_head, d_model, block_size: The teacher's shape (block_size in tokens).
        train_steps: Optimizer steps for each model of the family when it is first built.
        train_batch: Sequences per training step.
        lr: Peak learning rate (AdamW, warm-up then cosine decay).
    """

    name: str
    n_layer: int
    n_head: int
    d_model: int
    block_size: int
    train_steps: int
    train_batch: int
    lr: float = 2e-3


PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        ModelPreset("gpt-tiny", n_layer=2, n_head=2, d_model=32, block_size=64, train_steps=12,
                    train_batch=4, lr=3e-3),
        ModelPreset("gpt-small", n_layer=4, n_head=4, d_model=128, block_size=256,
                    train_steps=300, train_batch=12, lr=3e-3),
        ModelPreset("gpt-medium", n_layer=8, n_head=8, d_model=512, block_size=512,
                    train_steps=600, train_batch=32, lr=1e-3),
    )
}  # fmt: skip


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(key, value, "a whole number > 0")
    return value


def _choices(key: str, values: object, accepted: Sequence[str], *, empty: bool = False) -> None:
    if isinstance(values, str) or not isinstance(values, tuple):
        raise ConfigError(key, values, f"a list of: {', '.join(accepted)}")
    if not values and not empty:
        raise ConfigError(key, values, f"at least one of: {', '.join(accepted)}")
    for value in values:
        if value not in accepted:
            raise ConfigError(key, value, f"one of: {', '.join(accepted)}")
    if len(set(values)) != len(values):
        raise ConfigError(key, values, "each value once")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """One benchmark: the matrix and how each cell is measured.

    Attributes:
        models: Built-in model presets (see :data:`PRESETS`).
        hf_models: Local folders of Hugging Face causal LMs (never downloaded).
        workloads: User workloads: entry point names (group ``greenai.workloads``) or
            ``module:function``.
        techniques: Techniques applied to each model (see :data:`TECHNIQUES`).
        phases: ``inference`` (prefill and decode windows) and/or ``training``.
        batch_sizes: Batch sizes, sequences.
        repeats: Measured repeats per cell (interleaved round robin across cells).
        warmup: Untracked warm-up iterations per cell before the first repeat.
        prompt_len: Prompt length of prefill and decode, tokens.
        prefill_iters: Prefill forward passes inside the prefill window.
        decode_tokens: Decode steps inside the decode window (tokens per sequence).
        train_steps: Optimizer steps inside the training window.
        train_seq_len: Sequence length of training steps, tokens (0: the model's context).
        ramp_steps: Steps before each window (ramp-up) and after it (drain), excluded.
        eval_tokens: Held-out tokens for the perplexity, at most.
        device: auto (CUDA where present), cpu or cuda.
        threads: CPU threads of torch (0: torch's default, one per core).
        seed: Seed of every random choice (weights, batches, prompts).
        project: Project of the recorded runs.
        db_url: Ledger URL (None: the configured or default ledger).
        country: ISO 3166-1 alpha-3 country of the runs' grid (None: the configured
            location).
        data_dir: Folder of the model cache (None: the per-user data folder).
    """

    models: tuple[str, ...] = ("gpt-small",)
    hf_models: tuple[str, ...] = ()
    workloads: tuple[str, ...] = ()
    techniques: tuple[str, ...] = TECHNIQUES
    phases: tuple[str, ...] = PHASES
    batch_sizes: tuple[int, ...] = (8,)
    repeats: int = 3
    warmup: int = 1
    prompt_len: int = 64
    prefill_iters: int = 60
    decode_tokens: int = 160
    train_steps: int = 6
    train_seq_len: int = 0
    ramp_steps: int = 2
    eval_tokens: int = 16384
    device: str = "auto"
    threads: int = 0
    seed: int = 0
    project: str = "greenai-bench"
    db_url: str | None = None
    country: str | None = None
    data_dir: str | None = field(default=None)

    def __post_init__(self) -> None:
        _choices("models", self.models, tuple(PRESETS), empty=True)
        _choices("techniques", self.techniques, TECHNIQUES)
        _choices("phases", self.phases, PHASES)
        for key in ("hf_models", "workloads"):
            value = getattr(self, key)
            if isinstance(value, str) or not isinstance(value, tuple):
                raise ConfigError(key, value, "a list of strings")
            for item in value:
                if not isinstance(item, str) or not item.strip():
                    raise ConfigError(key, item, "a non-empty string")
        if not (self.models or self.hf_models or self.workloads):
            raise ConfigError("models", self.models, "at least one model, hf_model or workload")
        if isinstance(self.batch_sizes, str) or not isinstance(self.batch_sizes, tuple):
            raise ConfigError("batch_sizes", self.batch_sizes, "a list of whole numbers > 0")
        if not self.batch_sizes:
            raise ConfigError("batch_sizes", self.batch_sizes, "at least one whole number > 0")
        for size in self.batch_sizes:
            _positive_int("batch_sizes", size)
        positive = ("repeats", "prompt_len", "prefill_iters", "decode_tokens", "train_steps")
        for key in (*positive, "eval_tokens"):
            _positive_int(key, getattr(self, key))
        for key in ("warmup", "ramp_steps", "train_seq_len", "seed", "threads"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(key, value, "a whole number >= 0")
        if self.device not in DEVICES:
            raise ConfigError("device", self.device, f"one of: {', '.join(DEVICES)}")
        if not isinstance(self.project, str) or not self.project.strip():
            raise ConfigError("project", self.project, "a non-empty string")
        for key in ("db_url", "country", "data_dir"):  # from a TOML file: any type
            value = getattr(self, key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigError(key, value, "a non-empty string")

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Every configuration key (TOML keys and ``from_mapping`` keys)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], base: BenchConfig | None = None
    ) -> BenchConfig:
        """A configuration from plain values (TOML, CLI), over ``base`` or the defaults.

        Lists become tuples; a single string or number where a list is expected is
        accepted as a one-element list; None values are ignored.

        Raises:
            ConfigError: An unknown key, or an invalid value.
        """
        known = cls.keys()
        updates: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(key, value, f"a key among: {', '.join(known)}")
            if value is None:
                continue
            updates[key] = _as_tuple(value) if key in _LIST_KEYS else value
        return replace(base or cls(), **updates)

    @classmethod
    def from_toml(cls, path: Path) -> BenchConfig:
        """Read a TOML file: a ``[bench]`` table, or the same keys at top level.

        Raises:
            ConfigError: Unreadable or malformed file, unknown key, invalid value.
        """
        data = read_toml(path)
        table = data.get("bench", data)
        if not isinstance(table, Mapping):
            raise ConfigError("bench", table, "a TOML table of benchmark keys")
        return cls.from_mapping(table)

    def cells_count(self) -> int:
        """Upper bound of cells in the matrix (before inapplicable cells are dropped)."""
        models = len(self.models) + len(self.hf_models)
        return models * len(self.techniques) * len(self.phases) * len(self.batch_sizes) + len(
            self.workloads
        )


_LIST_KEYS = ("models", "hf_models", "workloads", "techniques", "phases", "batch_sizes")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str | int | float):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(value)
    return value  # type: ignore[no-any-return]  # rejected by __post_init__


def split_list(text: str | None) -> list[str] | None:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None stays None (a CLI flag not given)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]
