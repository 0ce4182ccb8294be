"""A tiny benchmark configuration that finishes in seconds, and a shared model cache."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from greenai.bench.config import BenchConfig


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session: the tiny family is trained once."""
    return tmp_path_factory.mktemp("bench-models")


@pytest.fixture
def tiny_config(model_cache: Path) -> BenchConfig:
    """gpt-tiny, every technique, both phases, two repeats, small windows."""
    return BenchConfig(
        models=("gpt-tiny",),
        batch_sizes=(2,),
        repeats=2,
        warmup=1,
        prompt_len=16,
        prefill_iters=2,
        decode_tokens=16,
        train_steps=2,
        ramp_steps=1,
        eval_tokens=1024,
        device="cpu",
        threads=1,  # tiny tensors: one thread is fastest, and others share this machine
        project="bench-test",
        data_dir=str(model_cache),
    )
