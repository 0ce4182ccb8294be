"""The NVML collector through the real pynvml against the fake library, in this process."""

from __future__ import annotations

import pytest

from collectors.base import Collector
from collectors.errors import Unavailable
from collectors.nvml import NvmlCollector
from collectors.types import DeviceStatus, GpuProcess, Kind, Method


@pytest.fixture
def fake(fake_nvml):
    """The fake on its manual clock, at t = 0; the collector reads the same clock."""
    fake_nvml.set_time(0.0)
    return fake_nvml


@pytest.fixture
def open_collector(fake):
    opened = []

    def _open(**kwargs):
        kwargs.setdefault("environ", {})
        collector = NvmlCollector.open(clock=fake.now, **kwargs)
        opened.append(collector)
        return collector

    yield _open
    for collector in opened:
        collector.close()


def by_id(readings):
    return {r.device_id: r for r in readings}


def test_is_a_collector(open_collector):
    assert isinstance(open_collector(), Collector)
    assert NvmlCollector.name == "nvml"


def test_devices_names_and_uuids(fake, open_collector):
    fake.set_count(3)
    fake.set_name(2, "Tesla V100-SXM2-16GB")
    fake.set_uuid(2, "GPU-4e817856-1fb8-192a-7ab7-0e0e4476c184")
    fake.set_power_limit(1, 450.0)
    devices = open_collector().devices()
    assert [d.device_id for d in devices] == ["gpu:0", "gpu:1", "gpu:2"]
    assert {d.kind for d in devices} == {Kind.GPU}
    assert {d.vendor for d in devices} == {"nvidia"}
    assert devices[2].name == "Tesla V100-SXM2-16GB"
    assert devices[2].uuid == "GPU-4e817856-1fb8-192a-7ab7-0e0e4476c184"
    assert devices[0].uuid != devices[1].uuid
    assert [d.method for d in devices] == [Method.COUNTER] * 3
    assert [d.power_limit_w for d in devices] == [700.0, 450.0, 700.0]


@pytest.mark.parametrize("period_s", [1.0, 1.3, 2.0])
def test_counter_energy_is_the_exact_integral_of_a_square_wave(fake, open_collector, period_s):
    fake.set_square_wave(0, 100.0, 300.0, period_s, 0.5)
    fake.set_square_wave(1, 80.0, 420.0, period_s, 0.3)
    fake.set_time(0.2)
    collector = open_collector()
    t = 0.2
    previous = {"gpu:0": 0.0, "gpu:1": 0.0}
    while t < 20.0:
        t += 0.61  # reads at no particular phase of the wave
        fake.set_time(t)
        readings = by_id(collector.read())
        for device_id, reading in readings.items():
            assert reading.energy_j >= previous[device_id]
            previous[device_id] = reading.energy_j
            assert reading.timestamp_s == t
    for i in (0, 1):
        exact_j = fake.energy_j(i, 0.2, t)
        measured_j = previous[f"gpu:{i}"]
        assert abs(measured_j - exact_j) <= 0.5e-2 * exact_j
        assert abs(measured_j - exact_j) <= 0.002  # whole millijoules at both ends


def test_counter_gpus_read_power_only_on_read(fake, open_collector):
    fake.set_square_wave(0, 100.0, 300.0, 1.0)
    collector = open_collector()
    fake.reset_calls()
    for k in range(1, 6):
        fake.set_time(k * 1.0 + 0.25)
        readings = by_id(collector.read())
        assert readings["gpu:0"].power_w == 300.0
        assert readings["gpu:0"].method is Method.COUNTER
    assert fake.calls("nvmlDeviceGetTotalEnergyConsumption") == 10
    assert fake.calls("nvmlDeviceGetPowerUsage") == 10
    assert fake.calls("nvmlDeviceGetFieldValues") == 0
    assert collector.read_power(["gpu:0", "gpu:1"]) == []
    assert fake.calls("nvmlDeviceGetTotalEnergyConsumption") == 10


