"""Every flag a run can carry has words on the dashboard."""

from __future__ import annotations

import inspect

from dashboard.explain import flag_meaning
from greenai.tracking import flags


def _every_flag() -> list[str]:
    constants = [v for k, v in vars(flags).items() if k.isupper() and isinstance(v, str)]
    made = [
        flags.estimated("cpu"), flags.attribution("compute-processes"),
        flags.collector_errors("nvml", 3), flags.monitoring_error(OSError("x")),
        flags.lost_device("gpu:1"), flags.bridged("gpu:0"), flags.counter_reset("gpu:0"),
    ]  # fmt: skip
    functions = [f for _, f in inspect.getmembers(flags, inspect.isfunction)]
    assert len(functions) == len(made), "a new flag function needs a case here"
    return constants + made


def test_every_flag_has_a_meaning() -> None:
    missing = [flag for flag in _every_flag() if not flag_meaning(flag)]
    assert missing == []
