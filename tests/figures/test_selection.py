"""The figures layer's one loader keeps the runs every surface's filters select, and
leaves node energy out once anything narrows the runs (it belongs to no run)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from greenai.config import load_settings
from greenai.figures.frame import Selection, read_lines, totals
from greenai.ledger import Ledger
from tests.reports.seed import KWH, seed

Q3 = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


def _lines(url: str, selection: Selection) -> list[str]:
    with Ledger.open(url) as ledger:
        read = read_lines(ledger, [Q3], settings=load_settings(), as_of=datetime(2026, 10, 5,
                          tzinfo=UTC), selection=selection)  # fmt: skip
    frame = read.period(*Q3)[0]
    return sorted(f"{kind}:{line_id}" for kind, line_id in zip(frame["kind"], frame["id"],
                                                                strict=True))  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    address = f"sqlite:///{tmp_path / 'ledger.db'}"
    seed(address)
    return address


def test_every_filter_of_the_surfaces_selects_runs(url: str) -> None:
    assert _lines(url, Selection(hosts=("h1",))) == ["run:r1-fra"]
    assert _lines(url, Selection(phases=("inference",))) == ["run:r2-deu", "run:r3-cloud"]
    assert _lines(url, Selection(techniques=("lora",))) == ["run:r5-gbr"]
    assert _lines(url, Selection(models=("bert",), projects=("search",))) == [
        "run:r3-cloud", "run:r4-usa"]  # fmt: skip


def test_node_energy_is_in_the_boundary_only_when_nothing_narrows(url: str) -> None:
    everything = _lines(url, Selection())
    assert [line for line in everything if line.startswith("node:")]
    assert all(line.startswith("run:") for line in _lines(url, Selection(hosts=("h3",))))
    with Ledger.open(url) as ledger:
        read = read_lines(ledger, [Q3], settings=load_settings(), as_of=datetime(2026, 10, 5,
                          tzinfo=UTC))  # fmt: skip
    figures = totals(read.period(*Q3)[0])
    # 2 000 kWh idle beside r1 on h1, 2 000 kWh idle on h3 (see tests/reports/seed.py)
    assert figures["boundary_energy_j"] - figures["energy_j"] == pytest.approx(4_000 * KWH)
