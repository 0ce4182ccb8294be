"""Running ``greenai agent`` as a process for tests (fake NVML through LD_LIBRARY_PATH)."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.fake_nvml.driver import subprocess_env

GREENAI = [sys.executable, "-m", "greenai.cli.main"]


def start_agent(
    library: Path, *args: str, power_w: str = "100", env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], int]:
    """Start an agent on a free loopback port; returns it and its port."""
    environ = subprocess_env(library, COUNT="2", POWER_W=power_w)
    environ.pop("CUDA_VISIBLE_DEVICES", None)
    environ.update(env or {})
    # stderr goes to a file, not a pipe nobody reads while the agent runs: a full pipe
    # would block the agent's logging and with it its serving.
    with tempfile.NamedTemporaryFile(prefix="greenai-agent-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [*GREENAI, "agent", "--port", "0", "--address", "127.0.0.1", "--duration", "300",
             *args],
            env=environ, stdout=subprocess.PIPE, stderr=log, text=True,
        )  # fmt: skip
    _LOGS[process.pid] = Path(log.name)
    assert process.stdout is not None
    line = process.stdout.readline()  # "greenai agent: serving http://127.0.0.1:PORT/metrics"
    if "serving" not in line:
        process.kill()
        process.wait()
        raise AssertionError(f"agent did not start: {line!r} {_stderr(process)[-2000:]}")
    return process, int(line.rsplit(":", 1)[1].split("/")[0])


_LOGS: dict[int, Path] = {}


def _stderr(process: subprocess.Popen[str]) -> str:
    path = _LOGS.pop(process.pid, None)
    if path is None:
        return ""
    text = path.read_text(errors="replace")
    path.unlink(missing_ok=True)
    return text


def stop_agent(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then wait (killed after 60 s); (exit code, stderr)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
    return process.returncode, _stderr(process)
