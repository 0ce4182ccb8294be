"""Optimization techniques applied to a model: each gives a different model to measure.

fp32 baseline, bf16 weights, dynamic int8 quantization (torchao; ``torch.ao.quantization``
only when torchao fails), 50% magnitude pruning (made permanent), a distilled student and
a smaller model trained from scratch (both from the built-in family). Imported only when
a benchmark runs.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from greenai.bench.lm import CausalLM
from greenai.bench.models import nonzero_parameter_count, parameter_count

log = logging.getLogger(__name__)

PRUNE_AMOUNT = 0.5
INFERENCE_ONLY = ("int8", "pruning")
PRECISION = {
    "baseline": "fp32",
    "bf16": "bf16",
    "int8": "int8",
    "pruning": "fp32",
    "distillation": "fp32",
    "smaller-model": "fp32",
}


@dataclass
class Sources:
    """The models a technique can start from.

    Attributes:
        teacher: The full-size model (the baseline).
        distilled: Its distilled student, where one exists (built-in families).
        small: A model of the student's shape trained from scratch, where one exists.
    """

    teacher: CausalLM
    distilled: CausalLM | None = None
    small: CausalLM | None = None


@dataclass
class Variant:
    """A model under one technique.

    Attributes:
        technique: Technique name.
        lm: The model to run (inference).
        base_model: The model the technique was applied to (the teacher).
        precision: fp32, bf16 or int8.
        params: Parameters (quantized weights count as their logical elements).
        nonzero_params: Parameters that are not exactly zero.
        size_bytes: Serialized size of the weights, B.
        backend: Library that quantized the model (int8 only).
        train_lm: The model a training cell copies and trains; None when the technique
            is inference-only.
        train_teacher: The teacher a training cell distils from.
        amp_dtype: Mixed precision of training cells.
        perplexity: Held-out perplexity, once computed.
    """

    technique: str
    lm: CausalLM
    base_model: str
    precision: str
    params: int
    nonzero_params: int
    size_bytes: int
    backend: str | None = None
    train_lm: CausalLM | None = None
    train_teacher: CausalLM | None = None
    amp_dtype: torch.dtype | None = None
    perplexity: float | None = None


class _ByteCounter:
    """A write-only file that only counts bytes (serialized size without the copy)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to flush."""


def serialized_bytes(module: nn.Module) -> int:
    """Bytes of ``torch.save(module.state_dict())``, B (nothing is kept in memory)."""
    counter = _ByteCounter()
    torch.save(module.state_dict(), counter)  # type: ignore[arg-type]
    return counter.count


@contextmanager
def _quiet_import() -> Iterator[None]:
    """torchao logs a warning for each CUDA extension a CPU build of torch cannot load,
    and torch one for an enum registration: harmless here, so keep them off the screen."""
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def quantize_int8(module: nn.Module, device: str) -> tuple[nn.Module, str]:
    """Dynamic int8 quantization of every Linear layer: a quantized copy and its backend.

    torchao's ``Int8DynamicActivationInt8WeightConfig`` first; where torchao fails,
    ``torch.ao.quantization.quantize_dynamic`` (deprecated, CPU only) with a warning.

    Raises:
        RuntimeError: Neither backend can quantize the model on ``device``.
    """
    quantized = copy.deepcopy(module)
    try:
        with _quiet_import():
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
        quantize_(quantized, Int8DynamicActivationInt8WeightConfig())
        return quantized, "torchao"
    except Exception as exc:
        if device != "cpu":
            raise RuntimeError(f"torchao int8 quantization failed on {device}: {exc}") from exc
        log.warning("torchao int8 quantization failed (%s): using torch.ao.quantization", exc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # said once above, in the log
        warnings.simplefilter("ignore", UserWarning)
        from torch.ao.quantization import quantize_dynamic

        fallback: nn.Module = quantize_dynamic(  # type: ignore[no-untyped-call]
            copy.deepcopy(module), {nn.Linear}, dtype=torch.qint8
        )
    return fallback, "torch.ao.quantization"


def _prunable(module: nn.Module) -> bool:
    # transformers' GPT-2 family uses Conv1D (a transposed Linear) for its projections
    return isinstance(module, nn.Linear) or type(module).__name__ == "Conv1D"


def prune_magnitude(module: nn.Module, amount: float = PRUNE_AMOUNT) -> nn.Module:
    """A copy with the smallest ``amount`` of Linear weights (by magnitude, over all
    layers together) set to zero, permanently (no masks left behind)."""
    from torch.nn.utils import prune

    pruned = copy.deepcopy(module)
    targets = [(m, "weight") for m in pruned.modules() if _prunable(m)]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    for target, name in targets:
        prune.remove(target, name)  # type: ignore[no-untyped-call]
    return pruned


def _variant(technique: str, lm: CausalLM, base: CausalLM, **extra: object) -> Variant:
    return Variant(
        technique=technique,
        lm=lm,
        base_model=base.name,
        precision=PRECISION[technique],
        params=parameter_count(lm.module),
        nonzero_params=nonzero_parameter_count(lm.module),
        size_bytes=serialized_bytes(lm.module),
        **extra,  # type: ignore[arg-type]
    )


def apply(technique: str, sources: Sources, device: str) -> Variant:
    """The model ``technique`` gives from ``sources``.

    Raises:
        LookupError: The technique needs a model the sources lack (a Hugging Face model
            has no distilled student), with the reason.
        RuntimeError: The technique failed (quantization backend).
    """
    teacher = sources.teacher
    if technique == "baseline":
        return _variant(technique, teacher, teacher, train_lm=teacher)
    if technique == "bf16":
        lm = teacher.with_module(copy.deepcopy(teacher.module).to(torch.bfloat16))
        return _variant(technique, lm, teacher, train_lm=teacher, amp_dtype=torch.bfloat16)
    if technique == "int8":
        module, backend = quantize_int8(teacher.module, device)
        return _variant(technique, teacher.with_module(module), teacher, backend=backend)
    if technique == "pruning":
        return _variant(technique, teacher.with_module(prune_magnitude(teacher.module)), teacher)
    if technique == "distillation":
        if sources.distilled is None:
            raise LookupError("distillation needs a built-in model family (a trained student)")
        student = sources.distilled
        return _variant(technique, student, teacher, train_lm=student, train_teacher=teacher)
    if technique == "smaller-model":
        if sources.small is None:
            raise LookupError("smaller-model needs a built-in model family")
        return _variant(technique, sources.small, teacher, train_lm=sources.small)
    raise LookupError(f"unknown technique {technique!r}")
