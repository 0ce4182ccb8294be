"""CPU-time counters: fake /proc trees for exact arithmetic, real processes for the rest.

The fake trees stand in for process life cycles (reaping, re-parenting, pid reuse) that
cannot be staged deterministically with real processes; the real-process tests check
the same code against this kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.cputime import (
    ProcessTreeCpuTime,
    ProcFiles,
    TreeWalk,
    machine_busy_cpu_s,
    parse_proc_stat,
    process_tree_rss_bytes,
    read_proc_stat,
    tree_stats,
)

TICKS = 100


@dataclass
class FakeProcess:
    pid: int
    ppid: int
    start: int
    utime: int = 0
    stime: int = 0
    cutime: int = 0
    cstime: int = 0
    rss: int = 0
    children: list[int] = field(default_factory=list)


class FakeProc:
    """A /proc with only what the collectors read: <pid>/stat and, optionally, the
    <pid>/task/<pid>/children files of kernels built with CONFIG_PROC_CHILDREN."""

    def __init__(self, root: Path, children_files: bool) -> None:
        self.root = root
        self.children_files = children_files
        self.procs: dict[int, FakeProcess] = {}
        self._clock = 1000
        root.mkdir(parents=True, exist_ok=True)

    def spawn(self, pid: int, ppid: int, utime: int = 0, stime: int = 0, rss: int = 0):
        self._clock += 1
        proc = FakeProcess(pid, ppid, self._clock, utime=utime, stime=stime, rss=rss)
        self.procs[pid] = proc
        if ppid in self.procs:
            self.procs[ppid].children.append(pid)
            self._write(self.procs[ppid])
        self._write(proc)
        return proc

    def run(self, pid: int, ticks: int) -> None:
        self.procs[pid].utime += ticks
        self._write(self.procs[pid])

    def _remove(self, pid: int) -> FakeProcess:
        proc = self.procs.pop(pid)
        for child in proc.children:  # orphans go to init
            if child in self.procs:
                self.procs[child].ppid = 1
                self.procs[1].children.append(child)
                self._write(self.procs[child])
        self._write(self.procs[1])
        parent = self.procs.get(proc.ppid)
        if parent is not None:
            parent.children.remove(pid)
            self._write(parent)
        for path in sorted((self.root / str(pid)).rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        (self.root / str(pid)).rmdir()
        return proc

    def reap(self, pid: int) -> None:
        """The process exits and its parent waits for it: its times move to the parent."""
        parent = self.procs[self.procs[pid].ppid]
        proc = self._remove(pid)
        parent.cutime += proc.utime + proc.cutime
        parent.cstime += proc.stime + proc.cstime
        self._write(parent)

    def vanish(self, pid: int) -> None:
        """The process exits and nobody in the tree collects its times (SIGCHLD ignored,
        or reaped by init after re-parenting)."""
        self._remove(pid)

    def _write(self, p: FakeProcess) -> None:
        folder = self.root / str(p.pid)
        folder.mkdir(exist_ok=True)
        fields = [
            "S", p.ppid, p.pid, p.pid, 0, -1, 0, 0, 0, 0, 0,
            p.utime, p.stime, p.cutime, p.cstime, 20, 0, 1, 0, p.start, 0, p.rss,
        ]  # fmt: skip
        stat = f"{p.pid} (odd (name) x) " + " ".join(str(f) for f in fields) + " 0 0\n"
        (folder / "stat").write_text(stat)
        if self.children_files:
            task = folder / "task" / str(p.pid)
            task.mkdir(parents=True, exist_ok=True)
            (task / "children").write_text("".join(f"{c} " for c in p.children))


@pytest.fixture(params=[True, False], ids=["children-files", "scan"])
def proc(request: pytest.FixtureRequest, tmp_path: Path) -> FakeProc:
    fake = FakeProc(tmp_path / "proc", children_files=request.param)
    fake.spawn(1, 0)
    fake.spawn(10, 1, utime=100)  # the job's root
    return fake


def _tree(proc: FakeProc) -> ProcessTreeCpuTime:
    return ProcessTreeCpuTime(10, proc_root=proc.root, ticks_per_s=TICKS)


def test_parse_proc_stat_with_a_name_holding_spaces_and_parens() -> None:
    line = "42 (a) b (c)) R 7 1 1 0 -1 0 0 0 0 0 11 22 33 44 20 0 1 0 555 0 66 0"
    stat = parse_proc_stat(line)
    assert (stat.pid, stat.ppid, stat.start_ticks) == (42, 7, 555)
    assert (stat.own_ticks, stat.reaped_ticks, stat.rss_pages) == (33, 77, 66)


def test_live_descendants_are_summed(proc: FakeProc) -> None:
    proc.spawn(20, 10, utime=50)
    proc.spawn(30, 20, utime=20, stime=10)
    proc.spawn(99, 1, utime=1000)  # not in the tree
    assert _tree(proc).total_s() == 1.8


def test_a_reaped_child_is_counted_once(proc: FakeProc) -> None:
    tree = _tree(proc)
    proc.spawn(20, 10, utime=50)
    assert tree.total_s() == 1.5
    proc.run(20, 30)
    proc.reap(20)  # the root's cutime grows by the child's final 80 ticks
    assert tree.total_s() == 1.8


def test_an_unreaped_exit_keeps_the_last_seen_time(proc: FakeProc) -> None:
    tree = _tree(proc)
    proc.spawn(20, 10, utime=50)
    assert tree.total_s() == 1.5
    proc.vanish(20)
    assert tree.total_s() == 1.5
    proc.run(10, 10)
    assert tree.total_s() == 1.6


def test_a_reparented_grandchild_keeps_being_followed(proc: FakeProc) -> None:
    tree = _tree(proc)
    proc.spawn(20, 10, utime=5)
    proc.spawn(30, 20, utime=40)
    assert tree.total_s() == 1.45
    proc.reap(20)  # 30 is re-parented to init and its time is not in 20's cutime
    assert proc.procs[30].ppid == 1
    assert tree.total_s() == 1.45
    proc.run(30, 60)
    assert tree.total_s() == 2.05
    proc.vanish(30)  # reaped by init: its last-seen time stays
    assert tree.total_s() == 2.05


def test_a_reused_pid_is_not_mistaken_for_the_dead_child(proc: FakeProc) -> None:
    tree = _tree(proc)
    proc.spawn(20, 10, utime=50)
    assert tree.total_s() == 1.5
    proc.vanish(20)
    proc.spawn(20, 1, utime=5000)  # another program got pid 20
    assert tree.total_s() == 1.5


def test_the_root_exiting_keeps_the_total(proc: FakeProc) -> None:
    tree = _tree(proc)
    proc.spawn(20, 10, utime=50)
    assert tree.total_s() == 1.5
    proc.vanish(20)
    proc.reap(10)
    assert tree.total_s() == 1.5


def test_tree_rss_sums_the_members(proc: FakeProc) -> None:
    proc.procs[10].rss = 100
    proc.spawn(20, 10, rss=50)
    proc.spawn(99, 1, rss=7000)
    page = os.sysconf("SC_PAGE_SIZE")
    assert process_tree_rss_bytes(10, proc.root) == 150 * page


class ManualClock:
    def __init__(self) -> None:
        self.now_s = 0.0

    def __call__(self) -> float:
        return self.now_s


def test_a_shared_walk_is_reused_until_it_is_older_than_its_age(proc: FakeProc) -> None:
    clock = ManualClock()
    walk = TreeWalk(10, proc.root, max_age_s=0.02, clock=clock)
    tree = ProcessTreeCpuTime(10, proc_root=proc.root, ticks_per_s=TICKS, walk=walk)
    page = os.sysconf("SC_PAGE_SIZE")
    proc.procs[10].rss = 100
    proc.run(10, 0)
    assert (tree.total_s(), process_tree_rss_bytes(10, proc.root, walk)) == (1.0, 100 * page)
    proc.spawn(20, 10, utime=50, rss=50)
    clock.now_s = 0.01  # one tick: both readers see the same walk
    assert (tree.total_s(), process_tree_rss_bytes(10, proc.root, walk)) == (1.0, 100 * page)
    clock.now_s = 0.05
    assert (tree.total_s(), process_tree_rss_bytes(10, proc.root, walk)) == (1.5, 150 * page)
    clock.now_s = -1.0  # a clock that went back walks again
    proc.run(20, 10)
    assert tree.total_s() == 1.6


def test_a_shared_walk_gives_the_unshared_figures(proc: FakeProc) -> None:
    clock = ManualClock()
    walk = TreeWalk(10, proc.root, clock=clock)
    shared = ProcessTreeCpuTime(10, proc_root=proc.root, ticks_per_s=TICKS, walk=walk)
    alone = _tree(proc)
    steps = [
        lambda: proc.spawn(20, 10, utime=5),
        lambda: proc.spawn(30, 20, utime=40),
        lambda: proc.reap(20),
        lambda: proc.run(30, 60),
        lambda: proc.vanish(30),
    ]
    for step in steps:
        step()
        clock.now_s += 1.0
        assert shared.total_s() == alone.total_s()


def test_a_missing_process_raises_lookup_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessLookupError):
        ProcessTreeCpuTime(12345, proc_root=tmp_path)


_EVENT = st.tuples(st.sampled_from(["spawn", "run", "reap", "vanish"]), st.integers(0, 50))


@settings(max_examples=150, deadline=None)
@given(events=st.lists(_EVENT, max_size=30), read_every=st.integers(1, 4))
def test_tree_time_never_decreases(tmp_path_factory, events, read_every: int) -> None:
    """Random process lives; read after every event, the figure is exactly all the CPU
    time the tree used; read more rarely, it never decreases nor exceeds that."""
    for children_files in (True, False):
        proc = FakeProc(tmp_path_factory.mktemp("proc"), children_files)
        proc.spawn(1, 0)
        proc.spawn(10, 1, utime=1)
        tree = _tree(proc)
        used_ticks, last_s, next_pid = 1, tree.total_s(), 11
        for n, (kind, arg) in enumerate(events):
            members = sorted(p for p in proc.procs if p != 1)
            if not members:
                break
            target = members[arg % len(members)]
            if kind == "spawn":
                proc.spawn(next_pid, target)
                next_pid += 1
            elif kind == "run":
                proc.run(target, arg)
                used_ticks += arg
            elif proc.procs[target].ppid in proc.procs and proc.procs[target].ppid != 1:
                proc.reap(target) if kind == "reap" else proc.vanish(target)
            elif kind == "vanish":
                proc.vanish(target)
            if n % read_every == 0 or read_every == 1:
                now_s = tree.total_s()
                assert last_s <= now_s <= used_ticks / TICKS
                if read_every == 1:
                    assert now_s == used_ticks / TICKS
                last_s = now_s


BURNER = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", '''
    import sys, time
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    print("burnt", flush=True)
    sys.stdin.readline()
    '''], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "burnt\\n"
    print(child.pid, flush=True)
    sys.stdin.readline()
    child.communicate("")
    print("reaped", flush=True)
    sys.stdin.readline()
    """
)


