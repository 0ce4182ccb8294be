"""Whatever lines a child writes to ``GREENAI_EVENTS_FILE``, the run takes what is valid.

Generated files of event lines: objects with the known keys and hostile values (counts
past 2**63, 400-digit numbers, NaN, floats past a double, booleans, text, nested
values), JSON that breaks the file's rules (deep nesting, 5000 digits, not an object,
no known key), bytes that are not UTF-8, NUL, lines over 64 KiB; written whole or in
pieces cut anywhere, as a child writes while ``greenai run`` reads. Through the real
:func:`~greenai.tracking.remote.read_events` and
:func:`~greenai.tracking.remote.apply_events` on a run in the test's ledger: reading in
pieces gives the events of one read; each skipped line is one warning of bounded length
and flags the run; the counts stay within the ledger's columns; the run is stored
``completed``. (Each bad line as a fixed case: :mod:`tests.reliability.test_events_file`.)
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import greenai
from greenai.ledger.limits import BIGINT_MAX
from greenai.tracking.flags import INVALID_EVENT
from greenai.tracking.remote import BAD_LINE, EVENT_KEYS, MAX_LINE_BYTES, apply_events, read_events
from greenai.tracking.run import GreenAIWarning
from tests.reliability.figures import FuzzCount
from tests.reliability.fuzz import MARKUP, TEXT, fuzz_settings
from tests.reliability.helpers import stored

NUMBER = st.one_of(
    st.integers(-5, 10**6),
    st.integers(),
    st.sampled_from([BIGINT_MAX, BIGINT_MAX + 1, -(2**63), 10**19, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBER, TEXT, st.sampled_from(MARKUP)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
EVENT = st.one_of(
    st.fixed_dictionaries({"input": VALUE, "output": VALUE}),
    st.fixed_dictionaries({"output": NUMBER}),
    st.fixed_dictionaries({"samples": VALUE}),
    st.fixed_dictionaries({"metric": st.one_of(TEXT, VALUE), "value": VALUE, "step": VALUE}),
    st.dictionaries(st.sampled_from([*EVENT_KEYS, "value", "step", "colour"]), VALUE),
)


def _json_line(event: dict[str, Any]) -> bytes:
    text = json.dumps(event, allow_nan=True, default=str)  # NaN and Infinity as Python writes
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate: not UTF-8


BROKEN = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"[" * 100_000 + b"]" * 100_000,
            b'{"output": ' + b"9" * 5000 + b"}",
            b'{"metric": "m", "value": 1e400}',
            b'{"output": 1, "output": -1}',
            b'{"samples": 3',
            b"\xef\xbb\xbf{}",
            b'{"output": 1}\x00',
            b"null",
            b'"output"',
            b'{"metric": "' + b"a" * (MAX_LINE_BYTES + 10) + b'", "value": 1}',
            b" " * (MAX_LINE_BYTES + 1),
        ]
    ),
    st.text().map(lambda t: t.encode("utf-8", "surrogatepass")),
)
LINE = st.one_of(EVENT.map(_json_line), EVENT.map(_json_line), BROKEN).map(
    lambda line: line.replace(b"\n", b"\\n").replace(b"\r", b"")  # one line each
)


def _read_in(path: Path, content: bytes, cuts: list[int]) -> tuple[list[dict[str, Any]], int]:
    """The events ``read_events`` returns while ``content`` is written in pieces."""
    events: list[dict[str, Any]] = []
    offset, written = 0, 0
    path.write_bytes(b"")
    for cut in [*sorted(cuts), len(content)]:
        with path.open("ab") as f:
            f.write(content[written:cut])
        written = max(written, cut)
        new, offset = read_events(path, offset)
        events += new
    return events, offset


@pytest.mark.fuzz_target("events-file lines")
@fuzz_settings(ci=40, full=400)
@given(
    lines=st.lists(LINE, min_size=1, max_size=8),
    last_newline=st.booleans(),
    cuts=st.lists(st.integers(0, 200_000), max_size=4),
)
@example(lines=[b'{"output": ' + b"1" * 19 + b"}", b'{"output": 2}'], last_newline=True, cuts=[3])
@example(lines=[b'{"metric": "acc", "value": NaN}', b'{"samples": 1}'], last_newline=True, cuts=[5])
def test_any_events_file_is_read_safely_and_the_run_is_kept(
    tmp_path: Path,
    ledger_url: str,
    caplog: pytest.LogCaptureFixture,
    fuzz_count: FuzzCount,
    lines: list[bytes],
    last_newline: bool,
    cuts: list[int],
) -> None:
    fuzz_count.tried()
    content = b"\n".join(lines) + (b"\n" if last_newline else b"")
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="greenai"):
        whole, end = read_events(path, 0)
        pieces, offset = _read_in(path, content, [c for c in cuts if c < len(content)])
    skipped = sum(BAD_LINE in event for event in whole)
    warned = [r.getMessage() for r in caplog.records if "events file" in r.getMessage()]
    assert len(warned) == 2 * skipped  # one per skipped line and read
    assert all(len(message) < 400 for message in warned)  # the line is not echoed whole
    assert (pieces, offset) == (whole, end)
    complete = content[: content.rfind(b"\n") + 1]
    assert end == len(complete)  # an unfinished last line waits for its newline
    assert len(whole) == complete.count(b"\n")
    for event in whole:
        assert list(event) == [BAD_LINE] or any(key in event for key in EVENT_KEYS), event

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GreenAIWarning)
        with greenai.track(db_url=ledger_url) as run:
            apply_events(run, whole)
    assert skipped == 0 or INVALID_EVENT in run.flags
    for count in (run.tokens_input, run.tokens_output, run.samples):
        assert isinstance(count, int) and 0 <= count <= BIGINT_MAX
    assert all(math.isfinite(m["value"]) for m in run.metrics)
    outputs = [e["output"] for e in whole if set(e) == {"output"} and type(e["output"]) is int]
    if len(outputs) == len(whole) and all(n >= 0 for n in outputs) and sum(outputs) <= BIGINT_MAX:
        assert run.tokens_output == sum(outputs)  # valid lines all count
    assert stored(run.id, ledger_url)["run"]["status"] == "completed"
