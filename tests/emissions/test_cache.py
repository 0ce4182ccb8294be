"""The factor table is built once per CodeCarbon version, then read without CodeCarbon."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from greenai.emissions import factors
from greenai.errors import GreenAIError

ROOT = Path(__file__).resolve().parents[2]
VERSION = importlib.metadata.version("codecarbon")

# Resolves a factor the way a run start does, then reports what the process imported.
PROBE = """
import json, sys
from greenai.config import load_settings
from greenai.emissions import resolve_factor
settings = load_settings({"country": "fra", "region": None})
factor = resolve_factor(settings)
print(json.dumps({
    "g": factor.intensity_g_per_kwh,
    "version": factor.codecarbon_version,
    "codecarbon": "codecarbon" in sys.modules,
    "pandas": "pandas" in sys.modules,
}))
"""


def probe(cache_dir: Path, tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GREENAI_CACHE_DIR": str(cache_dir),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_second_process_reads_the_cache_without_importing_codecarbon(tmp_path):
    cache = tmp_path / "cache"
    first = probe(cache, tmp_path)
    assert first["codecarbon"] is True  # built from CodeCarbon's data
    path = factors.table_path(cache, VERSION)
    assert path.is_file()
    assert [p.name for p in cache.iterdir()] == [path.name]  # no temporary file left over
    second = probe(cache, tmp_path)
    assert second == {**first, "codecarbon": False, "pandas": False}
    assert second["version"] == VERSION


def test_cache_with_another_version_key_is_rebuilt(tmp_path):
    cache = tmp_path / "cache"
    probe(cache, tmp_path)
    path = factors.table_path(cache, VERSION)
    data = json.loads(path.read_text())
    data["codecarbon_version"] = "0.0.1"
    data["countries"]["FRA"]["g_per_kwh"] = 9999.0  # would show if the stale file were used
    path.write_text(json.dumps(data))
    rebuilt = probe(cache, tmp_path)
    assert rebuilt["codecarbon"] is True
    assert rebuilt["g"] != 9999.0
    assert json.loads(path.read_text())["codecarbon_version"] == VERSION


@pytest.mark.parametrize("content", ["{not json", "[]", json.dumps({"format": -1})])
def test_corrupt_cache_is_rebuilt(tmp_path, content):
    path = factors.table_path(tmp_path, VERSION)
    path.write_text(content)
    table = factors.load_table(tmp_path)
    assert table.codecarbon_version == VERSION
    assert json.loads(path.read_text())["format"] == factors.TABLE_FORMAT


def test_table_is_loaded_once_per_process(tmp_path):
    first = factors.load_table(tmp_path)
    factors.table_path(tmp_path, VERSION).unlink()
    assert factors.load_table(tmp_path) is first  # from memory, the file is not read again
    factors.forget_loaded_tables()
    again = factors.load_table(tmp_path)
    assert again is not first
    assert again.data == first.data


def test_unwritable_cache_dir_still_gives_factors(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    table = factors.load_table(blocker / "cache")
    assert table.country("FRA") is not None


def test_version_is_read_without_importing_codecarbon():
    assert factors.codecarbon_version() == VERSION


def test_missing_codecarbon_is_a_clear_error(monkeypatch, tmp_path):
    # CodeCarbon is installed here; its absence is simulated at the version lookup.
    monkeypatch.setattr(factors, "codecarbon_version", lambda: None)
    with pytest.raises(GreenAIError, match="CodeCarbon is not installed"):
        factors.load_table(tmp_path)
