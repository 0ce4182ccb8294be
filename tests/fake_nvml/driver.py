"""Build the fake NVML library and drive it from tests.

``build_fake_nvml(dest)`` compiles ``fake_nvml.c`` into ``dest/libnvidia-ml.so.1`` (once
per source hash) and writes an executable ``dest/nvidia-smi`` next to it (CodeCarbon runs
``nvidia-smi --help`` to decide whether a machine has NVIDIA GPUs).

Two ways to make the real ``pynvml`` use the fake:

- in a subprocess: ``LD_LIBRARY_PATH=dest`` (see :func:`subprocess_env`);
- in this process: :func:`install_in_process`, which loads the library by absolute path
  (glibc then answers ``CDLL("libnvidia-ml.so.1")`` with it, by SONAME) and points
  ``pynvml.nvmlLib`` at it. Once loaded it stays loaded for the life of the process.

:class:`FakeNvml` wraps the ``fake_nvml_*`` control functions through ctypes.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_nvml.c")
LIBRARY_NAME = "libnvidia-ml.so.1"
_HASH_FILE = ".fake_nvml.sha256"

NVIDIA_SMI = """#!/bin/sh
# Stand-in for nvidia-smi next to the fake NVML library: answers --help and -L.
case "$1" in
  -L) echo "GPU 0: NVIDIA H100 80GB HBM3 (fake)";;
  *) echo "NVIDIA System Management Interface (fake, for tests)";;