def test_no_counter_means_power_method_with_instant_power(fake, open_collector):
    fake.set_counter_supported(1, False)
    fake.set_square_wave(1, 100.0, 300.0, 1.3)
    collector = open_collector()
    devices = {d.device_id: d for d in collector.devices()}
    assert devices["gpu:0"].method is Method.COUNTER
    assert devices["gpu:1"].method is Method.POWER
    assert any("NVML_FI_DEV_POWER_INSTANT" in note for note in devices["gpu:1"].notes)
    fake.reset_calls()
    for t in (0.1, 0.7, 1.35, 2.0, 2.6):
        fake.set_time(t)
        (reading,) = collector.read_power(["gpu:1"])
        assert reading.power_w == pytest.approx(fake.power_w(1, t), abs=0.001)
        assert reading.energy_j is None
        assert reading.method is Method.POWER
        assert reading.timestamp_s == t
    # The fast path: one NVML call per device, nothing else.
    assert fake.calls("nvmlDeviceGetFieldValues") == 5
    for name in ("nvmlDeviceGetPowerUsage", "nvmlDeviceGetTotalEnergyConsumption"):
        assert fake.calls(name) == 0
    readings = by_id(collector.read())
    assert readings["gpu:1"].energy_j is None
    assert readings["gpu:1"].power_w == pytest.approx(fake.power_w(1, 2.6), abs=0.001)


def test_no_instant_field_falls_back_to_power_usage_and_says_so(fake, open_collector):
    fake.set_counter_supported(0, False)
    fake.set_instant_supported(0, False)
    fake.set_constant(0, 123.456)
    collector = open_collector()
    device = collector.devices()[0]
    assert device.method is Method.POWER
    assert any("1 s average" in note for note in device.notes)
    fake.reset_calls()
    (reading,) = collector.read_power(["gpu:0"])
    assert reading.power_w == 123.456
    assert fake.calls("nvmlDeviceGetPowerUsage") == 1
    assert fake.calls("nvmlDeviceGetFieldValues") == 0


def test_gpu_with_neither_energy_nor_power_is_left_out(fake, open_collector):
    fake.set_counter_supported(1, False)
    fake.set_instant_supported(1, False)
    fake.set_power_usage_supported(1, False)
    collector = open_collector()
    assert [d.device_id for d in collector.devices()] == ["gpu:0"]
    assert any("gpu:1" in note for note in collector.notes)


def test_gpu_lost_mid_run_others_carry_on(fake, open_collector):
    fake.set_count(3)
    fake.set_constant(0, 100.0)
    fake.set_constant(2, 300.0)
    collector = open_collector()
    fake.set_time(1.0)
    assert len(collector.read()) == 3
    fake.set_lost(1, True)
    fake.set_time(2.0)
    readings = by_id(collector.read())
    assert sorted(readings) == ["gpu:0", "gpu:2"]
    fake.set_time(3.0)
    readings = by_id(collector.read())
    assert readings["gpu:0"].energy_j == pytest.approx(300.0)
    assert readings["gpu:2"].energy_j == pytest.approx(900.0)
    assert collector.status() == [
        DeviceStatus("gpu:0"),
        DeviceStatus("gpu:1", lost=True),
        DeviceStatus("gpu:2"),
    ]
    assert collector.utilization("gpu:1") is None
    assert collector.memory_used_bytes("gpu:1") is None


def test_a_transient_error_is_retried_and_the_counter_bridges_the_gap(fake, open_collector):
    fake.set_counter_supported(1, False)
    fake.set_constant(0, 200.0)
    collector = open_collector()
    fake.set_time(1.0)
    assert by_id(collector.read())["gpu:0"].energy_j == pytest.approx(200.0)
    fake.set_error(0, 999)  # NVML_ERROR_UNKNOWN: not a reason to give the GPU up
    fake.set_error(1, 999)
    fake.set_time(2.0)
    assert collector.read_power(["gpu:1"]) == []
    assert collector.read() == []
    assert [s.lost for s in collector.status()] == [False, False]
    assert [s.errors for s in collector.status()] == [1, 1]
    fake.set_error(0, 0)
    fake.set_error(1, 0)
    fake.set_time(2.01)  # still backing off
    assert collector.read() == []
    fake.set_time(3.0)  # the device answers again a second later
    readings = by_id(collector.read())
    assert sorted(readings) == ["gpu:0", "gpu:1"]
    assert readings["gpu:0"].energy_j == pytest.approx(600.0)  # the gap, exactly


