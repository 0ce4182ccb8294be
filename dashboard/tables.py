"""Tables as shown: readable headers with units, numbers kept numeric (so columns sort),
values of runs (names, tags) kept as plain text cells."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd

from greenai.figures import units
from greenai.figures.definitions import j_per_token, j_per_token_or_none
from greenai.figures.evidence import MIX_COUNTRY, MIX_FAMILIES, NOT_RECORDED, evidence_from
from greenai.interop.formula_cells import csv_value
from greenai.queries.compare import METRICS


def _utc_text(moments: pd.Series, fmt: str) -> pd.Series:
    """Timestamps as UTC text in ``fmt``."""
    return pd.to_datetime(moments, utc=True).dt.strftime(fmt)


def _energy(values: pd.Series, label: str) -> tuple[str, pd.Series]:
    unit, per = units.energy_scale(values.astype(float))
    return f"{label} ({unit})", (values.astype(float) / per).round(4)


def _mass(values: pd.Series, label: str) -> tuple[str, pd.Series]:
    unit, per = units.mass_scale(values.astype(float))
    return f"{label} ({unit}CO2e)", (values.astype(float) / per).round(4)


def consumers(frame: pd.DataFrame) -> pd.DataFrame:
    """The largest consumers with energy and emissions in readable units."""
    out = pd.DataFrame({"Project": frame["project"], "Model": frame["model"],
                        "Runs": frame["runs"]})  # fmt: skip
    for label, values in (
        _energy(frame["energy_j"], "IT energy"),
        _energy(frame["facility_energy_j"], "Facility energy"),
        _mass(frame["emissions_kg"], "Emissions"),
    ):
        out[label] = values
    out["Output tokens"] = frame["tokens_output"].astype(int)
    out["Share of IT energy (%)"] = (frame["share"].astype(float) * 100).round(1)
    return out


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return str(value)


KEY_LABELS = {"model": "Model", "technique": "Technique", "hardware": "Hardware",
              "workload": "Workload", "batch_size": "Batch size", "seq_len": "Sequence length",
              "base_model": "Base model"}  # fmt: skip


def compare_stats(stats: pd.DataFrame, metrics: Iterable[str] = tuple(METRICS)) -> pd.DataFrame:
    """Per group: n, and mean with 95% t-interval of each per-token figure."""
    out = pd.DataFrame({label: stats[key].map(_text) for key, label in KEY_LABELS.items()
                        if key in stats.columns})  # fmt: skip
    out["Runs (n)"] = stats["n"].astype(int)
    for metric in metrics:
        _, unit, _ = METRICS[metric]
        for part, name in (("mean", "mean"), ("low", "95% CI low"), ("high", "95% CI high")):
            out[f"{unit} {name}"] = stats[f"{metric}_{part}"].astype(float)
    return out


def csv_text(table: pd.DataFrame) -> str:
    """A table as CSV, its text cells safe from spreadsheet formulas; numbers unchanged."""
    return str(table.map(csv_value).to_csv(index=False))


def compare_compact(stats: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per group: n, the chosen figure's mean and 95% interval, the other figures' means."""
    out = pd.DataFrame({label: stats[key].map(_text) for key, label in KEY_LABELS.items()
                        if key in stats.columns})  # fmt: skip
    out["Runs (n)"] = stats["n"].astype(int)
    unit, per = column_unit(metric, stats[f"{metric}_mean"])
    out[f"{unit} mean"] = _rounded(metric, stats[f"{metric}_mean"] / per)
    out[f"{unit} 95% CI"] = [
        "–" if pd.isna(low)
        else f"{units.format_number(low / per, 4)} – {units.format_number(high / per, 4)}"
        for low, high in zip(stats[f"{metric}_low"], stats[f"{metric}_high"], strict=True)
    ]  # fmt: skip
    for other in METRICS:
        if other != metric:
            other_unit, other_per = column_unit(other, stats[f"{other}_mean"])
            out[f"{other_unit} mean"] = _rounded(other, stats[f"{other}_mean"] / other_per)
    return out


