"""A tiny GPT-2 and its data for the Trainer tests: a word-level tokenizer trained here on
a few sentences (no download), one layer of width 32, sentences of different lengths so
batches carry padding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import (
    DataCollatorForLanguageModeling,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
    set_seed,
)

SENTENCES = (
    "the cat sat on the mat",
    "a dog ran in the park today",
    "energy per token matters",
    "the grid supplied the energy",
    "we train a very small model on text",
    "tokens are counted from the mask",
    "carbon intensity depends on the location",
    "one more short line",
)
"""One epoch at batch size 2 and 4 steps: every sentence once."""


def tokenizer() -> PreTrainedTokenizerFast:
    """A word-level tokenizer of :data:`SENTENCES`, padding with ``[PAD]`` (id 0)."""
    raw = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator(
        SENTENCES, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[EOS]"])
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]"
    )


def tiny_model(tok: PreTrainedTokenizerFast, seed: int = 0) -> GPT2LMHeadModel:
    """A GPT-2 of one layer, width 32, two heads, the tokenizer's vocabulary; its random
    weights drawn from ``seed``, so two trainers of the same arguments train alike."""
    set_seed(seed)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=32,
        n_embd=32,
        n_layer=1,
        n_head=2,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
    )
    return GPT2LMHeadModel(config)


def examples(tok: PreTrainedTokenizerFast) -> list[dict[str, Any]]:
    """The sentences, tokenized (no padding: the collator pads each batch)."""
    return [dict(tok(s)) for s in SENTENCES]


def mask_tokens(tok: PreTrainedTokenizerFast) -> int:
    """The attention masks' sum over every sentence: the tokens of one epoch."""
    return sum(sum(e["attention_mask"]) for e in examples(tok))


def training_args(out: Path, **overrides: Any) -> TrainingArguments:
    """4 steps of batch 2 on the CPU, a log entry every 2 steps, no tracker, no save."""
    values: dict[str, Any] = {
        "output_dir": str(out),
        "max_steps": 4,
        "logging_steps": 2,
        "per_device_train_batch_size": 2,
        "per_device_eval_batch_size": 4,
        "use_cpu": True,
        "report_to": [],
        "save_strategy": "no",
        "disable_tqdm": True,
        "seed": 0,
        "dataloader_num_workers": 0,
    }
    values.update(overrides)
    return TrainingArguments(**values)


def make_trainer(
    out: Path, callbacks: list[Any] | None = None, *, model: Any = None, **overrides: Any
) -> Trainer:
    """A Trainer of ``model`` (default: the tiny model) on the sentences (also its
    evaluation set)."""
    tok = tokenizer()
    data = examples(tok)
    return Trainer(
        model=model if model is not None else tiny_model(tok),
        args=training_args(out, **overrides),
        train_dataset=data,
        eval_dataset=data,
        data_collator=DataCollatorForLanguageModeling(tok, mlm=False),
        processing_class=tok,
        callbacks=callbacks,
    )
