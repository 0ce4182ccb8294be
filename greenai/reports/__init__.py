"""Periodic ESG disclosure reports: ``greenai report`` and its Python API.

A report covers one period (a quarter, a month, a year or a range of days, in the
configured time zone) and counts the root runs the ledger held at its as-of time (each
finished run by the revision of its figures recorded by then, with the configuration held
then)::

    from greenai.reports import report

    result = report("2026-Q3", out_dir="q3")        # or report(last="quarter")
    result.report["scope2_market_tco2e"]

The output folder holds report.html, report.pdf, report.json, summary.csv, runs.csv and
manifest.json. The dashboard uses :func:`parse_period`, :func:`build_report`,
:func:`render_html` and :func:`write_report`.

Keys of report.json (stable; energies in kWh, emissions in tCO2e, shares in [0, 1]):

- ``report_format``: ``greenai.report/1``.
- ``period_label``, ``period_start``, ``period_end`` (local ISO 8601; the end is excluded),
  ``period_last_day``, ``timezone``, ``as_of`` (UTC), ``projects_filter``.
- ``boundary``: projects, hosts_count, Scope 2 and cloud locations, node_energy_included.
- ``energy_it_kwh``, ``energy_facility_kwh`` (IT x PUE), ``energy_facility_mwh``: Scope 2
  boundary (on premises and colocation), node idle energy included where measured;
  ``energy_lines``: tracked runs, then one line per host's idle and unallocated energy.
- ``energy_mix``: ``fossil_kwh``, ``nuclear_kwh``, ``renewable_kwh``, ``unknown_kwh``, their
  ``*_share``, ``by_country`` and ``source`` (each run's stored generation mix; renewable
  contractual instruments move their MWh to renewable, ``grid`` and
  ``renewable_instruments_kwh`` keep the grid-average figures and the moved MWh).
- ``scope2_location_tco2e``, ``scope2_market_tco2e``, ``scope2_market_basis`` (bases used:
  ``contractual_instrument``, ``contractual_or_supplier``, ``residual_mix``,
  ``location_based_proxy``, joined by `` + ``), ``scope2_market_caveat``,
  ``scope2_location_factors`` (with each factor's dataset, vintage, basis and GWP set),
  ``scope2_factor_bases``, ``scope2_market_factors``, ``market_factors_supplied``.
- ``contractual_instruments``: per instrument the MWh used before, applied in the period
  and remaining; ``applied``, ``rejected`` (with reasons), ``applied_mwh``,
  ``covered_share`` and the allocation ``rules``.
- ``scope3_cloud_tco2e``, ``scope3_cloud_energy_it_kwh``, ``scope3_cloud_energy_facility_kwh``,
  ``scope3_cloud_factors``: runs in a public cloud (Scope 3 category 1).
- ``codecarbon_versions``: versions whose factors the runs recorded.
- ``measured_share``: share of Scope 2 IT energy measured by hardware (counters, sensors).
- ``runs_count``, ``tokens``, ``kwh_per_million_tokens``, ``intensity_trend``.
- ``water_l`` and ``cost`` (list of ``{currency, amount}``), where configured or recorded.
- ``by_project``, ``by_phase``, ``by_model_technique``: per-group runs_count,
  energy_it_kwh, energy_facility_kwh, scope2_location_tco2e, scope2_market_tco2e,
  cloud_energy_it_kwh, scope3_cloud_tco2e, tokens, kwh_per_million_tokens.
- ``previous_period``, ``previous_year``: the same headline figures and their relative
  ``change``.
- ``data_quality``: measured shares, estimated components, one entry per caveat of
  :data:`greenai.reports.caveats.CAVEATS` (unknown location, interrupted, running,
  overlapping runs, gaps, device problems, nothing measured, no factor: the counted
  groups of :mod:`greenai.figures.flags`), ``imported`` (per tool), split runs, figures
  recorded after as-of (runs running then; runs held before revisions were kept).
- ``esrs_standard``, ``scope1``, ``ghg_totals`` (location- and market-based),
  ``ghg_intensity`` (per net revenue), ``energy_intensity`` (high climate impact sectors),
  ``reporting_context`` (consolidation approach, organisational boundary, base year,
  restatement policy) and ``by_site`` (energy, emissions and PUE with its source).
- ``esrs_mapping``: ESRS E1 datapoints and their values; ``runs``: every run included
  (as runs.csv, with the ``revision`` of its figures counted); ``configuration``: the
  revision of the report configuration used (``revision``, ``sha256``, ``note``);
  ``restatements`` (with ``compare_to`` only): totals and runs changed since an earlier
  report, with the ledger's reasons; ``inputs_sha256``: SHA-256 of the figures as
  runs.csv and summary.csv ship them (summary.csv without its ``as_of`` and
  ``inputs_sha256`` rows), so it can be recomputed from the files and does not change
  when only the moment of reading does.
"""

from __future__ import annotations

from greenai.figures.periods import Period, last_period, parse_period
from greenai.reports.api import FORMATS, EmptyPeriodError, ReportResult, build_report, report
from greenai.reports.html import render_html
from greenai.reports.outputs import write_report

__all__ = [
    "FORMATS",
    "EmptyPeriodError",
    "Period",
    "ReportResult",
    "build_report",
    "last_period",
    "parse_period",
    "render_html",
    "report",
    "write_report",
]
