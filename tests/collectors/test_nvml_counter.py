"""NVML's raw energy counter turned into monotonic joules (pure logic)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from collectors.nvml.counter import EnergyCounter


def test_deltas_add_up_exactly():
    counter = EnergyCounter(last_raw_mj=1_000_000, last_timestamp_s=0.0)
    assert counter.update(1_000_123, 1.0) == 0.123
    assert counter.update(1_500_123, 2.0) == 500.123
    assert counter.resets == 0


def test_restart_from_zero_adds_the_new_value():
    # Driver reload between two reads: the new raw value was all used in the interval.
    counter = EnergyCounter(last_raw_mj=9_000_000, last_timestamp_s=10.0, max_power_w=1400.0)
    counter.update(9_100_000, 11.0)
    assert counter.update(40_000, 12.0) == 140.0
    assert counter.resets == 1
    assert counter.update(90_000, 13.0) == 190.0


def test_backwards_glitch_too_large_for_the_interval_adds_nothing():
    counter = EnergyCounter(last_raw_mj=9_000_000, last_timestamp_s=10.0, max_power_w=1400.0)
    # 8,000 J in one second is far above 1,400 W: not a restart from zero.
    assert counter.update(8_000_000, 11.0) == 0.0
    assert counter.resets == 1
    assert counter.update(8_000_500, 12.0) == 0.5


def test_time_going_backwards_adds_nothing_on_reset():
    counter = EnergyCounter(last_raw_mj=5_000, last_timestamp_s=10.0)
    assert counter.update(1_000, 9.0) == 0.0


@given(
    st.integers(min_value=0, max_value=2**63),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=2**63), st.floats(0.0, 100.0)),
        max_size=50,
    ),
)
def test_energy_never_decreases(first, steps):
    counter = EnergyCounter(last_raw_mj=first, last_timestamp_s=0.0)
    now = 0.0
    previous = 0.0
    for raw, dt in steps:
        now += dt
        energy = counter.update(raw, now)
        assert energy >= previous
        previous = energy


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=50))
def test_without_resets_energy_is_last_minus_first(increments):
    raws = [sum(increments[: k + 1]) for k in range(len(increments))]
    counter = EnergyCounter(last_raw_mj=raws[0], last_timestamp_s=0.0)
    for k, raw in enumerate(raws[1:], start=1):
        counter.update(raw, float(k))
    assert counter.total_mj == raws[-1] - raws[0]
    assert counter.resets == 0
