"""Whatever a configuration file holds, loading the settings works or stops with one line.

Generated ``greenai.toml`` files and ``pyproject.toml`` files with a ``[tool.greenai]``
table: every key greenai knows (and unknown ones) with values of every TOML type: huge
integers and floats, NaN and infinity, unicode, NUL, 100 kB strings, markup, dates,
deeply nested arrays and tables; then the same text mangled as bytes (cut short, NUL,
bytes that are not UTF-8). :func:`greenai.config.load_settings` returns settings or
raises :class:`greenai.errors.ConfigError`, whose message is one line (what the CLI
prints after ``greenai: error:``) naming the key or the file. The same holds for the
benchmark files of ``greenai bench --config`` (:meth:`BenchConfig.from_toml`).
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from greenai.bench.config import BenchConfig
from greenai.config import Settings, find_config_file, load_settings
from greenai.errors import ConfigError
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import MARKUP, TEXT, assert_one_line, fuzz_settings, huge

KEYS = Settings.keys()

KEY = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(lambda k: k.replace("_", "-")),
    st.text(max_size=20),
    st.sampled_from(MARKUP),
)
SCALAR = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**4000),  # tomllib reads up to 4300 digits
    st.integers(max_value=-(10**300)).filter(lambda n: n > -(10**4000)),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.dates(),
    st.times(),
    st.sampled_from(["FRA", "usa", "gcp", "us-central1", "Europe/Paris", "1s:7,1m:90,1h:0"]),
    st.sampled_from(["sqlite:///x.db", "sqlite:///\x00", "postgresql://u:p@h/db"]),
    st.sampled_from(["1.2", "0", "-1", "1e309", "nan", "process", "machine", "true"]),
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEY, inner, max_size=4)),
    max_leaves=12,
)
TABLE = st.dictionaries(KEY, VALUE, max_size=6)


def _string(text: str) -> str:
    """A TOML basic string (a lone surrogate escaped, which TOML then refuses)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F or 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"


def toml_text(table: dict[str, Any], header: str = "") -> str:
    """``table`` as a TOML document, under ``[header]`` when given."""
    lines = [f"[{header}]"] if header else []
    lines += [f"{_string(key)} = {_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _deep(depth: int, key: str) -> str:
    return f"{key} = " + "[" * depth + "1" + "]" * depth + "\n"


def _dotted(depth: int, key: str) -> str:
    return "a." * depth + key + " = 1\n"


NESTED = st.builds(
    lambda make, depth, key: make(depth, key),
    st.sampled_from([_deep, _dotted]),
    st.sampled_from([10, 500, 990, 3000, 100_000]),
    st.sampled_from(["pue", "series_tiers", "market_factors", "colour"]),
)


def _mangle(text: str, how: str, data: st.DataObject) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    if how == "cut":
        return raw[: data.draw(st.integers(0, len(raw)), label="cut at")]
    if how == "nul":
        at = data.draw(st.integers(0, len(raw)), label="nul at")
        return raw[:at] + b"\x00" + raw[at:]
    if how == "bytes":
        at = data.draw(st.integers(0, len(raw)), label="bytes at")
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=20), label="bytes") + raw[at:]
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    return raw


def assert_loads_or_one_line(folder: Path) -> Settings | None:
    """Settings from the file in ``folder``, or None after a one-line ConfigError."""
    environ = {"HOME": str(folder)}  # the search stops in the folder itself
    try:
        settings = load_settings(environ=environ, cwd=folder)
    except ConfigError as exc:
        assert_one_line(exc)
        event("refused", exc.key if exc.key in KEYS or exc.key == "config" else "unknown key")
        return None
    event("loaded")
    return settings


