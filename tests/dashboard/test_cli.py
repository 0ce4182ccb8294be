"""``greenai dashboard``: registration, the Streamlit command line and its environment.
Starting the server for real is the browser test's job (test_browser.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenai.cli import dashboard_cmd
from greenai.cli.main import app
from greenai.errors import ConfigError
from tests.dashboard.conftest import APP, REPO


def test_registered_with_its_options() -> None:
    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0
    for option in ("--db", "--port", "--address", "--headless"):
        assert option in result.output


def test_streamlit_command_line() -> None:
    command = dashboard_cmd.streamlit_command(8600, "127.0.0.1", headless=True)
    assert command[1:5] == ["-m", "streamlit", "run", str(APP)]
    pairs = dict(zip(command[5::2], command[6::2], strict=True))
    assert pairs == {
        "--server.port": "8600",
        "--server.address": "127.0.0.1",
        "--server.headless": "true",
        "--server.showEmailPrompt": "false",
        "--client.toolbarMode": "viewer",
        "--browser.gatherUsageStats": "false",
    }
    with pytest.raises(ConfigError, match="port"):
        dashboard_cmd.streamlit_command(70000, "127.0.0.1", headless=True)


def test_ledger_url_reaches_the_app_through_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    url = dashboard_cmd.resolve_url(f"sqlite:///{tmp_path / 'l.db'}")
    env = dashboard_cmd.streamlit_env(url)
    assert env["GREENAI_DB_URL"] == f"sqlite:///{tmp_path / 'l.db'}"
    assert env["PYTHONPATH"].split(":") == [str(REPO), "/elsewhere"]


def test_default_and_configured_ledgers(greenai_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert dashboard_cmd.resolve_url(None) == f"sqlite:///{greenai_env / 'ledger.db'}"
    monkeypatch.setenv("GREENAI_DB_URL", "postgresql://me:pw@db/greenai")
    assert dashboard_cmd.resolve_url(None) == "postgresql+psycopg://me:pw@db/greenai"
    with pytest.raises(ConfigError, match="db_url"):
        dashboard_cmd.resolve_url("nosuchdb://x")