def test_a_real_childs_cpu_time_counts_toward_the_parent_tree() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None and parent.stdin is not None
        child_pid = int(parent.stdout.readline())
        tree = ProcessTreeCpuTime(parent.pid)
        live_s = tree.total_s()
        child = read_proc_stat(child_pid)
        assert child is not None and child.ppid == parent.pid
        # The child burnt 0.3 s of CPU; /proc counts whole clock ticks.
        assert live_s >= 0.3 - 1 / os.sysconf("SC_CLK_TCK")
        parent.stdin.write("\n")
        parent.stdin.flush()
        assert parent.stdout.readline() == "reaped\n"
        reaped_s = tree.total_s()
        after = read_proc_stat(child_pid)
        assert after is None or after.ppid != parent.pid  # gone (or the pid was reused)
        assert reaped_s >= live_s
        parent_stat = read_proc_stat(parent.pid)
        assert parent_stat is not None and parent_stat.reaped_ticks >= child.own_ticks
    finally:
        parent.kill()
        parent.wait()


def test_machine_busy_time_moves_forward() -> None:
    first = machine_busy_cpu_s()
    total = sum(range(2_000_000))
    assert total > 0
    assert machine_busy_cpu_s() >= first > 0


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_kept_open_stat_reads_fresh_values_and_none_once_its_process_is_gone() -> None:
    files = ProcFiles()
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.readline()"],
                               stdin=subprocess.PIPE, text=True)  # fmt: skip
    try:
        first = read_proc_stat(sleeper.pid, files=files)
        assert first is not None and first.ppid == os.getpid()
        burnt = sum(range(3_000_000))  # this process's own stat, kept open, moves on
        assert burnt > 0
        mine = read_proc_stat(os.getpid(), files=files)
        again = read_proc_stat(os.getpid(), files=files)
        assert mine is not None and again is not None and again.own_ticks >= mine.own_ticks
    finally:
        sleeper.communicate("\n")
    assert read_proc_stat(sleeper.pid, files=files) is None  # ESRCH, never stale data
    files.close()


