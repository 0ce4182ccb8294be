"""Launching simulated ranks (and agents) as real processes for the fleet tests.

Each rank is a fresh Python process that loads the fake NVML library through
``LD_LIBRARY_PATH`` as a real job would, with the environment a launcher sets
(torchrun's ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``,
``TORCHELASTIC_RUN_ID``) and its node's ``GREENAI_HOST_ID``. The test and the ranks meet
through files: a rank touches ``ready-<rank>`` once its run started and waits (bounded)
for ``go`` before stopping it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.fake_nvml.driver import subprocess_env

WAIT_S = 120.0

RANK_SCRIPT = textwrap.dedent(
    """
    import ctypes, json, os, sys, time
    from pathlib import Path
    from tests.fake_nvml.driver import FakeNvml
    import greenai

    folder, rank, local = Path(sys.argv[1]), int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    manual = os.environ.get("TEST_MANUAL_TIME") == "1"
    fake = FakeNvml(ctypes.CDLL("libnvidia-ml.so.1"))
    fake.set_count(2)
    if manual:
        fake.set_time(1000.0)
    for i in range(2):
        fake.set_constant(i, float(os.environ.get("TEST_POWER_W_%d" % i, "100")))
    run = greenai.start(model="m", project="fleet")
    (folder / f"ready-{rank}").touch()
    deadline = time.monotonic() + 120.0
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if manual:
        fake.set_time(1000.0 + float(os.environ["TEST_SECONDS"]))
    run.add_tokens(output=100)
    run.stop()
    print(json.dumps(run.to_dict(), default=str))
    """
)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll ``condition`` every 50 ms until true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def rank_env(
    library: Path,
    *,
    job: str,
    rank: int,
    world_size: int,
    local_rank: int,
    local_world_size: int,
    host: str,
    db_url: str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment torchrun would give a rank, plus greenai's settings."""
    env = subprocess_env(library)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(local_rank),
        LOCAL_WORLD_SIZE=str(local_world_size),
        TORCHELASTIC_RUN_ID=job,
        GREENAI_HOST_ID=host,
        GREENAI_DB_URL=db_url,
        GREENAI_COUNTRY="FRA",
    )
    env.update(extra or {})
    return env


def start_rank(folder: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start one rank process."""
    return subprocess.Popen(
        [sys.executable, "-c", RANK_SCRIPT, str(folder)],
        env=dict(env),
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout_s: float = WAIT_S) -> tuple[int, str, str]:
    """Wait for a process (killed after ``timeout_s``); (exit code, stdout, stderr)."""
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err
