"""``greenai run``'s options: every per-run setting, read up to the command's first word."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer

import greenai
from greenai.cli.main import app
from greenai.cli.settings_options import NOT_RUN_SETTINGS, RUN_SETTINGS, flag
from greenai.config import Settings
from greenai.emissions import resolve_factor
from greenai.errors import ConfigError
from greenai.ledger import Ledger
from tests.cli.helpers import greenai_run

PRINT_ARGS = "import sys; print(sys.argv[1:])"


def stored_runs() -> list[dict[str, Any]]:
    with Ledger.open() as ledger:
        return ledger.list_runs(limit=10)


def the_run() -> dict[str, Any]:
    (row,) = stored_runs()
    return row


def assert_one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("greenai: error: "), out.stderr
    for word in words:
        assert word in out.stderr


def test_every_setting_a_run_takes_is_an_option_of_greenai_run() -> None:
    # The Python API takes every key (greenai.track(pue=...)); those that change no
    # figure of a run are named, with why.
    assert set(Settings.keys()) == {*RUN_SETTINGS, "db_url", *NOT_RUN_SETTINGS}
    run = typer.main.get_command(app).commands["run"]
    options = {name for param in run.params for name in param.opts}
    assert {flag(key) for key in RUN_SETTINGS} | {"--db", "--quiet"} <= options


def test_settings_reach_the_stored_run() -> None:
    out = greenai_run(
        "--country", "fra", "--pue", "1.5", "--mode", "machine", "--wue", "0.4",
        "--price-per-kwh", "0.2", "--currency", "eur", "--run-id", "my-run",
        sys.executable, "-c", "pass",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    row = the_run()
    factor = resolve_factor(Settings(country="FRA"))
    assert (row["id"], row["country"], row["mode"], row["currency"]) == (
        "my-run",
        "FRA",
        "machine",
        "EUR",
    )
    assert row["intensity_g_per_kwh"] == factor.intensity_g_per_kwh
    assert row["intensity_source"] == factor.source
    assert row["pue"] == 1.5 and row["wue_l_per_kwh"] == 0.4 and row["price_per_kwh"] == 0.2
    assert row["facility_energy_j"] == pytest.approx(row["energy_j"] * 1.5)


def test_an_option_wins_over_the_environment() -> None:
    out = greenai_run("--country", "DEU", "true", GREENAI_COUNTRY="FRA", GREENAI_PUE="1.2")
    assert out.returncode == 0, out.stderr
    row = the_run()
    assert (row["country"], row["pue"]) == ("DEU", 1.2)


@pytest.mark.parametrize("switch", ["--store-command", "--no-store-command"])
def test_switches_set_and_unset(switch: str) -> None:
    out = greenai_run(switch, "--", sys.executable, "-c", "pass", GREENAI_STORE_COMMAND="1")
    assert out.returncode == 0, out.stderr
    command = the_run()["command"]
    assert (command is not None) == (switch == "--store-command")


@pytest.mark.parametrize("separator", [["--"], []])
def test_options_are_read_up_to_the_commands_first_word(separator: list[str]) -> None:
    out = greenai_run(
        "--country", "FRA", *separator, sys.executable, "-c", PRINT_ARGS,
        "--country", "DEU", "--bogus", "--", "-q",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout) == ["--country", "DEU", "--bogus", "--", "-q"]
    assert the_run()["country"] == "FRA"
    assert "greenai: run " in out.stderr  # the command's -q is not greenai's --quiet


def test_greenai_options_after_the_command_name_are_the_commands() -> None:
    out = greenai_run(sys.executable, "-c", PRINT_ARGS, "--country", "FRA")
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout) == ["--country", "FRA"]
    assert the_run()["country"] is None


def test_an_unknown_option_is_one_line_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = greenai_run("--bogus", "touch", str(marker))
    assert_one_line_error(out, "--bogus", "greenai run --help")
    assert not marker.exists()
    assert stored_runs() == []


def test_a_misspelt_option_gets_a_suggestion() -> None:
    out = greenai_run("--contry", "FRA", "true")
    assert_one_line_error(out, "--contry", "--country")


@pytest.mark.parametrize("args", [[], ["--country", "FRA"], ["--country", "FRA", "--"]])
def test_no_command_is_one_line(args: list[str]) -> None:
    out = greenai_run(*args)
    assert_one_line_error(out, "no command to run")
    assert stored_runs() == []


def test_an_invalid_setting_is_the_python_apis_error_before_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    out = greenai_run("--pue", "0.5", "touch", str(marker))
    with pytest.raises(ConfigError) as api:
        greenai.start(pue="0.5")
    assert out.returncode == 2
    assert out.stderr == f"greenai: error: {api.value}\n"
    assert not marker.exists()


def test_runs_the_child_tracks_itself_share_the_settings_but_not_the_run_id() -> None:
    child = textwrap.dedent(
        """
        import os, greenai
        with greenai.track(model="inner"):
            pass
        print(os.environ["GREENAI_COUNTRY"], os.environ["GREENAI_PUE"],
              os.environ.get("GREENAI_RUN_ID"))
        """
    )
    out = greenai_run(
        "--country", "FRA", "--pue", "1.25", "--run-id", "outer", "--", sys.executable, "-c", child
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["FRA", "1.25", "None"]
    inner = next(r for r in stored_runs() if r["model"] == "inner")
    assert (inner["parent_run_id"], inner["country"], inner["pue"]) == ("outer", "FRA", 1.25)
