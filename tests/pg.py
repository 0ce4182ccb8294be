"""PostgreSQL for tests: the machine's server, else one started here, never a silent skip.

``pg_admin_url`` (session) is the machine's server (``GREENAI_TEST_PG_URL``, default
postgres@127.0.0.1:5432) when it answers. Otherwise a throw-away server is started from
the installed binaries (``initdb``/``pg_ctl`` under ``/usr/lib/postgresql/*/bin`` or on
PATH) in a temporary folder, listening on a free loopback port, run as the ``postgres``
user when the tests run as root (PostgreSQL refuses to run as root), and stopped at the
end of the session. Only when neither works are the tests skipped, with the reason; with
``CI`` set they fail instead.

``pg_database`` (session) is a database created for the session and dropped at its end;
``pg_url`` (function) is that database emptied, as a URL string.

Import the fixtures into a ``conftest.py``:
``from tests.pg import pg_admin_url, pg_database, pg_url``.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "GREENAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# A session time zone other than UTC (with a half-hour offset) so that a conversion
# that relies on the server's zone shows up.
PG_SESSION_TZ = "Asia/Kolkata"
START_TIMEOUT_S = 60


def _reachable(url: str) -> str | None:
    """None when the server answers, else why not (first line)."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return None
    except sa.exc.OperationalError as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """The command run as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


class LocalServer:
    """A PostgreSQL server in a temporary folder, on a free loopback port."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="greenai-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            _as_postgres([str(self.bin_dir / args[0]), *args[1:]]),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            cwd=self.root,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-500:]}")

    def start(self) -> str:
        """Initialise and start; returns the admin URL."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.root / "log"), "start")  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: PostgreSQL must be available)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server: the machine's, else one started here."""
    why = _reachable(PG_ADMIN_URL)
    if why is None:
        yield PG_ADMIN_URL
        return
    bin_dir = _binaries()
    if bin_dir is None:
        _unavailable(f"PostgreSQL unreachable at {PG_ADMIN_URL} ({why}) and not installed")
        return
    server = LocalServer(bin_dir)
    try:
        url = server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(server.root, ignore_errors=True)
        _unavailable(f"PostgreSQL unreachable at {PG_ADMIN_URL} ({why}); starting one: {exc}")
        return
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_database(pg_admin_url: str) -> Iterator[sa.URL]:
    """A database created for this test session and dropped at its end."""
    admin = sa.create_engine(
        pg_admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"greenai_t_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(pg_admin_url).set(database=name)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url(pg_database: sa.URL) -> str:
    """The session database, emptied (schema public recreated), as a URL string."""
    engine = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    url = pg_database.update_query_dict({"options": f"-c timezone={PG_SESSION_TZ}"})
    return url.render_as_string(hide_password=False)
