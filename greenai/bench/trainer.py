"""Training steps: next-token cross-entropy, or distillation from a teacher's logits.

Used to build the built-in models (``builtin``) and as the measured work of training
cells (``workloads``). Imported only when a benchmark runs.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F  # noqa: N812 - the usual alias
from torch import Tensor

from greenai.bench.lm import CausalLM

DISTILL_TEMPERATURE = 2.0
DISTILL_ALPHA = 0.9  # weight of the teacher's soft targets; the rest is next-token loss


def token_tensor(lm: CausalLM, text: str) -> Tensor:
    """The text's token ids as one long tensor (on the CPU)."""
    return torch.tensor(lm.tokenizer.encode(text), dtype=torch.long)


def sample_batch(data: Tensor, batch: int, seq_len: int, generator: torch.Generator) -> Tensor:
    """``batch`` random windows of ``seq_len + 1`` consecutive tokens (inputs and targets).

    Raises:
        ValueError: The text is shorter than one window.
    """
    span = data.numel() - seq_len - 1
    if span <= 0:
        raise ValueError(f"text of {data.numel()} tokens is too short for seq_len={seq_len}")
    starts = torch.randint(0, span, (batch,), generator=generator)
    return torch.stack([data[s : s + seq_len + 1] for s in starts.tolist()])


def autocast(device: str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[None]:
    """Mixed precision on ``device`` when ``dtype`` is set, else nothing."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.split(":", maxsplit=1)[0], dtype=dtype)


def distill_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    targets: Tensor,
    temperature: float = DISTILL_TEMPERATURE,
    alpha: float = DISTILL_ALPHA,
) -> Tensor:
    """Hinton's distillation loss: KL to the teacher's softened distribution (x T^2),
    mixed with the next-token cross-entropy."""
    vocab = student_logits.shape[-1]
    soft = F.kl_div(
        F.log_softmax(student_logits.float().reshape(-1, vocab) / temperature, dim=-1),
        F.log_softmax(teacher_logits.float().reshape(-1, vocab) / temperature, dim=-1),
        log_target=True,
        reduction="batchmean",
    ) * (temperature**2)
    hard = F.cross_entropy(student_logits.float().reshape(-1, vocab), targets.reshape(-1))
    return alpha * soft + (1 - alpha) * hard


class TrainStep:
    """One optimizer step (AdamW, gradient clipping) of ``lm``, optionally distilled.

    Args:
        lm: The model to train (its module is updated in place).
        device: Where batches go.
        lr: Peak learning rate.
        total_steps: With a value, a warm-up (10%) then cosine decay to 10% of ``lr``
            over that many steps; None keeps ``lr`` constant.
        teacher: A frozen teacher whose logits the student learns from.
        amp_dtype: Mixed-precision dtype (torch.bfloat16) or None for fp32.
    """

    def __init__(
        self,
        lm: CausalLM,
        device: str,
        lr: float,
        *,
        total_steps: int | None = None,
        teacher: CausalLM | None = None,
        amp_dtype: torch.dtype | None = None,
    ) -> None:
        self.lm, self.device, self.teacher, self.amp_dtype = lm, device, teacher, amp_dtype
        self.optimizer = torch.optim.AdamW(lm.module.parameters(), lr=lr, weight_decay=0.01)
        self.lr, self.total_steps, self.step_index = lr, total_steps, 0
        lm.module.train()
        if teacher is not None:
            teacher.module.eval()

    def _lr(self) -> float:
        if self.total_steps is None:
            return self.lr
        warm = max(1, self.total_steps // 10)
        if self.step_index < warm:
            return self.lr * (self.step_index + 1) / warm
        progress = min(1.0, (self.step_index - warm) / max(1, self.total_steps - warm))
        return self.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def __call__(self, batch: Tensor) -> float:
        """Train on ``batch`` (batch, seq_len + 1); returns the loss."""
        batch = batch.to(self.device, non_blocking=True)
        inputs, targets = batch[:, :-1], batch[:, 1:]
        for group in self.optimizer.param_groups:
            group["lr"] = self._lr()
        with autocast(self.device, self.amp_dtype):
            logits = self.lm.logits(inputs)
            if self.teacher is None:
                loss = F.cross_entropy(
                    logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1)
                )
            else:
                with torch.no_grad():
                    teacher_logits = self.teacher.logits(inputs)
                loss = distill_loss(logits, teacher_logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(self.lm.module.parameters(), 1.0)
        self.optimizer.step()
        self.step_index += 1
        return float(loss.detach())


def batches(data: Tensor, batch: int, seq_len: int, seed: int) -> Iterator[Tensor]:
    """An endless, seeded stream of training batches."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield sample_batch(data, batch, seq_len, generator)
