"""The built-in model family of a preset: a teacher, a student distilled from it (half the
layers and width), and a model of the student's shape trained from scratch. Trained on
first use and cached (``cache``); seeded, so the same recipe gives the same weights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from greenai.bench import cache
from greenai.bench.config import ModelPreset
from greenai.bench.corpus import Corpus
from greenai.bench.lm import BuiltinLM, builtin_lm
from greenai.bench.models import GPT, GPTConfig
from greenai.bench.trainer import DISTILL_ALPHA, DISTILL_TEMPERATURE, TrainStep, batches
from greenai.bench.trainer import token_tensor as _tokens

log = logging.getLogger(__name__)

StepHook = Callable[[str, int, int], None]
"""Called as ``hook(model_name, steps_done, steps_total)`` while a model trains."""


@dataclass
class Family:
    """The models of one preset.

    Attributes:
        teacher: The preset's full-size model (the baseline).
        distilled: Half the layers and width, trained on the teacher's logits.
        small: The student's shape trained from scratch on the text alone.
        trained: Names of the models trained by this call (empty when all were cached).
        training_s: Wall-clock seconds spent training them.
    """

    teacher: BuiltinLM
    distilled: BuiltinLM
    small: BuiltinLM
    trained: list[str]
    training_s: float


def _recipe(
    preset: ModelPreset,
    role: str,
    shape: GPTConfig,
    corpus: Corpus,
    seed: int,
    teacher_key: str | None,
) -> dict[str, object]:
    recipe: dict[str, object] = {
        "role": role,
        "shape": shape.to_dict(),
        "steps": preset.train_steps,
        "batch": preset.train_batch,
        "lr": preset.lr,
        "corpus": corpus.digest,
        "seed": seed,
    }
    if teacher_key is not None:
        recipe.update(teacher=teacher_key, temperature=DISTILL_TEMPERATURE, alpha=DISTILL_ALPHA)
    return recipe


@dataclass
class _Builder:
    preset: ModelPreset
    corpus: Corpus
    device: str
    seed: int
    data_dir: Path | None
    hook: StepHook | None

    def _train(
        self, name: str, shape: GPTConfig, teacher: BuiltinLM | None
    ) -> tuple[BuiltinLM, float]:
        torch.manual_seed(self.seed)
        lm = builtin_lm(name, GPT(shape).to(self.device))
        preset = self.preset
        step = TrainStep(
            lm, self.device, preset.lr, total_steps=preset.train_steps, teacher=teacher
        )
        data = _tokens(lm, self.corpus.train)
        stream = batches(data, preset.train_batch, preset.block_size, self.seed)
        loss = float("nan")
        for done in range(preset.train_steps):
            loss = step(next(stream))
            if self.hook is not None:
                self.hook(name, done + 1, preset.train_steps)
        lm.module.eval()
        return lm, loss

    def get(
        self, name: str, role: str, shape: GPTConfig, teacher: tuple[BuiltinLM, str] | None
    ) -> tuple[BuiltinLM, str, bool]:
        """Load ``name`` from the cache or train it: (model, cache key, trained now)."""
        recipe = _recipe(
            self.preset, role, shape, self.corpus, self.seed, teacher[1] if teacher else None
        )
        key = cache.cache_key(recipe)
        cached = cache.load(name, key, self.data_dir)
        if cached is not None:
            module = GPT(shape)
            module.load_state_dict(cached[1])
            return builtin_lm(name, module.to(self.device).eval()), key, False
        lm, loss = self._train(name, shape, teacher[0] if teacher else None)
        state = {k: v.detach().cpu() for k, v in lm.module.state_dict().items()}
        info = {**recipe, "name": name, "final_loss": loss}
        try:
            cache.save(name, key, state, info, self.data_dir)
        except OSError as exc:  # an unwritable cache costs a retrain next time, nothing more
            log.warning("cannot cache model %s: %s", name, exc)
        return lm, key, True


def preset_shape(preset: ModelPreset) -> GPTConfig:
    """The teacher's shape of a preset."""
    return GPTConfig(
        block_size=preset.block_size,
        n_layer=preset.n_layer,
        n_head=preset.n_head,
        d_model=preset.d_model,
    )


def build_family(
    preset: ModelPreset,
    corpus: Corpus,
    *,
    device: str,
    seed: int = 0,
    data_dir: Path | None = None,
    hook: StepHook | None = None,
) -> Family:
    """The preset's teacher, distilled student and from-scratch small model (cached).

    Args:
        preset: Shapes and training recipe.
        corpus: The text (its digest is part of the cache key).
        device: Where models train and run.
        seed: Seed of initial weights and batches.
        data_dir: Data folder of the cache (None: the per-user one).
        hook: Progress callback while training.
    """
    started = time.monotonic()
    builder = _Builder(preset, corpus, device, seed, data_dir, hook)
    shape = preset_shape(preset)
    teacher, teacher_key, t_new = builder.get(preset.name, "teacher", shape, None)
    distilled, _, d_new = builder.get(
        f"{preset.name}-distilled", "distilled", shape.half(), (teacher, teacher_key)
    )
    small, _, s_new = builder.get(f"{preset.name}-half", "scratch", shape.half(), None)
    trained = [lm.name for lm, new in ((teacher, t_new), (distilled, d_new), (small, s_new)) if new]
    return Family(teacher, distilled, small, trained, time.monotonic() - started)
