"""RAPL collector against fake powercap trees (this machine has no /sys/class/powercap)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import Collector
from collectors.errors import Unavailable
from collectors.rapl import RaplCollector, probe, read_small_file, wrap_delta_uj
from collectors.types import Kind, Method
from tests.collectors.powercap_tree import PowercapTree, server_tree


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def _by_id(readings):
    return {r.device_id: r for r in readings}


@pytest.mark.parametrize("layout", ["sysfs", "flat", "nested"])
def test_one_package_and_dram_exact_energy(tmp_path: Path, layout: str) -> None:
    tree = server_tree(tmp_path, packages=1, layout=layout)
    clock = FakeClock()
    rapl = RaplCollector.open(root=tree.root, clock=clock, environ={})
    assert isinstance(rapl, Collector)
    devices = {d.device_id: d for d in rapl.devices()}
    assert set(devices) == {"cpu:package-0", "dram:package-0"}  # core is inside the package
    assert devices["cpu:package-0"].kind is Kind.CPU
    assert devices["dram:package-0"].kind is Kind.DRAM
    assert all(d.method is Method.COUNTER for d in devices.values())

    tree.advance("intel-rapl:0", 30_000_000)
    tree.advance("intel-rapl:0:1", 4_500_000)
    clock.now_s += 1.5
    first = _by_id(rapl.read())
    assert first["cpu:package-0"].energy_j == 30.0
    assert first["dram:package-0"].energy_j == 4.5
    assert first["cpu:package-0"].power_w is None  # no previous read yet
    assert first["cpu:package-0"].method is Method.COUNTER

    tree.advance("intel-rapl:0", 20_000_000)
    clock.now_s += 2.0
    second = _by_id(rapl.read())
    assert second["cpu:package-0"].energy_j == 50.0
    assert second["cpu:package-0"].power_w == 10.0
    assert second["cpu:package-0"].timestamp_s == clock.now_s


def test_wraparound_between_two_reads_is_exact(tmp_path: Path) -> None:
    tree = PowercapTree(tmp_path)
    tree.add_zone("intel-rapl:0", "package-0", energy_uj=999_000_000, max_energy_range_uj=10**9)
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    tree.advance("intel-rapl:0", 3_500_000)  # 999 J -> wraps past 1000 J -> raw 2.5 J
    assert tree.zones["intel-rapl:0"].energy_uj == 2_500_000
    (reading,) = rapl.read()
    assert reading.energy_j == 3.5


def test_psys_is_never_added_to_the_package(tmp_path: Path) -> None:
    tree = server_tree(tmp_path, packages=1)
    tree.add_zone("intel-rapl:1", "psys", energy_uj=5_000_000)
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    ids = [d.device_id for d in rapl.devices()]
    assert ids == ["cpu:package-0", "dram:package-0"]
    package = rapl.devices()[0]
    assert any("psys" in note for note in package.notes)
    assert {r.kind for r in rapl.read()} == {Kind.CPU, Kind.DRAM}


def test_psys_alone_is_reported_as_psys(tmp_path: Path) -> None:
    tree = PowercapTree(tmp_path)
    tree.add_zone("intel-rapl:0", "psys", energy_uj=5_000_000)
    clock = FakeClock()
    rapl = RaplCollector.open(root=tree.root, clock=clock, environ={})
    (device,) = rapl.devices()
    assert (device.device_id, device.kind) == ("psys:psys", Kind.PSYS)
    tree.advance("intel-rapl:0", 7_000_000)
    (reading,) = rapl.read()
    assert (reading.kind, reading.energy_j) == (Kind.PSYS, 7.0)


def test_mmio_mirror_is_counted_once(tmp_path: Path) -> None:
    tree = server_tree(tmp_path, packages=1)
    tree.add_zone("intel-rapl-mmio:0", "package-0", energy_uj=1_000_000)
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    assert [d.device_id for d in rapl.devices()] == ["cpu:package-0", "dram:package-0"]
    tree.advance("intel-rapl:0", 10_000_000)
    tree.advance("intel-rapl-mmio:0", 10_000_000)  # the mirror moves with the package
    readings = _by_id(rapl.read())
    assert readings["cpu:package-0"].energy_j == 10.0
    assert sum(r.energy_j or 0.0 for r in readings.values() if r.kind is Kind.CPU) == 10.0


def test_mmio_used_for_a_package_intel_rapl_lacks(tmp_path: Path) -> None:
    tree = PowercapTree(tmp_path)
    tree.add_zone("intel-rapl:0", "package-0")
    tree.add_zone("intel-rapl-mmio:0", "package-0")
    tree.add_zone("intel-rapl-mmio:1", "package-1")
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    assert [d.device_id for d in rapl.devices()] == ["cpu:package-0", "cpu:package-1"]
    assert "intel-rapl-mmio:1" in rapl.devices()[1].notes[0]


def test_two_packages_each_with_their_dram(tmp_path: Path) -> None:
    tree = server_tree(tmp_path, packages=2)
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    ids = sorted(d.device_id for d in rapl.devices())
    assert ids == ["cpu:package-0", "cpu:package-1", "dram:package-0", "dram:package-1"]
    tree.advance("intel-rapl:0", 1_000_000)
    tree.advance("intel-rapl:1", 2_000_000)
    tree.advance("intel-rapl:1:1", 3_000_000)
    readings = _by_id(rapl.read())
    assert readings["cpu:package-0"].energy_j == 1.0
    assert readings["cpu:package-1"].energy_j == 2.0
    assert readings["dram:package-0"].energy_j == 0.0
    assert readings["dram:package-1"].energy_j == 3.0


def test_vendor_and_model_come_from_cpuinfo(tmp_path: Path) -> None:
    tree = server_tree(tmp_path / "sys")
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cpuinfo").write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor\n"
    )
    rapl = RaplCollector.open(root=tree.root, environ={}, proc_root=proc)
    package = rapl.devices()[0]
    assert (package.vendor, package.name) == ("amd", "AMD EPYC 7763 64-Core Processor")


def _deny_energy(path: Path) -> str:
    """Raises what the kernel raises to a non-root user reading a root-only (0400) energy_uj.

    The tests run as root, which reads a mode-000 file anyway, so the denial is injected
    at the file-reading function; everything else in the tree is read for real.
    """
    if path.name == "energy_uj":
        raise PermissionError(13, "Permission denied", str(path))
    return read_small_file(path)


def test_unreadable_energy_says_how_to_grant_access(tmp_path: Path) -> None:
    tree = server_tree(tmp_path)
    with pytest.raises(Unavailable) as info:
        RaplCollector.open(root=tree.root, environ={}, read_text=_deny_energy)
    assert info.value.collector == "rapl"
    assert "root only since Linux 5.10" in info.value.reason
    assert f"sudo chmod -R a+r {tree.root}/intel-rapl*" in info.value.reason
    assert probe(root=tree.root).available  # the real reader (as root) can read it


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file anyway")
def test_unreadable_energy_real_permissions(tmp_path: Path) -> None:
    tree = server_tree(tmp_path)
    tree.zones["intel-rapl:0"].path.joinpath("energy_uj").chmod(0)
    with pytest.raises(Unavailable, match="chmod"):
        RaplCollector.open(root=tree.root, environ={})


def test_missing_root_says_there_is_no_rapl(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="no RAPL here"):
        RaplCollector.open(root=tmp_path / "absent", environ={})
    empty = tmp_path / "empty"
    empty.mkdir()
    availability = probe(root=empty, environ={})
    assert not availability.available
    assert availability.reason is not None and "no RAPL" in availability.reason


def test_environment_variable_chooses_the_root(tmp_path: Path) -> None:
    tree = server_tree(tmp_path, packages=2)
    rapl = RaplCollector.open(environ={"GREENAI_POWERCAP_ROOT": str(tree.root)})
    assert len(rapl.devices()) == 4
    with pytest.raises(Unavailable, match="absent"):
        RaplCollector.open(environ={"GREENAI_POWERCAP_ROOT": str(tmp_path / "absent")})
    # The argument wins over the environment.
    other = PowercapTree(tmp_path / "other")
    other.add_zone("intel-rapl:0", "package-0")
    env = {"GREENAI_POWERCAP_ROOT": str(tree.root)}
    assert len(RaplCollector.open(root=other.root, environ=env).devices()) == 1


def test_a_zone_that_stops_answering_is_flagged_and_resumes(tmp_path: Path) -> None:
    tree = server_tree(tmp_path)
    rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
    dram_file = tree.zones["intel-rapl:0:1"].path / "energy_uj"
    dram_file.unlink()
    tree.advance("intel-rapl:0", 1_000_000)
    assert [r.device_id for r in rapl.read()] == ["cpu:package-0"]
    lost = {s.device_id: s.lost for s in rapl.status()}
    assert lost == {"cpu:package-0": False, "dram:package-0": True}
    tree.set_energy("intel-rapl:0:1", 200_000 + 2_000_000)
    readings = _by_id(rapl.read())
    assert readings["dram:package-0"].energy_j == 2.0
    assert not any(s.lost for s in rapl.status())


def test_wrap_delta_is_a_pure_function() -> None:
    assert wrap_delta_uj(10, 25, 100) == 15
    assert wrap_delta_uj(90, 5, 100) == 15
    assert wrap_delta_uj(7, 7, 100) == 0


_RANGE = st.integers(min_value=1_000, max_value=2**40)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), max_range=_RANGE)
def test_energy_never_decreases_and_is_exact_under_wraps(data: st.DataObject, max_range: int):
    start = data.draw(st.integers(min_value=0, max_value=max_range - 1))
    steps = data.draw(st.lists(st.integers(min_value=0, max_value=max_range - 1), max_size=25))
    with tempfile.TemporaryDirectory() as base:
        tree = PowercapTree(Path(base))
        tree.add_zone("intel-rapl:0", "package-0", start, max_range)
        rapl = RaplCollector.open(root=tree.root, clock=FakeClock(), environ={})
        previous_j = 0.0
        for step in steps:
            tree.advance("intel-rapl:0", step)
            (reading,) = rapl.read()
            assert reading.energy_j is not None
            assert reading.energy_j >= previous_j
            previous_j = reading.energy_j
        assert previous_j == sum(steps) / 1_000_000
