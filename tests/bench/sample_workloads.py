"""User workloads used by the plug-in tests, written as a user would write them."""

from __future__ import annotations

import torch

import greenai.bench


@greenai.bench.workload(model="toy-matmul", technique="baseline", precision="fp32")
def matmul(ctx: greenai.bench.WorkloadContext) -> None:
    """Matrix products as a stand-in model; one 'token' per product and row."""
    weights = ctx.state.setdefault(
        "weights", torch.randn(96, 96, generator=torch.Generator().manual_seed(0)) / 10
    )
    x = torch.ones(ctx.batch_size, 96)
    with ctx.window("decode"):
        for _ in range(200):
            x = torch.tanh(x @ weights)
        ctx.add_tokens(output=200 * ctx.batch_size)
    ctx.log_metric("accuracy", 0.75)


def flaky(ctx: greenai.bench.WorkloadContext) -> None:
    """Works in the warm-up and the first repeat, then fails."""
    if ctx.repeat == 1:
        raise RuntimeError("out of memory")
    with ctx.window("step"):
        ctx.add_tokens(output=1)


def no_windows(ctx: greenai.bench.WorkloadContext) -> None:
    """Counts tokens on the run only."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    ctx.add_tokens(input=5, output=7)