def column_unit(metric: str, values: pd.Series) -> tuple[str, float]:
    """One unit for a column of a per-token figure, chosen for its values (``mJ/token``,
    ``mgCO2e/1k tokens``), and the metric's units per that unit."""
    if metric == "j_per_output_token":
        unit, per = units.joule_scale(values.astype(float))
        return f"{unit}/token", per
    if metric == "g_per_1k_tokens":
        unit, per_kg = units.mass_scale(values.astype(float) / units.G_PER_KG)
        return f"{unit}CO2e/1k tokens", per_kg * units.G_PER_KG
    return METRICS[metric][1], 1.0


def _rounded(metric: str, values: pd.Series) -> pd.Series:
    """Tokens per kWh as whole tokens; the per-token figures to 6 significant digits."""
    if metric == "tokens_per_kwh":
        return values.astype(float).round(0)
    return values.astype(float).map(lambda v: float(f"{v:.6g}"))


def savings(frame: pd.DataFrame) -> pd.DataFrame:
    """Savings of each technique against its baseline: change and interval in %."""
    out = pd.DataFrame({"Result": frame["label"]})
    for key, label in KEY_LABELS.items():
        if key in frame.columns:
            out[label] = frame[key].map(_text)
    out["Runs (n)"] = frame["n"].astype(int)
    out["Baseline runs"] = frame["n_baseline"].astype(int)
    for column, label in (("change", "Change (%)"), ("change_low", "95% CI low (%)"),
                          ("change_high", "95% CI high (%)")):  # fmt: skip
        out[label] = (frame[column].astype(float) * 100).round(1)
    return out


def issue_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs with a data-quality issue."""
    label, energy = _energy(frame["energy_j"], "IT energy")
    return pd.DataFrame(
        {
            "Run": frame["id"],
            "Name": frame["name"].map(_text),
            "Project": frame["project"].map(_text),
            "Started (UTC)": _utc_text(frame["started_at"], "%Y-%m-%d %H:%M"),
            label: energy,
            "Detail": frame["detail"],
        }
    )


def _json(value: Any) -> str:
    if value in (None, {}, []):
        return "–"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


RUN_FIELDS = (
    ("id", "Run"), ("name", "Name"), ("status", "Status"), ("project", "Project"),
    ("model", "Model"), ("base_model", "Base model"), ("technique", "Technique"),
    ("precision", "Precision"), ("phase", "Phase"), ("batch_size", "Batch size"),
    ("seq_len", "Sequence length"), ("hardware", "Hardware"), ("started_at", "Started (UTC)"),
    ("ended_at", "Ended (UTC)"), ("duration_s", "Duration (s)"), ("host_id", "Host"),
    ("mode", "CPU/DRAM mode"), ("parent_run_id", "Parent run"), ("tags", "Tags"),
    ("error", "Error"), ("greenai_version", "greenai version"),
)  # fmt: skip


def run_figures(run: dict[str, Any]) -> list[tuple[str, str]]:
    """The run's headline figures as (label, formatted value)."""
    tokens = int(run.get("tokens_output") or 0)
    energy = float(run.get("energy_j") or 0.0)
    return [
        ("IT energy", units.format_energy(energy)),
        ("Facility energy", units.format_energy(run.get("facility_energy_j"))),
        ("Emissions (location-based)", units.format_mass(run.get("emissions_kg"))),
        ("Duration", f"{units.format_number(run.get('duration_s'))} s"),
        ("Output tokens", units.format_count(tokens)),
        (
            "Energy per output token",
            units.format_joules(j_per_token_or_none(energy, tokens), per="token"),
        ),
    ]


def run_metadata(run: dict[str, Any]) -> pd.DataFrame:
    """The run's descriptive fields as (field, value) text rows."""
    rows = []
    for key, label in RUN_FIELDS:
        value = run.get(key)
        shown = _json(value) if isinstance(value, dict | list) else _text(value)
        rows.append({"Field": label, "Value": shown})
    return pd.DataFrame(rows)


def energy_by_kind(run: dict[str, Any]) -> pd.DataFrame:
    """Energy per device kind with the method that obtained it."""
    by_kind = run.get("energy_by_kind") or {}
    rows = [
        {"Kind": kind, "energy_j": float(entry.get("energy_j") or 0.0),
         "Method": str(entry.get("method") or "unknown")}
        for kind, entry in by_kind.items()
        if isinstance(entry, dict)
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["Kind", "energy_j", "Method"])
    label, values = _energy(frame["energy_j"], "IT energy")
    return frame.assign(**{label: values}).drop(columns="energy_j")[["Kind", label, "Method"]]


