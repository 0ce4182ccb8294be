"""What a Lightning stage's run is: its phase, its precision in greenai's names, and the
options of :class:`~greenai.integrations.lightning.GreenAICallback` checked up front.

Pure: nothing of Lightning is imported (the trainer's values come in as plain strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STAGES = ("fit", "validate", "test", "predict")
"""Lightning's entry points (``Trainer.fit``, ``validate``, ``test``, ``predict``): each
call is one run, and each stage is a window of that name."""

STAGE_PHASES = {
    "fit": "training",
    "validate": "evaluation",
    "test": "evaluation",
    "predict": "inference",
}
"""The phase of a stage's run (``phase=`` renames the fit's, e.g. ``fine-tuning``)."""

PRECISIONS = {
    "64-true": "fp64",
    "64": "fp64",
    "32-true": "fp32",
    "32": "fp32",
    "16-mixed": "fp16",
    "16": "fp16",
    "16-true": "fp16",
    "bf16-mixed": "bf16",
    "bf16": "bf16",
    "bf16-true": "bf16",
    "transformer-engine": "fp8",
    "transformer-engine-float16": "fp8",
}
"""``Trainer.precision`` -> greenai's precision names (those of ``greenai bench``). Mixed
and true half precision both count as their half type (the autocast dtype does the
work); the trainer's own string is kept in the tag :data:`PRECISION_TAG`."""

PRECISION_TAG = "lightning_precision"


def stage_name(stage: object) -> str:
    """The stage's plain name (``fit``) from Lightning's ``TrainerFn`` or a string."""
    return str(getattr(stage, "value", stage))


def greenai_precision(lightning_precision: object) -> str | None:
    """greenai's name of a ``Trainer.precision`` value; an unknown one is kept as given
    (free text), and None stays None."""
    if lightning_precision is None:
        return None
    text = str(lightning_precision)
    return PRECISIONS.get(text, text)


def run_options(
    options: Mapping[str, Any],
    *,
    stage: str,
    lightning_precision: object,
    module_name: str,
) -> dict[str, Any]:
    """The keywords of ``greenai.start`` for one stage's run.

    Args:
        options: What the callback was given (metadata, settings, ``parent``).
        stage: ``fit``, ``validate``, ``test`` or ``predict``.
        lightning_precision: ``Trainer.precision`` (``"bf16-mixed"``).
        module_name: The LightningModule's class name: the model when none was given.

    Returns:
        The options with the stage's defaults: ``phase`` (the given phase applies to
        ``fit`` only: evaluation and prediction keep theirs), ``precision``, ``model``,
        and the trainer's precision string in the tags.
    """
    given = dict(options)
    fit_phase = given.pop("phase", None)
    phase = fit_phase if stage == "fit" and fit_phase is not None else STAGE_PHASES.get(stage)
    chosen: dict[str, Any] = {"phase": phase, **given}
    chosen.setdefault("model", module_name)
    if chosen.get("precision") is None:
        chosen["precision"] = greenai_precision(lightning_precision)
    if lightning_precision is not None:
        tags = dict(chosen.get("tags") or {})
        tags.setdefault(PRECISION_TAG, str(lightning_precision))
        chosen["tags"] = tags
    return {k: v for k, v in chosen.items() if v is not None}


def check_options(options: Mapping[str, Any]) -> None:
    """Fail now, before any trainer runs, on an unknown keyword or a bad value.

    Raises:
        TypeError: An unknown keyword (the message lists the valid ones).
        greenai.ConfigError: An invalid metadata or settings value.
    """
    import greenai
    from greenai.config import Settings, load_settings

    greenai.track(**options)  # keywords and metadata, as greenai.start checks them
    settings_keys = set(Settings.keys())
    load_settings({k: v for k, v in options.items() if k in settings_keys})
