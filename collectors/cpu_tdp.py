"""Full-load power of one logical CPU, for the CPU estimate where there is no RAPL.

The TDP (thermal design power, W, per socket) comes from, first to last:

1. the ``tdp_w`` argument, then ``GREENAI_CPU_TDP_W``: the user's figure;
2. CodeCarbon's ``cpu_power.csv`` (columns ``Name,TDP``), matched on the model name of
   ``/proc/cpuinfo``. The file is located with ``importlib.util.find_spec`` so that
   CodeCarbon is not imported (importing it initialises NVML). Matching follows
   CodeCarbon: an exact case-insensitive match of the raw name, then of the name cleaned
   of ``(R)``, ``(TM)``, ``CPU``, ``Processor``, ``N-Core`` and the clock speed, then a
   word-set match. CodeCarbon accepts a word-set match in either direction; here every
   word of the table's name must appear in the model name and the name must carry a
   model number, the most specific name wins, and a tie between different TDPs is no
   match. So a generic ``Intel(R) Xeon(R) Processor`` matches nothing rather than an
   arbitrary Xeon;
3. a model the table does not know: 4 W per logical CPU (CodeCarbon's default);
4. no model name at all: 85 W per socket (CodeCarbon's default).

Scaling to the CPUs this machine really has: a TDP is the power of a whole socket, so
one logical CPU's share is ``TDP / threads per socket``, where threads per socket is the
``siblings`` field of ``/proc/cpuinfo`` (the machine then holds ``physical id`` sockets).
A virtual machine (``hypervisor`` flag) shows a virtual socket, not the host's: its
``siblings`` only bounds the share from above, so the share is
``min(TDP / siblings, 4 W)``. Without ``siblings`` (some architectures) all logical CPUs
are taken as one socket. The CPUs available to a process are the fewest of: its affinity
(``Cpus_allowed_list``), its cgroup CPU quota (``cpu.max`` or ``cpu.cfs_quota_us`` /
``cpu.cfs_period_us``, the smallest along its cgroup path; fractional quotas count as
such) and the machine's logical CPUs.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_TDP = "GREENAI_CPU_TDP_W"
W_PER_THREAD_UNKNOWN = 4.0
"""CodeCarbon's power per logical CPU for a model its table lacks, W."""
TDP_NO_MODEL_W = 85.0
"""CodeCarbon's TDP when the CPU model cannot be read, W."""


