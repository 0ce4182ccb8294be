"""DRAM estimate: exact trapezoids with injected memory sources and clocks, a fake
/proc/meminfo for machine mode, and real processes (orderings only) for process mode."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from collectors.base import Collector
from collectors.dram_model import DramModelCollector, mem_total_bytes, probe
from collectors.errors import Unavailable
from collectors.types import Kind, Method

GB = 2**30


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 10.0

    def __call__(self) -> float:
        return self.now_s


class Memory:
    def __init__(self, value_bytes: int) -> None:
        self.value_bytes = value_bytes

    def __call__(self) -> int:
        return self.value_bytes


def _meminfo(tmp_path: Path, kib: int) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "meminfo").write_text(f"MemTotal:       {kib} kB\nMemFree:         1000 kB\n")
    return proc


def test_machine_mode_charges_all_memory_at_a_constant_power(tmp_path: Path) -> None:
    proc = _meminfo(tmp_path, 16 * 1024 * 1024)  # 16 GB
    assert mem_total_bytes(proc) == 16 * GB
    clock = FakeClock()
    dram = DramModelCollector.open(mode="machine", environ={}, proc_root=proc, clock=clock)
    assert isinstance(dram, Collector)
    (device,) = dram.devices()
    assert (device.device_id, device.kind, device.method) == ("dram:model", Kind.DRAM, Method.MODEL)
    assert "0.375 W per GB of memory" in device.notes
    clock.now_s += 10.0
    (reading,) = dram.read()
    assert reading.power_w == 16 * 0.375
    assert reading.energy_j == 16 * 0.375 * 10.0


def test_process_mode_integrates_trapezoids_between_reads() -> None:
    clock, memory = FakeClock(), Memory(1 * GB)
    dram = DramModelCollector.open(environ={}, clock=clock, memory_bytes=memory)
    clock.now_s += 2.0
    memory.value_bytes = 3 * GB
    (first,) = dram.read()
    assert first.power_w == 3 * 0.375
    assert first.energy_j == (1 + 3) / 2 * 0.375 * 2.0
    clock.now_s += 1.0
    (second,) = dram.read()
    assert second.energy_j == (1 + 3) / 2 * 0.375 * 2.0 + 3 * 0.375 * 1.0
    memory.value_bytes = 0
    clock.now_s += 4.0
    (third,) = dram.read()
    assert (third.power_w, third.energy_j) == (0.0, 1.5 + 1.125 + (3 + 0) / 2 * 0.375 * 4.0)


def test_watts_per_gb_override_and_errors() -> None:
    clock, memory = FakeClock(), Memory(2 * GB)
    env = {"GREENAI_DRAM_W_PER_GB": "0.5"}
    dram = DramModelCollector.open(environ=env, clock=clock, memory_bytes=memory)
    clock.now_s += 1.0
    assert dram.read()[0].energy_j == 1.0
    with pytest.raises(ValueError, match=r"GREENAI_DRAM_W_PER_GB='x'.*number above 0"):
        DramModelCollector.open(environ={"GREENAI_DRAM_W_PER_GB": "x"}, memory_bytes=memory)
    with pytest.raises(ValueError, match="mode='all'"):
        DramModelCollector.open(mode="all", environ={})


def test_missing_meminfo_or_process_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="memory size"):
        DramModelCollector.open(mode="machine", environ={}, proc_root=tmp_path)
    with pytest.raises(Unavailable, match="not found"):
        DramModelCollector.open(pid=424242, environ={}, proc_root=tmp_path)


HOLDER = textwrap.dedent(
    """
    import sys
    block = b"\\x01" * int(sys.argv[1])  # written, so resident
    print("ready", flush=True)
    sys.stdin.readline()
    """
)


def _hold(size_bytes: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(size_bytes)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_a_process_holding_more_memory_is_charged_more() -> None:
    big, small = _hold(256 * 2**20), _hold(0)
    try:
        clock = FakeClock()
        big_dram = DramModelCollector.open(pid=big.pid, environ={}, clock=clock)
        small_dram = DramModelCollector.open(pid=small.pid, environ={}, clock=clock)
        clock.now_s += 1.0
        (big_reading,) = big_dram.read()
        (small_reading,) = small_dram.read()
        assert big_reading.power_w is not None and small_reading.power_w is not None
        assert big_reading.power_w >= 0.25 * 0.375  # at least the 256 MB it wrote
        assert big_reading.power_w > small_reading.power_w
        assert big_reading.energy_j is not None and small_reading.energy_j is not None
        assert big_reading.energy_j > small_reading.energy_j
    finally:
        for proc in (big, small):
            proc.kill()
            proc.wait()


def test_probe_describes_the_estimate() -> None:
    availability = probe(mode="machine", environ={})
    assert availability.available
    (device,) = availability.devices
    assert device.device_id == "dram:model"
