"""Devices that fail: transient NVML errors are retried and bridged, lost GPUs stop
being read, and every error, gap and bridge is flagged on exactly the runs it touched."""

from __future__ import annotations

import pytest

import greenai
from greenai.tracking.hub import Hub
from tests.fake_nvml.driver import FakeNvml
from tests.tracking.helpers import stored
from tests.tracking.manual import gpu_j

pytestmark = pytest.mark.usefixtures("manual_hub")
UNKNOWN = 999  # NVML_ERROR_UNKNOWN


def flags(run: greenai.Run) -> list[str]:
    return list(stored(run.id)["run"]["flags"])


def test_a_transient_error_is_bridged_exactly_and_the_gpu_stays(
    fake_nvml: FakeNvml, manual_hub: Hub
) -> None:
    with greenai.track() as run:
        fake_nvml.set_time(1.0)
        fake_nvml.set_error(0, UNKNOWN)
        fake_nvml.set_time(2.0)
        manual_hub.settle()  # a heartbeat's read fails
        fake_nvml.set_error(0, 0)  # the device answers again a second later
        fake_nvml.set_time(4.4)
    assert gpu_j(run, "gpu:0") == pytest.approx(440.0)  # the counter covers the gap
    assert gpu_j(run, "gpu:1") == pytest.approx(440.0)
    found = flags(run)
    assert "bridged:gpu:0" in found
    assert any(f.startswith("collector_errors:gpu:0=") for f in found)
    assert not any(f.startswith("device_lost") for f in found)

    fake_nvml.set_time(5.0)
    with greenai.track() as later:
        fake_nvml.set_time(6.0)
    assert gpu_j(later, "gpu:0") == pytest.approx(100.0)
    assert not any(f.startswith(("bridged", "collector_errors")) for f in flags(later))


def test_a_failed_read_at_a_window_boundary_loses_nothing(fake_nvml: FakeNvml) -> None:
    with greenai.track() as run:
        fake_nvml.set_time(1.0)
        fake_nvml.set_error(0, UNKNOWN)
        with run.window("w") as window:  # its entry snapshot cannot read gpu:0
            fake_nvml.set_error(0, 0)
            fake_nvml.set_time(3.0)
        fake_nvml.set_time(6.0)
    assert gpu_j(run, "gpu:0") == pytest.approx(600.0)
    # Its entry carried the last reading (t = 0); the reading at t = 3 s is spread over
    # the bridged 0-1-3 s by time: at constant power, exact, and the window says so.
    assert gpu_j(window, "gpu:0") == pytest.approx(200.0)
    assert gpu_j(window, "gpu:1") == pytest.approx(200.0)
    assert "bridged:gpu:0" in window.to_dict()["flags"]


def test_a_failed_read_at_stop_keeps_the_last_known_energy_flagged(
    fake_nvml: FakeNvml, manual_hub: Hub
) -> None:
    with greenai.track() as run:
        fake_nvml.set_time(5.0)
        manual_hub.settle()
        fake_nvml.set_time(6.0)
        fake_nvml.set_error(0, UNKNOWN)
    assert gpu_j(run, "gpu:0") == pytest.approx(500.0)  # up to its last reading
    assert gpu_j(run, "gpu:1") == pytest.approx(600.0)
    assert "bridged:gpu:0" in flags(run)


def test_a_power_only_gpu_is_bridged_with_its_last_power(
    fake_nvml: FakeNvml, monkeypatch: pytest.MonkeyPatch, manual_hub: Hub
) -> None:
    manual_hub.sampler.close()
    fake_nvml.set_counter_supported(0, False)
    from tests.tracking.manual import install_manual_hub

    hub = install_manual_hub(fake_nvml, monkeypatch)
    try:
        with greenai.track() as run:
            for step in range(1, 61):  # 6 s, sampled at 10 Hz
                fake_nvml.set_time(step / 10)
                hub.sampler.run_due(step / 10)
                if step == 30:
                    fake_nvml.set_error(0, UNKNOWN)
                if step == 40:
                    fake_nvml.set_error(0, 0)
    finally:
        hub.sampler.close()
    assert gpu_j(run, "gpu:0") == pytest.approx(600.0, rel=0.03)
    assert "bridged:gpu:0" in flags(run)


def test_a_lost_gpu_is_flagged_on_the_runs_it_touched_only(
    fake_nvml: FakeNvml, manual_hub: Hub
) -> None:
    with greenai.track() as before:
        fake_nvml.set_time(1.0)
    with greenai.track() as during:
        fake_nvml.set_time(2.0)
        manual_hub.settle()
        fake_nvml.set_lost(1, True)
        fake_nvml.set_time(3.0)
    assert "device_lost:gpu:1" not in flags(before)
    assert "device_lost:gpu:1" in flags(during)
    assert gpu_j(during, "gpu:1") == pytest.approx(100.0)  # up to its last reading
    assert gpu_j(during, "gpu:0") == pytest.approx(200.0)


def test_an_idle_pause_is_not_a_sampling_gap(fake_nvml: FakeNvml) -> None:
    with greenai.track():
        fake_nvml.set_time(1.0)
    fake_nvml.set_time(100.0)  # nothing tracked for 99 s: the sampler slept
    with greenai.track() as later:
        fake_nvml.set_time(101.0)
    assert "sampling_gaps" not in flags(later)
    assert gpu_j(later) == pytest.approx(100.0)


def test_a_run_below_the_counter_resolution_is_flagged_and_keeps_a_number(
    fake_nvml: FakeNvml,
) -> None:
    for gpu in (0, 1):
        fake_nvml.set_counter_update_period(gpu, 1.0)
    fake_nvml.set_time(0.2)
    with greenai.track() as run:
        fake_nvml.set_time(0.5)
    row = stored(run.id)["run"]
    assert "below_counter_resolution" in row["flags"]
    assert row["energy_j"] == 0.0
