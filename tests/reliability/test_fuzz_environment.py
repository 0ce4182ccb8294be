"""Whatever ``GREENAI_*`` variables hold, greenai starts or stops with one line.

Every setting the configuration knows (``GREENAI_<KEY>``, plus ``GREENAI_CONFIG`` and
``GREENAI_SAFE_DIRS``) gets generated values: unicode, bytes that are not UTF-8 (as an
environment holds them), NUL, 100 kB, markup, numbers past a double, 5000 digits, JSON
nested deeply, paths that are not folders. :func:`greenai.config.load_settings` returns
settings or raises a one-line :class:`greenai.errors.ConfigError`; and commands that read
the environment (``detect``, ``runs list``, ``runs export``, ``db upgrade``, ``sync``),
run in this process, work or refuse as :func:`tests.reliability.fuzz.assert_handled`
says. A real environment cannot hold NUL, so the commands get none (``load_settings``,
which takes any mapping, does).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from greenai.config import CONFIG_ENV, ENV_PREFIX, Settings, load_settings
from greenai.config.trust import SAFE_DIRS_ENV
from greenai.errors import ConfigError
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import (
    ARGV_TEXT,
    TEXT,
    assert_handled,
    assert_one_line,
    fuzz_settings,
    huge,
    invoke,
)

KEYS = Settings.keys()
NAMES = [ENV_PREFIX + key.upper() for key in KEYS] + [CONFIG_ENV, SAFE_DIRS_ENV]

PLAUSIBLE = st.sampled_from(
    [
        "1", "0", "-1", " 1.5 ", "1e309", "-1e400", "nan", "Infinity", "9" * 5000, "0x10",
        "1_000", "١٢", "true", "off", "machine", "FRA", "usa", "gcp", "california",
        "Europe/Paris", "../../../../etc/passwd", "/", "/dev/null", "/proc/self/mem", ".",
        "~nobody-here/x", "*", "1s:7,1m:90,1h:0", "1s:" + "9" * 5000, "FRA:20,USA/x:150",
        '{"FRA": 1e400}', '{"FRA": ' + "9" * 400 + "}", '{"a": ' + "[" * 100_000,
        '{"FRA": 20, "FRA": 30}', "[1, 2]", "sqlite://", "sqlite:///[/].db",
        "sqlite:////proc/nope/x.db", "postgresql+psycopg://u:p@/x", "mysql://x", "a://b",
    ]
)  # fmt: skip
VALUE = st.one_of(PLAUSIBLE, TEXT, ARGV_TEXT)
VALID = {
    "DB_URL": "sqlite:///ok.db", "COUNTRY": "usa", "REGION": "california",
    "CLOUD_PROVIDER": "gcp", "CLOUD_REGION": "us-central1", "PUE": "1.2", "WUE": "0.5",
    "PRICE_PER_KWH": "0.2", "CURRENCY": "eur", "INTENSITY_G_PER_KWH": "50",
    "SERIES_HZ": "1", "POWER_HZ": "10", "MODE": "machine", "CPU_TDP_W": "65",
    "POWERCAP_ROOT": "/sys/class/powercap", "HOST_ID": "node-1", "RUN_ID": "run-1",
    "HASH_IDENTIFIERS": "yes", "STORE_COMMAND": "0", "TIMEZONE": "Europe/Paris",
    "HEARTBEAT_S": "5", "STALE_AFTER_S": "60", "SERIES_TIERS": "1s:7,1m:90,1h:0",
    "MARKET_FACTORS": "FRA:20", "SAFE_DIRS": "*",
}  # fmt: skip
"""A value each variable accepts, so that hostile values meet valid ones."""


def _environ(value: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[dict[str, str]]:
    def pair(name: str) -> st.SearchStrategy[tuple[str, str]]:
        valid = VALID.get(name.removeprefix(ENV_PREFIX))
        return st.tuples(st.just(name), value if valid is None else st.just(valid) | value)

    pairs = st.lists(st.sampled_from(NAMES).flatmap(pair), min_size=1, max_size=max_size)
    return pairs.map(dict)


ENVIRON = _environ(VALUE, 6)


@pytest.mark.fuzz_target("environment")
@fuzz_settings(ci=120, full=1200)
@given(environ=ENVIRON)
@example(environ={"GREENAI_PUE": "9" * 400})  # a float from 400 digits: 1e400, refused
@example(environ={"GREENAI_MARKET_FACTORS": '{"FRA": ' + "9" * 400 + "}"})
@example(environ={"GREENAI_MARKET_FACTORS": '{"a": ' + "[" * 100_000})
@example(environ={"GREENAI_DB_URL": "sqlite:///\x00"})
@example(environ={"GREENAI_MARKET_FACTORS_FILE": "~nobody-here/x"})  # no such user
@example(environ={"GREENAI_POWERCAP_ROOT": "~nobody-here/x"})
@example(environ={"GREENAI_FACTORS_FILE": huge("0")})  # a name too long for stat()
@example(environ={"GREENAI_CONFIG": huge("0")})
@example(environ={"GREENAI_CONFIG": "~\x00"})  # a NUL where a user name would be
@example(environ={"GREENAI_SAFE_DIRS": "~\x00"})
@example(environ={"GREENAI_FACTORS_FILE": "~\x00"})
def test_hostile_environment_values_load_or_are_refused_in_one_line(
    tmp_path: Path, fuzz_count: FuzzCount, environ: dict[str, str]
) -> None:
    fuzz_count.tried()
    try:
        settings = load_settings(environ={"HOME": str(tmp_path), **environ}, cwd=tmp_path)
    except ConfigError as exc:
        assert_one_line(exc)
        event("refused")
        return
    event("loaded")
    assert settings.db_url is None or settings.db_url.isprintable()
    settings.as_dict()


COMMANDS = st.sampled_from(
    [
        ["detect", "--format", "json"],
        ["detect"],
        ["runs", "list"],
        ["runs", "export", "--format", "json"],
        ["db", "upgrade"],
        ["sync"],
    ]
)
NO_NUL = VALUE.map(lambda text: text.replace("\x00", ""))
# Surrogates other than those of undecodable bytes cannot be put in an environment.
STORABLE = NO_NUL.filter(lambda text: not any("\ud800" <= c < "\udc80" for c in text))
CLI_ENVIRON = _environ(STORABLE, 4)


@pytest.mark.fuzz_target("environment")
@fuzz_settings(ci=40, full=400)
@given(command=COMMANDS, environ=CLI_ENVIRON)
@example(command=["detect"], environ={"GREENAI_POWERCAP_ROOT": "/tmp/[/]x"})
@example(command=["runs", "list"], environ={"GREENAI_DB_URL": "sqlite:///[/].db"})
def test_commands_under_a_hostile_environment_work_or_refuse_in_one_line(
    tmp_path: Path, fuzz_count: FuzzCount, command: list[str], environ: dict[str, str]
) -> None:
    """The examples share this test's data folder and working folder (``tmp_path``): a
    ledger file a URL names there may exist from an earlier example, as it would."""
    fuzz_count.tried()
    outcome = invoke(command, env={"HOME": str(tmp_path), **environ})
    event(f"exit {outcome.exit_code}")
    assert_handled(outcome)
