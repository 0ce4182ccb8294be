"""Tokens of Lightning batches: what a batch counts, and a tally handed to the run in bulk.

A count may be a tensor on the accelerator (an attention mask's sum): the tally adds
such counts up where they are and reads them once per flush (a logging step, a window's
end, the run's end), so counting tokens never makes the training wait for the device
at every batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from greenai.tracking.run import Run

TokensHook = Callable[[Any], Any]
"""``tokens=``: a batch -> a count, ``(input, output)`` or ``{"input": .., "output": ..}``."""

INPUT = "input"
OUTPUT = "output"
STAGE_KINDS = {"fit": OUTPUT, "validate": INPUT, "test": INPUT, "predict": INPUT}
"""What a single count is in each stage's batches: tokens trained on (output, as
``greenai bench`` counts training) or tokens read (input)."""


def attention_mask_tokens(batch: object) -> Any:
    """The default count: the sum of a dict batch's ``attention_mask`` (a tensor, not
    read yet); None for any other batch."""
    if isinstance(batch, Mapping):
        mask = batch.get("attention_mask")
        if isinstance(mask, torch.Tensor):
            return mask.sum()
    return None


def split_count(counted: object, kind: str) -> tuple[Any, Any]:
    """``(input, output)`` of a hook's answer; a single count is ``kind`` tokens."""
    if counted is None:
        return 0, 0
    if isinstance(counted, Mapping):
        return counted.get(INPUT, 0), counted.get(OUTPUT, 0)
    if isinstance(counted, tuple | list) and len(counted) == 2:
        return counted[0], counted[1]
    return (counted, 0) if kind == INPUT else (0, counted)


def _one_element(value: object) -> bool:
    return isinstance(value, torch.Tensor) and value.numel() == 1


class TokenTally:
    """Counts waiting to be handed to the run (see the module's docstring)."""

    def __init__(self) -> None:
        self.input: Any = 0
        self.output: Any = 0

    def add(self, run: Run, input: object, output: object) -> None:
        """Add a batch's counts; anything but a one-element tensor goes to the run at
        once (which checks it: a bad count is a warning and a flag, never a raise)."""
        direct_in: object = 0
        direct_out: object = 0
        if _one_element(input):
            self.input = self.input + input
        else:
            direct_in = input
        if _one_element(output):
            self.output = self.output + output
        else:
            direct_out = output
        if not _zero(direct_in) or not _zero(direct_out):
            run.add_tokens(input=direct_in, output=direct_out)

    def flush(self, run: Run | None) -> None:
        """Hand the waiting counts to ``run`` (read from the device now); None drops them."""
        n_in, n_out = _read(self.input), _read(self.output)
        self.input, self.output = 0, 0
        if run is not None and (not _zero(n_in) or not _zero(n_out)):
            run.add_tokens(input=n_in, output=n_out)


def _read(value: object) -> object:
    return value.item() if isinstance(value, torch.Tensor) else value


def _zero(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0
