"""CPU-time and memory counters of the machine and of a process tree (Linux ``/proc``).

CPU time is cumulative, so the CPU and DRAM models read it at run and window boundaries
and at the 1 Hz series rate; nothing needs fast polling.

A process tree is the root process and its descendants. Descendants are found through
``/proc/<pid>/task/<tid>/children`` where the kernel has it (``CONFIG_PROC_CHILDREN``),
else by reading the parent of every process in ``/proc``. A process is identified by
its pid and its start time, so a reused pid is not mistaken for the one that died.
A descendant that was re-parented (its parent exited) keeps being followed.

Why the tree's CPU time never decreases: the figure is the sum over live members of
``utime + stime + cutime + cstime`` (their own time and that of the children they
reaped), plus the last-seen value of members that vanished without their time reaching
a member's ``cutime``/``cstime``. When a member vanishes, the kernel has added its time
(own and reaped, up to its exit) to its parent's ``cutime``/``cstime`` if the parent
waited for it. So for each vanished member the nearest ancestor seen alive at both reads
is credited: if that ancestor's reaped time grew by at least the vanished member's
last-seen value, the time is in the ancestor's fields already and is dropped from the
dead set; otherwise (parent ignored SIGCHLD, parent died first, the root itself exited)
the last-seen value is kept. A last guard returns the previous figure if a new one were
ever lower. Time a member used between the last read and its exit is counted only when
its parent reaped it, and a reaped child's time can cover for one that was not (rare).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROC_ROOT = Path("/proc")


def machine_busy_cpu_s() -> float:
    """CPU seconds this machine spent busy, summed over its CPUs, since boot.

    Busy is ``user + nice + system + irq + softirq`` from ``psutil.cpu_times()``: everything
    but idle and iowait. ``guest`` and ``guest_nice`` are left out because Linux already
    counts them inside ``user`` and ``nice``, and ``steal`` because it is time the
    hypervisor gave this (virtual) CPU's core to someone else, not work done here.
    """
    import psutil

    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0))


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` the models use.

    Attributes:
        pid: Process id.
        ppid: Parent process id.
        start_ticks: Start time after boot, clock ticks (with the pid, the identity).
        own_ticks: ``utime + stime`` of all its threads, clock ticks.
        reaped_ticks: ``cutime + cstime`` of the children it waited for, clock ticks.
        rss_pages: Resident set size, pages.
    """

    pid: int
    ppid: int
    start_ticks: int
    own_ticks: int
    reaped_ticks: int
    rss_pages: int

    @property
    def total_ticks(self) -> int:
        """Own and reaped CPU time, clock ticks."""
        return self.own_ticks + self.reaped_ticks


def parse_proc_stat(text: str) -> ProcStat:
    """Parse one ``/proc/<pid>/stat`` line (the command name may hold spaces and parens)."""
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    pid = int(head.partition("(")[0])
    # fields[0] is field 3 of proc(5): state; ppid is field 4, utime 14 ... rss 24.
    return ProcStat(
        pid=pid,
        ppid=int(fields[1]),
        start_ticks=int(fields[19]),
        own_ticks=int(fields[11]) + int(fields[12]),
        reaped_ticks=int(fields[13]) + int(fields[14]),
        rss_pages=int(fields[21]),
    )


def _read_once(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 65536)
    finally:
        os.close(fd)


