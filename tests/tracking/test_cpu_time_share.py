"""The CPU-time share of machine-wide counters, segment by segment (injected readings)."""

from __future__ import annotations

import pytest

from greenai.tracking.shares import CpuTimeShare


def test_each_segment_gets_the_job_share_of_busy_cpu_time() -> None:
    readings = iter([(0.0, 0.0), (1.0, 4.0), (1.0, 6.0), (5.0, 6.0)])
    share = CpuTimeShare(lambda: next(readings), ["cpu:package-0", "dram:0"])
    share.advance()
    assert share.shares()["cpu:package-0"].fraction == 1.0  # nothing read yet
    share.advance()
    assert share.shares()["dram:0"].fraction == pytest.approx(0.25)
    assert share.shares()["dram:0"].rule == "cpu_time"
    share.advance()
    assert share.shares()["cpu:package-0"].fraction == 0.0  # the job was idle
    share.advance()  # the machine's busy time did not move: the previous share stands
    assert share.shares()["cpu:package-0"].fraction == 0.0


def test_an_unreadable_segment_keeps_the_previous_share() -> None:
    def fail() -> tuple[float, float]:
        raise OSError("no /proc")

    readings = [(0.0, 0.0), (3.0, 4.0)]

    def read() -> tuple[float, float]:
        return readings.pop(0) if readings else fail()

    share = CpuTimeShare(read, ["cpu:package-0"])
    share.advance()
    share.advance()
    share.advance()
    assert share.shares()["cpu:package-0"].fraction == pytest.approx(0.75)
