"""Writes a report's files: report.json, summary.csv, runs.csv, report.html, report.pdf and
manifest.json.

report.json, summary.csv and runs.csv depend only on the report dict, which depends only on
the ledger, the period, the as-of time and the configuration: the same inputs give the same
bytes (keys in a fixed order, rows sorted, numbers unrounded in their shortest exact form,
``\\n`` line ends). The generation time appears only in report.html, report.pdf and manifest.json.
Each file is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from greenai.errors import ConfigError
from greenai.figures import flags as fl
from greenai.interop.formula_cells import neutralise_text

__all__ = [
    "FORMATS",
    "RUNS_COLUMNS",
    "check_formats",
    "report_json",
    "restatements_csv",
    "runs_csv",
    "summary_csv",
    "write_report",
]

FORMATS = ("html", "pdf", "csv", "json")
"""Every output format: ``csv`` writes summary.csv and runs.csv; manifest.json always."""
RUNS_COLUMNS = (
    "run_id", "project", "model", "technique", "phase", "status", "started_at", "ended_at",
    "scope", "location", "share_in_period", "split_method", "energy_it_kwh",
    "energy_facility_kwh", "measured_share", "location_g_per_kwh", "location_kgco2e",
    "market_basis", "market_g_per_kwh", "market_kgco2e", "tokens", "flags", "revision",
)  # fmt: skip
TOTALS = (
    ("energy_it_kwh", "kWh"), ("energy_facility_kwh", "kWh"), ("energy_facility_mwh", "MWh"),
    ("scope2_location_tco2e", "tCO2e"), ("scope2_market_tco2e", "tCO2e"),
    ("scope2_market_basis", ""), ("scope3_cloud_energy_it_kwh", "kWh"),
    ("scope3_cloud_energy_facility_kwh", "kWh"), ("scope3_cloud_tco2e", "tCO2e"),
    ("measured_share", "share"), ("runs_count", "runs"), ("tokens", "tokens"),
    ("tokens_energy_it_kwh", "kWh"), ("kwh_per_million_tokens", "kWh/Mtoken"),
    ("water_l", "L"),
)  # fmt: skip
GROUP_FIGURES = (
    ("runs_count", "runs"), ("energy_it_kwh", "kWh"), ("energy_facility_kwh", "kWh"),
    ("scope2_location_tco2e", "tCO2e"), ("scope2_market_tco2e", "tCO2e"),
    ("cloud_energy_it_kwh", "kWh"), ("scope3_cloud_tco2e", "tCO2e"), ("tokens", "tokens"),
    ("kwh_per_million_tokens", "kWh/Mtoken"),
)  # fmt: skip


NOT_HASHED = ("as_of", "inputs_sha256")
"""The report section's rows of summary.csv outside the inputs' hash: when the ledger
was read, and the hash itself."""


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """Normalises formats (``"html,pdf"`` or a list) in the canonical order.

    Raises:
        ConfigError: An unknown format, or none.
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = {f.strip().lower() for item in items for f in str(item).split(",") if f.strip()}
    unknown = sorted(wanted - set(FORMATS))
    if unknown or not wanted:
        raise ConfigError("format", ",".join(unknown) or "", "html, pdf, csv and/or json")
    return tuple(f for f in FORMATS if f in wanted)


def cell(value: Any) -> str:
    """A CSV cell: floats unrounded in their shortest exact form (``0.00129949``, never in
    exponent notation, which spreadsheets may misread), None empty, text safe from
    spreadsheet formulas (:func:`~greenai.interop.formula_cells.neutralise_text`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return plain_decimal(value)
    if isinstance(value, str):
        return neutralise_text(value)
    return str(value)


def plain_decimal(value: float) -> str:
    """``value`` in positional notation with every digit its shortest repr holds."""
    if not math.isfinite(value):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def report_json(report: Mapping[str, Any]) -> str:
    """report.json: the report dict, keys in their fixed order, two-space indent."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def runs_csv(report: Mapping[str, Any]) -> str:
    """runs.csv: the appendix, one row per run (columns :data:`RUNS_COLUMNS`)."""
    return _csv(RUNS_COLUMNS, ([run.get(k) for k in RUNS_COLUMNS] for run in report["runs"]))


RESTATEMENT_COLUMNS = ("run_id", "change", "field", "before", "after", "reasons")


def restatements_csv(report: Mapping[str, Any]) -> str | None:
    """restatements.csv (a report with ``--compare-to``): one row per changed total
    (change ``total``) and per changed field of each run restated; None without."""
    restated = report.get("restatements")
    if restated is None:
        return None
    rows: list[tuple[Any, ...]] = [
        ("", "total", t["metric"], t["before"], t["after"], "")
        for t in restated["totals"]
        if t["before"] != t["after"]
    ]
    for run in restated["runs"]:
        before, after = run["before"] or {}, run["after"] or {}
        for key in sorted(before.keys() | after.keys()):
            reasons = "; ".join(run["reasons"])
            rows.append(
                (run["run_id"], run["change"], key, before.get(key), after.get(key), reasons)
            )
    return _csv(RESTATEMENT_COLUMNS, rows)


