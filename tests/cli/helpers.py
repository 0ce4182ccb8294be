"""Running greenai's command line as a user does: a fresh interpreter, output captured."""

from __future__ import annotations

import os
import subprocess
import sys

GREENAI = [sys.executable, "-m", "greenai.cli.main"]


def greenai_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``greenai ARGS...`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [*GREENAI, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )


def greenai_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``greenai run ARGS...`` (see :func:`greenai_cli`)."""
    return greenai_cli("run", *args, **env)
