"""A Prometheus server for tests: Debian's ``prometheus`` binary, a temporary
configuration and data folder, a free loopback port; stopped by the caller."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.fleet.launch import wait_for

CONFIG = """global:
  scrape_interval: {interval}
  scrape_timeout: {interval}
scrape_configs:
  - job_name: greenai
    static_configs:
      - targets: [{targets}]
"""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusServer:
    """Prometheus scraping ``targets`` (host:port) every ``interval``."""

    def __init__(self, folder: Path, targets: Sequence[str], interval: str = "1s") -> None:
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        if not Path(binary).exists():
            raise AssertionError(
                "Debian's prometheus package is not installed (apt-get install prometheus)"
            )
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        quoted = ", ".join(f"'{t}'" for t in targets)
        config.write_text(CONFIG.format(interval=interval, targets=quoted))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (folder / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self._ready, "Prometheus to be ready")

    def _ready(self) -> bool:
        assert self.process.poll() is None, "prometheus exited; see its log"
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def query(self, promql: str, at_s: float | None = None) -> list[dict[str, Any]]:
        """The result of an instant query."""
        params = {"query": promql}
        if at_s is not None:
            params["time"] = f"{at_s:.3f}"
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            payload = json.loads(response.read())
        assert payload["status"] == "success", payload
        return list(payload["data"]["result"])

    def stop(self) -> None:
        """Terminate and wait."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