def _group_label(row: Mapping[str, Any], keys: Sequence[str]) -> str:
    return " / ".join("" if row.get(k) is None else str(row[k]) for k in keys)


def _summary_rows(
    report: Mapping[str, Any], hashed: bool = False
) -> Iterator[tuple[str, str, str, Any, str]]:
    for key in ("period_label", "period_start", "period_end", "timezone", "as_of",
                "inputs_sha256"):  # fmt: skip
        if not (hashed and key in NOT_HASHED):
            yield "report", "", key, report[key], ""
    for key, unit in TOTALS:
        yield "total", "", key, report[key], unit
    for entry in report["cost"]:
        yield "total", "", "cost", entry["amount"], entry["currency"] or ""
    for line in report["energy_lines"]:
        group = line["line"] if line["host_id"] is None else f"{line['line']}:{line['host_id']}"
        yield "energy_lines", group, "energy_it_kwh", line["energy_it_kwh"], "kWh"
        yield "energy_lines", group, "energy_facility_kwh", line["energy_facility_kwh"], "kWh"
    for family in ("fossil", "nuclear", "renewable", "unknown"):
        mix = report["energy_mix"]
        yield "energy_mix", family, "energy_kwh", mix[f"{family}_kwh"], "kWh"
        yield "energy_mix", family, "share", mix[f"{family}_share"], "share"
    for section, keys in (("by_project", ("project",)), ("by_phase", ("phase",)),
                          ("by_model_technique", ("model", "technique"))):  # fmt: skip
        for row in report[section]:
            for key, unit in GROUP_FIGURES:
                yield section, _group_label(row, keys), key, row[key], unit
    for section in ("previous_period", "previous_year"):
        other = report[section]
        yield section, other["period_label"], "period_start", other["period_start"], ""
        for key, unit in TOTALS:
            if key in other:
                yield section, other["period_label"], key, other[key], unit
                yield section, other["period_label"], f"change_{key}", other["change"][key], "ratio"
    yield from _quality_rows(report["data_quality"])
    yield from _esrs_rows(report)
    for row in report["intensity_trend"]:
        label = row["label"]
        yield "intensity_trend", label, "tokens_energy_it_kwh", row["tokens_energy_it_kwh"], "kWh"
        yield "intensity_trend", row["label"], "tokens", row["tokens"], "tokens"
        yield ("intensity_trend", row["label"], "kwh_per_million_tokens",
               row["kwh_per_million_tokens"], "kWh/Mtoken")  # fmt: skip


E1_6_UNITS = {
    "scope1": {"tco2e": "tCO2e"},
    "ghg_totals": {"tco2e": "tCO2e"},
    "ghg_intensity": {"net_revenue": "{currency}", "per_currency_unit": "tCO2e/{currency}"},
    "energy_intensity": {"revenue": "{currency}", "energy_mwh": "MWh",
                         "per_currency_unit": "MWh/{currency}"},
}  # fmt: skip
"""The units of the E1-6 sections' figures, by the end of their key."""
SITE_FIGURES = (
    ("energy_it_kwh", "kWh"), ("energy_facility_kwh", "kWh"), ("scope2_location_tco2e", "tCO2e"),
    ("scope2_market_tco2e", "tCO2e"), ("cloud_energy_it_kwh", "kWh"),
    ("cloud_energy_facility_kwh", "kWh"), ("scope3_cloud_tco2e", "tCO2e"), ("pue", "ratio"),
    ("pue_source", ""), ("pue_configured", "ratio"),
)  # fmt: skip


def _unit_of(section: str, key: str, currency: str) -> str:
    for end, unit in E1_6_UNITS[section].items():
        if key.endswith(end):
            return unit.format(currency=currency)
    return ""


def _esrs_rows(report: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any, str]]:
    """E1-6 and its context: Scope 1, the totals both ways, the intensities, each site's
    figures and PUE, the reporting context and the datapoint mapping, as report.json."""
    currency = report["ghg_intensity"].get("currency") or "monetary unit"
    for section in E1_6_UNITS:
        for key, value in report[section].items():
            if isinstance(value, str | int | float) or value is None:
                unit = _unit_of(section, key, currency) if not isinstance(value, str) else ""
                yield section, "", key, value, unit
    for site in report["by_site"]:
        group = site["site"] or ""
        for key, unit in SITE_FIGURES:
            yield "by_site", group, key, site[key], unit
    for key, value in report["reporting_context"].items():
        if isinstance(value, str | int) or value is None:
            yield "reporting_context", "", key, value, ""
    for row in report["esrs_mapping"]:
        group = f"{row['disclosure']} {row['paragraph']}"
        yield "esrs_mapping", group, row["report_key"], row["value"], row["unit"]


