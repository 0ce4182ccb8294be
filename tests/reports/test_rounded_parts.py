"""A breakdown in the HTML report adds up: its rows, rounded for reading, sum to the total
row printed under them (largest-remainder rounding), whatever the rows' sizes."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from greenai.figures.units import J_PER_KWH, emissions_kg
from greenai.ledger import Ledger
from greenai.reports import report as make_report
from greenai.reports.html import Parts, count_parts, energy_parts, mass_parts
from tests.reports.seed import Clock

USA_G_PER_KWH = 369.473  # CodeCarbon 3.3.2, global_energy_mix (USA)
THIRD_J = J_PER_KWH / 3  # three projects of a third of a kWh each


def _number(cell: str) -> Decimal:
    return Decimal(cell.replace(",", ""))


def _adds_up(parts: Parts) -> None:
    known = [_number(c) for c in parts.cells if c != "—"]
    assert sum(known, Decimal(0)) == _number(parts.total)


def _close_to_exact(parts: Parts, exact: list[float], per: float) -> None:
    """Each printed row is within one unit of its last place of the exact figure."""
    for cell, value in zip(parts.cells, exact, strict=True):
        places = len(cell.partition(".")[2])
        assert abs(float(_number(cell)) - value / per) <= 10.0**-places * (1 + 1e-9)


kwh = st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(st.lists(kwh, min_size=1, max_size=12))
@example([5e-324])  # a total below any unit: decimals capped, not 10**310
def test_energy_rows_sum_to_the_total_row(values_kwh: list[float]) -> None:
    parts = energy_parts(values_kwh)
    _adds_up(parts)
    per_kwh = {"J": 1 / J_PER_KWH, "kJ": 1e3 / J_PER_KWH, "Wh": 1e-3, "kWh": 1.0, "MWh": 1e3,
               "GWh": 1e6, "mJ": 1e-3 / J_PER_KWH, "µJ": 1e-6 / J_PER_KWH,
               "nJ": 1e-9 / J_PER_KWH}  # fmt: skip
    _close_to_exact(parts, values_kwh, per_kwh[parts.unit])


@given(st.lists(st.one_of(st.none(), kwh), min_size=1, max_size=12))
def test_unknown_rows_stay_unknown_and_the_rest_add_up(values_t: list[float | None]) -> None:
    parts = mass_parts(values_t)
    assert [c == "—" for c in parts.cells] == [v is None for v in values_t]
    if all(v is None for v in values_t):
        assert parts.total == "—"
    else:
        _adds_up(parts)


@given(st.lists(st.floats(min_value=0, max_value=1e9), min_size=1, max_size=12))
def test_split_token_counts_add_up_in_whole_tokens(tokens: list[float]) -> None:
    parts = count_parts(tokens)
    _adds_up(parts)
    assert all("." not in c for c in parts.cells)
    assert _number(parts.total) == round(math.fsum(tokens))


def _run(run_id: str, project: str, start: datetime) -> dict[str, Any]:
    return {
        "id": run_id, "status": "completed", "project": project, "phase": "training",
        "started_at": start, "ended_at": start + timedelta(seconds=2), "duration_s": 2.0,
        "energy_j": THIRD_J, "facility_energy_j": THIRD_J, "measured_energy_j": THIRD_J,
        "pue": 1.0, "country": "USA", "host_id": "host-a",
        "intensity_g_per_kwh": USA_G_PER_KWH,
        "intensity_source": "codecarbon 3.3.2: global_energy_mix (USA)",
        "emissions_kg": emissions_kg(THIRD_J, USA_G_PER_KWH), "codecarbon_version": "3.3.2",
    }  # fmt: skip


def test_three_thirds_of_a_kwh_print_as_one_kwh(ledger_url: str, tmp_path: Path) -> None:
    """Three projects of 333.3 Wh each: rounded alone they read 333 + 333 + 333 = 999 Wh
    under a total of 1,000 Wh; the report prints 334 + 333 + 333 and the total row."""
    clock = Clock()
    ledger = Ledger.open(ledger_url, clock=clock)
    try:
        start = datetime(2026, 7, 10, tzinfo=UTC)
        for i, project in enumerate(("alpha", "beta", "gamma")):
            row = _run(f"run-{project}", project, start + timedelta(minutes=i))
            clock.now = row["ended_at"]
            ledger.save_run({"run": row})
    finally:
        ledger.close()
    out = tmp_path / "out"
    make_report("2026-Q3", as_of="2026-08-01T00:00:00Z", db_url=ledger_url, out_dir=out,
                formats=("html",))  # fmt: skip
    html = (out / "report.html").read_text(encoding="utf-8")
    table = html.split("<h3>By project</h3>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(?:(?!</tr>).)*</tr>|<tr class=\"total\">(?:(?!</tr>).)*</tr>",
                      table, flags=re.S)  # fmt: skip
    it_cells = [re.findall(r'<td class="num">([^<]*)</td>', row)[1] for row in rows[1:]]
    assert "IT Wh" in rows[0]
    assert sorted(it_cells[:3]) == ["333", "333", "334"]
    assert it_cells[3] == "1,000"
    assert rows[-1].startswith('<tr class="total">')
