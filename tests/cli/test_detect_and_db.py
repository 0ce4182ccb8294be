"""``greenai detect`` on this machine, and ``greenai db upgrade``."""

from __future__ import annotations

import json
from pathlib import Path

from greenai.ledger import HEAD_REVISION, Ledger
from tests.cli.test_run_command import greenai_cli
from tests.fake_nvml.driver import subprocess_env


def test_detect_lists_the_cpu_estimate_and_why_there_is_no_gpu_or_rapl(tmp_path: Path) -> None:
    out = greenai_cli(["detect", "--format", "json"], env=_env(GREENAI_POWERCAP_ROOT=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    found = {entry["collector"]: entry for entry in json.loads(out.stdout)}
    assert found["cpu-model"]["available"]
    (cpu,) = found["cpu-model"]["devices"]
    assert cpu["method"] == "model" and cpu["kind"] == "cpu"
    assert not found["rapl"]["available"] and "RAPL" in found["rapl"]["reason"]
    assert not found["nvml"]["available"] and "libnvidia-ml" in found["nvml"]["reason"]
    table = greenai_cli(["detect"], env=_env(GREENAI_POWERCAP_ROOT=str(tmp_path)))
    assert "cpu:model" in table.stdout and "rapl: unavailable" in table.stdout


def test_detect_shows_each_gpu_and_its_method(fake_nvml_library: Path) -> None:
    env = subprocess_env(fake_nvml_library, COUNT="2", NO_COUNTER="1")
    out = greenai_cli(["detect", "--format", "json"], env=env)
    found = {entry["collector"]: entry for entry in json.loads(out.stdout)}
    methods = [d["method"] for d in found["nvml"]["devices"]]
    assert methods == ["power", "power"]


def test_db_upgrade_brings_a_ledger_to_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    out = greenai_cli(["db", "upgrade", "--db", url])
    assert out.returncode == 0, out.stderr
    assert HEAD_REVISION in out.stdout
    with Ledger.open(url, auto_upgrade=False) as ledger:
        assert ledger.list_runs() == []


def _env(**extra: str) -> dict[str, str]:
    import os

    return {**os.environ, **extra}
