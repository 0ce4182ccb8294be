"""The built-in workloads: inference (prefill and decode windows, J per token), training
(a training window, tokens per joule) and the held-out perplexity (the quality metric).

Each measured window is steady state: ``ramp`` steps run before it (ramp-up) and after
it (drain) outside the window, CUDA is synchronized at its edges, and only the tokens
processed inside it are counted in it (the run's totals count every token processed).
Imported only when a benchmark runs.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias
from torch import Tensor

from greenai.bench.context import WorkloadContext
from greenai.bench.lm import CausalLM
from greenai.bench.techniques import Variant
from greenai.bench.trainer import TrainStep, sample_batch, token_tensor

TRAIN_LR = 1e-4  # constant, small: the cells measure steps, they do not retrain the model


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work one repeat of a cell does.

    Attributes:
        batch: Sequences per step.
        prompt_len: Prompt tokens per sequence (prefill, decode).
        prefill_iters: Prefill passes in the prefill window.
        decode_tokens: Decode steps in the decode window.
        train_steps: Optimizer steps in the training window.
        train_seq_len: Tokens per training sequence.
        ramp: Steps before and after each window, excluded from it.
    """

    batch: int
    prompt_len: int
    prefill_iters: int
    decode_tokens: int
    train_steps: int
    train_seq_len: int
    ramp: int


def prompts(lm: CausalLM, text: str, batch: int, length: int, seed: int, device: str) -> Tensor:
    """``batch`` prompts of ``length`` tokens cut from ``text`` (seeded), on ``device``."""
    generator = torch.Generator().manual_seed(seed)
    return sample_batch(token_tensor(lm, text), batch, length - 1, generator).to(device)


@torch.inference_mode()
def perplexity(lm: CausalLM, text: str, max_tokens: int, device: str, batch: int = 8) -> float:
    """exp(mean next-token loss) over consecutive blocks of ``text``, at most ``max_tokens``
    predicted tokens; the model's own precision, the loss in fp32.

    Raises:
        ValueError: The text is shorter than two tokens.
    """
    ids = token_tensor(lm, text)[: max_tokens + 1]
    if ids.numel() < 2:
        raise ValueError("held-out text too short for a perplexity")
    block = min(lm.block_size, ids.numel() - 1)
    full = (ids.numel() - 1) // block
    blocks = [ids[i * block : i * block + block + 1] for i in range(full)]
    groups = [blocks[i : i + batch] for i in range(0, full, batch)]
    tail = ids[full * block :]
    if tail.numel() >= 2:
        groups.append([tail])
    total_nll, total_tokens = 0.0, 0
    for group in groups:
        data = torch.stack(group).to(device)
        logits = lm.logits(data[:, :-1]).float()
        targets = data[:, 1:].reshape(-1)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="sum")
        total_nll += float(nll)
        total_tokens += targets.numel()
    return math.exp(total_nll / total_tokens)


@torch.inference_mode()
def prefill(ctx: WorkloadContext, lm: CausalLM, batch: Tensor, sizes: Sizes) -> None:
    """Prefill passes over ``batch``: ramp-up, the ``prefill`` window, drain."""
    tokens = batch.numel()
    for _ in range(sizes.ramp):
        lm.prefill(batch)
        ctx.add_tokens(input=tokens)
    with ctx.window("prefill"):
        for _ in range(sizes.prefill_iters):
            lm.prefill(batch)
            ctx.add_tokens(input=tokens)
    for _ in range(sizes.ramp):
        lm.prefill(batch)
        ctx.add_tokens(input=tokens)


@torch.inference_mode()
def decode(ctx: WorkloadContext, lm: CausalLM, batch: Tensor, sizes: Sizes) -> None:
    """Greedy generation after a prompt: ramp-up steps, the ``decode`` window, drain."""
    logits, cache = lm.prefill(batch)
    ctx.add_tokens(input=batch.numel())
    rows = batch.shape[0]

    def step() -> None:
        nonlocal logits, cache
        logits, cache = lm.decode(logits.argmax(dim=-1, keepdim=True), cache)
        ctx.add_tokens(output=rows)

    for _ in range(sizes.ramp):
        step()
    with ctx.window("decode"):
        for _ in range(sizes.decode_tokens):
            step()
    for _ in range(sizes.ramp):
        step()


def inference(
    ctx: WorkloadContext, variant: Variant, batch: Tensor, sizes: Sizes, quality: float | None
) -> None:
    """One inference repeat: prefill, then decode; the perplexity as the quality metric."""
    variant.lm.module.eval()
    prefill(ctx, variant.lm, batch, sizes)
    decode(ctx, variant.lm, batch, sizes)
    if quality is not None:
        ctx.log_metric("perplexity", quality)


def training(ctx: WorkloadContext, variant: Variant, data: Tensor, sizes: Sizes) -> None:
    """One training repeat on a fresh copy of the variant's model: ramp-up steps, the
    ``train`` window (its batches drawn beforehand), drain; logs the window's mean loss.

    Raises:
        ValueError: The variant is inference-only.
    """
    source = variant.train_lm
    if source is None:
        raise ValueError(f"{variant.technique} is an inference-only technique")
    lm = source.with_module(copy.deepcopy(source.module))
    step = TrainStep(
        lm, ctx.device, TRAIN_LR, teacher=variant.train_teacher, amp_dtype=variant.amp_dtype
    )
    generator = torch.Generator().manual_seed(1000 + max(ctx.repeat, 0))
    count = sizes.ramp * 2 + sizes.train_steps
    drawn = [sample_batch(data, sizes.batch, sizes.train_seq_len, generator) for _ in range(count)]
    tokens = sizes.batch * sizes.train_seq_len

    def train(batch: Tensor) -> float:
        loss = step(batch)
        ctx.add_tokens(output=tokens)
        return loss

    ramp = sizes.ramp
    window = drawn[ramp : ramp + sizes.train_steps]
    for batch in drawn[:ramp]:
        train(batch)
    with ctx.window("train"):
        losses = [train(batch) for batch in window]
    for batch in drawn[ramp + sizes.train_steps :]:
        train(batch)
    ctx.log_metric("train_loss", sum(losses) / len(losses))
