"""greenai's callback for the ``pytorch_lightning`` package (Lightning before its
``lightning.pytorch`` name): the same hooks as :mod:`greenai.integrations.lightning`,
on that package's ``Callback``::

    import pytorch_lightning as pl
    from greenai.integrations.lightning_pl import GreenAICallback

    trainer = pl.Trainer(callbacks=[GreenAICallback(project="chat")])
"""

from __future__ import annotations

from pytorch_lightning import Callback
from pytorch_lightning.loggers import MLFlowLogger

from greenai.integrations.lightning_hooks import GreenAIHooks


class GreenAICallback(GreenAIHooks, Callback):
    """greenai's callback for ``pytorch_lightning`` (see
    :class:`~greenai.integrations.lightning_hooks.GreenAIHooks` for its arguments)."""

    TAG_LOGGERS = (MLFlowLogger,)


__all__ = ["GreenAICallback"]
