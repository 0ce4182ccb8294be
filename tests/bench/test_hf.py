"""Hugging Face causal LMs from a local folder (``--hf-model``).

transformers is not installed here and no model can be downloaded, so a stand-in
``transformers`` module implements the two calls the adapter makes
(``AutoTokenizer.from_pretrained`` and ``AutoModelForCausalLM.from_pretrained``) and the
output objects it reads (``.logits``, ``.past_key_values``, ``.config``); everything after
loading — techniques, windows, perplexity, tracked runs — is the real code.
"""

from __future__ import annotations

import sys
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from greenai.bench.config import BenchConfig
from greenai.bench.models import GPT, GPTConfig
from greenai.bench.plugins import load_hf_model
from greenai.bench.runner import run_bench
from greenai.errors import ConfigError


class _CausalLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inner = GPT(GPTConfig(n_layer=1, n_head=2, d_model=32, block_size=96))
        self.config = types.SimpleNamespace(max_position_embeddings=96, vocab_size=256)

    def forward(
        self, input_ids: torch.Tensor, past_key_values: Any = None, use_cache: bool = False
    ) -> Any:
        logits, cache = self.inner(input_ids, past_key_values)
        return types.SimpleNamespace(logits=logits, past_key_values=cache if use_cache else None)


class _Tokenizer:
    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        assert add_special_tokens is False
        return list(text.encode("utf-8"))

    def __len__(self) -> int:
        return 256


@pytest.fixture
def fake_transformers(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def loader(factory: Any) -> Any:
        def from_pretrained(path: Any, **kwargs: Any) -> Any:
            calls.append({"path": Path(path), **kwargs})
            return factory()

        return staticmethod(from_pretrained)

    module = types.ModuleType("transformers")
    module.AutoTokenizer = type("AutoTokenizer", (), {"from_pretrained": loader(_Tokenizer)})  # type: ignore[attr-defined]
    module.AutoModelForCausalLM = type(  # type: ignore[attr-defined]
        "AutoModelForCausalLM", (), {"from_pretrained": loader(_CausalLM)}
    )
    monkeypatch.setitem(sys.modules, "transformers", module)
    return calls


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my-llm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


def test_hf_model_is_benchmarked_offline_with_its_techniques(
    tiny_config: BenchConfig, fake_transformers: list[dict[str, Any]], model_folder: Path
) -> None:
    config = replace(
        tiny_config, models=(), hf_models=(str(model_folder),), repeats=1, train_steps=1
    )
    result = run_bench(config, show_progress=False)
    assert fake_transformers and all(c["local_files_only"] is True for c in fake_transformers)
    assert not result.failures
    cells = {(c.meta["technique"], c.meta["phase"]) for c in result.cells}
    assert cells == {
        ("baseline", "inference"),
        ("baseline", "training"),
        ("bf16", "inference"),
        ("bf16", "training"),
        ("int8", "inference"),
        ("pruning", "inference"),
    }
    reasons = {s.label: s.reason for s in result.skipped}
    assert "built-in model family" in reasons["hf:my-llm distillation"]
    assert all(c.meta["model"] == "hf:my-llm" for c in result.cells)
    windows = {(m.cell.split("/")[1], m.window) for m in result.measurements}
    assert ("int8", "decode") in windows and ("baseline", "train") in windows
    perplexities = [c.info["perplexity"] for c in result.cells if c.meta["phase"] == "inference"]
    assert all(p > 1 for p in perplexities)


def test_missing_folder_and_missing_transformers_are_config_errors(
    tmp_path: Path, model_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"config\.json"):
        load_hf_model(str(tmp_path / "absent"), "cpu")
    monkeypatch.setitem(sys.modules, "transformers", None)  # import now raises ImportError
    with pytest.raises(ConfigError, match="pip install transformers"):
        load_hf_model(str(model_folder), "cpu")
