"""``greenai dashboard``: the Streamlit dashboard on a ledger (read-only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from greenai.errors import ConfigError, GreenAIError


def resolve_url(db: str | None) -> str:
    """The ledger URL to show: ``--db``, else ``GREENAI_DB_URL`` or the configuration, else
    the default SQLite file.

    Raises:
        ConfigError: Not a URL (key ``db_url``).
    """
    import sqlalchemy as sa

    from greenai.config import load_settings
    from greenai.ledger.engine import default_url, parse_url

    configured = load_settings({"db_url": db} if db else None).db_url
    target = parse_url(configured if configured else default_url())
    try:
        target.url.get_dialect()
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError("db_url", target.display, f"a supported database ({exc})") from exc
    return target.url.render_as_string(hide_password=False)


def app_path() -> Path:
    """The dashboard's entry script (``dashboard/app.py``, wherever it is installed)."""
    import importlib.util

    spec = importlib.util.find_spec("dashboard")  # located, not imported: greenai stays below it
    if spec is None or spec.origin is None:
        raise GreenAIError("the dashboard package is not installed; reinstall greenai")
    return Path(spec.origin).resolve().parent / "app.py"


def streamlit_command(port: int, address: str, headless: bool) -> list[str]:
    """``python -m streamlit run dashboard/app.py`` with the server options.

    Raises:
        ConfigError: ``port`` outside 1-65535.
    """
    if not 1 <= port <= 65535:
        raise ConfigError("port", port, "a TCP port from 1 to 65535")
    return [
        sys.executable, "-m", "streamlit", "run", str(app_path()),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true" if headless else "false",
        "--server.showEmailPrompt", "false",
        "--client.toolbarMode", "viewer",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def streamlit_env(url: str) -> dict[str, str]:
    """This environment plus the ledger URL, and the source tree on ``PYTHONPATH`` so a
    checkout that is not installed still imports ``dashboard`` and ``greenai``."""
    env = dict(os.environ)
    env["GREENAI_DB_URL"] = url
    root = str(app_path().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in paths if p != root]])
    return env


def dashboard(
    db: str | None = typer.Option(
        None, "--db", help="Ledger URL (default: GREENAI_DB_URL or the local file)."
    ),
    port: int = typer.Option(8501, "--port", help="TCP port to serve on."),
    address: str = typer.Option(
        "127.0.0.1", "--address", help="Interface to listen on (0.0.0.0: every interface)."
    ),
    headless: bool = typer.Option(False, "--headless", help="Do not open a browser."),
) -> None:
    """Open the sustainability dashboard (Streamlit) on the ledger; it never writes to it.

    Access control: set GREENAI_DASHBOARD_PASSWORD, or configure OIDC for st.login in
    .streamlit/secrets.toml (see dashboard/auth.py).
    """
    url = resolve_url(db)
    command = streamlit_command(port, address, headless)
    typer.echo(f"greenai dashboard on http://{address}:{port} (ledger {_masked(url)})", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, streamlit_env(url))  # Streamlit takes over this process


def _masked(url: str) -> str:
    from greenai.ledger.engine import parse_url

    return parse_url(url).display