class ProcFiles:
    """Files of the real ``/proc`` kept open from one walk to the next, read with pread.

    Opening a ``/proc`` file looks its path up every time; a file kept open is read again
    in one call. A kept file whose process (or thread) is gone answers ESRCH, or nothing,
    never another process's data: on an error it is opened afresh once, which finds a new
    process that took the pid. Files the latest walk did not read are closed
    (:meth:`end_walk`), and at most :attr:`MAX_OPEN` stay open, so a big tree never uses
    up the job's file descriptors. Only for the real ``/proc``: a regular file removed
    from a folder (a test's fake ``/proc``) would keep answering through its descriptor.
    """

    MAX_OPEN = 32

    def __init__(self) -> None:
        self._fds: dict[str, int] = {}
        self._read: set[str] = set()
        self.children_files: bool | None = None
        """Whether the kernel has ``task/<tid>/children`` files (None: not known yet)."""

    def read(self, path: str) -> bytes:
        """The file's content now.

        Raises:
            OSError: It cannot be opened or read (its process is gone).
        """
        self._read.add(path)
        fd = self._fds.get(path)
        if fd is not None:
            try:
                return os.pread(fd, 65536, 0)
            except OSError:
                self._close(path)
        if len(self._fds) >= self.MAX_OPEN:
            return _read_once(path)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._fds[path] = fd
        try:
            return os.pread(fd, 65536, 0)
        except OSError:
            self._close(path)
            raise

    def end_walk(self) -> None:
        """Close the files the walk just ended did not read."""
        for path in [p for p in self._fds if p not in self._read]:
            self._close(path)
        self._read = set()

    def _close(self, path: str) -> None:
        fd = self._fds.pop(path, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Close every kept file."""
        for path in list(self._fds):
            self._close(path)

    def __del__(self) -> None:
        self.close()


def _read_file(path: str, files: ProcFiles | None) -> bytes:
    return files.read(path) if files is not None else _read_once(path)


def read_proc_stat(
    pid: int, proc_root: Path = PROC_ROOT, files: ProcFiles | None = None
) -> ProcStat | None:
    """The stat of ``pid``, or None if it is gone or unreadable.

    Args:
        pid: The process.
        proc_root: The ``/proc`` folder.
        files: Kept-open files of the real ``/proc`` to read through.
    """
    try:
        text = _read_file(f"{proc_root}/{pid}/stat", files)
        return parse_proc_stat(text.decode("ascii", errors="replace"))
    except (OSError, ValueError, IndexError):
        return None


def _children_from_task_files(
    pid: int, proc_root: Path, files: ProcFiles | None = None
) -> list[int]:
    """Direct children of ``pid``, from its threads' ``children`` files."""
    task = f"{proc_root}/{pid}/task"
    try:
        tids = os.listdir(task)
    except OSError:
        return []
    children: list[int] = []
    for tid in tids:
        try:
            children.extend(int(c) for c in _read_file(f"{task}/{tid}/children", files).split())
        except (OSError, ValueError):
            continue
    return children


def _all_stats(proc_root: Path) -> dict[int, ProcStat]:
    """The stat of every process in ``proc_root`` (the fallback without children files)."""
    stats = {}
    for name in os.listdir(proc_root):
        if name.isdigit():
            stat = read_proc_stat(int(name), proc_root)
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def tree_stats(
    seeds: Iterable[int], proc_root: Path = PROC_ROOT, files: ProcFiles | None = None
) -> dict[int, ProcStat]:
    """Stats of the seed processes and all their live descendants.

    Args:
        seeds: Process ids to start from.
        proc_root: The ``/proc`` folder.
        files: Kept-open files of the real ``/proc`` to read through.
    """
    queue = list(dict.fromkeys(seeds))
    if not queue:
        return {}
    if not _has_children_files(queue[0], proc_root, files):
        return _tree_from_scan(queue, proc_root)
    found: dict[int, ProcStat] = {}
    while queue:
        pid = queue.pop()
        if pid in found:
            continue
        stat = read_proc_stat(pid, proc_root, files)
        if stat is not None:
            found[pid] = stat
            queue.extend(_children_from_task_files(pid, proc_root, files))
    return found


def _has_children_files(pid: int, proc_root: Path, files: ProcFiles | None) -> bool:
    """Whether ``pid``'s main thread has a ``children`` file: the kernel has them (once
    known through ``files``, not asked again) and ``pid`` is alive."""
    if files is not None and files.children_files is not None:
        return files.children_files
    found = os.path.exists(f"{proc_root}/{pid}/task/{pid}/children")
    if files is not None and found:
        files.children_files = True  # a kernel property: it never changes
    return found


def _tree_from_scan(seeds: list[int], proc_root: Path) -> dict[int, ProcStat]:
    every = _all_stats(proc_root)
    children: dict[int, list[int]] = {}
    for stat in every.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found: dict[int, ProcStat] = {}
    queue = [pid for pid in seeds if pid in every]
    while queue:
        pid = queue.pop()
        if pid not in found:
            found[pid] = every[pid]
            queue.extend(children.get(pid, ()))
    return found


class TreeWalk:
    """The live members of one process tree, walked at most once per ``max_age_s``.

    The CPU and DRAM models both read the job's tree at every series tick and boundary;
    sharing one walk, a tick reads ``/proc`` once rather than once per model. On the real
    ``/proc`` the tree's files stay open between walks (:class:`ProcFiles`).
    """

    def __init__(
        self,
        pid: int,
        proc_root: Path = PROC_ROOT,
        *,
        max_age_s: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Walk ``pid``'s tree on demand.

        Args:
            pid: The root process.
            proc_root: The ``/proc`` folder.
            max_age_s: A walk younger than this is reused, s.
            clock: Monotonic clock deciding a walk's age, s.
        """
        self.pid = pid
        self.proc_root = proc_root
        self._max_age_s = max_age_s
        self._clock = clock
        self._stats: dict[int, ProcStat] = {}
        self._walked_at_s = float("-inf")
        self._lock = threading.Lock()
        self._files = ProcFiles() if Path(proc_root) == PROC_ROOT else None

    def stats(self) -> dict[int, ProcStat]:
        """The stats of the root and its live descendants (a copy the caller may change)."""
        with self._lock:
            now_s = self._clock()
            if now_s - self._walked_at_s > self._max_age_s or now_s < self._walked_at_s:
                self._stats = self._walk()
                self._walked_at_s = now_s
                if self._files is not None:
                    self._files.end_walk()
            return dict(self._stats)

    def _walk(self) -> dict[int, ProcStat]:
        """The tree now; this process alone, without looking for children, when the
        kernel says it has none (the usual case of a job: one ``stat`` read a tick).
        The kernel is asked only while the last walk found no child, so a job with
        workers pays nothing for the question."""
        childless = len(self._stats) <= 1
        if childless and self._files is not None and self.pid == os.getpid() and not has_children():
            stat = read_proc_stat(self.pid, self.proc_root, self._files)
            return {} if stat is None else {self.pid: stat}
        return tree_stats([self.pid], self.proc_root, self._files)


def has_children() -> bool:
    """Whether this process has a child, alive or not yet reaped (any thread's).

    ``waitid`` with ``WNOWAIT`` only looks: no child is reaped and no status consumed,
    so the job's own ``wait`` calls see what they would have.
    """
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def process_tree_rss_bytes(
    pid: int, proc_root: Path = PROC_ROOT, walk: TreeWalk | None = None
) -> int:
    """Resident memory of ``pid`` and its live descendants, bytes.

    A sum of RSS: pages shared between members (fork copy-on-write, shared libraries)
    count once per member, so this is an upper bound of the tree's own memory.

    Args:
        pid: The root process.
        proc_root: The ``/proc`` folder.
        walk: A shared walk of ``pid``'s tree to read instead of walking it again.
    """
    page_bytes = os.sysconf("SC_PAGE_SIZE")
    stats = walk.stats() if walk is not None else tree_stats([pid], proc_root)
    return sum(s.rss_pages for s in stats.values()) * page_bytes


class ProcessTreeCpuTime:
    """Cumulative CPU seconds (user + system) of a process and all its descendants.

    See the module docstring for how exited descendants are counted; the figure never
    decreases. One read costs one small file read per tree member (plus, on kernels
    without ``children`` files, one per process on the machine).
    """

    def __init__(
        self,
        pid: int,
        *,
        proc_root: Path = PROC_ROOT,
        ticks_per_s: int | None = None,
        walk: TreeWalk | None = None,
    ) -> None:
        """Follow ``pid``'s tree.

        Args:
            pid: The root process.
            proc_root: The ``/proc`` folder.
            ticks_per_s: Clock ticks per second of ``/proc`` times (default ``SC_CLK_TCK``).
            walk: A shared walk of ``pid``'s tree to read instead of walking it again.

        Raises:
            ProcessLookupError: ``pid`` does not exist.
        """
        self.pid = pid
        self._proc_root = proc_root
        self._ticks_per_s = ticks_per_s or os.sysconf("SC_CLK_TCK")
        root = read_proc_stat(pid, proc_root)
        if root is None:
            raise ProcessLookupError(f"no process {pid} in {proc_root}")
        self._root_start_ticks = root.start_ticks
        self._walk = walk
        self._known: dict[int, ProcStat] = {}
        self._dead_ticks = 0
        self._last_ticks = 0

    def total_s(self) -> float:
        """CPU seconds of the tree since its processes started; never decreases."""
        now = self._current()
        vanished = [old for pid, old in self._known.items() if _identity(now.get(pid)) != _id(old)]
        self._dead_ticks += self._unreaped_ticks(vanished, now)
        ticks = sum(s.total_ticks for s in now.values()) + self._dead_ticks
        self._last_ticks = max(self._last_ticks, ticks)
        self._known = now
        return self._last_ticks / self._ticks_per_s

    def _current(self) -> dict[int, ProcStat]:
        """Live members: the root's tree plus members followed since (re-parented ones)."""
        if self._walk is not None:
            stats = self._walk.stats()
        else:
            stats = tree_stats([self.pid], self._proc_root)
        root = stats.get(self.pid)
        if root is None or root.start_ticks != self._root_start_ticks:
            stats = {}  # the root exited (its pid may even belong to another process now)
        seeds = []
        for pid, old in self._known.items():
            if pid not in stats:
                stat = read_proc_stat(pid, self._proc_root)
                if stat is not None and stat.start_ticks == old.start_ticks:
                    seeds.append(pid)
        for pid, stat in tree_stats(seeds, self._proc_root).items():
            stats.setdefault(pid, stat)
        return stats

    def _unreaped_ticks(self, vanished: list[ProcStat], now: dict[int, ProcStat]) -> int:
        """Ticks of vanished members that no live ancestor's reaped time accounts for."""
        budget: dict[int, int] = {}
        for pid, old in self._known.items():
            new = now.get(pid)
            if new is not None and new.start_ticks == old.start_ticks:
                budget[pid] = new.reaped_ticks - old.reaped_ticks
        unreaped = 0
        for member in sorted(vanished, key=self._depth):
            ancestor = self._live_ancestor(member, budget)
            if ancestor is not None and budget[ancestor] >= member.total_ticks:
                budget[ancestor] -= member.total_ticks
            else:
                unreaped += member.total_ticks
        return unreaped

    def _live_ancestor(self, member: ProcStat, budget: dict[int, int]) -> int | None:
        """The nearest ancestor (by last-seen parents) alive at both reads, if any."""
        ppid, hops = member.ppid, 0
        while ppid not in budget and ppid in self._known and hops < 1000:
            ppid, hops = self._known[ppid].ppid, hops + 1
        return ppid if ppid in budget else None

    def _depth(self, member: ProcStat) -> int:
        depth, ppid = 0, member.ppid
        while ppid in self._known and depth < 1000:
            ppid, depth = self._known[ppid].ppid, depth + 1
        return depth


def _id(stat: ProcStat) -> tuple[int, int]:
    return stat.pid, stat.start_ticks


def _identity(stat: ProcStat | None) -> tuple[int, int] | None:
    return None if stat is None else _id(stat)
