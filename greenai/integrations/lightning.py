"""greenai's callback for Lightning (``lightning.pytorch``)::

    import lightning.pytorch as L
    from greenai.integrations.lightning import GreenAICallback

    trainer = L.Trainer(callbacks=[GreenAICallback(project="chat", technique="lora")])
    trainer.fit(model, data)

Each trainer call is a run with its stage as a window; the job's figures so far are
logged at the trainer's logging steps and its totals at the end (see
:mod:`greenai.integrations.lightning_hooks`). For the older ``pytorch_lightning``
package, use :mod:`greenai.integrations.lightning_pl`.
"""

from __future__ import annotations

from lightning.pytorch import Callback
from lightning.pytorch.loggers import MLFlowLogger

from greenai.integrations.lightning_hooks import GreenAIHooks


class GreenAICallback(GreenAIHooks, Callback):
    """greenai's Lightning callback (see
    :class:`~greenai.integrations.lightning_hooks.GreenAIHooks` for its arguments)."""

    TAG_LOGGERS = (MLFlowLogger,)


__all__ = ["GreenAICallback"]
