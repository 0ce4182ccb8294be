"""Inputs the full-size fuzzing found, kept as plain regression tests."""

from __future__ import annotations

import pytest

import greenai
from greenai.interop.problems import Problem


def test_a_ledger_path_too_long_for_the_file_system_is_a_config_error() -> None:
    with pytest.raises(greenai.ConfigError, match="a path this machine can hold"):
        greenai.start(db_url="sqlite:///" + "¡" * 300)


def test_an_import_problem_stays_one_line_whatever_the_header_holds() -> None:
    text = str(Problem(2, "unknown column \x0c", 1, "a\x0cb\nc"))
    assert len(text.splitlines()) == 1
    assert text == "line 2, column 1 (a\\x0cb\\nc): unknown column \\x0c"
