"""Pytest fixtures for the fake NVML library.

- ``fake_nvml_library`` (session): the compiled ``libnvidia-ml.so.1``'s path; its folder
  also holds an executable ``nvidia-smi``. Use it for subprocesses
  (:func:`tests.fake_nvml.driver.subprocess_env`).
- ``fake_nvml`` (function): a :class:`~tests.fake_nvml.driver.FakeNvml` whose library the
  real ``pynvml`` of this process calls, reset to its defaults before and after the test
  (2 GPUs at a constant 100 W with energy counters, real time).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_nvml.driver import FakeNvml, build_fake_nvml, install_in_process


@pytest.fixture(scope="session")
def fake_nvml_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the fake NVML library once per session; its path."""
    return build_fake_nvml(tmp_path_factory.mktemp("fake_nvml"))


@pytest.fixture(scope="session")
def fake_nvml_session(fake_nvml_library: Path) -> FakeNvml:
    """The fake, loaded into this process for the whole session."""
    return FakeNvml(install_in_process(fake_nvml_library))


@pytest.fixture
def fake_nvml(fake_nvml_session: FakeNvml) -> Iterator[FakeNvml]:
    """The in-process fake, at its defaults, for one test."""
    install_in_process(fake_nvml_session.path)
    fake_nvml_session.reset()
    yield fake_nvml_session
    fake_nvml_session.reset()
