"""The fault matrix's standard job: CPU work in steps, tokens, a known result and exit code.

``python -m tests.reliability.matrix.job CONFIG.json``, where the JSON file says:

- ``mode``: ``bare`` (no greenai at all: the baseline), ``track`` (``greenai.track``
  around the work, one window per step) or ``plain`` (no greenai import: the child of
  ``greenai run``, reporting its tokens through ``GREENAI_EVENTS_FILE``);
- ``case``: the run's name; ``out``: the folder for its markers; ``steps``;
- ``hold``: once ``steps`` steps are done, mark ``ready`` and work on until a signal
  ends the job (it gives up after :data:`HOLD_S` with :data:`NOT_ENDED`);
- ``seam``: an in-process fault the job installs first (:mod:`.seams`);
- ``crash``: a signal the job sends itself once it printed its result (``SIGSEGV``).

It prints ``result <n>`` and exits with :data:`EXIT_CODE`, with or without greenai.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_CODE = 3
TOKENS_PER_STEP = 7
HOLD_S = 60.0
NOT_ENDED = 97  # a held job that no signal ended
RESULT_PREFIX = "result "


def work(step: int) -> int:
    """One step of CPU work; its value is the same with or without greenai."""
    return sum((step * k) % 97 for k in range(400_000))


def expected_result(steps: int) -> int:
    """What the job prints after ``steps`` steps."""
    return sum(work(step) for step in range(steps))


def mark(out: Path, name: str, text: str = "") -> None:
    """Write marker ``name`` in ``out`` at once (a reader never sees half of it)."""
    tmp = out / f".{name}.tmp"
    tmp.write_text(text)
    tmp.rename(out / name)


def steps(config: dict[str, Any], out: Path) -> Iterator[int]:
    """The step numbers: ``steps`` of them, then, when held, more until a signal."""
    yield from range(config["steps"])
    if not config.get("hold"):
        return
    mark(out, "ready")
    step = config["steps"]
    deadline = time.monotonic() + HOLD_S
    while time.monotonic() < deadline:
        yield step
        step += 1
    sys.exit(NOT_ENDED)


def tracked(config: dict[str, Any], out: Path) -> int:
    import greenai
    from tests.reliability.matrix import seams

    seam = seams.install(config.get("seam"), out)
    value = 0
    with greenai.track(model="fault-matrix", name=config["case"], **seam.settings) as run:
        mark(out, "run_id", run.id)
        for step in steps(config, out):
            seam.before_step(step)
            with run.window("step"):
                value += work(step)
                seam.in_step(step)
                run.add_tokens(output=TOKENS_PER_STEP)
    return value


def untracked(config: dict[str, Any], out: Path) -> int:
    events = os.environ.get("GREENAI_EVENTS_FILE") if config["mode"] == "plain" else None
    value = 0
    for step in steps(config, out):
        value += work(step)
        if events:
            with open(events, "a", encoding="utf-8") as file:
                file.write(json.dumps({"output": TOKENS_PER_STEP}) + "\n")
    return value


def crash(name: str) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.kill(os.getpid(), signal.Signals[name])


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    out = Path(config["out"])
    mark(out, "pid", str(os.getpid()))
    value = tracked(config, out) if config["mode"] == "track" else untracked(config, out)
    print(f"{RESULT_PREFIX}{value}", flush=True)
    if config.get("crash"):
        crash(config["crash"])
    return EXIT_CODE


if __name__ == "__main__":
    sys.exit(main(sys.argv))