def _quality_rows(quality: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any, str]]:
    yield "data_quality", "", "measured_share", quality["measured_share"], "share"
    yield "data_quality", "", "measured_share_cloud", quality["measured_share_cloud"], "share"
    for entry in quality["estimated_components"]:
        yield "data_quality", fl.estimated(entry["kind"]), "energy_it_kwh", \
            entry["energy_it_kwh"], "kWh"  # fmt: skip
    for key, value in quality.items():
        if isinstance(value, Mapping) and "runs_count" in value:
            yield "data_quality", key, "runs_count", value["runs_count"], "runs"
            yield "data_quality", key, "energy_it_kwh", value["energy_it_kwh"], "kWh"
    yield "data_quality", "", "split_runs", len(quality["split_runs"]), "runs"
    yield "data_quality", "", "period_complete_at_as_of", quality["period_complete_at_as_of"], ""


def summary_csv(report: Mapping[str, Any], *, hashed: bool = False) -> str:
    """summary.csv: every figure in long form (section, group, metric, value, unit).

    Args:
        report: The report.
        hashed: Leave out the rows :data:`NOT_HASHED` (the text the inputs' hash covers).
    """
    return _csv(("section", "group", "metric", "value", "unit"), _summary_rows(report, hashed))


def figures_sha256(report: Mapping[str, Any]) -> str:
    """The report's ``inputs_sha256``: SHA-256 of its figures as the CSV files ship them,
    runs.csv's text then summary.csv's without its ``as_of`` and ``inputs_sha256`` rows.

    A report read at another moment from a ledger whose figures did not change has the
    same hash; anyone can recompute it from the two files (the README gives the command).
    """
    digest = hashlib.sha256(runs_csv(report).encode("utf-8"))
    digest.update(summary_csv(report, hashed=True).encode("utf-8"))
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomic(path: Path, data: bytes) -> None:
    """Writes through a temporary file and a rename (mode as for a new file: 0666 & ~umask)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_report(
    report: Mapping[str, Any], out_dir: Path | str, formats: Iterable[str] | str = FORMATS
) -> dict[str, Path]:
    """Writes the report's files into ``out_dir`` (created if needed).

    Args:
        report: A report from :func:`greenai.reports.build_report`.
        out_dir: The output folder.
        formats: Any of ``html``, ``pdf``, ``csv`` (summary.csv and runs.csv), ``json``.

    Returns:
        File name -> path, for every file written; manifest.json is always written.

    Raises:
        ConfigError: An unknown format.
        GreenAIError: jinja2 or WeasyPrint is missing for HTML or PDF.
        OSError: The folder or a file cannot be written.
    """
    wanted = check_formats(formats)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    generated_at = datetime.now(UTC).replace(microsecond=0)
    texts, html = _texts(report, wanted, generated_at)
    files: dict[str, Path] = {}
    for name, text in texts.items():
        _write_atomic(folder / name, text.encode("utf-8"))
        files[name] = folder / name
    if "pdf" in wanted and html is not None:
        from greenai.reports.pdf import write_pdf

        tmp = folder / ".report.pdf.tmp"
        write_pdf(html, tmp)
        os.replace(tmp, folder / "report.pdf")
        files["report.pdf"] = folder / "report.pdf"
    manifest = _manifest(report, files, generated_at)
    _write_atomic(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    files["manifest.json"] = folder / "manifest.json"
    return files


def _texts(
    report: Mapping[str, Any], wanted: Sequence[str], generated_at: datetime
) -> tuple[dict[str, str], str | None]:
    """File name -> text of the text files wanted, and the HTML (for the PDF too)."""
    texts: dict[str, str] = {}
    if "json" in wanted:
        texts["report.json"] = report_json(report)
    if "csv" in wanted:
        texts["summary.csv"] = summary_csv(report)
        texts["runs.csv"] = runs_csv(report)
        restated = restatements_csv(report)
        if restated is not None:
            texts["restatements.csv"] = restated
    html = None
    if "html" in wanted or "pdf" in wanted:
        from greenai.reports.html import render_html

        html = render_html(report, generated_at=generated_at)
    if "html" in wanted and html is not None:
        texts["report.html"] = html
    return texts, html


def _manifest(
    report: Mapping[str, Any], files: Mapping[str, Path], generated_at: datetime
) -> dict[str, Any]:
    """manifest.json: generation time, versions, the inputs' hash, each file's hash."""
    import greenai

    return {
        "report_format": report["report_format"],
        "period_label": report["period_label"],
        "as_of": report["as_of"],
        "generated_at": generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "greenai_version": greenai.__version__,
        "inputs_sha256": report["inputs_sha256"],
        "files": {
            name: {"sha256": _sha256(path), "bytes": path.stat().st_size}
            for name, path in sorted(files.items())
        },
    }
