"""The limits the API checks are the schema's: one cannot change without the other."""

from __future__ import annotations

import sqlalchemy as sa

from greenai.config.keys import ACCEPTED
from greenai.ledger import limits, schema
from greenai.ledger.limits import OutOfRangeError, brief, fit_text, metric_value, whole_count


def _length(table: sa.Table, column: str) -> int:
    length = table.c[column].type.length  # type: ignore[attr-defined]
    assert isinstance(length, int)
    return length


def test_text_limits_are_the_column_lengths() -> None:
    for field, chars in limits.TEXT_CHARS.items():
        assert _length(schema.runs, field) == chars, field
    assert _length(schema.metrics, "name") == limits.METRIC_NAME_CHARS
    assert _length(schema.windows, "name") == limits.WINDOW_NAME_CHARS
    assert _length(schema.runs, "host_id") == limits.HOST_ID_CHARS
    for table, column in [
        (schema.runs, "id"),
        (schema.runs, "parent_run_id"),
        (schema.windows, "id"),
        (schema.windows, "run_id"),
        (schema.metrics, "run_id"),
        (schema.run_devices, "run_id"),
    ]:
        assert _length(table, column) == limits.ID_CHARS, (table.name, column)


def test_number_limits_are_the_column_types() -> None:
    for column in ("tokens_input", "tokens_output", "samples"):
        assert isinstance(schema.runs.c[column].type, sa.BigInteger)
        assert isinstance(schema.windows.c[column].type, sa.BigInteger)
    for table, column in [(schema.runs, "batch_size"), (schema.runs, "seq_len")]:
        assert type(table.c[column].type) is sa.Integer
    assert type(schema.metrics.c["step"].type) is sa.Integer
    assert isinstance(schema.metrics.c["value"].type, sa.Float)


def test_the_configuration_states_the_id_columns() -> None:
    assert f"1 to {limits.ID_CHARS} characters" in ACCEPTED["run_id"]
    assert f"1 to {limits.HOST_ID_CHARS} characters" in ACCEPTED["host_id"]


def test_fit_text() -> None:
    assert fit_text("plain", 10) == ("plain", "")
    assert fit_text("a\x00b", 10) == (
        "a\ufffdb",
        "NUL or unencodable characters replaced by U+FFFD",
    )
    cut, why = fit_text("x" * 11, 10)
    assert cut == "x" * 9 + "\u2026" and why == "cut to 10 characters"
    assert fit_text("\ud800" * 3, 2)[0] == "\ufffd\u2026"


def test_counts_and_values() -> None:
    assert whole_count(3) == whole_count(3.0) == 3
    for bad in (-1, 1.5, "3", None, True, float("nan")):
        try:
            whole_count(bad)
        except OutOfRangeError:
            raise AssertionError(f"{bad!r} is not a count at all") from None
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")
    for big in (2**63, 1e300, float("inf")):
        try:
            whole_count(big)
        except OutOfRangeError:
            continue
        raise AssertionError(f"{big!r} accepted")
    assert metric_value(10**300) == 1e300
    assert brief(10**5000).startswith("<an integer of about 5001 digits")
    assert len(brief("x" * 100_000)) <= 60