esac
exit 0
"""

NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_GPU_IS_LOST = 15

PROCESS_SAMPLE_PERIOD_S = 0.1
"""The fake driver samples per-process utilization every 0.1 s (at multiples of it)."""
PROCESS_SAMPLES_KEPT = 100
"""Samples the fake driver keeps per process (10 s)."""


def build_fake_nvml(dest: Path) -> Path:
    """Compile the fake into ``dest`` unless the same source was already compiled there.

    Args:
        dest: Folder to hold ``libnvidia-ml.so.1`` and ``nvidia-smi`` (created).

    Returns:
        The library's absolute path.

    Raises:
        RuntimeError: No C compiler, or the compilation failed (with gcc's output).
    """
    dest = dest.resolve()
    dest.mkdir(parents=True, exist_ok=True)
    library = dest / LIBRARY_NAME
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    stamp = dest / _HASH_FILE
    if not (library.exists() and stamp.exists() and stamp.read_text() == digest):
        _compile(library)
        stamp.write_text(digest)
    smi = dest / "nvidia-smi"
    smi.write_text(NVIDIA_SMI)
    smi.chmod(smi.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return library


def _compile(library: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError("the fake NVML library needs a C compiler (gcc) on PATH")
    tmp = library.with_suffix(".tmp")
    soname = "-Wl,-soname," + LIBRARY_NAME
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", soname,
           "-o", str(tmp), str(SOURCE), "-lm", "-lpthread"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"compiling {SOURCE.name} failed:\n{done.stderr}")
    tmp.replace(library)


def subprocess_env(
    library: Path, base: Mapping[str, str] | None = None, **fake: str
) -> dict[str, str]:
    """An environment for a subprocess that must load the fake instead of a real NVML.

    Args:
        library: The fake library's path.
        base: Environment to start from (default ``os.environ``).
        **fake: ``FAKE_NVML_*`` settings without the prefix, e.g. ``COUNT="3"``.

    Returns:
        ``base`` with ``LD_LIBRARY_PATH`` and ``PATH`` led by the library's folder,
        ``PYTHONPATH`` holding the repository root, and the ``FAKE_NVML_*`` settings.
    """
    env = dict(os.environ if base is None else base)
    folder = str(library.parent)
    env["LD_LIBRARY_PATH"] = folder
    env["PATH"] = folder + os.pathsep + env.get("PATH", "")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for key, value in fake.items():
        env[f"FAKE_NVML_{key.upper()}"] = value
    return env


def install_in_process(library: Path) -> ctypes.CDLL:
    """Make the real ``pynvml`` of this process call the fake library.

    Returns:
        The loaded library.
    """
    import pynvml

    lib = ctypes.CDLL(str(library.resolve()))
    if pynvml.nvmlLib is None or getattr(pynvml.nvmlLib, "_name", None) != lib._name:
        with pynvml.libLoadLock:
            pynvml.nvmlLib = lib
            pynvml._nvmlGetFunctionPointer_cache.clear()
    return lib


@dataclass(frozen=True)
class Waveform:
    """What a device's power does over time, as last set through :class:`FakeNvml`.

    Attributes:
        kind: ``constant``, ``square`` or ``sine``.
        a_w: Constant power, low power (square) or mean power (sine), W.
        b_w: High power (square) or amplitude (sine), W.
        period_s: Period, s.
        duty: Share of each period at high power (square).
    """

    kind: str
    a_w: float
    b_w: float = 0.0
    period_s: float = 1.0
    duty: float = 0.5

    def energy_j(self, t_s: float) -> float:
        """Antiderivative of the power, J, with ``energy_j(0) == 0``."""
        if self.kind == "constant":
            return self.a_w * t_s
        if self.kind == "sine":
            omega = 2.0 * math.pi / self.period_s
            return self.a_w * t_s + self.b_w / omega * (1.0 - math.cos(omega * t_s))
        high_s = self.duty * self.period_s
        n = math.floor(t_s / self.period_s)
        phase = t_s - n * self.period_s
        per_period = self.b_w * high_s + self.a_w * (self.period_s - high_s)
        if phase < high_s:
            partial = self.b_w * phase
        else:
            partial = self.b_w * high_s + self.a_w * (phase - high_s)
        return n * per_period + partial


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise ValueError(f"fake NVML rejected {what} (code {rc})")


class FakeNvml:
    """Drives the fake library's devices through its ``fake_nvml_*`` functions.

    Device numbers are NVML indices. Expected energies come from the waveform last set
    through this object, computed here in Python, independently of the C code.
    """

    def __init__(self, library: Path | ctypes.CDLL) -> None:
        """Open the control functions of an already built library."""
        if isinstance(library, ctypes.CDLL):
            self.lib = library
            self.path = Path(library._name)
        else:
            self.lib = ctypes.CDLL(str(library.resolve()))
            self.path = library.resolve()
        self._declare()
        self._waves: dict[int, Waveform] = {}

    def _declare(self) -> None:
        lib = self.lib
        d, i, u, ull, s = (ctypes.c_double, ctypes.c_int, ctypes.c_uint,
                           ctypes.c_ulonglong, ctypes.c_char_p)  # fmt: skip
        signatures: dict[str, tuple[type, list[type]]] = {
            "fake_nvml_reset": (i, []),
            "fake_nvml_set_count": (i, [i]),
            "fake_nvml_set_init_error": (i, [i]),
            "fake_nvml_set_name": (i, [i, s]),
            "fake_nvml_set_uuid": (i, [i, s]),
            "fake_nvml_set_constant": (i, [i, d]),
            "fake_nvml_set_square_wave": (i, [i, d, d, d, d]),
            "fake_nvml_set_sine": (i, [i, d, d, d]),
            "fake_nvml_set_average_window": (i, [i, d]),
            "fake_nvml_set_counter_update_period": (i, [i, d]),
            "fake_nvml_set_time": (i, [d]),
            "fake_nvml_use_real_time": (i, []),
            "fake_nvml_now": (d, []),
            "fake_nvml_set_counter_supported": (i, [i, i]),
            "fake_nvml_set_instant_supported": (i, [i, i]),
            "fake_nvml_set_power_usage_supported": (i, [i, i]),
            "fake_nvml_set_power_limit": (i, [i, u]),
            "fake_nvml_set_error": (i, [i, i]),
            "fake_nvml_set_lost": (i, [i, i]),
            "fake_nvml_reset_counter": (i, [i]),
            "fake_nvml_shift_counter": (i, [i, d]),
            "fake_nvml_add_process": (i, [i, u, ull]),
            "fake_nvml_clear_processes": (i, [i]),
            "fake_nvml_set_process_utilization": (i, [i, u, u, u]),
            "fake_nvml_set_process_utilization_supported": (i, [i, i]),
            "fake_nvml_set_utilization": (i, [i, i, u, u]),
            "fake_nvml_set_memory": (i, [i, i, ull, ull]),
            "fake_nvml_set_mig_mode": (i, [i, i]),
            "fake_nvml_add_mig": (i, [i, s, u, u]),
            "fake_nvml_set_slices": (i, [i, i, u]),
            "fake_nvml_power_w": (d, [i, d]),
            "fake_nvml_energy_j": (d, [i, d, d]),
            "fake_nvml_calls": (ctypes.c_longlong, [s]),
            "fake_nvml_reset_calls": (i, []),
            "fake_nvml_init_refs": (i, []),
        }
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes

    # -- whole library ------------------------------------------------------------------

    def reset(self) -> None:
        """Defaults: 2 GPUs at a constant 100 W with counters, real time, nothing failing,
        no processes; call counters cleared. NVML init references are kept."""
        self.lib.fake_nvml_reset()
        self.lib.fake_nvml_reset_calls()
        self._waves = {n: Waveform("constant", 100.0) for n in range(16)}

    def set_count(self, count: int) -> None:
        """Number of GPUs NVML reports (0..16)."""
        _check(self.lib.fake_nvml_set_count(count), f"count {count}")

    def set_init_error(self, code: int) -> None:
        """``nvmlInit`` returns this NVML error code (0: succeeds)."""
        self.lib.fake_nvml_set_init_error(code)

    def set_time(self, t_s: float) -> None:
        """Switch to (or move) the manual clock, s."""
        self.lib.fake_nvml_set_time(t_s)

    def use_real_time(self) -> None:
        """Back to CLOCK_MONOTONIC."""
        self.lib.fake_nvml_use_real_time()

    def now(self) -> float:
        """The fake's current time, s."""
        return float(self.lib.fake_nvml_now())

    def calls(self, name: str) -> int:
        """How many times an NVML function was called since the last reset."""
        n = int(self.lib.fake_nvml_calls(name.encode()))
        if n < 0:
            raise KeyError(f"the fake NVML library does not export {name}")
        return n

    def reset_calls(self) -> None:
        """Zero every call counter."""
        self.lib.fake_nvml_reset_calls()

    def init_refs(self) -> int:
        """Outstanding ``nvmlInit`` calls not yet matched by ``nvmlShutdown``."""
        return int(self.lib.fake_nvml_init_refs())

    # -- one device ---------------------------------------------------------------------

    def set_name(self, i: int, name: str) -> None:
        """GPU i's model name."""
        _check(self.lib.fake_nvml_set_name(i, name.encode()), f"name of {i}")

    def set_uuid(self, i: int, uuid: str) -> None:
        """GPU i's UUID (``GPU-...``)."""
        _check(self.lib.fake_nvml_set_uuid(i, uuid.encode()), f"uuid of {i}")

    def set_constant(self, i: int, power_w: float) -> None:
        """GPU i draws a constant power, W."""
        _check(self.lib.fake_nvml_set_constant(i, power_w), f"power of {i}")
        self._waves[i] = Waveform("constant", power_w)

    def set_square_wave(
        self, i: int, low_w: float, high_w: float, period_s: float, duty: float = 0.5
    ) -> None:
        """GPU i draws ``high_w`` for the first ``duty`` of every period, else ``low_w``."""
        rc = self.lib.fake_nvml_set_square_wave(i, low_w, high_w, period_s, duty)
        _check(rc, f"square wave of {i}")
        self._waves[i] = Waveform("square", low_w, high_w, period_s, duty)

    def set_sine(self, i: int, mean_w: float, amplitude_w: float, period_s: float) -> None:
        """GPU i draws ``mean_w + amplitude_w * sin(2 pi t / period_s)``."""
        _check(self.lib.fake_nvml_set_sine(i, mean_w, amplitude_w, period_s), f"sine of {i}")
        self._waves[i] = Waveform("sine", mean_w, amplitude_w, period_s)

    def set_average_window(self, i: int, window_s: float) -> None:
        """``nvmlDeviceGetPowerUsage`` of GPU i averages over this trailing window (0: no)."""
        _check(self.lib.fake_nvml_set_average_window(i, window_s), f"window of {i}")

    def set_counter_update_period(self, i: int, period_s: float) -> None:
        """GPU i's counter advances only every ``period_s`` (its sensor's update period), so a
        window shorter than that can read 0; 0: continuously."""
        rc = self.lib.fake_nvml_set_counter_update_period(i, period_s)
        _check(rc, f"counter period of {i}")

    def set_counter_supported(self, i: int, supported: bool) -> None:
        """Whether GPU i has an energy counter (else NVML_ERROR_NOT_SUPPORTED)."""
        _check(self.lib.fake_nvml_set_counter_supported(i, int(supported)), f"counter of {i}")

    def set_instant_supported(self, i: int, supported: bool) -> None:
        """Whether GPU i answers the NVML_FI_DEV_POWER_INSTANT field."""
        _check(self.lib.fake_nvml_set_instant_supported(i, int(supported)), f"instant of {i}")

    def set_power_usage_supported(self, i: int, supported: bool) -> None:
        """Whether GPU i answers ``nvmlDeviceGetPowerUsage``."""
        rc = self.lib.fake_nvml_set_power_usage_supported(i, int(supported))
        _check(rc, f"power usage of {i}")

    def set_power_limit(self, i: int, limit_w: float | None) -> None:
        """GPU i's power limit, W; None: the limit queries return NOT_SUPPORTED."""
        limit_mw = 0 if limit_w is None else round(limit_w * 1000)
        _check(self.lib.fake_nvml_set_power_limit(i, limit_mw), f"limit of {i}")

    def set_error(self, i: int, code: int) -> None:
        """Every call on GPU i returns this NVML error code (0: none)."""
        _check(self.lib.fake_nvml_set_error(i, code), f"error of {i}")

    def set_lost(self, i: int, lost: bool) -> None:
        """GPU i falls off the bus: NVML_ERROR_GPU_IS_LOST on every call."""
        _check(self.lib.fake_nvml_set_lost(i, int(lost)), f"lost {i}")

    def reset_counter(self, i: int) -> None:
        """Driver reload: GPU i's energy counter restarts from 0 now."""
        _check(self.lib.fake_nvml_reset_counter(i), f"counter reset of {i}")

    def shift_counter(self, i: int, delta_mj: float) -> None:
        """Move GPU i's counter by ``delta_mj`` (negative: a backwards glitch)."""
        _check(self.lib.fake_nvml_shift_counter(i, delta_mj), f"counter shift of {i}")

    def add_process(self, i: int, pid: int, mem_bytes: int) -> None:
        """A compute process on GPU i."""
        _check(self.lib.fake_nvml_add_process(i, pid, mem_bytes), f"process on {i}")

    def clear_processes(self, i: int) -> None:
        """No compute process on GPU i."""
        _check(self.lib.fake_nvml_clear_processes(i), f"processes of {i}")

    def set_process_utilization(self, i: int, pid: int, sm_pct: int, mem_pct: int = 0) -> None:
        """Process ``pid`` on GPU i runs at ``sm_pct`` % SM (and ``mem_pct`` % memory) from
        the fake's current time on: the samples of the periods that start from now carry it
        (see :data:`PROCESS_SAMPLE_PERIOD_S`). Independent of :meth:`add_process`."""
        rc = self.lib.fake_nvml_set_process_utilization(i, pid, sm_pct, mem_pct)
        _check(rc, f"utilization of process {pid} on {i}")

    def set_process_utilization_supported(self, i: int, supported: bool) -> None:
        """Whether GPU i samples per-process utilization (else NVML_ERROR_NOT_SUPPORTED, as
        in MIG mode, which the fake also applies, and on many consumer GPUs)."""
        rc = self.lib.fake_nvml_set_process_utilization_supported(i, int(supported))
        _check(rc, f"process utilization of {i}")

    def set_utilization(
        self, i: int, gpu_pct: int, mem_pct: int, *, supported: bool = True
    ) -> None:
        """GPU i's utilization rates, %."""
        rc = self.lib.fake_nvml_set_utilization(i, int(supported), gpu_pct, mem_pct)
        _check(rc, f"utilization of {i}")

    def set_memory(
        self, i: int, total_bytes: int, used_bytes: int, *, supported: bool = True
    ) -> None:
        """GPU i's memory, bytes."""
        rc = self.lib.fake_nvml_set_memory(i, int(supported), total_bytes, used_bytes)
        _check(rc, f"memory of {i}")

    def set_mig_mode(self, i: int, mode: int | None) -> None:
        """GPU i's MIG mode: None (not supported), 0 (disabled) or 1 (enabled)."""
        _check(self.lib.fake_nvml_set_mig_mode(i, -1 if mode is None else mode), f"MIG of {i}")

    def add_mig(
        self,
        i: int,
        uuid: str,
        gpu_instance: int = 0,
        compute_instance: int = 0,
        slices: int = 1,
    ) -> None:
        """A MIG device with this UUID (``MIG-...``) on GPU i, its GPU instance ``slices``
        of the GPU's (7 by default, see :meth:`set_gpu_slices`)."""
        rc = self.lib.fake_nvml_add_mig(i, uuid.encode(), gpu_instance, compute_instance)
        _check(rc, f"MIG device on {i}")
        _check(self.lib.fake_nvml_set_slices(i, rc, slices), f"slices of MIG {rc} on {i}")

    def set_gpu_slices(self, i: int, slices: int) -> None:
        """GPU slices of the whole GPU i (``gpuInstanceSliceCount`` of its attributes)."""
        _check(self.lib.fake_nvml_set_slices(i, -1, slices), f"slices of {i}")

    # -- expectations -------------------------------------------------------------------

    def power_w(self, i: int, t_s: float) -> float:
        """GPU i's instantaneous power at ``t_s`` as the C waveform gives it, W."""
        return float(self.lib.fake_nvml_power_w(i, t_s))

    def energy_j(self, i: int, t0_s: float, t1_s: float) -> float:
        """Exact energy of GPU i between two instants, J, from the waveform last set here
        (computed in Python: independent of the C integral)."""
        wave = self._waves.get(i, Waveform("constant", 100.0))
        return wave.energy_j(t1_s) - wave.energy_j(t0_s)

    def c_energy_j(self, i: int, t0_s: float, t1_s: float) -> float:
        """The same energy as the C library integrates it, J."""
        return float(self.lib.fake_nvml_energy_j(i, t0_s, t1_s))
