"""The NVML collector: energy and power of the NVIDIA GPUs this process can see.

Devices are the GPUs visible through ``CUDA_VISIBLE_DEVICES`` (all of them for a node
agent, ``all_devices=True``), listed in CUDA's order, each once, with the id
``gpu:<NVML index>``. A GPU that is gone (``NVML_ERROR_GPU_IS_LOST``,
``NVML_ERROR_GPU_NOT_FOUND``) is marked lost and left out of readings from then on; any
other error is transient: the GPU is left out of readings for a backoff that doubles
with each consecutive failure, then read again. The others carry on. Nothing raises
out of :meth:`NvmlCollector.read` or :meth:`NvmlCollector.read_power`; only
:meth:`NvmlCollector.open` raises, and only :class:`~collectors.errors.Unavailable`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from collectors.base import Collector
from collectors.errors import Unavailable
from collectors.nvml import library
from collectors.nvml.fastcounter import FastCounterReader
from collectors.nvml.gpu import Gpu, PowerSource, open_gpu, power_reader
from collectors.nvml.inventory import Inventory, enumerate_gpus, mig_parent_uuid
from collectors.nvml.mig import mig_note, mig_slices
from collectors.nvml.processes import compute_processes
from collectors.nvml.visible import Visibility, visible_from_environ
from collectors.types import Device, DeviceStatus, GpuProcess, Kind, Method, Reading

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.05
"""Wait before reading a GPU again after its first failed read, s (doubles each time)."""
RETRY_MAX_S = 5.0
"""Longest wait between retries of a failing GPU, s."""


class NvmlCollector(Collector):
    """Reads NVIDIA GPUs through NVML (nvidia-ml-py).

    Build it with :meth:`open`; read it from one thread at a time; :meth:`close` it once.
    """

    name = "nvml"

    def __init__(
        self,
        pynvml: Any,
        gpus: Sequence[Gpu],
        visibility: Visibility,
        clock: Callable[[], float],
        notes: Sequence[str] = (),
    ) -> None:
        """Use :meth:`open`; this constructor takes already opened GPUs."""
        self._pynvml = pynvml
        self._gpus = list(gpus)
        self._by_id = {g.device.device_id: g for g in self._gpus}
        self._visibility = visibility
        self._clock = clock
        self._notes = tuple(notes)
        self._closed = False
        self._close_lock = threading.Lock()
        self._fast = FastCounterReader(pynvml, self._failed, clock)

    @classmethod
    def open(
        cls,
        *,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] = os.environ,
        all_devices: bool = False,
    ) -> NvmlCollector:
        """Initialize NVML and open the visible GPUs.

        Args:
            clock: Monotonic clock for reading timestamps, s.
            environ: Environment holding ``CUDA_VISIBLE_DEVICES`` and ``CUDA_DEVICE_ORDER``.
            all_devices: Open every GPU of the machine, whatever ``CUDA_VISIBLE_DEVICES``
                says (the node agent).

        Returns:
            The open collector.

        Raises:
            Unavailable: No NVML library or driver, no GPU, no visible GPU, or no GPU
                that reports energy or power; the reason says which and what to do.
        """
        pynvml = library.load()
        try:
            return cls._open_loaded(pynvml, clock, environ, all_devices)
        except BaseException:
            library.shutdown(pynvml)
            raise

    @classmethod
    def _open_loaded(
        cls,
        pynvml: Any,
        clock: Callable[[], float],
        environ: Mapping[str, str],
        all_devices: bool,
    ) -> NvmlCollector:
        inventory = enumerate_gpus(pynvml)
        if all_devices:
            visibility = Visibility(tuple(g.index for g in inventory.gpus))
        else:
            visibility = visible_from_environ(
                inventory.gpus, environ, lambda uuid: mig_parent_uuid(pynvml, uuid)
            )
        if not visibility.indices:
            raise Unavailable(library.NAME, _no_visible_reason(inventory, visibility, environ))
        gpus, notes = _open_visible(pynvml, inventory, visibility, clock)
        if not gpus:
            raise Unavailable(
                library.NAME,
                "no visible GPU reports energy or power through NVML: " + "; ".join(notes),
            )
        return cls(pynvml, gpus, visibility, clock, (*visibility.notes, *notes))

    # -- Collector --------------------------------------------------------------------

    def devices(self) -> Sequence[Device]:
        """The visible GPUs, in CUDA's order (``LOCAL_RANK`` indexes this list)."""
        return [g.device for g in self._gpus]

    def read(self) -> list[Reading]:
        """Read every GPU that still answers: counter and power, or power only.

        Returns:
            One reading per GPU that answered. COUNTER GPUs carry ``energy_j``, cumulative
            since :meth:`open`, never decreasing; POWER GPUs carry ``energy_j=None``.
        """
        readings = []
        now_s = self._clock()
        fast = self._fast
        for gpu in self._gpus:
            if gpu.lost or gpu.retry_at_s > now_s:
                continue
            reading = fast.read(gpu) if fast.handles(gpu) else self._read_gpu(gpu)
            if reading is not None:
                readings.append(reading)
        return readings

    def read_power(self, device_ids: Sequence[str]) -> list[Reading]:
        """Read the power of the given power-only GPUs: one NVML call per GPU.

        Ids of COUNTER GPUs, lost GPUs and unknown ids are skipped.
        """
        readings = []
        for device_id in device_ids:
            gpu = self._by_id.get(device_id)
            if gpu is None or gpu.lost or gpu.counter is not None:
                continue
            if gpu.retry_at_s > self._clock():
                continue
            reading = self._read_power_only(gpu)
            if reading is not None:
                readings.append(reading)
        return readings

    def power_reader(self, device_ids: Sequence[str]) -> Callable[[], list[float | None]]:
        """The 10 Hz path: one C call per power-only GPU into preallocated buffers."""
        from collectors.nvml.fastpower import FastPowerReader

        gpus = []
        for device_id in device_ids:
            gpu = self._by_id.get(device_id)
            if gpu is None or gpu.counter is not None:
                return super().power_reader(device_ids)
            gpus.append(gpu)

        def fallback(gpu: Gpu) -> float | None:
            reading = self._read_power_only(gpu)
            return reading.power_w if reading is not None else None

        return FastPowerReader(self._pynvml, gpus, fallback)

    def status(self) -> list[DeviceStatus]:
        """Per GPU: lost or not, and how many times its counter went backwards."""
        return [
            DeviceStatus(
                g.device.device_id,
                lost=g.lost,
                counter_resets=g.counter.resets if g.counter is not None else 0,
                errors=g.errors,
            )
            for g in self._gpus
        ]

    def close(self) -> None:
        """Release this collector's NVML initialization (once)."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        library.shutdown(self._pynvml)

    # -- Extras -----------------------------------------------------------------------

    @property
    def visibility(self) -> Visibility:
        """How ``CUDA_VISIBLE_DEVICES`` was resolved (``order_uncertain`` among others)."""
        return self._visibility

    @property
    def notes(self) -> tuple[str, ...]:
        """Remarks about the whole collector (GPUs left out, where the visible list stopped)."""
        return self._notes

    def utilization(self, device_id: str) -> tuple[float, float] | None:
        """GPU and memory-controller utilization over the driver's last sample period.

        Returns:
            ``(gpu_pct, mem_pct)`` in percent, or None when unknown, unsupported or lost.
        """
        rates = self._query(device_id, "nvmlDeviceGetUtilizationRates")
        if rates is None:
            return None
        return float(rates.gpu), float(rates.memory)

    def memory_used_bytes(self, device_id: str) -> int | None:
        """GPU memory in use on the device, bytes; None when unknown, unsupported or lost."""
        memory = self._query(device_id, "nvmlDeviceGetMemoryInfo")
        return int(memory.used) if memory is not None else None

    def compute_processes(self) -> list[GpuProcess]:
        """The processes with a compute context on the visible GPUs (host PIDs)."""
        try:
            processes, lost = compute_processes(self._pynvml, self._gpus)
        except Exception as exc:  # never into the caller
            log.warning("listing GPU processes failed: %s", exc)
            return []
        for gpu in lost:
            self._mark_lost(gpu, "GPU is lost")
        return processes

    # -- Internals --------------------------------------------------------------------

    def _read_gpu(self, gpu: Gpu) -> Reading | None:
        """One reading of one GPU; marks it lost on any failure."""
        counter = gpu.counter
        if counter is None:
            return self._read_power_only(gpu)
        try:
            raw_mj = int(self._pynvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
            now = self._clock()
            power_w = self._counter_gpu_power(gpu)
        except Exception as exc:
            self._failed(gpu, exc)
            return None
        gpu.failures, gpu.retry_at_s = 0, 0.0
        energy_j = counter.update(raw_mj, now)
        return Reading(gpu.device.device_id, Kind.GPU, now, power_w, energy_j, Method.COUNTER)

    def _counter_gpu_power(self, gpu: Gpu) -> float | None:
        """Power of a COUNTER GPU for the series; None when its power is unsupported."""
        reader = power_reader(gpu.power_source)
        if reader is None:
            return None
        try:
            return reader(self._pynvml, gpu.handle)
        except self._pynvml.NVMLError as exc:
            if library.error_code(exc) != library.ERROR_NOT_SUPPORTED:
                raise
            gpu.power_source = PowerSource.NONE
            return None

    def _read_power_only(self, gpu: Gpu) -> Reading | None:
        """One power reading of a POWER GPU; marks it lost on any failure."""
        reader = power_reader(gpu.power_source)
        if reader is None:
            return None
        try:
            power_w = reader(self._pynvml, gpu.handle)
        except Exception as exc:
            self._failed(gpu, exc)
            return None
        gpu.failures, gpu.retry_at_s = 0, 0.0
        return Reading(gpu.device.device_id, Kind.GPU, self._clock(), power_w, None, Method.POWER)

    def _query(self, device_id: str, function: str) -> Any:
        """Call an optional NVML query on a GPU; None when unsupported, unknown or lost."""
        gpu = self._by_id.get(device_id)
        if gpu is None or gpu.lost:
            return None
        try:
            return getattr(self._pynvml, function)(gpu.handle)
        except self._pynvml.NVMLError as exc:
            if library.is_lost(exc):
                self._mark_lost(gpu, library.describe(exc))
            return None
        except Exception as exc:  # never into the caller
            log.debug("%s failed on %s: %s", function, device_id, exc)
            return None

    def _failed(self, gpu: Gpu, exc: BaseException) -> None:
        """A read failed: lost for good on GPU_IS_LOST and its kin, else retried later.

        The GPU is left out of readings until its backoff (doubling from
        :data:`RETRY_FIRST_S` up to :data:`RETRY_MAX_S`) has passed; the sampler bridges
        its value meanwhile, and its counter covers the gap exactly once it answers.
        """
        if library.is_lost(exc):
            self._mark_lost(gpu, library.describe(exc))
            return
        gpu.errors += 1
        gpu.failures += 1
        backoff_s = min(RETRY_FIRST_S * 2 ** (gpu.failures - 1), RETRY_MAX_S)
        gpu.retry_at_s = self._clock() + backoff_s
        if gpu.failures == 1:
            log.warning(
                "%s failed to answer (%s); retrying", gpu.device.device_id, library.describe(exc)
            )

    def _mark_lost(self, gpu: Gpu, why: str) -> None:
        if not gpu.lost:
            gpu.lost = True
            log.warning("%s stopped answering and is no longer read: %s", gpu.device.device_id, why)


def _open_visible(
    pynvml: Any, inventory: Inventory, visibility: Visibility, clock: Callable[[], float]
) -> tuple[list[Gpu], list[str]]:
    """Open every visible GPU; the ones that cannot be measured are described in notes."""
    gpus: list[Gpu] = []
    notes = [f"gpu:{i} left out: {why}" for i, why in inventory.failed.items()]
    info = {g.index: g for g in inventory.gpus}
    for index in visibility.indices:
        try:
            gpu = open_gpu(
                pynvml,
                index,
                inventory.handles[index],
                (info[index].name, info[index].uuid),
                clock,
                visibility.device_notes.get(index, ()),
            )
        except pynvml.NVMLError as exc:
            notes.append(f"gpu:{index} left out: {library.describe(exc)}")
            continue
        if gpu is None:
            notes.append(f"gpu:{index} left out: it reports neither energy nor power")
            continue
        entries = visibility.migs.get(index)
        if entries:
            slices = mig_slices(pynvml, gpu.handle, entries)
            gpu.device = replace(
                gpu.device, mig_slices=slices, notes=(*gpu.device.notes, mig_note(*slices))
            )
        gpus.append(gpu)
    return gpus, notes


def _no_visible_reason(
    inventory: Inventory, visibility: Visibility, environ: Mapping[str, str]
) -> str:
    """Why no GPU is visible, for the user."""
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if not inventory.gpus:
        return "no GPU answers NVML: " + "; ".join(
            f"GPU {i}: {why}" for i, why in inventory.failed.items()
        )
    detail = "; ".join(visibility.notes)
    return (
        f"CUDA_VISIBLE_DEVICES={value!r} hides every GPU from this process"
        + (f" ({detail})" if detail else "")
        + f"; this machine has {len(inventory.gpus)}"
    )
