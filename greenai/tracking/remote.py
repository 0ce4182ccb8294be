"""The run of ``greenai run``, seen from the child process it tracks.

The CLI passes its run id in ``GREENAI_PARENT_RUN_ID`` and a file in
``GREENAI_EVENTS_FILE``. In the child, :func:`greenai.current_run` returns a
:class:`RemoteRun` whose tokens, samples and metrics are appended to that file, one
JSON object per line; the CLI adds them to its run. A child that does not use greenai
can write the same lines itself::

    {"input": 128, "output": 512}
    {"samples": 32}
    {"metric": "accuracy", "value": 0.91}
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_PARENT = "GREENAI_PARENT_RUN_ID"
ENV_EVENTS = "GREENAI_EVENTS_FILE"


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
        line = json.dumps(dict(event), separators=(",", ":")) + "\n"
        try:
            with self._lock, open(self.events_file, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:  # never harm the job: the figure is lost, say so
            log.warning("greenai: could not report to the enclosing run: %s", exc)

    def add_tokens(self, input: int = 0, output: int = 0) -> None:
        """Count tokens for the enclosing run."""
        self._append({"input": input, "output": output})

    def add_samples(self, n: int) -> None:
        """Count samples for the enclosing run."""
        self._append({"samples": n})

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a quality metric on the enclosing run."""
        self._append({"metric": name, "value": value, "step": step})


def remote_run(environ: Mapping[str, str] = os.environ) -> RemoteRun | None:
    """The enclosing CLI run, when this process was started by ``greenai run``."""
    run_id, events = environ.get(ENV_PARENT), environ.get(ENV_EVENTS)
    if run_id and events:
        return RemoteRun(run_id, Path(events))
    return None


def read_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Events appended since ``offset`` (complete lines only) and the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    events = []
    for raw in data[:end].splitlines():
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning("greenai: ignored a malformed line in %s: %r", path, raw[:80])
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, offset + end


def apply_events(run: Any, events: list[dict[str, Any]]) -> None:
    """Add child events to a run (tokens, samples, metrics); bad values are flagged."""
    for event in events:
        if "metric" in event:
            run.log_metric(event["metric"], event.get("value"), event.get("step"))
        elif "samples" in event:
            run.add_samples(event["samples"])
        else:
            run.add_tokens(input=event.get("input", 0), output=event.get("output", 0))
