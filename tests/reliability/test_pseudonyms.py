"""With ``hash_identifiers``, host and user names are stored hashed with the ledger's key,
the same pseudonyms whether the ledger was up or down when the run started."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
from pathlib import Path

from greenai.ledger import Ledger, hash_identifier

JOB = "import greenai\nwith greenai.track(name={name!r}, hash_identifiers=True):\n    pass\n"


def _job(name: str, url: str) -> None:
    env = {**os.environ, "GREENAI_DB_URL": url}
    out = subprocess.run(
        [sys.executable, "-c", JOB.format(name=name)], capture_output=True, text=True,
        timeout=120, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def test_names_are_hashed_alike_when_the_ledger_was_down_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "ledgers"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ledger.db'}"
    _job("up", url)
    folder.rename(tmp_path / "away")
    folder.write_text("the ledger's folder is gone: nothing can be written")
    _job("down", url)
    folder.unlink()
    (tmp_path / "away").rename(folder)
    synced = subprocess.run(
        [sys.executable, "-m", "greenai.cli.main", "sync", "--db", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    with Ledger.open(url) as ledger:
        rows = {r["name"]: r for r in ledger.list_runs()}
        host = hash_identifier(ledger, socket.gethostname())
        user = hash_identifier(ledger, getpass.getuser())
    assert set(rows) == {"up", "down"}
    for row in rows.values():
        assert (row["host_id"], row["user_id"]) == (host, user)
