"""Test-wide isolation: every test gets its own ledger, data folder and working folder;
the emission-factor table is built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.fake_nvml.fixtures"]

# Configuration, and launcher variables that would turn a tracked test run into one rank
# of a multi-rank job when the suite itself runs under torchrun, Slurm or MPI.
_ISOLATED_PREFIXES = ("GREENAI_", "SLURM_", "OMPI_", "PMIX_", "TORCHELASTIC_", "PMI_")
_ISOLATED_KEYS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "CUDA_VISIBLE_DEVICES")


@pytest.fixture(scope="session")
def factor_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("greenai-cache")


@pytest.fixture(autouse=True)
def greenai_env(
    tmp_path: Path, factor_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A private data folder (ledger, spool), no configuration from the developer's
    environment, and the working folder in tmp_path so no config file is found."""
    for key in list(os.environ):
        if key.startswith(_ISOLATED_PREFIXES) or key in _ISOLATED_KEYS:
            monkeypatch.delenv(key)
    data_dir = tmp_path / "greenai-data"
    monkeypatch.setenv("GREENAI_DATA_DIR", str(data_dir))
    monkeypatch.setenv("GREENAI_CACHE_DIR", str(factor_cache_dir))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.chdir(tmp_path)
    yield data_dir


@pytest.fixture
def ledger_url(greenai_env: Path) -> str:
    """The URL of this test's default ledger file."""
    return f"sqlite:///{greenai_env / 'ledger.db'}"


@pytest.fixture(autouse=True)
def fresh_measurement() -> Iterator[None]:
    """Each test opens its own collectors. Once the fake NVML library is loaded in this
    process it stays loaded (glibc matches it by SONAME), so after a test it is left
    with no GPUs: later tests see this machine as it is, without a GPU."""
    yield
    import sys

    from greenai.tracking.hub import close_hubs

    close_hubs()
    pynvml = sys.modules.get("pynvml")
    lib = getattr(pynvml, "nvmlLib", None) if pynvml is not None else None
    if lib is not None and hasattr(lib, "fake_nvml_set_count"):
        lib.fake_nvml_set_count(0)
