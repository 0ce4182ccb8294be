"""``greenai agent``: the node agent (Prometheus metrics, node energy in the ledger)."""

from __future__ import annotations

import socket
import sys
from typing import Annotated, Any

import typer

from greenai.cli import options as o
from greenai.errors import ConfigError

DEFAULT_PORT = 9877  # greenai.agent.config.DEFAULT_PORT (kept here so --help stays light)


def agent(
    port: Annotated[
        int, typer.Option(envvar="GREENAI_AGENT_PORT", help="Metrics port (0: any free port).")
    ] = DEFAULT_PORT,
    address: Annotated[
        str, typer.Option(envvar="GREENAI_AGENT_ADDRESS", help="Address the metrics listen on.")
    ] = "0.0.0.0",
    interval: Annotated[
        float,
        typer.Option(
            envvar="GREENAI_AGENT_INTERVAL", help="Seconds per node-energy row in the ledger."
        ),
    ] = 60.0,
    series: Annotated[
        str | None,
        typer.Option(
            envvar="GREENAI_AGENT_SERIES", help="Also write node power series at this tier (1m)."
        ),
    ] = None,
    ledger: Annotated[
        bool, typer.Option("--ledger/--no-ledger", help="Write node energy to the ledger.")
    ] = True,
    repair_jobs: Annotated[
        bool,
        typer.Option("--repair-jobs/--no-repair-jobs", help="Recompute multi-rank job rows."),
    ] = True,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: on SIGTERM).")
    ] = None,
    serve: Annotated[
        list[str] | None,
        typer.Option(
            envvar="GREENAI_AGENT_SERVE",
            help="A serving engine to read, ENGINE=URL[,gpus=0,1][,deployment=NAME]"
            "[,technique=T][,model=M], ENGINE vllm, sglang or tgi (repeatable; in the "
            "variable, separated by spaces).",
        ),
    ] = None,
    db: o.DbUrl = None,
) -> None:
    """Measure this node continuously: Prometheus metrics and node energy in the ledger."""
    from greenai.agent.config import AgentConfig
    from greenai.agent.serve_config import parse_serve
    from greenai.agent.service import run_agent
    from greenai.config import load_settings

    settings = load_settings({"db_url": db} if db else None)
    targets = tuple(parse_serve(spec) for spec in serve or ())
    config = AgentConfig(
        host_id=_host_id(settings),
        port=port,
        address=address,
        interval_s=interval,
        series_tier=series,
        db_url=settings.db_url,
        record=ledger,
        repair_jobs=repair_jobs and ledger,
        stale_after_s=settings.stale_after_s,
        powercap_root=settings.powercap_root,
        cpu_tdp_w=settings.cpu_tdp_w,
        series_hz=settings.series_hz,
        power_hz=settings.power_hz,
        duration_s=duration,
        serve=targets,
        site=_site(settings) if targets and ledger else None,
    )

    def ready(bound: int) -> None:
        print(f"greenai agent: serving http://{address}:{bound}/metrics", flush=True)

    try:
        run_agent(config, on_ready=ready)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError("port", port, f"a free port on {address} ({reason})") from exc
    sys.stdout.flush()


def _host_id(settings: Any) -> str:
    """The node's name as tracked runs record it (hashed with the ledger's key if asked)."""
    host = str(settings.host_id or socket.gethostname())
    if not settings.hash_identifiers:
        return host
    from greenai.ledger import Ledger, hash_identifier

    opened = Ledger.open(settings.db_url)
    try:
        return hash_identifier(opened, host)
    finally:
        opened.close()


def _site(settings: Any) -> Any:
    """Location, factor and PUE of the serving runs, from the configuration."""
    from greenai.agent.serving_record import SiteFigures
    from greenai.emissions import resolve_factor

    factor = resolve_factor(settings)
    return SiteFigures(
        pue=float(settings.pue or 1.0),
        intensity_g_per_kwh=float(factor.intensity_g_per_kwh),
        intensity_source=str(factor.source),
        codecarbon_version=factor.codecarbon_version,
        country=settings.country,
        region=settings.region,
        cloud_provider=settings.cloud_provider,
        cloud_region=settings.cloud_region,
        flags=tuple(factor.flags),
        evidence=factor.evidence.as_dict(),
        wue_l_per_kwh=settings.wue,
        price_per_kwh=settings.price_per_kwh,
        currency=settings.currency,
    )
