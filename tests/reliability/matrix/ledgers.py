"""Ledgers that misbehave, from outside the job: locked, refusing, hanging, elsewhere.

- :class:`LedgerLock`: another process holds a SQLite ledger's write lock for a while;
- :class:`RefusedPort`: a loopback port where nothing listens (connections are refused)
  until it is told to relay them to a real server: a PostgreSQL that comes back;
- a ledger that hangs is :class:`tests.reliability.hanging_server.HangingServer`.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from pathlib import Path

from tests.reliability.hanging_server import _pipe


class LedgerLock:
    """An exclusive write lock on the SQLite file at ``path``, let go ``hold_s`` later.

    The lock is taken by this (the test's) process, so for the job it is another
    process's: its writes get ``database is locked``.
    """

    def __init__(self, path: Path, hold_s: float) -> None:
        self._conn = sqlite3.connect(path, timeout=0, check_same_thread=False)
        self._conn.execute("BEGIN EXCLUSIVE")
        self._released = threading.Event()
        self._timer = threading.Timer(hold_s, self.release)
        self._timer.daemon = True
        self._timer.start()

    def release(self) -> None:
        """Let go of the lock now (idempotent)."""
        if self._released.is_set():
            return
        self._released.set()
        self._conn.rollback()
        self._conn.close()

    def wait_released(self) -> None:
        """Until the hold is over."""
        self._timer.join()
        self.release()


class RefusedPort:
    """A loopback port bound but not listening: a connection to it is refused (and no
    other program can take the port) until :meth:`forward_to` makes it a relay."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self._closed = False

    def forward_to(self, host: str, port: int) -> None:
        """From now on, accept connections and relay them to ``host:port``."""
        self._socket.listen()
        threading.Thread(target=self._serve, args=(host, port), daemon=True).start()

    def _serve(self, host: str, port: int) -> None:
        while not self._closed:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return
            upstream = socket.create_connection((host, port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