def devices(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Per-device energy charged to a run, with method and share."""
    frame = pd.DataFrame(rows, columns=["device_id", "kind", "name", "method", "energy_j", "share"])
    label, values = _energy(frame["energy_j"], "Energy charged")
    return pd.DataFrame(
        {
            "Device": frame["device_id"],
            "Kind": frame["kind"],
            "Name": frame["name"].map(_text),
            "Method": frame["method"],
            label: values,
            "Share charged (%)": (frame["share"].astype(float) * 100).round(1),
        }
    )


def child_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Child runs: id, name, phase, start, energy, output tokens."""
    label, values = _energy(frame["energy_j"], "IT energy")
    return pd.DataFrame(
        {
            "Run": frame["id"],
            "Name": frame["name"].map(_text),
            "Phase": frame["phase"].map(_text),
            "Status": frame["status"],
            "Started (UTC)": _utc_text(frame["started_at"], "%Y-%m-%d %H:%M:%S"),
            label: values,
            "Output tokens": frame["tokens_output"].astype(int),
        }
    )


def provenance(run: dict[str, Any]) -> pd.DataFrame:
    """How the run's figures were obtained: attribution, PUE, emission factor, its source
    and evidence (dataset, vintage, basis, GWP set, grid mix)."""
    rule = str(run.get("attribution") or "none")
    place = [run.get(k) for k in ("country", "region", "cloud_provider", "cloud_region")]
    items = {
        "Attribution rule (GPUs)": rule,
        "PUE": units.format_number(run.get("pue"), 3),
        "Emission factor (gCO2e/kWh)": units.format_number(run.get("intensity_g_per_kwh"), 4),
        "Factor source": _text(run.get("intensity_source")),
        "CodeCarbon version": _text(run.get("codecarbon_version")),
        **_evidence(run.get("factor_evidence")),
        "Location": " / ".join(str(v) for v in place if v) or "unknown",
        "CPU/DRAM mode": _text(run.get("mode")),
    }
    return pd.DataFrame({"Item": list(items), "Value": list(items.values())})


def _evidence(stored: object) -> dict[str, str]:
    """The factor's evidence as stored with the run (what a report's factor table says)."""
    found = evidence_from(stored) or NOT_RECORDED
    mix = "not recorded"
    if found.mix is not None:
        shares = ", ".join(f"{family} {found.mix[family]:.1%}" for family in MIX_FAMILIES)
        mix = f"{shares} (the {'country' if found.mix_of == MIX_COUNTRY else 'region'}'s)"
    return {
        "Factor dataset": found.dataset,
        "Factor vintage": "not stated" if found.vintage is None else str(found.vintage),
        "Factor basis": found.basis,
        "GWP set": found.gwp,
        "Grid mix": mix,
    }


WINDOW_COLUMNS = ["name", "started_at", "ended_at", "duration_s", "energy_j", "tokens_input",
                  "tokens_output", "flags"]  # fmt: skip


def window_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A run's windows as a frame (columns of :data:`WINDOW_COLUMNS`)."""
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def windows(frame: pd.DataFrame) -> pd.DataFrame:
    """Windows with energy (J), tokens and J/token (input and output tokens together);
    unknown energy shown as such."""
    energy = frame["energy_j"].astype(float)
    tokens = frame["tokens_input"].astype(float) + frame["tokens_output"].astype(float)
    energy_label, energy_shown = _energy(energy, "Energy")
    per_token = j_per_token(energy, tokens)
    token_unit, per = units.joule_scale(per_token)
    return pd.DataFrame(
        {
            "Window": frame["name"].map(_text),
            "Start (UTC)": _utc_text(frame["started_at"], "%H:%M:%S"),
            "Duration (s)": frame["duration_s"].astype(float).round(3),
            energy_label: energy_shown,
            "Input tokens": frame["tokens_input"].astype(int),
            "Output tokens": frame["tokens_output"].astype(int),
            f"{token_unit}/token": (per_token / per).round(4),
            "Flags": frame["flags"].map(lambda f: ", ".join(map(str, f or [])) or "–"),
        }
    )
