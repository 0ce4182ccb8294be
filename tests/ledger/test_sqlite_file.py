"""The SQLite ledger file: where it lives, its modes, its journal, its locks, bad files."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from greenai.errors import StorageError
from greenai.ledger import Ledger, default_ledger_path
from greenai.ledger.paths import filesystem_type, is_network_filesystem


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def _mounts(tmp_path: Path, fstype: str, mount_point: Path) -> Path:
    table = tmp_path / "mounts"
    table.write_text(
        "sysfs /sys sysfs rw 0 0\n"
        "/dev/sda1 / ext4 rw,relatime 0 0\n"
        f"server:/export {mount_point} {fstype} rw,vers=4.2 0 0\n"
    )
    return table


def test_default_path_honours_data_dir_and_env(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GREENAI_DATA_DIR", str(tmp_path / "env"))
    assert default_ledger_path() == tmp_path / "env" / "ledger.db"
    assert default_ledger_path(tmp_path / "given") == tmp_path / "given" / "ledger.db"
    monkeypatch.delenv("GREENAI_DATA_DIR")
    assert default_ledger_path().name == "ledger.db"
    assert "greenai" in str(default_ledger_path())


def test_default_ledger_is_private(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(os, "umask", os.umask)  # restored by monkeypatch
    old = os.umask(0o022)  # a permissive umask must not leak into the modes
    try:
        data_dir = tmp_path / "a" / "b"
        with Ledger.open(data_dir=data_dir) as ledger:
            assert ledger.url == f"sqlite:///{data_dir / 'ledger.db'}"
    finally:
        os.umask(old)
    assert stat.S_IMODE((data_dir / "ledger.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700


def test_wal_and_busy_timeout_are_on(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert _journal_mode(path) == "wal"


def test_write_transactions_take_the_write_lock_at_begin(tmp_path: Path, make_record) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as ledger:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with ledger.engine.begin() as conn:  # nothing executed yet: BEGIN IMMEDIATE only
                conn.exec_driver_sql("SELECT 1")
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # free again after commit
            other.execute("ROLLBACK")
        finally:
            other.close()
        ledger.save_run(make_record("r"))
        assert ledger.get_run("r") is not None


def test_network_filesystem_uses_the_rollback_journal(tmp_path: Path, caplog) -> None:
    share = tmp_path / "share"
    share.mkdir()
    mounts = _mounts(tmp_path, "nfs4", share)
    caplog.set_level(logging.WARNING, logger="greenai.ledger")
    ledger = Ledger.open(f"sqlite:///{share / 'ledger.db'}", mounts_file=mounts)
    with ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    assert _journal_mode(share / "ledger.db") == "delete"
    assert any("network filesystem" in r.getMessage() for r in caplog.records)


def test_local_filesystem_keeps_wal(tmp_path: Path, caplog) -> None:
    mounts = _mounts(tmp_path, "nfs4", tmp_path / "elsewhere")
    caplog.set_level(logging.WARNING, logger="greenai.ledger")
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", mounts_file=mounts):
        pass
    assert _journal_mode(tmp_path / "ledger.db") == "wal"
    assert not any("network filesystem" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("fstype", ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "lustre"])
def test_network_filesystem_types_are_recognised(tmp_path: Path, fstype: str) -> None:
    mounts = _mounts(tmp_path, fstype, tmp_path / "net")
    assert is_network_filesystem(tmp_path / "net" / "deep" / "ledger.db", mounts)
    assert not is_network_filesystem(tmp_path / "local" / "ledger.db", mounts)


def test_mount_points_with_spaces_and_nesting(tmp_path: Path) -> None:
    table = tmp_path / "mounts"
    table.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        "srv:/x /mnt/my\\040share nfs rw 0 0\n"
        "/dev/sdb1 /mnt/my\\040share/local ext4 rw 0 0\n"
    )
    assert filesystem_type(Path("/mnt/my share/a.db"), table) == "nfs"
    assert filesystem_type(Path("/mnt/my share/local/a.db"), table) == "ext4"
    assert filesystem_type(Path("/mnt/my sharex/a.db"), table) == "ext4"
    assert filesystem_type(Path("/x"), tmp_path / "missing") is None


def test_garbage_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is a text file, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StorageError) as info:
        Ledger.open(f"sqlite:///{path}")
    assert str(path) in str(info.value)
    assert "GREENAI_DB_URL" in str(info.value) and "move the file away" in str(info.value)
    assert path.read_bytes() == before


def test_corrupt_sqlite_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)
    with pytest.raises(StorageError) as info:
        Ledger.open(f"sqlite:///{path}")
    assert str(path) in str(info.value)


def test_foreign_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError) as info:
        Ledger.open(f"sqlite:///{path}")
    message = str(info.value)
    assert str(path) in message and "invoices" in message and "not a greenai ledger" in message
    assert path.read_bytes() == before
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as check:
        assert sa.inspect(check).get_table_names() == ["invoices"]
    engine.dispose()


def test_unwritable_location_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StorageError) as info:
        Ledger.open(f"sqlite:///{blocker / 'ledger.db'}")
    assert str(blocker / "ledger.db") in str(info.value)


def test_bad_url_is_a_config_error() -> None:
    from greenai.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        Ledger.open("not a url at all")
    assert info.value.key == "db_url"
