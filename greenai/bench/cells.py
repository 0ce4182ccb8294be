"""The matrix's cells: one (model, technique, phase, batch size) each, ready to execute.

A cell that cannot exist (a training cell of an inference-only technique, a distilled
student of a Hugging Face model) is skipped with its reason, never silently dropped.
Imported only when a benchmark runs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenai.bench.builtin import StepHook, build_family
from greenai.bench.config import PRESETS, BenchConfig
from greenai.bench.context import WorkloadContext
from greenai.bench.corpus import Corpus
from greenai.bench.lm import CausalLM
from greenai.bench.models import nonzero_parameter_count, parameter_count
from greenai.bench.techniques import Sources, Variant, apply, serialized_bytes
from greenai.bench.trainer import token_tensor
from greenai.bench.workloads import Sizes, inference, perplexity, prompts, training
from greenai.errors import ConfigError

log = logging.getLogger(__name__)

TRAIN_SEQ_LEN_DEFAULT = 256  # tokens, when train_seq_len is 0 and the context is longer


@dataclass
class Cell:
    """One cell of the matrix.

    Attributes:
        key: Unique id (``gpt-small/int8/inference/b8``).
        label: Short label for tables (``gpt-small int8``).
        meta: Run metadata (model, base_model, technique, precision, phase, batch_size,
            seq_len).
        tags: Run tags (str -> str).
        execute: Does one repeat's work given a context (the warm-up too).
        info: What the summary shows besides energy (params, nonzero_params, size_bytes,
            perplexity, backend).
        state: Kept across the warm-up and the repeats (user workloads).
    """

    key: str
    label: str
    meta: dict[str, Any]
    tags: dict[str, str]
    execute: Callable[[WorkloadContext], None]
    info: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """The cell's batch size (1 when none was given)."""
        return int(self.meta.get("batch_size") or 1)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A cell that was not run, and why."""

    label: str
    reason: str


@dataclass
class Matrix:
    """The cells to run, those skipped, and the built-in models trained on the way."""

    cells: list[Cell] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    training_s: float = 0.0


def _variant_info(variant: Variant) -> dict[str, Any]:
    return {
        "params": variant.params,
        "nonzero_params": variant.nonzero_params,
        "size_bytes": variant.size_bytes,
        "backend": variant.backend,
        "perplexity": variant.perplexity,
    }


def check_context(config: BenchConfig, name: str, block_size: int) -> None:
    """Fail before training or loading anything when the windows exceed a model's context.

    Raises:
        ConfigError: prompt_len + decode_tokens + 2 x ramp_steps exceeds ``block_size``.
    """
    needed = config.prompt_len + config.decode_tokens + 2 * config.ramp_steps
    if "inference" in config.phases and needed > block_size:
        raise ConfigError(
            "decode_tokens",
            config.decode_tokens,
            f"prompt_len + decode_tokens + 2 x ramp_steps <= {block_size} "
            f"(the context of {name}); now {needed}",
        )


def _sizes(config: BenchConfig, lm: CausalLM, batch: int) -> Sizes:
    seq_len = config.train_seq_len or min(lm.block_size, TRAIN_SEQ_LEN_DEFAULT)
    if seq_len > lm.block_size:
        raise ConfigError("train_seq_len", seq_len, f"at most {lm.block_size} for {lm.name}")
    return Sizes(
        batch=batch,
        prompt_len=config.prompt_len,
        prefill_iters=config.prefill_iters,
        decode_tokens=config.decode_tokens,
        train_steps=config.train_steps,
        train_seq_len=seq_len,
        ramp=config.ramp_steps,
    )


def _phase_cell(
    config: BenchConfig,
    variant: Variant,
    phase: str,
    batch: int,
    corpus: Corpus,
    device: str,
    train_data: Any,
) -> Cell:
    lm = variant.lm
    sizes = _sizes(config, lm, batch)
    meta = {
        "model": lm.name,
        "base_model": variant.base_model,
        "technique": variant.technique,
        "precision": variant.precision,
        "phase": phase,
        "batch_size": batch,
    }
    execute: Callable[[WorkloadContext], None]
    if phase == "inference":
        meta["seq_len"] = config.prompt_len
        batch_ids = prompts(lm, corpus.held_out, batch, config.prompt_len, config.seed, device)
        execute = functools.partial(
            inference, variant=variant, batch=batch_ids, sizes=sizes, quality=variant.perplexity
        )
    else:
        meta["seq_len"] = sizes.train_seq_len
        execute = functools.partial(training, variant=variant, data=train_data, sizes=sizes)
    info = _variant_info(variant)
    if phase == "training" and variant.train_lm is not None and variant.train_lm is not lm:
        module = variant.train_lm.module  # bf16 training: fp32 weights under autocast
        info.update(
            params=parameter_count(module),
            nonzero_params=nonzero_parameter_count(module),
            size_bytes=serialized_bytes(module),
        )
    tags = {key: str(info[key]) for key in ("params", "nonzero_params", "size_bytes")}
    tags["device"] = device
    if variant.backend:
        tags["int8_backend"] = variant.backend
    key = f"{variant.base_model}/{variant.technique}/{phase}/b{batch}"
    return Cell(key, f"{variant.base_model} {variant.technique}", meta, tags, execute, info)


def model_cells(
    config: BenchConfig, sources: Sources, corpus: Corpus, device: str, matrix: Matrix
) -> None:
    """Add the cells of one model family (every technique, phase and batch size)."""
    teacher = sources.teacher
    check_context(config, teacher.name, teacher.block_size)
    train_data = token_tensor(teacher, corpus.train) if "training" in config.phases else None
    for technique in config.techniques:
        label = f"{teacher.name} {technique}"
        try:
            variant = apply(technique, sources, device)
        except (LookupError, RuntimeError) as exc:
            matrix.skipped.append(Skipped(label, str(exc)))
            continue
        if "inference" in config.phases:
            variant.perplexity = perplexity(variant.lm, corpus.held_out, config.eval_tokens, device)
        for phase in config.phases:
            if phase == "training" and variant.train_lm is None:
                matrix.skipped.append(Skipped(f"{label} training", "inference-only technique"))
                continue
            for batch in config.batch_sizes:
                matrix.cells.append(
                    _phase_cell(config, variant, phase, batch, corpus, device, train_data)
                )


def builtin_matrix(
    config: BenchConfig,
    corpus: Corpus,
    device: str,
    *,
    data_dir: Path | None,
    hook: StepHook | None,
) -> Matrix:
    """Cells of the built-in presets and the Hugging Face folders of ``config``."""
    from greenai.bench.plugins import load_hf_model

    matrix = Matrix()
    for name in config.models:
        check_context(config, name, PRESETS[name].block_size)
    for name in config.models:
        family = build_family(
            PRESETS[name], corpus, device=device, seed=config.seed, data_dir=data_dir, hook=hook
        )
        matrix.trained.extend(family.trained)
        matrix.training_s += family.training_s if family.trained else 0.0
        sources = Sources(family.teacher, family.distilled, family.small)
        model_cells(config, sources, corpus, device, matrix)
    for path in config.hf_models:
        model_cells(config, Sources(load_hf_model(path, device)), corpus, device, matrix)
    return matrix


def user_cells(config: BenchConfig, device: str, matrix: Matrix) -> None:
    """Add a cell for each user workload (``--workload``), per batch size."""
    from greenai.bench.plugins import load_workload

    for spec in config.workloads:
        fn, meta = load_workload(spec)
        for batch in config.batch_sizes:
            cell_meta = {**meta, "batch_size": batch}
            cell_meta.setdefault("base_model", meta["model"])
            key = f"workload:{spec}/b{batch}"
            tags = {"workload": spec, "device": device}
            matrix.cells.append(
                Cell(key, f"{meta['model']} {meta['technique']}", cell_meta, tags, fn)
            )
