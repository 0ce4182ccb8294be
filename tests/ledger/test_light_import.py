"""The tracking code's light path loads no SQLAlchemy or Alembic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_spool_sink_and_paths_import_without_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "from greenai.ledger import RecordSink, Spool, default_ledger_path, default_spool_dir\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg', 'pandas')"
        " if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == ""


def test_ledger_names_resolve_lazily() -> None:
    import greenai.ledger as ledger_pkg

    for name in ledger_pkg.__all__:
        assert getattr(ledger_pkg, name) is not None
