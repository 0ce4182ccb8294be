"""Which GPUs a serving engine uses, and whether a tracked run already measures it.

GPUs, when ``gpus=`` is not configured (attribution ``discovered``): the process
listening on the metrics URL's TCP port (psutil's connection table, which reads
``/proc/net`` and the processes' sockets), its process tree, then the GPUs where NVML
lists a compute process of that tree. When nothing matches (the engine listens in
another container or on another host, or its sockets cannot be read without
privileges), every GPU of the node is charged (attribution ``all-visible``, flagged).

A tracked run (``greenai run -- vllm serve ...``) is recognised on the engine's
processes: the listening process or one of its ancestors carries the run's id in its
environment (``GREENAI_PARENT_RUN_ID``, set by ``greenai run`` for its command), or
its command line ends with the command a running run of this host stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from collectors.types import Device, GpuProcess, Kind
from greenai.errors import ConfigError

log = logging.getLogger(__name__)

CONFIGURED = "configured"
DISCOVERED = "discovered"
ALL_VISIBLE = "all-visible"
RUN_ID_VARIABLE = "GREENAI_PARENT_RUN_ID"  # greenai.tracking.remote.ENV_PARENT


@dataclass(frozen=True)
class EngineGpus:
    """The GPUs charged for an engine, and how they were found.

    Attributes:
        device_ids: GPU device ids (``gpu:0``).
        attribution: ``configured``, ``discovered`` or ``all-visible``.
        pid: The process listening on the engine's port, or None when unknown.
        pids: Its process tree (empty when unknown).
    """

    device_ids: tuple[str, ...]
    attribution: str
    pid: int | None = None
    pids: frozenset[int] = field(default_factory=frozenset)


def configured_gpus(wanted: Sequence[str], devices: Iterable[Device]) -> tuple[str, ...]:
    """Device ids of the GPUs given as indices (NVML order) or UUIDs.

    Raises:
        ConfigError: A GPU this node does not have.
    """
    gpus = [d for d in devices if d.kind is Kind.GPU]
    by_id = {d.device_id: d.device_id for d in gpus}
    by_uuid = {d.uuid.lower(): d.device_id for d in gpus if d.uuid}
    found = []
    for entry in wanted:
        text = entry.strip()
        device_id = by_id.get(f"gpu:{text}") if text.isdigit() else by_uuid.get(text.lower())
        if device_id is None:
            known = ", ".join(sorted(by_id)) or "none"
            raise ConfigError("serve gpus", entry, f"a GPU index or UUID of this node ({known})")
        if device_id not in found:
            found.append(device_id)
    return tuple(found)


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` on this host, or None when none can be seen."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (OSError, psutil.Error) as exc:
        log.debug("cannot list TCP sockets: %s", exc)
        return None
    for conn in connections:
        listens = conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
        if listens and conn.pid is not None:
            return int(conn.pid)
    return None


def discover_gpus(
    port: int | None,
    gpu_ids: Sequence[str],
    processes: Callable[[], list[GpuProcess]],
    *,
    find_pid: Callable[[int], int | None] = listening_pid,
    tree: Callable[[int], set[int]] | None = None,
) -> EngineGpus:
    """The engine's GPUs from its processes; every GPU when none matches.

    Args:
        port: The engine's TCP port (None: unknown).
        gpu_ids: Every GPU of the node.
        processes: NVML's compute processes (host pids).
        find_pid: Port -> listening pid.
        tree: Pid -> the pids of its process tree.
    """
    from greenai.tracking.attribution import process_tree_pids

    pid = find_pid(port) if port is not None else None
    if pid is None:
        return EngineGpus(tuple(gpu_ids), ALL_VISIBLE)
    pids = frozenset((tree or process_tree_pids)(pid))
    used = {p.device_id for p in processes() if p.pid in pids}
    found = tuple(d for d in gpu_ids if d in used)
    return EngineGpus(found or tuple(gpu_ids), DISCOVERED if found else ALL_VISIBLE, pid, pids)


@dataclass(frozen=True)
class ProcessIdentity:
    """What ties an engine's processes to a tracked run.

    Attributes:
        run_ids: ``GREENAI_PARENT_RUN_ID`` values in the environment of the process and
            its ancestors.
        commands: Their command lines (argument lists).
    """

    run_ids: frozenset[str] = frozenset()
    commands: tuple[tuple[str, ...], ...] = ()

    def matches(self, run_id: str, command: str | None) -> bool:
        """Whether the run of ``run_id`` (with its stored command, if any) runs these
        processes: its id is in their environment, or a command line ends with its
        command."""
        if run_id in self.run_ids:
            return True
        if not command:
            return False
        import shlex

        try:
            words = tuple(shlex.split(command))
        except ValueError:
            return False
        return bool(words) and any(c[-len(words) :] == words for c in self.commands)


def process_identity(pid: int | None) -> ProcessIdentity:
    """The run ids and command lines of ``pid`` and its ancestors (what can be read)."""
    if pid is None:
        return ProcessIdentity()
    import psutil

    run_ids: set[str] = set()
    commands: list[tuple[str, ...]] = []
    try:
        chain = [psutil.Process(pid)]
        chain += chain[0].parents()
    except psutil.Error:
        return ProcessIdentity()
    for process in chain:
        try:
            commands.append(tuple(process.cmdline()))
            found = process.environ().get(RUN_ID_VARIABLE)
        except psutil.Error:  # another user's process: its environment is private
            continue
        if found:
            run_ids.add(found)
    return ProcessIdentity(frozenset(run_ids), tuple(commands))
