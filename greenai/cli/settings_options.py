"""Per-run settings as command-line options: ``--country FRA``, ``--pue 1.2``, ...

Each configuration key that changes a run (see :mod:`greenai.config`) is an option named
after it in kebab-case (``intensity_g_per_kwh`` -> ``--intensity-g-per-kwh``), taken as
the text given and checked by :class:`~greenai.config.Settings` exactly as the same value
from ``GREENAI_<KEY>``, a config file or ``greenai.track(key=...)`` is: one rule, one
one-line :class:`~greenai.errors.ConfigError`, before the command starts. An option wins
over the environment and the config file. ``db_url`` is the older ``--db``
(:data:`greenai.cli.options.DbUrl`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from greenai.config.keys import ACCEPTED

_LOCATION = "Location and emission factor"
_FACILITY = "Facility and costs"
_MEASUREMENT = "Measurement"
_IDENTITY = "Identity, privacy and ledger"


def flag(key: str) -> str:
    """The option of a configuration key: ``--intensity-g-per-kwh``."""
    return "--" + key.replace("_", "-")


def _option(key: str, panel: str, what: str) -> Any:
    return typer.Option(
        flag(key), help=f"{what}: {ACCEPTED[key]}.", rich_help_panel=panel, show_default=False
    )


def _switch(key: str, panel: str, what: str) -> Any:
    name = flag(key)
    return typer.Option(
        f"{name}/--no-{name[2:]}", help=f"{what}.", rich_help_panel=panel, show_default=False
    )


Country = Annotated[str | None, _option("country", _LOCATION, "Where the energy is drawn")]
Region = Annotated[str | None, _option("region", _LOCATION, "Region of the country")]
CloudProvider = Annotated[str | None, _option("cloud_provider", _LOCATION, "Cloud provider")]
CloudRegion = Annotated[str | None, _option("cloud_region", _LOCATION, "Cloud region")]
Intensity = Annotated[
    str | None, _option("intensity_g_per_kwh", _LOCATION, "Forced grid intensity, wins")
]
FactorsFile = Annotated[str | None, _option("factors_file", _LOCATION, "Your own factor table")]
Pue = Annotated[str | None, _option("pue", _FACILITY, "Power usage effectiveness")]
Wue = Annotated[str | None, _option("wue", _FACILITY, "Water usage effectiveness")]
PricePerKwh = Annotated[str | None, _option("price_per_kwh", _FACILITY, "Energy price")]
Currency = Annotated[str | None, _option("currency", _FACILITY, "Currency of the price")]
Mode = Annotated[str | None, _option("mode", _MEASUREMENT, "What the CPU and DRAM charge")]
SeriesHz = Annotated[str | None, _option("series_hz", _MEASUREMENT, "Power series rate")]
PowerHz = Annotated[str | None, _option("power_hz", _MEASUREMENT, "Power-only sensor rate")]
CpuTdpW = Annotated[str | None, _option("cpu_tdp_w", _MEASUREMENT, "CPU TDP for the estimate")]
PowercapRoot = Annotated[str | None, _option("powercap_root", _MEASUREMENT, "RAPL tree")]
HeartbeatS = Annotated[
    str | None, _option("heartbeat_s", _MEASUREMENT, "Refresh of the running run's record")
]
StaleAfterS = Annotated[
    str | None, _option("stale_after_s", _MEASUREMENT, "Silence after which a run is dead")
]
SeriesTiers = Annotated[
    str | None, _option("series_tiers", _MEASUREMENT, "Kept power series resolutions")
]
HostId = Annotated[str | None, _option("host_id", _IDENTITY, "Name of this machine")]
RunId = Annotated[str | None, _option("run_id", _IDENTITY, "Id of this run")]
HashIdentifiers = Annotated[
    bool | None, _switch("hash_identifiers", _IDENTITY, "Store host and user names hashed")
]
StoreCommand = Annotated[
    bool | None, _switch("store_command", _IDENTITY, "Store the command line (may hold secrets)")
]

RUN_SETTINGS = (
    "country",
    "region",
    "cloud_provider",
    "cloud_region",
    "intensity_g_per_kwh",
    "factors_file",
    "pue",
    "wue",
    "price_per_kwh",
    "currency",
    "mode",
    "series_hz",
    "power_hz",
    "cpu_tdp_w",
    "powercap_root",
    "heartbeat_s",
    "stale_after_s",
    "series_tiers",
    "host_id",
    "run_id",
    "hash_identifiers",
    "store_command",
)
"""The configuration keys a command that starts runs takes as options (besides ``--db``)."""

_ESRS_CONTEXT = "context of reports (ESRS E1); no figure of a run"
NOT_RUN_SETTINGS = {
    "timezone": "how reports and lists show dates and cut periods; no figure of a run",
    "market_factors": "market-based factors of reports (Scope 2); no figure of a run",
    "market_factors_file": "market-based factors of reports (Scope 2); no figure of a run",
    "instruments_file": "contractual instruments of reports (Scope 2); no figure of a run",
    "scope1_tco2e": _ESRS_CONTEXT,
    "scope1_statement": _ESRS_CONTEXT,
    "net_revenue": _ESRS_CONTEXT,
    "high_climate_impact_revenue": _ESRS_CONTEXT,
    "revenue_currency": _ESRS_CONTEXT,
    "consolidation_approach": _ESRS_CONTEXT,
    "organisational_boundary": _ESRS_CONTEXT,
    "base_year": _ESRS_CONTEXT,
    "restatement_policy": _ESRS_CONTEXT,
    "sites": _ESRS_CONTEXT,
    "site_pue": _ESRS_CONTEXT,
}
"""Configuration keys that are not options of ``greenai run``, and why."""


def setting_overrides(params: Mapping[str, Any], db: str | None = None) -> dict[str, Any]:
    """The per-run settings given on the command line (unset ones dropped).

    Args:
        params: The command's parsed parameters (``ctx.params``), named after the keys.
        db: The ``--db`` URL, if given.
    """
    given: dict[str, Any] = {k: params[k] for k in RUN_SETTINGS if params.get(k) is not None}
    if db is not None:
        given["db_url"] = db
    return given
