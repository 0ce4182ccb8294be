"""Tokens a model processes, counted from its forward calls' inputs.

A forward pre-hook on the Trainer's model sees every batch the model runs on, whatever
the data collator, the data loader's workers (which may be other processes) or the
distributed wrapper (DDP and DataParallel call the hooked module): the tokens of a batch
are the sum of its 2-D ``attention_mask`` (padding excluded), else the elements of
``input_ids`` (or of ``inputs_embeds`` but its last dimension). Training forwards
(``module.training``) and evaluation forwards are counted apart.

Counts stay on the model's device until :meth:`TokenCounter.take` (one device sync per
logging step, not per batch). The hook never raises into the model: a batch it cannot
read is skipped and remembered in :attr:`TokenCounter.problem`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


def batch_tokens(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """The tokens of one forward call's batch (a tensor or an int), None when unknown.

    Args:
        args: Positional arguments of the call (``input_ids`` first, if positional).
        kwargs: Keyword arguments (the Trainer passes the batch as keywords).
    """
    mask = kwargs.get("attention_mask")
    if mask is not None and getattr(mask, "dim", lambda: 0)() == 2:
        return mask.sum()
    ids = kwargs.get("input_ids")
    if ids is None and args:
        ids = args[0]
    if ids is not None and hasattr(ids, "numel"):
        return int(ids.numel())
    embeds = kwargs.get("inputs_embeds")
    if embeds is not None and hasattr(embeds, "shape") and len(embeds.shape) >= 2:
        count = 1
        for size in embeds.shape[:-1]:
            count *= int(size)
        return count
    return None


class TokenCounter:
    """Counts the tokens of a model's forward calls (a forward pre-hook).

    Attributes:
        count_training: Whether training forwards are counted (off when the Trainer
            counts them itself, ``include_num_input_tokens_seen``).
        problem: The last failure of the hook, for the caller to report.
    """

    def __init__(self) -> None:
        self.count_training = True
        self.problem: str | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {"train": 0, "eval": 0}
        self._handles: dict[int, Any] = {}

    def install(self, model: Any) -> bool:
        """Hook ``model`` (once per model); False when it cannot be hooked."""
        key = id(model)
        if key in self._handles:
            return True
        register = getattr(model, "register_forward_pre_hook", None)
        if not callable(register):
            return False
        self._handles[key] = register(self._hook, with_kwargs=True)
        return True

    def remove(self) -> None:
        """Unhook every model hooked."""
        for handle in self._handles.values():
            handle.remove()
        self._handles.clear()

    def _hook(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            training = bool(getattr(module, "training", False))
            if training and not self.count_training:
                return
            tokens = batch_tokens(args, kwargs)
            if tokens is None:
                return
            key = "train" if training else "eval"
            with self._lock:
                self._pending[key] = self._pending[key] + tokens
        except Exception as exc:  # never harm the model's forward
            self.problem = f"token counting failed: {exc!r}"

    def take(self, kind: str) -> int:
        """The tokens counted since the last call for ``kind`` (``train``/``eval``)."""
        with self._lock:
            pending, self._pending[kind] = self._pending[kind], 0
        return int(pending.item()) if hasattr(pending, "item") else int(pending)

    def discard(self, kind: str) -> None:
        """Forget what was counted for ``kind`` and not taken (no device sync)."""
        with self._lock:
            self._pending[kind] = 0
