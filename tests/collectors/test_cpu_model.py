"""CPU estimate: TDP lookup in CodeCarbon's real table, scaling, and the model's energy.

Machine descriptions (/proc/cpuinfo, affinity, cgroup quotas) are fake files in tmp_path
because the rules must be checked on machines this one is not; energies are checked
with injected CPU-time sources and clocks (exact arithmetic) and with real processes
(orderings only).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from collectors.base import Collector
from collectors.cpu_model import CpuModelCollector, probe
from collectors.cpu_tdp import (
    available_cpus,
    cpu_power_csv,
    estimate_cpu_power,
    load_tdp_table,
    match_cpu_model,
    read_cpuinfo,
)
from collectors.types import Kind, Method

GOLD_6248 = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 50.0

    def __call__(self) -> float:
        return self.now_s


class Counter:
    """A cumulative CPU-seconds source the test sets by hand."""

    def __init__(self, value_s: float = 0.0) -> None:
        self.value_s = value_s

    def __call__(self) -> float:
        return self.value_s


def fake_machine(
    root: Path,
    *,
    model: str | None = GOLD_6248,
    sockets: int = 2,
    siblings: int | None = 40,
    vm: bool = False,
    pid: int = 4242,
    allowed: str | None = None,
    cgroup: str | None = None,
) -> Path:
    """Write <root>/proc (cpuinfo, <pid>/status, <pid>/cgroup); returns the proc folder."""
    proc = root / "proc"
    (proc / str(pid)).mkdir(parents=True)
    per_socket = siblings or 4
    blocks = []
    for n in range(sockets * per_socket):
        lines = [f"processor\t: {n}", "vendor_id\t: GenuineIntel"]
        if model is not None:
            lines.append(f"model name\t: {model}")
        lines.append(f"physical id\t: {n // per_socket}")
        if siblings is not None:
            lines.append(f"siblings\t: {siblings}")
        lines.append("flags\t\t: fpu sse2 avx" + (" hypervisor" if vm else ""))
        blocks.append("\n".join(lines))
    (proc / "cpuinfo").write_text("\n\n".join(blocks) + "\n")
    if allowed is not None:
        (proc / str(pid) / "status").write_text(f"Name:\tx\nCpus_allowed_list:\t{allowed}\n")
    (proc / str(pid) / "cgroup").write_text(cgroup or "0::/\n")
    stat = f"{pid} (job) S 1 {pid} {pid} 0 -1 0 0 0 0 0 700 100 0 0 20 0 1 0 1234 0 900 0\n"
    (proc / str(pid) / "stat").write_text(stat)
    return proc


# --- TDP lookup in CodeCarbon's real cpu_power.csv --------------------------------------


@pytest.fixture(scope="module")
def table() -> tuple[tuple[str, float], ...]:
    path = cpu_power_csv()
    assert path is not None and path.name == "cpu_power.csv"
    return load_tdp_table(path)


@pytest.mark.parametrize(
    ("raw", "name", "tdp_w"),
    [
        (GOLD_6248, "Intel Xeon Gold 6248", 150.0),
        ("Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "Intel Xeon Gold 6248R", 205.0),
        ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7763", 280.0),
        ("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "Intel Core i7-8700K", 95.0),
        ("13th Gen Intel(R) Core(TM) i9-13900K", "Intel Core i9-13900K", 125.0),
        ("Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Platinum 8480+", 350.0),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "Intel Xeon E5-2686 v4", 145.0),
    ],
)
def test_known_models_match_codecarbons_table(table, raw: str, name: str, tdp_w: float) -> None:
    assert match_cpu_model(raw, table) == (name, tdp_w)


@pytest.mark.parametrize("raw", ["Intel(R) Xeon(R) Processor", "Intel Xeon", "Fantasy CPU 9000"])
def test_generic_or_unknown_names_match_nothing(table, raw: str) -> None:
    assert match_cpu_model(raw, table) is None


def test_the_table_is_found_without_importing_codecarbon() -> None:
    code = (
        "import sys; from collectors.cpu_tdp import cpu_power_csv; p = cpu_power_csv(); "
        "assert p is not None and p.is_file(); "
        "assert 'codecarbon' not in sys.modules and 'pynvml' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- Basis and scaling -------------------------------------------------------------------


def test_known_model_on_bare_metal_scales_by_threads_per_socket(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, sockets=2, siblings=40)
    info = read_cpuinfo(proc)
    assert (info.logical_cpus, info.sockets, info.threads_per_socket) == (80, 2, 40)
    power = estimate_cpu_power(info)
    assert power.per_cpu_w == 150.0 / 40
    assert power.notes[0] == "TDP 150 W from CodeCarbon's cpu_power.csv (Intel Xeon Gold 6248)"
    machine = CpuModelCollector.open(mode="machine", pid=4242, environ={}, proc_root=proc)
    assert machine.devices()[0].power_limit_w == 300.0  # two whole sockets


def test_process_mode_scales_to_the_cpus_available(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, allowed="0-5,8,10-11")
    collector = CpuModelCollector.open(pid=4242, environ={}, proc_root=proc)
    device = collector.devices()[0]
    assert device.power_limit_w == 9 * 150.0 / 40
    assert any("9 CPUs available (by affinity)" in note for note in device.notes)


def test_a_cgroup_quota_limits_the_cpus(tmp_path: Path) -> None:
    v2 = fake_machine(tmp_path / "v2", allowed="0-79", cgroup="0::/job/step\n")
    cg2 = tmp_path / "v2" / "cgroup"
    (cg2 / "job" / "step").mkdir(parents=True)
    (cg2 / "job" / "cpu.max").write_text("150000 100000\n")
    (cg2 / "job" / "step" / "cpu.max").write_text("max 100000\n")
    info = read_cpuinfo(v2)
    assert available_cpus(4242, info, v2, cg2) == (1.5, "1.5 CPUs available (by cgroup quota)")

    v1 = fake_machine(tmp_path / "v1", allowed="0-79", cgroup="3:cpu,cpuacct:/docker/abc\n")
    cg1 = tmp_path / "v1" / "cgroup" / "cpu,cpuacct" / "docker" / "abc"
    cg1.mkdir(parents=True)
    (cg1 / "cpu.cfs_quota_us").write_text("400000\n")
    (cg1 / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(4242, info, v1, tmp_path / "v1" / "cgroup")[0] == 4.0
    collector = CpuModelCollector.open(
        pid=4242, environ={}, proc_root=v1, cgroup_root=tmp_path / "v1" / "cgroup"
    )
    assert collector.devices()[0].power_limit_w == 4 * 150.0 / 40


def test_a_virtual_machine_is_not_a_whole_socket(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, sockets=1, siblings=2, vm=True, allowed="0-1")
    power = estimate_cpu_power(read_cpuinfo(proc))
    assert power.per_cpu_w == 4.0  # not 150 W / 2 virtual CPUs
    assert "virtual machine" in power.notes[1]
    collector = CpuModelCollector.open(pid=4242, environ={}, proc_root=proc)
    assert collector.devices()[0].power_limit_w == 8.0


def test_unknown_model_uses_four_watts_per_thread(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, model="Fantasy CPU 9000", sockets=1, siblings=16)
    power = estimate_cpu_power(read_cpuinfo(proc))
    assert (power.per_cpu_w, power.tdp_w) == (4.0, None)
    assert "not in CodeCarbon's cpu_power.csv" in power.notes[0]


def test_no_model_name_uses_85_watts(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, model=None, sockets=1, siblings=None)
    power = estimate_cpu_power(read_cpuinfo(proc))
    assert (power.tdp_w, power.per_cpu_w) == (85.0, 85.0 / 4)
    assert "socket size unknown" in power.notes[1]


def test_tdp_override_argument_then_environment(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, allowed="0-3")
    env = {"GREENAI_CPU_TDP_W": "200"}
    by_env = CpuModelCollector.open(pid=4242, environ=env, proc_root=proc).devices()[0]
    assert by_env.power_limit_w == 4 * 200.0 / 40
    assert by_env.notes[0] == "TDP 200 W set by the user"
    by_arg = CpuModelCollector.open(pid=4242, tdp_w=120.0, environ=env, proc_root=proc)
    assert by_arg.devices()[0].power_limit_w == 4 * 120.0 / 40
    with pytest.raises(ValueError, match=r"GREENAI_CPU_TDP_W='lots'.*number above 0"):
        CpuModelCollector.open(pid=4242, environ={"GREENAI_CPU_TDP_W": "lots"}, proc_root=proc)
    with pytest.raises(ValueError, match="tdp_w=-5"):
        CpuModelCollector.open(pid=4242, tdp_w=-5, environ={}, proc_root=proc)


def test_an_invalid_mode_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mode='node'.*'process' or 'machine'"):
        CpuModelCollector.open(mode="node", environ={})


# --- Energy: exact model arithmetic with injected counters -----------------------------


def test_process_mode_energy_is_cpu_seconds_times_per_cpu_power(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, allowed="0-7")  # 3.75 W per logical CPU
    clock, cpu = FakeClock(), Counter(1000.0)
    collector = CpuModelCollector.open(
        pid=4242, environ={}, proc_root=proc, clock=clock, cpu_seconds=cpu
    )
    assert isinstance(collector, Collector)
    cpu.value_s, clock.now_s = 1004.0, 52.0
    (first,) = collector.read()
    assert (first.device_id, first.kind, first.method) == ("cpu:model", Kind.CPU, Method.MODEL)
    assert first.energy_j == 4.0 * 3.75 and first.power_w is None
    cpu.value_s, clock.now_s = 1010.0, 54.0  # 6 CPU-s in 2 s: three CPUs busy
    (second,) = collector.read()
    assert second.energy_j == 10.0 * 3.75
    assert second.power_w == 3 * 3.75
    clock.now_s = 60.0  # idle: the job is charged nothing
    (third,) = collector.read()
    assert (third.energy_j, third.power_w) == (10.0 * 3.75, 0.0)


def test_machine_mode_energy_is_idle_plus_busy_share(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, sockets=1, siblings=8, model="Fantasy CPU 9000")
    clock, busy = FakeClock(), Counter(500.0)
    collector = CpuModelCollector.open(
        mode="machine", pid=4242, environ={}, proc_root=proc, clock=clock, cpu_seconds=busy
    )
    p_max_w = 8 * 4.0  # 8 logical CPUs x 4 W
    assert collector.devices()[0].power_limit_w == p_max_w
    clock.now_s += 10.0
    busy.value_s += 20.0  # two of eight CPUs busy for 10 s
    (reading,) = collector.read()
    expected_j = 0.1 * p_max_w * 10.0 + 0.9 * p_max_w * 20.0 / 8
    assert reading.energy_j == pytest.approx(expected_j, rel=1e-12)
    clock.now_s += 10.0  # fully idle: idle power only
    (idle,) = collector.read()
    assert idle.power_w == pytest.approx(0.1 * p_max_w, rel=1e-12)


def test_energy_never_decreases_even_if_a_source_steps_back(tmp_path: Path) -> None:
    proc = fake_machine(tmp_path, allowed="0-7")
    clock, cpu = FakeClock(), Counter(10.0)
    collector = CpuModelCollector.open(
        pid=4242, environ={}, proc_root=proc, clock=clock, cpu_seconds=cpu
    )
    cpu.value_s, clock.now_s = 12.0, 51.0
    (before,) = collector.read()
    cpu.value_s, clock.now_s = 11.0, 52.0
    (after,) = collector.read()
    assert after.energy_j == before.energy_j and after.power_w == 0.0


# --- Real processes ---------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    burn_s = float(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    end = time.process_time() + burn_s
    while time.process_time() < end:
        pass
    print("done", flush=True)
    sys.stdin.readline()
    """
)


