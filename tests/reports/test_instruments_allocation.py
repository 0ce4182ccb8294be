"""Allocating instruments' MWh to consumption: same market, vintage window, quality
criteria, oldest month first, and never the same MWh twice (a property over random
instruments and consumption, also across consecutive quarterly settlements)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from greenai.emissions.instruments_file import Instrument
from greenai.figures.instruments import Allocation, Consumption, allocate

LOCATIONS = ("FRA", "DEU", "USA/california", "USA/texas")


def _instrument(
    ident: str, mwh: float, location: str = "FRA", year: int = 2026, *,
    quality: bool = True, g: float = 0.0, order: int = 0,
) -> Instrument:  # fmt: skip
    return Instrument(ident, "go", mwh, location, str(year), date(year, 1, 1),
                      date(year, 12, 31), g, quality, order=order)  # fmt: skip


def _month(year: int, month: int, location: str, mwh: float) -> Consumption:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return Consumption(f"{year}-{month:02d}", start, end, location, mwh)


def _used(allocations: Sequence[Allocation], ident: str) -> float:
    return math.fsum(a.mwh for a in allocations if a.instrument_id == ident)


def test_oldest_month_first_and_the_instrument_that_expires_first_first() -> None:
    old, new = _instrument("GO-2025", 3, year=2025, order=1), _instrument("GO-2026", 10)
    months = [_month(2026, 2, "FRA", 4), _month(2026, 1, "FRA", 5)]
    plan = allocate([new, old], months, [])
    assert [(a.instrument_id, a.month, a.mwh) for a in plan.new] == [
        ("GO-2025", "2026-01", 3), ("GO-2026", "2026-01", 2), ("GO-2026", "2026-02", 4),
    ]  # fmt: skip
    assert plan.used_mwh == {"GO-2026": 6, "GO-2025": 3}


def test_market_vintage_and_quality_are_checked_with_a_reason() -> None:
    instruments = [
        _instrument("DEU-1", 5, "DEU"),
        _instrument("OLD", 5, year=2024),
        _instrument("BAD", 5, quality=False),
        _instrument("TX", 5, "USA/texas"),
        _instrument("USA", 5, "USA"),
    ]
    months = [_month(2026, 3, "FRA", 1), _month(2026, 3, "USA/california", 2)]
    plan = allocate(instruments, months, [])
    assert [(a.instrument_id, a.location, a.mwh) for a in plan.new] == [
        ("USA", "USA/california", 2)
    ]
    assert "no Scope 2 consumption in its market (DEU)" in plan.reasons["DEU-1"]
    assert "vintage 2024 outside the window" in plan.reasons["OLD"]
    assert "covers consumption in 2024..2025" in plan.reasons["OLD"]
    assert "quality criteria not met" in plan.reasons["BAD"]
    assert "(USA/texas)" in plan.reasons["TX"]
    assert "USA" not in plan.reasons


def test_a_certificate_of_the_year_before_is_accepted_not_two_years_before() -> None:
    plan = allocate(
        [_instrument("Y-1", 1, year=2025), _instrument("Y-2", 1, year=2024)],
        [_month(2026, 6, "FRA", 5)], [],
    )  # fmt: skip
    assert {a.instrument_id for a in plan.new} == {"Y-1"}


def test_stored_months_keep_their_mwh_and_only_growth_is_topped_up() -> None:
    go = _instrument("GO", 10)
    first = allocate([go], [_month(2026, 1, "FRA", 4)], [])
    grown = [_month(2026, 1, "FRA", 6), _month(2026, 2, "FRA", 1)]
    second = allocate([go], grown, first.new)
    assert [(a.month, a.mwh) for a in second.new] == [("2026-01", 2), ("2026-02", 1)]
    assert second.used_mwh["GO"] == 7


_instruments = st.lists(
    st.builds(
        _instrument,
        ident=st.uuids().map(str),
        mwh=st.floats(0.001, 50, allow_nan=False),
        location=st.sampled_from((*LOCATIONS, "USA")),
        year=st.integers(2025, 2026),
        quality=st.booleans(),
    ),
    max_size=6,
    unique_by=lambda i: i.id,
)
_consumption = st.lists(
    st.builds(
        _month,
        year=st.just(2026),
        month=st.integers(1, 12),
        location=st.sampled_from(LOCATIONS),
        mwh=st.floats(0, 40, allow_nan=False),
    ),
    max_size=20,
    unique_by=lambda c: (c.month, c.location),
)


@settings(max_examples=200, deadline=None)
@given(instruments=_instruments, consumption=_consumption)
def test_each_mwh_is_used_at_most_once(
    instruments: list[Instrument], consumption: list[Consumption]
) -> None:
    """Settled quarter by quarter (as four quarterly reports would), then checked:
    no instrument gives more than its volume, no month and location gets more than its
    consumption, no quarter's allocation gives a month another quarter already covered."""
    stored: list[Allocation] = []
    mwh_of = {(c.month, c.location): c.mwh for c in consumption}
    for quarter in range(4):
        upto = [c for c in consumption if int(c.month[5:]) <= 3 * (quarter + 1)]
        new = allocate(instruments, upto, stored).new
        for pair in {(a.month, a.location) for a in new}:
            before = math.fsum(a.mwh for a in stored if (a.month, a.location) == pair)
            now = math.fsum(a.mwh for a in new if (a.month, a.location) == pair)
            assert before + now <= mwh_of[pair] * (1 + 1e-12) + 1e-12  # no MWh given twice
        for a in new:
            volume = next(i.volume_mwh for i in instruments if i.id == a.instrument_id)
            assert 0 < a.mwh <= min(volume, mwh_of[(a.month, a.location)])
        stored += new
    for instrument in instruments:
        used = _used(stored, instrument.id)
        assert used <= instrument.volume_mwh * (1 + 1e-12)
        if not instrument.quality_met:
            assert used == 0
    for month in consumption:
        given_mwh = math.fsum(
            a.mwh for a in stored if (a.month, a.location) == (month.month, month.location)
        )
        assert given_mwh <= month.mwh * (1 + 1e-12) + 1e-12
    # a second settlement with the same consumption finds nothing left to give
    assert allocate(instruments, consumption, stored).new == []
