"""A killed job keeps its run: marked interrupted by the next greenai process, energy kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from greenai.ledger import Ledger

KILLED_JOB = textwrap.dedent(
    """
    import os, signal, time, greenai
    run = greenai.start(model="doomed")
    end = time.process_time() + 1.5
    while time.process_time() < end:
        pass
    run.add_tokens(output=3)
    time.sleep(1.0)  # at least one heartbeat after the work
    print(run.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_killed_process_is_interrupted_by_the_next_run_with_energy_kept() -> None:
    env = {**os.environ, "GREENAI_HEARTBEAT_S": "0.5", "GREENAI_STALE_AFTER_S": "1"}
    out = subprocess.run(
        [sys.executable, "-c", KILLED_JOB], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == -9
    killed_id = out.stdout.strip()
    with Ledger.open() as ledger:
        before = ledger.get_run(killed_id)
    assert before is not None and before["run"]["status"] == "running"
    assert before["run"]["energy_j"] > 0  # the heartbeat flushed energy while it ran
    time.sleep(1.2)
    nxt = subprocess.run(
        [sys.executable, "-c", "import greenai\nwith greenai.track(model='next'): pass"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert nxt.returncode == 0, nxt.stderr
    with Ledger.open() as ledger:
        after = ledger.get_run(killed_id)["run"]
    assert after["status"] == "interrupted"
    assert after["energy_j"] == before["run"]["energy_j"]
    assert after["tokens_output"] == 3
    assert any("heartbeat stale" in flag for flag in after["flags"])


def test_sigterm_marks_the_run_interrupted_and_still_terminates() -> None:
    job = textwrap.dedent(
        """
        import os, signal, greenai
        run = greenai.start(model="terminated")
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        print("not reached", flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=120)
    assert out.returncode == -15
    run_id = out.stdout.split()[0]
    assert "not reached" not in out.stdout
    with Ledger.open() as ledger:
        assert ledger.get_run(run_id)["run"]["status"] == "interrupted"


def test_keyboard_interrupt_is_interrupted_and_reraised() -> None:
    import pytest

    import greenai

    with pytest.raises(KeyboardInterrupt), greenai.track(model="m") as run:
        raise KeyboardInterrupt
    assert run.status == "interrupted"
