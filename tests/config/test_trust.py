"""Configuration files and ledger files that another user could have planted are not used.

Files owned by another user are made with ``chown``, which needs root: those tests are
skipped for other users (CI runs as root). Modes (world- or group-writable) need no root.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from greenai.config import find_config_file
from greenai.errors import StorageError
from greenai.ledger.owner import check_ledger_owner
from greenai.tracking.precheck import check_url

OTHER_UID = 4242
OTHER_GID = 4343
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")

REDIRECT = 'db_url = "sqlite:////tmp/somebody-elses.db"\nstore_command = true\n'


def _folder(path: Path, mode: int = 0o755) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path


def _file(path: Path, text: str = REDIRECT, mode: int = 0o644) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder of the current user, writable by nobody else, below /tmp (sticky)."""
    return _folder(tmp_path / "base", 0o755)


def _find(cwd: Path, **environ: str) -> Path | None:
    found = find_config_file({"HOME": "/nonexistent", **environ}, cwd)
    return None if found is None else found[0]


def _warnings(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


@needs_root
def test_a_file_planted_by_another_user_in_a_shared_folder_is_ignored(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = _folder(base / "shared", 0o1777)  # like /tmp: anyone may add files
    planted = _file(shared / "greenai.toml")
    os.chown(planted, OTHER_UID, OTHER_GID)
    project = _folder(shared / "project")
    with caplog.at_level(logging.WARNING):
        assert _find(project) is None
    text = _warnings(caplog)
    assert f"ignored the greenai configuration file {planted}" in text
    assert f"owned by uid {OTHER_UID}, not by you" in text
    assert "GREENAI_SAFE_DIRS" in text


def test_a_world_writable_file_is_ignored(base: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = _file(base / "greenai.toml", mode=0o666)
    with caplog.at_level(logging.WARNING):
        assert _find(base) is None
    assert f"{config} is writable by everyone" in _warnings(caplog)


def test_a_file_in_a_folder_anyone_may_change_is_ignored(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    open_folder = _folder(base / "open", 0o777)  # no sticky bit: anyone may replace files
    _file(open_folder / "greenai.toml")
    with caplog.at_level(logging.WARNING):
        assert _find(open_folder) is None
    assert f"the folder {open_folder} is writable by everyone without the sticky bit" in (
        _warnings(caplog)
    )


@needs_root
def test_a_file_writable_by_a_shared_group_is_ignored(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _file(base / "greenai.toml", mode=0o664)
    os.chown(config, 0, OTHER_GID)
    with caplog.at_level(logging.WARNING):
        assert _find(base) is None
    assert f"{config} is writable by its group (gid {OTHER_GID})" in _warnings(caplog)


def test_an_own_file_with_usual_modes_is_used(base: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = _file(base / "greenai.toml")
    with caplog.at_level(logging.WARNING):
        assert _find(_folder(base / "sub")) == config
    assert _warnings(caplog) == ""


@needs_root
def test_the_search_stops_at_a_folder_of_another_user(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _file(base / "greenai.toml")  # trusted, but above the other user's folder
    theirs = _folder(base / "theirs")
    os.chown(theirs, OTHER_UID, OTHER_GID)
    mine = _folder(theirs / "mine")
    with caplog.at_level(logging.WARNING):
        assert _find(mine) is None
    assert _warnings(caplog) == ""


@needs_root
def test_safe_dirs_trust_a_folder_anyway(base: Path) -> None:
    shared = _folder(base / "shared", 0o1777)
    planted = _file(shared / "greenai.toml")
    os.chown(planted, OTHER_UID, OTHER_GID)
    assert _find(shared, GREENAI_SAFE_DIRS=f"/nowhere{os.pathsep}{base}") == planted
    assert _find(shared, GREENAI_SAFE_DIRS="*") == planted
    assert _find(shared, GREENAI_SAFE_DIRS="relative/path") is None


def test_an_untrusted_pyproject_is_named_only_when_it_holds_greenai_settings(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plain = _folder(base / "plain")
    _file(plain / "pyproject.toml", '[project]\nname = "x"\n', mode=0o666)
    with caplog.at_level(logging.WARNING):
        assert _find(plain) is None
    assert _warnings(caplog) == ""
    tooled = _folder(base / "tooled")
    config = _file(tooled / "pyproject.toml", '[tool.greenai]\nproject = "x"\n', mode=0o666)
    with caplog.at_level(logging.WARNING):
        assert _find(tooled) is None
    assert f"ignored the greenai configuration file {config}" in _warnings(caplog)


def test_a_file_named_by_greenai_config_is_used_with_a_warning(
    base: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _file(base / "greenai.toml", mode=0o666)
    with caplog.at_level(logging.WARNING):
        assert _find(base, GREENAI_CONFIG=str(config)) == config
    assert f"using the greenai configuration file {config} because GREENAI_CONFIG" in (
        _warnings(caplog)
    )


@needs_root
def test_a_ledger_file_of_another_user_is_refused_before_the_job(base: Path) -> None:
    ledger = base / "ledger.db"
    check_url(f"sqlite:///{ledger}")  # not there yet: it will be ours
    ledger.write_bytes(b"")
    os.chown(ledger, OTHER_UID, OTHER_GID)
    with pytest.raises(StorageError) as refused:
        check_url(f"sqlite:///{ledger}")
    assert f"will not write runs into the ledger {ledger}" in str(refused.value)
    assert f"owned by uid {OTHER_UID}, not by you" in str(refused.value)
    check_ledger_owner(ledger, environ={"GREENAI_SAFE_DIRS": str(base)})


@needs_root
def test_a_ledger_in_a_folder_of_another_user_or_with_their_side_file_is_refused(
    base: Path,
) -> None:
    theirs = _folder(base / "theirs")
    os.chown(theirs, OTHER_UID, OTHER_GID)
    with pytest.raises(StorageError, match=r"the folder .*theirs is owned by uid 4242"):
        check_ledger_owner(theirs / "new" / "ledger.db")
    mine = base / "mine.db"
    wal = _file(base / "mine.db-wal", "")
    os.chown(wal, OTHER_UID, OTHER_GID)
    with pytest.raises(StorageError, match=r"mine\.db-wal is owned by uid 4242"):
        check_ledger_owner(mine)
