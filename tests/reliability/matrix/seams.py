"""In-process faults, installed by the standard job itself before it starts tracking.

Each seam is a small object: the settings its run is tracked with (a hub of its own is
selected by a setting no other run uses, as ``tests/tracking/test_signals.py`` does),
and what it does before a step (outside the step's window) or inside one.

- ``collector-raising``: a collector that starts raising at step :data:`FAULT_STEP`;
- ``gpu-lost``: fake GPU 1 falls off the bus at :data:`FAULT_STEP` (the fake NVML
  library named by :data:`FAKE_NVML_ENV`, loaded through ``LD_LIBRARY_PATH``);
- ``rapl-wrap`` / ``rapl-reset``: a fake powercap tree (machine mode, so the run is
  charged its whole counter) whose package counter crosses its range / restarts from 0;
- ``wall-step``: the wall clock read at the run's start is an hour ahead; every later
  read is the system's (NTP stepped it back);
- ``disk-full``: every write of the ledger's journal fails with ENOSPC;
- ``mid-snapshot``: a collector whose read at :data:`FAULT_STEP`'s window entry blocks
  on an event nobody sets (touching ``blocked`` first).
"""

from __future__ import annotations

import dataclasses
import errno
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from collectors.base import Collector
from collectors.types import Device, Kind, Method, Reading

FAULT_STEP = 2
FAKE_NVML_ENV = "MATRIX_FAKE_NVML"
RAPL_RANGE_UJ = 262_143_328_850  # a common max_energy_range_uj
RAPL_STEP_UJ = 2_000_000  # 2 J per step on the package (and 0.5 J on DRAM)
DRAM_STEP_UJ = 500_000
RAPL_WRAP_START_UJ = RAPL_RANGE_UJ - 3 * RAPL_STEP_UJ - 700_000  # wraps in the 4th step
RAPL_RESET_START_UJ = 100_000_000  # 100 J: far from the top, so a restart is no wrap
WALL_AHEAD = timedelta(hours=1)


class Seam:
    """No fault: the standard job as it is.

    Args:
        settings: What its run is tracked with (``greenai.track`` keywords).
    """

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = settings or {}

    def before_step(self, step: int) -> None:
        """Called before each step's window opens."""

    def in_step(self, step: int) -> None:
        """Called inside each step's window, after its work."""


def _own_hub(
    settings: dict[str, Any], wrap: Callable[[list[Collector]], list[Collector]], **hub_kwargs: Any
) -> None:
    """Install the hub that runs with ``settings`` are measured by: this machine's
    collectors as ``wrap`` changes them."""
    from collectors.discover import Discovery, discover
    from greenai.config import load_settings
    from greenai.tracking import hub as hub_module
    from greenai.tracking.lifecycle import hub_key

    key = hub_key(load_settings(settings))
    found = discover(mode=key.mode, powercap_root=key.powercap_root, cpu_tdp_w=key.cpu_tdp_w)
    hub = hub_module.Hub(key, Discovery(wrap(found.collectors), found.availability), **hub_kwargs)
    hub_module._HUBS[key] = hub


class RaisingCollector(Collector):
    """One counter device that answers until armed, then raises on every read."""

    name = "raising"

    def __init__(self) -> None:
        self.armed = False
        self._device = Device("gpu:raising", Kind.GPU, "test", "raising", Method.COUNTER)
        self._energy_j = 0.0

    def devices(self) -> Sequence[Device]:
        return [self._device]

    def read(self) -> list[Reading]:
        if self.armed:
            raise RuntimeError("the driver raised")
        self._energy_j += 1.0
        return [
            Reading("gpu:raising", Kind.GPU, time.monotonic(), 1.0, self._energy_j, Method.COUNTER)
        ]


class CollectorRaising(Seam):
    def __init__(self) -> None:
        super().__init__({"cpu_tdp_w": 321.0})
        self.collector = RaisingCollector()
        _own_hub(self.settings, lambda found: [*found, self.collector])

    def before_step(self, step: int) -> None:
        if step == FAULT_STEP:
            self.collector.armed = True