def _start(burn_s: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(burn_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _say(proc: subprocess.Popen[str], expect: str) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == expect


def test_a_busy_process_gets_more_energy_than_an_idle_one() -> None:
    busy, idle = _start(0.5), _start(0.0)
    try:
        busy_model = CpuModelCollector.open(pid=busy.pid, environ={})
        idle_model = CpuModelCollector.open(pid=idle.pid, environ={})
        per_cpu_w = estimate_cpu_power(read_cpuinfo()).per_cpu_w
        _say(busy, "done\n")
        _say(idle, "done\n")
        (busy_reading,) = busy_model.read()
        (idle_reading,) = idle_model.read()
        assert busy_reading.energy_j is not None and idle_reading.energy_j is not None
        assert busy_reading.energy_j > idle_reading.energy_j
        # It burnt at least 0.5 CPU-s since the collector opened; /proc counts whole ticks.
        assert busy_reading.energy_j >= per_cpu_w * (0.5 - 1 / os.sysconf("SC_CLK_TCK"))
    finally:
        for proc in (busy, idle):
            proc.kill()
            proc.wait()


PARENT = textwrap.dedent(
    """
    import subprocess, sys
    print("ready", flush=True)
    sys.stdin.readline()
    subprocess.run([sys.executable, "-c", '''
    import time
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    '''], check=True)
    print("done", flush=True)
    sys.stdin.readline()
    """
)


def test_a_childs_cpu_time_is_charged_to_the_parent_tree() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        clock = FakeClock()
        model = CpuModelCollector.open(pid=parent.pid, environ={}, clock=clock)
        info = read_cpuinfo()
        per_cpu_w = estimate_cpu_power(info).per_cpu_w
        _say(parent, "done\n")  # the child burnt 0.3 s of CPU and was reaped
        clock.now_s += 1.0
        (reading,) = model.read()
        assert reading.energy_j is not None
        assert reading.energy_j >= per_cpu_w * (0.3 - 1 / os.sysconf("SC_CLK_TCK"))
    finally:
        parent.kill()
        parent.wait()


def test_probe_describes_the_estimate() -> None:
    availability = probe(environ={})
    assert availability.available and availability.name == "cpu-model"
    (device,) = availability.devices
    assert device.device_id == "cpu:model" and device.method is Method.MODEL
    assert device.notes  # the basis is stated
