"""A fake NVML library (C) and the helpers that build and drive it from tests.

Fixtures live in :mod:`tests.fake_nvml.fixtures`; load them with
``pytest_plugins = ["tests.fake_nvml.fixtures"]`` in the top-level ``tests/conftest.py``
or by importing them into a folder's ``conftest.py``.
"""

from tests.fake_nvml.driver import FakeNvml, build_fake_nvml, install_in_process, subprocess_env

__all__ = ["FakeNvml", "build_fake_nvml", "install_in_process", "subprocess_env"]
