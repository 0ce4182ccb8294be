"""House rules that a user would notice: light imports, layers, whole stand-ins."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

HEAVY = ("pandas", "pynvml", "codecarbon", "torch", "streamlit", "sqlalchemy", "alembic",
         "typer", "rich", "prometheus_client", "psutil")  # fmt: skip


def _imports(package: str) -> set[str]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_collectors_import_nothing_from_greenai_or_dashboard() -> None:
    assert not {"greenai", "dashboard"} & _imports("collectors")


def test_greenai_never_imports_the_dashboard() -> None:
    assert "dashboard" not in _imports("greenai")


def test_import_greenai_and_collectors_load_no_heavy_module() -> None:
    code = (
        "import sys, greenai, collectors; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_public_api_is_explicit() -> None:
    import greenai

    assert {"track", "start", "current_run", "Run", "ConfigError"} <= set(greenai.__all__)
    for name in greenai.__all__:
        assert getattr(greenai, name) is not None


def test_every_collector_and_stand_in_implements_the_whole_base_class() -> None:
    import collectors.cpu_model
    import collectors.dram_model
    import collectors.nvml.collector
    import collectors.rapl
    import tests.collectors.wave
    import tests.tracking.test_hub_accounting
    import tests.tracking.test_never_harm
    from collectors.base import Collector

    del collectors, tests  # imported for their subclasses
    seen = []
    pending = list(Collector.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        seen.append(cls.__name__)
        assert not inspect.isabstract(cls), f"{cls.__name__} misses {cls.__abstractmethods__}"
    assert {"NvmlCollector", "RaplCollector", "CpuModelCollector", "DramModelCollector"} <= set(
        seen
    )


def test_sources_stay_small() -> None:
    # One idea per file: a source file of more than 600 lines is a smell worth a look.
    for package in ("collectors", "greenai", "dashboard"):
        for path in Path(REPO / package).rglob("*.py"):
            assert len(path.read_text().splitlines()) <= 600, path
