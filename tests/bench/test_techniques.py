"""Techniques transform models for real: int8 (and its fallback), bf16, pruning."""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from greenai.bench.lm import builtin_lm
from greenai.bench.models import GPT, GPTConfig, nonzero_parameter_count
from greenai.bench.techniques import (
    Sources,
    apply,
    prune_magnitude,
    quantize_int8,
    serialized_bytes,
)


@pytest.fixture
def teacher() -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(n_layer=2, n_head=2, d_model=64, block_size=32)).eval()


def _linear_weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def test_pruning_zeroes_exactly_half_of_the_linear_weights_permanently(teacher: GPT) -> None:
    pruned = prune_magnitude(teacher)
    weights = _linear_weights(pruned)
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros == total // 2
    assert not any(name.endswith("_mask") for name, _ in pruned.named_buffers())
    assert nonzero_parameter_count(pruned) == nonzero_parameter_count(teacher) - zeros


def test_torchao_int8_shrinks_weights_and_keeps_predictions_close(teacher: GPT) -> None:
    quantized, backend = quantize_int8(teacher, "cpu")
    assert backend == "torchao"
    assert serialized_bytes(quantized) < 0.4 * serialized_bytes(teacher)
    ids = torch.randint(0, 256, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        exact, quant = teacher(ids)[0], quantized(ids)[0]
    assert not torch.equal(exact, quant)
    assert torch.allclose(exact, quant, atol=0.05)


def test_int8_falls_back_to_torch_ao_when_torchao_fails(
    teacher: GPT, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torchao.quantization", None)  # import now fails
    quantized, backend = quantize_int8(teacher, "cpu")
    assert backend == "torch.ao.quantization"
    assert serialized_bytes(quantized) < 0.4 * serialized_bytes(teacher)
    with torch.inference_mode():
        logits, _ = quantized(torch.zeros(1, 4, dtype=torch.long))
    assert logits.shape == (1, 4, 256)


def test_bf16_halves_the_weights_and_needs_a_family_for_students(teacher: GPT) -> None:
    variant = apply("bf16", Sources(builtin_lm("t", teacher)), "cpu")
    assert variant.precision == "bf16" and variant.amp_dtype == torch.bfloat16
    assert next(variant.lm.module.parameters()).dtype == torch.bfloat16
    assert next(teacher.parameters()).dtype == torch.float32  # the teacher is untouched
    with pytest.raises(LookupError, match="built-in model family"):
        apply("distillation", Sources(builtin_lm("t", teacher)), "cpu")
