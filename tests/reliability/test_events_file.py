"""Lines of ``GREENAI_EVENTS_FILE``: bounded, finite, one warning per bad line, never a crash."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import greenai
from greenai.ledger import Ledger
from greenai.tracking.remote import RemoteRun, apply_events, read_events
from greenai.tracking.run import GreenAIWarning
from tests.reliability.helpers import stored

GREENAI = [sys.executable, "-m", "greenai.cli.main"]
BAD_EVENT = "invalid_event"

BAD_LINES = [
    pytest.param(b'{"metric":"acc","value":' + b"9" * 400 + b"}", id="400-digit-integer"),
    pytest.param(b'{"metric":"acc","value":' + b"9" * 5000 + b"}", id="5000-digit-integer"),
    pytest.param(b'{"metric":"acc","value":1e400}', id="float-overflow"),
    pytest.param(b'{"metric":"acc","value":NaN}', id="nan"),
    pytest.param(b'{"metric":"acc","value":-Infinity}', id="infinity"),
    pytest.param(b'{"output":' + b"1" * 30 + b"}", id="huge-count"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
    pytest.param(b'{"metric":"' + b"a" * 200_000 + b'","value":1}', id="line-over-64-KiB"),
    pytest.param(b'{"samples": 3', id="truncated-json"),
    pytest.param(b"\xff\xfe{}", id="not-utf-8"),
    pytest.param(b"[1, 2]", id="not-an-object"),
    pytest.param(b'{"colour": "blue"}', id="no-known-key"),
]


def _write(path: Path, *lines: bytes) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


@pytest.mark.parametrize("bad", BAD_LINES)
def test_a_bad_line_is_one_warning_and_a_flag_and_the_next_lines_count(
    tmp_path: Path, bad: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    events = tmp_path / "events.jsonl"
    _write(events, b'{"output": 2}', bad, b'{"metric": "acc", "value": 0.5}', b'{"samples": 4}')
    with caplog.at_level(logging.WARNING, logger="greenai"), greenai.track() as run:
        new, offset = read_events(events, 0)
        apply_events(run, new)
    assert offset == events.stat().st_size
    warned = [r for r in caplog.records if "events file" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage()[:200] for r in warned]
    assert len(warned[0].getMessage()) < 400  # the line is not echoed whole
    assert (run.tokens_output, run.samples) == (2, 4)
    assert [m["name"] for m in run.metrics] == ["acc"]
    assert BAD_EVENT in run.flags


def test_an_incomplete_last_line_waits_for_its_end(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"output": 1}\n{"output": ' + b"2" * 10)
    new, offset = read_events(events, 0)
    assert new == [{"output": 1}] and offset == len(b'{"output": 1}\n')
    with events.open("ab") as f:
        f.write(b"}\n")
    again, end = read_events(events, offset)
    assert len(again) == 1 and end == events.stat().st_size  # 2222222222 tokens: counted


def test_a_long_line_still_being_written_is_skipped_once_complete(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"metric": "' + b"a" * 300_000)
    new, offset = read_events(events, 0)
    assert (new, offset) == ([], 0)
    with events.open("ab") as f:
        f.write(b'", "value": 1}\n{"samples": 1}\n')
    again, end = read_events(events, offset)
    assert [e for e in again if "samples" in e] == [{"samples": 1}]
    assert end == events.stat().st_size


CHILD = textwrap.dedent(
    """
    import os
    with open(os.environ["GREENAI_EVENTS_FILE"], "a") as f:
        f.write('{"metric":"acc","value":' + "9" * 400 + '}\\n')
        f.write('{"output": 12}\\n')
    print("child done", flush=True)
    """
)


def test_greenai_run_survives_a_bad_line_and_keeps_the_run(tmp_path: Path) -> None:
    out = subprocess.run(
        [*GREENAI, "run", "--", sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "child done\n"
    assert "Traceback" not in out.stderr
    assert out.stderr.count("events file") == 1
    with Ledger.open() as ledger:
        (row,) = ledger.list_runs()
    record = stored(row["id"])
    assert record["run"]["status"] == "completed"
    assert record["run"]["tokens_output"] == 12
    assert BAD_EVENT in record["run"]["flags"]


def test_the_child_side_never_raises_into_the_job(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    child = RemoteRun("parent", events)
    child.log_metric("ppl", 10**5000)
    child.log_metric("nan", float("nan"))
    child.log_metric("obj", object())  # type: ignore[arg-type]
    child.add_tokens(output=10**5000)
    child.add_samples(3)
    lines = events.read_bytes().splitlines()
    assert len(lines) == 5
    for line in lines:
        json.loads(line)  # every line is valid JSON: bad values arrive as text, and are flagged
    with greenai.track() as run, pytest.warns(GreenAIWarning):
        apply_events(run, read_events(events, 0)[0])
    assert run.samples == 3 and run.tokens_output == 0 and run.metrics == []
    assert "invalid_metric" in run.flags