class GpuLost(Seam):
    def __init__(self) -> None:
        from tests.fake_nvml.driver import FakeNvml

        super().__init__()
        self.nvml = FakeNvml(Path(os.environ[FAKE_NVML_ENV]))

    def before_step(self, step: int) -> None:
        if step == FAULT_STEP:
            self.nvml.set_lost(1, True)


class Rapl(Seam):
    """A package and its DRAM on a fake powercap tree, advanced by each step's work."""

    def __init__(self, out: Path, start_uj: int, reset_at: int | None) -> None:
        from tests.collectors.powercap_tree import PowercapTree

        self.tree = PowercapTree(out / "powercap")
        super().__init__({"powercap_root": str(self.tree.root), "mode": "machine"})
        self.tree.add_zone("intel-rapl:0", "package-0", start_uj, RAPL_RANGE_UJ)
        self.tree.add_zone("intel-rapl:0:1", "dram", 5_000_000, RAPL_RANGE_UJ)
        self.reset_at = reset_at

    def in_step(self, step: int) -> None:
        if step == self.reset_at:
            self.tree.set_energy("intel-rapl:0", 0)  # the counter restarted just now
        else:
            self.tree.advance("intel-rapl:0", RAPL_STEP_UJ)
        self.tree.advance("intel-rapl:0:1", DRAM_STEP_UJ)


def rapl_expected_j(steps: int, reset: bool) -> tuple[float, float]:
    """The package and DRAM energy, J, that ``steps`` steps of a Rapl seam let go by."""
    package_steps = steps - 1 if reset else steps
    return package_steps * RAPL_STEP_UJ / 1e6, steps * DRAM_STEP_UJ / 1e6


class SteppedWall:
    """A wall clock that read an hour ahead once, then was stepped back to the truth."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        now = datetime.now(UTC)
        return now + WALL_AHEAD if self.reads == 1 else now


class WallStep(Seam):
    def __init__(self) -> None:
        super().__init__({"cpu_tdp_w": 322.0})
        _own_hub(self.settings, lambda found: found, wall=SteppedWall())


def _no_space(_fd: int, _data: bytes) -> int:
    raise OSError(errno.ENOSPC, "No space left on device")


class DiskFull(Seam):
    def __init__(self) -> None:
        from greenai.ledger import journal
        from greenai.ledger.spool import FileOps

        super().__init__()
        real = journal.journal_for

        def full(url: str | None, data_dir: Path | None = None, *, ops: Any = None) -> Any:
            return real(url, data_dir, ops=FileOps(write=_no_space))

        journal.journal_for = full  # the writer looks it up when it is made


def _blocking_collector(marker: Path) -> Any:
    """``tests.collectors.test_sampler_hang.BlockingCollector`` with a device of its own
    (beside the fake GPUs, whose ``gpu:0`` it would otherwise stand for)."""
    from tests.collectors.test_sampler_hang import BlockingCollector

    class Blocking(BlockingCollector):
        def devices(self) -> Sequence[Device]:
            return [dataclasses.replace(d, device_id="gpu:blocking") for d in super().devices()]

        def read(self) -> list[Reading]:
            return [dataclasses.replace(r, device_id="gpu:blocking") for r in super().read()]

    return Blocking(marker=marker)


class MidSnapshot(Seam):
    def __init__(self, out: Path) -> None:
        super().__init__({"cpu_tdp_w": 323.0})
        self.collector = _blocking_collector(out / "blocked")
        _own_hub(self.settings, lambda found: [*found, self.collector])

    def before_step(self, step: int) -> None:
        if step == FAULT_STEP:
            self.collector.arm(threading.current_thread().name)  # the window entry blocks


def install(name: str | None, out: Path) -> Seam:
    """The seam called ``name`` (None: none), installed."""
    makers: dict[str | None, Callable[[], Seam]] = {
        None: Seam,
        "collector-raising": CollectorRaising,
        "gpu-lost": GpuLost,
        "rapl-wrap": lambda: Rapl(out, RAPL_WRAP_START_UJ, reset_at=None),
        "rapl-reset": lambda: Rapl(out, RAPL_RESET_START_UJ, reset_at=FAULT_STEP),
        "wall-step": WallStep,
        "disk-full": DiskFull,
        "mid-snapshot": lambda: MidSnapshot(out),
    }
    return makers[name]()
