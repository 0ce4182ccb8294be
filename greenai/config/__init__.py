"""greenai's configuration: one frozen :class:`Settings`, loaded by :func:`load_settings`.

Where values come from, highest precedence first:

1. arguments (``load_settings({"country": "FRA"})``, command-line options);
2. environment variables ``GREENAI_<KEY>`` (``GREENAI_PUE=1.2``); empty ones are ignored;
3. a TOML file: the one ``GREENAI_CONFIG`` names, else the nearest ``greenai.toml``
   (keys at top level) or ``pyproject.toml`` with a ``[tool.greenai]`` table, searched
   from the working directory upwards to the home directory or the filesystem root
   (``greenai.toml`` wins over ``pyproject.toml`` in the same folder);
4. the defaults below.

Keys are written ``snake_case`` (``kebab-case`` is accepted in files and arguments).
Environment values are strings: booleans accept ``1/0``, ``true/false``, ``yes/no``,
``on/off``; tables use ``KEY:VALUE,KEY:VALUE`` (or a JSON object). Relative paths are taken
from the config file's folder (file) or the working directory (environment, arguments).
An invalid value or an unknown key stops the program before the job starts, with a
one-line :class:`greenai.errors.ConfigError` naming the key and what is accepted.

Keys (default in brackets):

Ledger

- ``db_url`` [a SQLite file in the per-user data directory]: SQLAlchemy URL of the ledger,
  e.g. ``sqlite:////data/greenai.db`` or ``postgresql+psycopg://greenai@db/greenai``.

Location and emission factors

- ``country`` [unset]: ISO 3166-1 alpha-3 code of where the energy is drawn (``FRA``,
  ``USA``; lower case accepted). Must be a country CodeCarbon has a factor for.
- ``region`` [unset]: a region of ``country`` with its own factor in CodeCarbon: US states
  (``california``, ``new york``), Canadian provinces (``quebec``), Chinese provinces
  (``guangdong``), Nordic bidding zones (``SE3``, ``NO1``, ``FI``). Any case.
- ``cloud_provider``, ``cloud_region`` [unset]: the public-cloud region a run uses (it is
  then Scope 3, category 1): ``gcp`` regions take CodeCarbon's cloud factors; ``aws`` and
  ``azure`` regions take the grid factor of their country or US state through greenai's
  region map (:mod:`greenai.emissions.cloud_regions`); a region outside the map needs
  ``country`` (and ``region``) set to its location.
- ``intensity_g_per_kwh`` [unset]: forced grid intensity, gCO2e/kWh (>= 0); wins over
  everything else.
- ``factors_file`` [unset]: your own factor table, a CSV file with the columns
  ``location`` (``FRA``, ``USA/california``, ``gcp/us-central1``), ``intensity_g_per_kwh``
  and optionally ``source``, ``vintage`` (year), ``basis`` (``life-cycle`` or
  ``combustion``) and ``gwp`` (``AR5``); a matching row wins over CodeCarbon's factors.
- ``market_factors`` [empty]: market-based factors for reports (Scope 2 dual reporting),
  ``ISO3`` or ``ISO3/region`` -> gCO2e/kWh; in TOML a ``[tool.greenai.market_factors]``
  table (``FRA = 20``, ``"USA/california" = 150``).
- ``market_factors_file`` [unset]: the same as a CSV file (columns as ``factors_file``).
- ``instruments_file`` [unset]: contractual instruments (EACs, GOs, RECs, PPAs, green
  tariffs) for market-based Scope 2, a CSV (columns in
  :mod:`greenai.emissions.instruments_file`).

Without any location, emissions use CodeCarbon's world average and runs are flagged
``unknown_location``. The factor applies to facility energy (IT energy x ``pue``).

Facility and costs

- ``pue`` [1.0]: power usage effectiveness, facility energy / IT energy (>= 1.0).
- ``wue`` [unset]: water usage effectiveness, litres per kWh of IT energy (>= 0).
- ``price_per_kwh`` [unset]: price of one kWh of facility energy (>= 0), in ``currency``.
- ``currency`` [unset]: ISO 4217 code (``EUR``, ``USD``).

Measurement

- ``series_hz`` [1.0]: sampling rate of energy counters and CPU time for the power series,
  per second, 0.1 to 100.
- ``power_hz`` [10.0]: sampling rate of power-only sensors (no energy counter), 1 to 1000.
- ``mode`` [process]: ``process`` charges the job's share of CPU and memory; ``machine``
  charges the whole machine (dedicated nodes).
- ``cpu_tdp_w`` [unset: estimated from the CPU model]: CPU TDP in watts (1 to 10000), used by the
  CPU estimate where RAPL is missing.
- ``powercap_root`` [/sys/class/powercap]: root of the RAPL powercap tree.
- ``heartbeat_s`` [5.0]: how often a running run's ledger record is refreshed, seconds
  (0.5 to 1000000).
- ``stale_after_s`` [60.0]: a running run whose record was not refreshed for this long
  (its process was killed) is marked ``interrupted`` by the next greenai process (1 s to 365 days).
- ``series_tiers`` [1s:7,1m:90,1h:0]: kept resolutions of power series: step (``s``,
  ``m``, ``h``, ``d``) and days kept, 0 = forever; in TOML
  ``series_tiers = [["1s", 7], ["1m", 90], ["1h", 0]]``.

ESRS E1 context of reports (:mod:`greenai.reports.esrs_context`)

- ``scope1_tco2e`` [empty]: Scope 1 tCO2e of the boundary per period label (``2026``,
  ``2026-Q3``, ``2026-10``), used only by a report of exactly that period; without an entry
  the report states that the boundary has no Scope 1 source (electricity only).
- ``scope1_statement`` [unset]: the Scope 1 statement printed instead of the default one.
- ``net_revenue`` [empty]: net revenue per calendar year (``2026 = 1.2e9`` in a
  ``[tool.greenai.net_revenue]`` table), in ``revenue_currency``; a period takes each
  year's revenue pro rata by days (a quarter of 92 days in 2026: 92/365 of it). Gives the
  GHG intensity per net revenue (E1-6 53).
- ``high_climate_impact_revenue`` [empty]: the same for net revenue from activities in
  high climate impact sectors; only then the energy intensity (E1-5 40) is reported.
- ``revenue_currency`` [unset]: ISO 4217 code of the revenue (required with either table).
- ``consolidation_approach`` [unset]: ``financial_control``, ``operational_control`` or
  ``equity_share``.
- ``organisational_boundary``, ``restatement_policy`` [unset]: texts stated in the report.
- ``base_year`` [unset]: the base year of the undertaking's GHG figures.
- ``sites`` [empty]: host id -> site (data centre) name; the per-site breakdown groups
  hosts by it (a host not listed is its own site).
- ``site_pue`` [empty]: site (or host) -> the PUE configured for it, stated beside the
  PUE the runs recorded.

Identity and privacy

- ``host_id`` [unset: derived from the host name]: name of this machine in the ledger
  (no whitespace, <= 128 characters).
- ``run_id`` [generated]: id of the next run (no whitespace, <= 64 characters: the column).
- ``hash_identifiers`` [false]: store host and user names hashed.
- ``store_command`` [false]: store the command line of ``greenai run`` (it may hold secrets).
- ``timezone`` [UTC]: IANA time zone used to display dates and cut report periods
  (timestamps are always stored in UTC).

Other environment variables: ``GREENAI_CONFIG`` (the configuration file) and
``GREENAI_CACHE_DIR`` (where CodeCarbon's factors are cached, by default the per-user cache
directory; the cache is built once per CodeCarbon version, in about a second).
"""

from __future__ import annotations

from greenai.config.settings import Settings
from greenai.config.sources import CONFIG_ENV, ENV_PREFIX, find_config_file, load_settings

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "Settings", "find_config_file", "load_settings"]