def test_a_failing_gpu_is_retried_with_a_doubling_backoff(fake, open_collector):
    fake.set_count(1)
    collector = open_collector()
    fake.set_error(0, 999)
    fake.reset_calls()
    for step in range(300):  # 30 s of reads at 10 Hz while the error lasts
        fake.set_time(step / 10)
        collector.read()
    attempts = fake.calls("nvmlDeviceGetTotalEnergyConsumption")
    # 0, 0.05, 0.15, 0.35 ... doubling to 5 s apart: about a dozen, not 300.
    assert 8 <= attempts <= 15
    assert not collector.status()[0].lost
    assert collector.status()[0].errors == attempts


@pytest.mark.parametrize("code", [15, 28])  # GPU_IS_LOST, GPU_NOT_FOUND
def test_a_gone_gpu_is_lost_for_good(fake, open_collector, code):
    collector = open_collector()
    fake.set_error(0, code)
    assert sorted(by_id(collector.read())) == ["gpu:1"]
    assert [s.lost for s in collector.status()] == [True, False]
    fake.set_error(0, 0)
    fake.set_time(60.0)
    assert sorted(by_id(collector.read())) == ["gpu:1"]  # lost stays lost


def test_counter_reset_never_gives_negative_energy(fake, open_collector):
    fake.set_constant(0, 200.0)
    collector = open_collector()
    fake.set_time(10.0)
    assert by_id(collector.read())["gpu:0"].energy_j == pytest.approx(2000.0)
    fake.set_time(10.5)
    fake.reset_counter(0)  # driver reload: the counter restarts from zero
    fake.set_time(11.0)
    energy = by_id(collector.read())["gpu:0"].energy_j
    # The 0.5 s after the reload are counted; the 0.5 s before it are lost.
    assert energy == pytest.approx(2100.0)
    fake.set_time(12.0)
    assert by_id(collector.read())["gpu:0"].energy_j == pytest.approx(2300.0)
    assert collector.status()[0] == DeviceStatus("gpu:0", lost=False, counter_resets=1)


def test_counter_glitch_backwards_adds_nothing(fake, open_collector):
    fake.set_constant(0, 200.0)
    collector = open_collector()
    fake.set_time(10.0)
    collector.read()
    # 500 J backwards: the counter then reads 1,700 J after 1 s, more than a GPU with a
    # 700 W limit can use in 1 s, so not a restart from zero.
    fake.shift_counter(0, -500_000.0)
    fake.set_time(11.0)
    assert by_id(collector.read())["gpu:0"].energy_j == pytest.approx(2000.0)
    fake.set_time(12.0)
    assert by_id(collector.read())["gpu:0"].energy_j == pytest.approx(2200.0)
    assert collector.status()[0].counter_resets == 1


def test_not_supported_per_call(fake, open_collector):
    fake.set_power_limit(0, None)
    fake.set_power_usage_supported(0, False)
    fake.set_instant_supported(0, False)
    fake.set_power_usage_supported(1, False)  # power from the instant field instead
    fake.set_utilization(0, 0, 0, supported=False)
    fake.set_memory(0, 0, 0, supported=False)
    fake.set_mig_mode(0, None)
    collector = open_collector()
    device = collector.devices()[0]
    assert device.power_limit_w is None
    assert device.method is Method.COUNTER
    assert device.notes == ()
    fake.set_time(2.0)
    readings = by_id(collector.read())
    assert readings["gpu:0"].power_w is None
    assert readings["gpu:0"].energy_j == pytest.approx(200.0)
    assert readings["gpu:1"].power_w == 100.0
    assert collector.utilization("gpu:0") is None
    assert collector.memory_used_bytes("gpu:0") is None
    assert not collector.status()[0].lost


def test_utilization_and_memory(fake, open_collector):
    fake.set_utilization(1, 87, 40)
    fake.set_memory(1, 80 << 30, 12 << 30)
    collector = open_collector()
    assert collector.utilization("gpu:1") == (87.0, 40.0)
    assert collector.memory_used_bytes("gpu:1") == 12 << 30
    assert collector.utilization("gpu:9") is None