def test_kept_open_files_are_bounded_and_closed_once_a_walk_stops_reading_them() -> None:
    files = ProcFiles()
    before = _open_fds()
    children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
                for _ in range(ProcFiles.MAX_OPEN + 8)]  # fmt: skip
    try:
        stats = tree_stats([os.getpid()], files=files)
        assert {c.pid for c in children} <= set(stats)  # every child read, some uncached
        files.end_walk()
        assert _open_fds() - before <= ProcFiles.MAX_OPEN
    finally:
        for child in children:
            child.kill()
            child.wait()
    walked = tree_stats([os.getpid()], files=files)
    assert not {c.pid for c in children} & set(walked)
    files.end_walk()  # the children's files were not read again: closed
    assert _open_fds() - before <= 1 + len(os.listdir(f"/proc/{os.getpid()}/task"))
    files.close()
    assert _open_fds() == before


def test_a_walk_of_the_real_proc_follows_children_through_kept_files() -> None:
    walk = TreeWalk(os.getpid(), max_age_s=0.0)
    assert set(walk.stats()) >= {os.getpid()}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in walk.stats()
    finally:
        child.kill()
        child.wait()
    assert child.pid not in walk.stats()


REPO = Path(__file__).resolve().parents[2]
CHILDLESS = textwrap.dedent(
    """
    import os, subprocess, sys, threading
    from collectors import cputime
    from collectors.cputime import TreeWalk, has_children
    walk = TreeWalk(os.getpid(), max_age_s=0.0)
    seen = [has_children(), sorted(walk.stats()) == [os.getpid()]]
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    seen += [has_children(), child.pid in walk.stats(), has_children()]
    seen += [child.wait(), has_children(), sorted(walk.stats()) == [os.getpid()]]
    # A child started by another thread of the job is a child of the job too.
    started = []
    worker = threading.Thread(target=lambda: started.append(subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE)))
    worker.start(); worker.join()
    asked = []
    cputime.has_children = lambda: asked.append(1) or has_children()
    walks = [started[0].pid in walk.stats() for _ in range(3)]
    seen += [walks, len(asked)]  # asked once: then the walks follow the children files
    started[0].communicate(b"\\n")
    seen += [sorted(walk.stats()) == [os.getpid()], sorted(walk.stats()) == [os.getpid()]]
    seen += [len(asked)]  # asked again once no child was found
    print(seen)
    """
)


def test_a_walk_that_finds_no_child_reads_one_file_and_never_reaps_the_jobs_child() -> None:
    # In a fresh process (this one may have children of other tests): with no child, the
    # walk reads the process's own stat only; a child is found, whichever thread started
    # it, and looking for children (waitid with WNOWAIT) leaves an exited one to the
    # job's own wait, status and all. While the walk finds children it does not ask.
    done = subprocess.run([sys.executable, "-c", CHILDLESS], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)  # fmt: skip
    assert done.stdout.strip() == (
        "[False, True, True, True, True, 3, False, True, [True, True, True], 1, True, True, 2]"
    )
