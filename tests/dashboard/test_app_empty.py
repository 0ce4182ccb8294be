"""An empty ledger gets a friendly first-run page; the dashboard never writes to a ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from greenai.ledger import Ledger
from greenai.queries import RunFilter
from tests.dashboard.conftest import PAGES, open_app
from tests.dashboard.seed import Seeded


def _welcome(at) -> None:
    assert at.title[0].value == "No runs recorded yet"
    code = " ".join(c.value for c in at.code)
    assert "greenai run" in code and "greenai.track(" in code
    assert not at.metric


def test_no_ledger_file_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nothing-here" / "ledger.db"
    monkeypatch.setenv("GREENAI_DB_URL", f"sqlite:///{path}")
    _welcome(open_app())
    assert not path.exists() and not path.parent.exists()  # nothing created


def test_ledger_without_runs(ledger_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Ledger.open(ledger_url).close()  # schema only
    monkeypatch.setenv("GREENAI_DB_URL", ledger_url)
    _welcome(open_app())


def test_unreadable_ledger_is_an_error_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes\n")
    monkeypatch.setenv("GREENAI_DB_URL", f"sqlite:///{path}")
    at = open_app()
    assert "cannot be read" in at.error[0].value
    assert path.read_text() == "not a database, just notes\n"


def _dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        out = {n: sorted(map(tuple, conn.execute(sa.text(f'SELECT * FROM "{n}"'))), key=repr)
               for n in names}  # fmt: skip
    engine.dispose()
    return out


def test_every_page_leaves_the_ledger_unchanged(seeded: Seeded, ledger_url: str) -> None:
    before = _dump(ledger_url)
    at = open_app()
    for page in PAGES.values():
        at.switch_page(page).run()
        assert not at.exception, page
    assert _dump(ledger_url) == before


def test_the_dashboard_connection_refuses_writes(seeded: Seeded, ledger_url: str) -> None:
    from dashboard import data

    ledger = data.open_ledger(ledger_url)
    assert ledger is not None
    with pytest.raises(sa.exc.OperationalError, match="readonly"), ledger.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM runs"))
    assert len(data.runs(ledger_url, RunFilter())) == 22  # every root run is still there


def test_first_recorded_run_shows_up_without_a_restart(
    ledger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    from tests.dashboard.seed import seed_ledger

    monkeypatch.setenv("GREENAI_DB_URL", ledger_url)
    _welcome(open_app())
    seed_ledger(ledger_url)
    st.cache_data.clear()  # what the data cache's TTL does after a minute
    assert open_app().metric  # the Overview, on the same process-wide ledger cache