def test_compute_processes_of_visible_gpus(fake, open_collector):
    fake.set_count(3)
    fake.add_process(0, 1000, 1 << 30)
    fake.add_process(1, 2000, 2 << 30)
    fake.add_process(1, 2001, 5 << 20)
    fake.add_process(2, 3000, 3 << 30)
    everything = open_collector().compute_processes()
    assert sorted((p.pid, p.device_id) for p in everything) == [
        (1000, "gpu:0"),
        (2000, "gpu:1"),
        (2001, "gpu:1"),
        (3000, "gpu:2"),
    ]
    visible = open_collector(environ={"CUDA_VISIBLE_DEVICES": "1"}).compute_processes()
    assert visible == [GpuProcess(2000, "gpu:1", 2 << 30), GpuProcess(2001, "gpu:1", 5 << 20)]


def test_compute_processes_skip_a_lost_gpu(fake, open_collector):
    fake.add_process(0, 1000, 1 << 30)
    fake.add_process(1, 2000, 1 << 30)
    collector = open_collector()
    fake.set_lost(0, True)
    assert [p.pid for p in collector.compute_processes()] == [2000]
    assert collector.status()[0].lost


def sm_utilization(processes):
    return {p.pid: p.sm_util_percent for p in processes}


def test_compute_processes_carry_their_mean_sm_utilization_since_the_last_read(
    fake, open_collector
):
    fake.add_process(0, 1000, 1 << 30)
    fake.add_process(0, 2000, 1 << 30)
    fake.add_process(1, 3000, 1 << 30)  # never sampled: NVML has no sample of it
    fake.set_process_utilization(0, 1000, 80)
    fake.set_process_utilization(0, 2000, 20)
    collector = open_collector()
    fake.set_time(1.0)
    fake.set_process_utilization(0, 1000, 50)
    fake.set_time(3.0)
    first = sm_utilization(collector.compute_processes())
    assert first == {1000: pytest.approx(60.0), 2000: pytest.approx(20.0), 3000: None}
    fake.set_process_utilization(0, 2000, 45)
    fake.set_time(4.0)
    second = sm_utilization(collector.compute_processes())  # only the samples since then
    assert second == {1000: pytest.approx(50.0), 2000: pytest.approx(45.0), 3000: None}
    assert sm_utilization(collector.compute_processes()) == dict.fromkeys((1000, 2000, 3000))


def test_unsupported_process_utilization_leaves_the_process_list_whole(fake, open_collector):
    fake.add_process(0, 1000, 1 << 30)
    fake.set_process_utilization(0, 1000, 80)
    fake.set_process_utilization_supported(0, False)  # MIG mode, many consumer GPUs
    collector = open_collector(environ={"CUDA_VISIBLE_DEVICES": "0"})
    fake.set_time(2.0)
    fake.reset_calls()
    assert collector.compute_processes() == [GpuProcess(1000, "gpu:0", 1 << 30, None)]
    assert collector.compute_processes() == [GpuProcess(1000, "gpu:0", 1 << 30, None)]
    assert fake.calls("nvmlDeviceGetProcessUtilization") == 1  # not asked again
    assert not collector.status()[0].lost


def test_cuda_visible_devices_by_index_and_uuid(fake, open_collector):
    fake.set_count(4)
    by_index = open_collector(environ={"CUDA_VISIBLE_DEVICES": "3,1"})
    assert [d.device_id for d in by_index.devices()] == ["gpu:3", "gpu:1"]
    uuid = by_index.devices()[0].uuid
    by_uuid = open_collector(environ={"CUDA_VISIBLE_DEVICES": f"{uuid[:8]},0"})
    assert [d.device_id for d in by_uuid.devices()] == ["gpu:3", "gpu:0"]