@dataclass(frozen=True, slots=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says about the CPUs.

    Attributes:
        model_name: The first ``model name`` (None if absent).
        vendor: ``intel``, ``amd`` or ``unknown``.
        logical_cpus: Online logical CPUs (``processor`` entries; at least 1).
        sockets: Distinct ``physical id`` values (at least 1).
        threads_per_socket: ``siblings``: logical CPUs per socket, None if absent.
        virtual: Whether the ``hypervisor`` flag is set (a virtual machine).
    """

    model_name: str | None
    vendor: str
    logical_cpus: int
    sockets: int
    threads_per_socket: int | None
    virtual: bool


def read_cpuinfo(proc_root: Path = Path("/proc")) -> CpuInfo:
    """Parse ``<proc_root>/cpuinfo`` (an unreadable file gives an empty description)."""
    try:
        text = (proc_root / "cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), []).append(value.strip())
    vendors = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "amd"}
    siblings = fields.get("siblings", [])
    flags = fields.get("flags", [""])[0].split()
    return CpuInfo(
        model_name=next((m for m in fields.get("model name", []) if m), None),
        vendor=vendors.get(fields.get("vendor_id", [""])[0], "unknown"),
        logical_cpus=max(len(fields.get("processor", [])), 1),
        sockets=max(len(set(fields.get("physical id", []))), 1),
        threads_per_socket=int(siblings[0]) if siblings and siblings[0].isdigit() else None,
        virtual="hypervisor" in flags,
    )


def cpu_power_csv() -> Path | None:
    """CodeCarbon's ``cpu_power.csv``, found without importing CodeCarbon; None if absent."""
    try:
        spec = importlib.util.find_spec("codecarbon")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data/hardware/cpu_power.csv"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=4)
def load_tdp_table(path: Path) -> tuple[tuple[str, float], ...]:
    """Rows (name, TDP in W) of a ``Name,TDP`` table; rows without a number are skipped."""
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if "Name" not in header or "TDP" not in header:
            return ()
        name_at, tdp_at = header.index("Name"), header.index("TDP")
        for row in reader:
            try:
                rows.append((row[name_at].strip(), float(row[tdp_at])))
            except (IndexError, ValueError):
                continue
    return tuple(rows)


# Compiled once: the table's few thousand names are cleaned at every cold start.
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_TRADEMARK = re.compile(r"\((R|TM|tm|r)\)")
_CLOCK = re.compile(r"\s*@\s*\d+(\.\d+)?\s*[GM]Hz")
_FILLER = re.compile(r"\b\d+-Core\b|\bCPU\b|\bProcessor\b")
_DIGIT = re.compile(r"\d")


def _words(text: str) -> frozenset[str]:
    return frozenset(_NOT_WORD.sub(" ", text.lower()).split())


def clean_model_name(raw: str) -> str:
    """A ``/proc/cpuinfo`` model name without trademarks, clock speed and filler words."""
    name = _TRADEMARK.sub("", raw)
    name = _CLOCK.sub("", name)
    name = _FILLER.sub("", name)
    return " ".join(name.split())


def _key(name: str) -> str:
    return " ".join(name.lower().split())


@functools.lru_cache(maxsize=4)
def _index(
    table: tuple[tuple[str, float], ...],
) -> tuple[
    dict[str, tuple[str, float]],
    dict[str, tuple[str, float]],
    list[tuple[frozenset[str], str, float]],
]:
    """Exact keys (raw and cleaned; the first of duplicates wins) and word sets of a table."""
    raw: dict[str, tuple[str, float]] = {}
    cleaned: dict[str, tuple[str, float]] = {}
    words = []
    for name, tdp in table:
        raw.setdefault(_key(name), (name, tdp))
        clean = clean_model_name(name)
        cleaned.setdefault(_key(clean), (name, tdp))
        if _DIGIT.search(name):  # only names that carry a model number
            words.append((_words(clean), name, tdp))
    return raw, cleaned, words


def match_cpu_model(raw: str, table: tuple[tuple[str, float], ...]) -> tuple[str, float] | None:
    """The table's (name, TDP W) for a model name, or None (see the module's rules)."""
    by_raw, by_cleaned, word_sets = _index(table)
    hit = by_raw.get(_key(raw)) or by_cleaned.get(_key(clean_model_name(raw)))
    if hit is not None:
        return hit
    words = _words(clean_model_name(raw))
    best: list[tuple[str, float]] = []
    best_size = 0
    for name_words, name, tdp in word_sets:
        if not name_words or not name_words <= words or len(name_words) < best_size:
            continue
        if len(name_words) > best_size:
            best, best_size = [], len(name_words)
        best.append((name, tdp))
    if best and len({tdp for _, tdp in best}) == 1:
        return best[0]
    return None


@dataclass(frozen=True, slots=True)
class CpuPower:
    """Full-load power per logical CPU and how it was obtained.

    Attributes:
        per_cpu_w: Full-load power of one logical CPU, W.
        tdp_w: The socket TDP used, W (None for the per-thread default).
        notes: The basis, for ``Device.notes``.
    """

    per_cpu_w: float
    tdp_w: float | None
    notes: tuple[str, ...]


def tdp_override(tdp_w: float | None, environ: Mapping[str, str]) -> float | None:
    """The user's TDP (argument first, then ``GREENAI_CPU_TDP_W``), W.

    Raises:
        ValueError: The value is not a number of watts above zero (names the key).
    """
    key, value = ("tdp_w", tdp_w) if tdp_w is not None else (ENV_TDP, environ.get(ENV_TDP))
    if value is None or value == "":
        return None
    try:
        watts = float(value)
    except (TypeError, ValueError):
        watts = math.nan
    if not math.isfinite(watts) or watts <= 0:
        raise ValueError(f"invalid {key}={value!r}: a CPU TDP in watts, a number above 0")
    return watts


def _socket_tdp(info: CpuInfo, override_w: float | None) -> tuple[float | None, str]:
    """(TDP per socket W, basis) or (None, basis) for a model the table lacks."""
    if override_w is not None:
        return override_w, f"TDP {override_w:g} W set by the user"
    if info.model_name is None:
        return TDP_NO_MODEL_W, f"CPU model unknown: CodeCarbon's default TDP {TDP_NO_MODEL_W:g} W"
    path = cpu_power_csv()
    hit = match_cpu_model(info.model_name, load_tdp_table(path)) if path else None
    if hit is None:
        where = "CodeCarbon's cpu_power.csv" if path else "CodeCarbon's table (not installed)"
        return None, f"CPU model {info.model_name!r} not in {where}"
    return hit[1], f"TDP {hit[1]:g} W from CodeCarbon's cpu_power.csv ({hit[0]})"


def estimate_cpu_power(info: CpuInfo, override_w: float | None = None) -> CpuPower:
    """Full-load power of one logical CPU following the module's rules."""
    tdp_w, basis = _socket_tdp(info, override_w)
    if tdp_w is None:
        note = f"{W_PER_THREAD_UNKNOWN:g} W per logical CPU (CodeCarbon's default)"
        return CpuPower(W_PER_THREAD_UNKNOWN, None, (basis, note))
    threads = info.threads_per_socket or info.logical_cpus
    per_cpu_w = tdp_w / threads
    if info.threads_per_socket is None:
        note = f"socket size unknown: {threads} logical CPUs taken as one socket"
    else:
        note = f"{threads} logical CPUs per socket"
    if info.virtual and per_cpu_w > W_PER_THREAD_UNKNOWN:
        per_cpu_w = W_PER_THREAD_UNKNOWN
        note += (
            f"; virtual machine, host socket size unknown: capped at "
            f"{W_PER_THREAD_UNKNOWN:g} W per logical CPU"
        )
    return CpuPower(per_cpu_w, tdp_w, (basis, f"{per_cpu_w:.3g} W per logical CPU ({note})"))


def _parse_cpu_list(text: str) -> int:
    """How many CPUs a list such as ``0-3,8,10-11`` names."""
    count = 0
    for part in text.strip().split(","):
        low, _, high = part.partition("-")
        if low.strip():
            count += int(high or low) - int(low) + 1
    return count


def affinity_cpus(pid: int, proc_root: Path = Path("/proc")) -> int | None:
    """Logical CPUs ``pid`` may run on (``Cpus_allowed_list``), None if unknown."""
    try:
        text = (proc_root / str(pid) / "status").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            try:
                return _parse_cpu_list(line.partition(":")[2])
            except ValueError:
                return None
    try:
        return len(os.sched_getaffinity(pid))
    except (AttributeError, OSError):
        return None


def _read_quota(folder: Path) -> float | None:
    """CPUs allowed by one cgroup folder's quota (v2 ``cpu.max`` or v1 CFS files)."""
    try:
        quota, _, period = (folder / "cpu.max").read_text().partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:
        quota_us = int((folder / "cpu.cfs_quota_us").read_text())
        period_us = int((folder / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError, ZeroDivisionError):
        return None


def cgroup_cpu_quota(
    pid: int, proc_root: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")
) -> float | None:
    """The smallest CPU quota along ``pid``'s cgroup path, in CPUs; None if unlimited."""
    try:
        lines = (proc_root / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if controllers == "":  # cgroup v2
            base = cgroup_root
        elif "cpu" in controllers.split(","):  # cgroup v1 cpu controller
            base = cgroup_root / controllers
            if not base.is_dir():
                base = cgroup_root / "cpu"
        else:
            continue
        folder = base / path.strip().lstrip("/")
        while True:
            quota = _read_quota(folder)
            if quota is not None:
                quotas.append(quota)
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
    return min(quotas) if quotas else None


def available_cpus(
    pid: int,
    info: CpuInfo,
    proc_root: Path = Path("/proc"),
    cgroup_root: Path = Path("/sys/fs/cgroup"),
) -> tuple[float, str]:
    """(CPUs available to ``pid``, how that was found), following the module's rule."""
    limits = {"logical CPUs": float(info.logical_cpus)}
    affinity = affinity_cpus(pid, proc_root)
    if affinity:
        limits["affinity"] = float(affinity)
    quota = cgroup_cpu_quota(pid, proc_root, cgroup_root)
    if quota:
        limits["cgroup quota"] = quota
    source = min(limits, key=lambda k: limits[k])
    return limits[source], f"{limits[source]:g} CPUs available (by {source})"