@pytest.mark.fuzz_target("config files")
@fuzz_settings(ci=60, full=600)
@given(
    table=TABLE,
    pyproject=st.booleans(),
    how=st.sampled_from(["as is", "as is", "cut", "nul", "bytes", "bom"]),
    data=st.data(),
)
@example(table={"pue": 10**400}, pyproject=False, how="as is", data=None)
@example(table={"market_factors": {"FRA": 10**400}}, pyproject=True, how="as is", data=None)
@example(table={"\x1e": []}, pyproject=False, how="as is", data=None)  # a line break
@example(table={"db_url": "sqlite:///\x00"}, pyproject=False, how="as is", data=None)
@example(table={"pue": 1.5, "country": "fra"}, pyproject=False, how="as is", data=None)
def test_a_generated_config_file_loads_or_is_refused_in_one_line(
    tmp_path: Path,
    fuzz_count: FuzzCount,
    table: dict[str, Any],
    pyproject: bool,
    how: str,
    data: st.DataObject | None,
) -> None:
    fuzz_count.tried()
    text = toml_text(table, "tool.greenai" if pyproject else "")
    raw = _mangle(text, how, data) if data is not None else text.encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        path = folder / ("pyproject.toml" if pyproject else "greenai.toml")
        path.write_bytes(raw)
        if not pyproject:  # found whatever it holds (a pyproject only with its table)
            assert find_config_file({"HOME": name}, folder) == (path, False)
        settings = assert_loads_or_one_line(folder)
    if table == {"pue": 1.5, "country": "fra"}:
        assert settings is not None and (settings.pue, settings.country) == (1.5, "FRA")
    if settings is not None:
        assert settings.db_url is None or settings.db_url.isprintable()
        hash(settings)
        settings.as_dict()


BENCH_KEY = st.one_of(st.sampled_from(BenchConfig.keys()), KEY)
BENCH_TABLE = st.dictionaries(BENCH_KEY, VALUE, max_size=5)


@pytest.mark.fuzz_target("config files")
@fuzz_settings(ci=30, full=300)
@given(table=BENCH_TABLE, header=st.sampled_from(["", "bench"]))
@example(table={"data_dir": 5, "db_url": []}, header="")  # accepted, then a TypeError
@example(table={"models": ["gpt-tiny"], "repeats": 1}, header="bench")
def test_a_generated_bench_file_loads_or_is_refused_in_one_line(
    tmp_path: Path, fuzz_count: FuzzCount, table: dict[str, Any], header: str
) -> None:
    """``greenai bench --config FILE``: :meth:`BenchConfig.from_toml` checks every value
    (the benchmark itself is not run); the files share this test's folder."""
    fuzz_count.tried()
    path = tmp_path / "bench.toml"
    path.write_bytes(toml_text(table, header).encode("utf-8", "surrogatepass"))
    try:
        config = BenchConfig.from_toml(path)
    except ConfigError as exc:
        assert_one_line(exc)
        event("refused")
        return
    event("loaded")
    for text in (config.db_url, config.data_dir):
        assert text is None or (isinstance(text, str) and text.strip()), config
    if table == {"models": ["gpt-tiny"], "repeats": 1}:
        assert (config.models, config.repeats) == (("gpt-tiny",), 1)


@pytest.mark.fuzz_target("config files")
@fuzz_settings(ci=10, full=100)
@given(nested=NESTED, pyproject=st.booleans(), tail=st.sampled_from(["", huge("x = 1\n")]))
@example(nested=_dotted(30_000, "pue"), pyproject=False, tail="")  # was 3 GB and 11 s
@example(nested="pue = " + "9" * 5000 + "\n", pyproject=True, tail="")  # past 4300 digits
def test_a_deeply_nested_or_huge_config_file_is_refused_in_one_line(
    tmp_path: Path, fuzz_count: FuzzCount, nested: str, pyproject: bool, tail: str
) -> None:
    fuzz_count.tried()
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        path = folder / ("pyproject.toml" if pyproject else "greenai.toml")
        path.write_text(("[tool.greenai]\n" if pyproject else "") + nested + tail)
        assert assert_loads_or_one_line(folder) is None