def test_mig_device_reports_its_parent_once(fake, open_collector):
    mig_a = "MIG-5c5ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
    mig_b = "MIG-6d6ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
    fake.set_mig_mode(1, 1)
    fake.add_mig(1, mig_a, 1, 0)
    fake.add_mig(1, mig_b, 2, 0)
    collector = open_collector(environ={"CUDA_VISIBLE_DEVICES": f"{mig_a},{mig_b}"})
    (device,) = collector.devices()
    assert device.device_id == "gpu:1"
    assert any(mig_a in n and mig_b in n for n in device.notes)
    assert any("MIG is enabled" in n for n in device.notes)


def test_mig_devices_hold_their_slices_of_the_gpu(fake, open_collector):
    mig_a = "MIG-5c5ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
    mig_b = "MIG-6d6ea2b1-4e5f-5b7a-9a42-1c2d3e4f5a6b"
    fake.set_mig_mode(1, 1)
    fake.add_mig(1, mig_a, 1, 0, slices=2)
    fake.add_mig(1, mig_b, 2, 0, slices=1)
    one = open_collector(environ={"CUDA_VISIBLE_DEVICES": mig_a}).devices()[0]
    assert one.mig_slices == (2, 7)
    assert any("2 of the GPU's 7 slices" in n for n in one.notes)
    both = open_collector(environ={"CUDA_VISIBLE_DEVICES": f"{mig_a},{mig_b}"}).devices()[0]
    assert both.mig_slices == (3, 7)
    fake.set_gpu_slices(1, 4)  # an A30
    assert open_collector(environ={"CUDA_VISIBLE_DEVICES": mig_a}).devices()[0].mig_slices == (
        2,
        4,
    )
    assert open_collector(environ={"CUDA_VISIBLE_DEVICES": "1"}).devices()[0].mig_slices is None


def test_legacy_mig_format(fake, open_collector):
    parent = open_collector().devices()[1].uuid
    collector = open_collector(environ={"CUDA_VISIBLE_DEVICES": f"MIG-{parent}/1/0"})
    assert [d.device_id for d in collector.devices()] == ["gpu:1"]
    assert collector.devices()[0].mig_slices == (1, 7)  # no handle to ask: one slice


def test_uncertain_cuda_order_is_flagged(fake, open_collector):
    fake.set_name(1, "NVIDIA A100-SXM4-80GB")
    collector = open_collector(environ={"CUDA_VISIBLE_DEVICES": "1"})
    assert collector.visibility.order_uncertain
    assert any("CUDA_DEVICE_ORDER" in n for n in collector.devices()[0].notes)
    pci = open_collector(environ={"CUDA_VISIBLE_DEVICES": "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    assert not pci.visibility.order_uncertain
    assert pci.devices()[0].notes == ()


def test_all_devices_ignores_cuda_visible_devices(fake, open_collector):
    collector = open_collector(environ={"CUDA_VISIBLE_DEVICES": "1"}, all_devices=True)
    assert [d.device_id for d in collector.devices()] == ["gpu:0", "gpu:1"]


def test_hidden_gpus_make_the_collector_unavailable(fake, open_collector):
    refs = fake.init_refs()
    with pytest.raises(Unavailable) as err:
        open_collector(environ={"CUDA_VISIBLE_DEVICES": ""})
    assert err.value.collector == "nvml"
    assert "CUDA_VISIBLE_DEVICES" in err.value.reason
    assert fake.init_refs() == refs  # NVML released on failure


def test_gpu_lost_before_opening_is_left_out(fake, open_collector):
    fake.set_count(3)
    fake.set_lost(1, True)
    collector = open_collector()
    assert [d.device_id for d in collector.devices()] == ["gpu:0", "gpu:2"]
    assert any("gpu:1" in note for note in collector.notes)


def test_close_releases_nvml_once(fake):
    refs = fake.init_refs()
    collector = NvmlCollector.open(clock=fake.now, environ={})
    assert fake.init_refs() == refs + 1
    collector.close()
    collector.close()
    assert fake.init_refs() == refs


def test_power_unsupported_mid_run_on_a_counter_gpu_keeps_the_energy(fake, open_collector):
    collector = open_collector()
    fake.set_power_usage_supported(0, False)
    fake.set_time(1.0)
    reading = by_id(collector.read())["gpu:0"]
    assert reading.power_w is None
    assert reading.energy_j == pytest.approx(100.0)
    assert not collector.status()[0].lost
