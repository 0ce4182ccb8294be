"""The run of ``greenai run``, seen from the child process it tracks.

The CLI passes its run id in ``GREENAI_PARENT_RUN_ID`` and a file in
``GREENAI_EVENTS_FILE``. In the child, :func:`greenai.current_run` returns a
:class:`RemoteRun` whose tokens, samples and metrics are appended to that file, one
JSON object per line; the CLI adds them to its run. A child that does not use greenai
can write the same lines itself::

    {"input": 128, "output": 512}
    {"samples": 32}
    {"metric": "accuracy", "value": 0.91, "step": 100}

The CLI reads the file with bounds: a line is at most :data:`MAX_LINE_BYTES` bytes of
UTF-8 JSON, one object with a known key; integers have at most 19 digits, and
``NaN``, ``Infinity`` or floats beyond a double are refused. A line that breaks these
rules is skipped with one warning and flags the run ``invalid_event``; the values of a
valid line are checked as the run's own methods check them (warning and flag).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from greenai.figures import flags as fl
from greenai.ledger.limits import BIGINT_MAX, brief

log = logging.getLogger(__name__)

ENV_PARENT = "GREENAI_PARENT_RUN_ID"
ENV_EVENTS = "GREENAI_EVENTS_FILE"
MAX_LINE_BYTES = 64 * 1024
"""The longest line the CLI reads from the events file, newline excluded."""
MAX_INT_DIGITS = 19
"""The most digits of an integer in an event (2**63 - 1 has 19)."""
BAD_LINE = "bad_line"
"""The key of the event :func:`read_events` returns for a line it skipped (its reason)."""
EVENT_KEYS = ("metric", "samples", "input", "output")
_CHILD_TEXT_CHARS = 1000  # the run cuts names to 200 and flags it: enough to tell


class RemoteRun:
    """A handle on the enclosing ``greenai run`` from inside its child process.

    Attributes:
        id: The CLI run's id.
    """

    def __init__(self, run_id: str, events_file: Path) -> None:
        self.id = run_id
        self.events_file = events_file
        self._lock = threading.Lock()

    def _append(self, event: Mapping[str, Any]) -> None:
        try:
            line = json.dumps(dict(event), separators=(",", ":"), allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:  # never harm the job: the figure is lost
            log.warning("greenai: could not report to the enclosing run: %s", exc)
            return
        try:
            with self._lock, open(self.events_file, "a", encoding="utf-8") as f:
                f.write(line)
        except (OSError, UnicodeError) as exc:  # never harm the job: the figure is lost
            log.warning("greenai: could not report to the enclosing run: %s", exc)

    def add_tokens(self, input: int = 0, output: int = 0) -> None:
        """Count tokens for the enclosing run (checked there, as :meth:`Run.add_tokens`)."""
        self._append({"input": wire_value(input), "output": wire_value(output)})

    def add_samples(self, n: int) -> None:
        """Count samples for the enclosing run."""
        self._append({"samples": wire_value(n)})

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a quality metric on the enclosing run (checked there, as
        :meth:`Run.log_metric`)."""
        self._append(
            {"metric": wire_value(name), "value": wire_value(value), "step": wire_value(step)}
        )


def wire_value(value: object) -> object:
    """A value as an event line carries it: JSON numbers within the run's bounds, text,
    or None. Anything else travels as its brief description, which the run refuses
    (with a warning and a flag there, where the run is)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value[:_CHILD_TEXT_CHARS]
    if isinstance(value, int) and -BIGINT_MAX <= value <= BIGINT_MAX:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    converters: tuple[Callable[[Any], int | float], ...] = (int, float)
    for convert in converters:  # numpy and torch scalars
        try:
            converted = convert(value)
            if type(converted) is not type(value) and bool(converted == value):
                return wire_value(converted)
        except Exception:
            continue
    return brief(value)


def remote_run(environ: Mapping[str, str] = os.environ) -> RemoteRun | None:
    """The enclosing CLI run, when this process was started by ``greenai run``."""
    run_id, events = environ.get(ENV_PARENT), environ.get(ENV_EVENTS)
    if run_id and events:
        return RemoteRun(run_id, Path(events))
    return None


def read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Events appended since ``offset`` (complete lines only) and the new offset.

    A line that is not a valid event (see the module's rules) is logged once and comes
    back as ``{BAD_LINE: reason}``, so that :func:`apply_events` flags the run. A line
    without its newline yet is left for the next call. Never raises.
    """
    events: list[dict[str, Any]] = []
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            while True:
                line = f.readline(MAX_LINE_BYTES + 1)
                if not line.endswith(b"\n"):
                    if len(line) <= MAX_LINE_BYTES:
                        break  # the last line, still being written
                    skipped = _skip_line(f)
                    if skipped is None:
                        break  # an overlong line, still being written
                    offset += len(line) + skipped
                    events.append(_bad(path, f"longer than {MAX_LINE_BYTES} bytes"))
                    continue
                offset += len(line)
                events.append(parse_event(line, path))
    except OSError as exc:
        log.debug("cannot read the events file %s: %s", path, exc)
    return events, offset


def _skip_line(f: IO[bytes]) -> int | None:
    """Reads past the rest of an overlong line: its byte count, or None at its end."""
    skipped = 0
    while True:
        chunk = f.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            return skipped
        if not chunk:
            return None


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits")
    return int(text)


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is beyond a double")
    return number


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a number a run can hold")


def parse_event(line: bytes, path: Path | str = "") -> dict[str, Any]:
    """One line of the events file as an event, or ``{BAD_LINE: reason}`` (logged)."""
    try:
        event = json.loads(
            line.decode("utf-8"),
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except RecursionError:
        return _bad(path, "nested too deeply")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, our refusals
        return _bad(path, f"not a valid JSON line ({brief(str(exc))})")
    if not isinstance(event, dict):
        return _bad(path, f"a JSON {type(event).__name__}, not an object")
    if not any(key in event for key in EVENT_KEYS):
        return _bad(path, f"none of the keys {', '.join(EVENT_KEYS)}")
    return event


def _bad(path: Path | str, reason: str) -> dict[str, Any]:
    log.warning("greenai: ignored a line of the events file %s: %s", path, reason)
    return {BAD_LINE: reason}


def apply_events(run: Any, events: list[dict[str, Any]]) -> None:
    """Add child events to a run (tokens, samples, metrics); bad values are flagged.

    Never raises: the child's mistakes are warnings and flags on the run.
    """
    for event in events:
        try:
            _apply(run, event)
        except Exception as exc:  # a last guard: the CLI must outlive any event
            log.warning("greenai: ignored an event of the child: %s", brief(exc))
            run.flag(fl.INVALID_EVENT)


def _apply(run: Any, event: Mapping[str, Any]) -> None:
    if BAD_LINE in event:
        run.flag(fl.INVALID_EVENT)
    elif "metric" in event:
        run.log_metric(event["metric"], event.get("value"), event.get("step"))
    elif "samples" in event:
        run.add_samples(event["samples"])
    else:
        run.add_tokens(input=event.get("input", 0), output=event.get("output", 0))
