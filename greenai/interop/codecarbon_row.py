"""One row of CodeCarbon's emissions.csv, checked cell by cell into typed values.

Lengths of text cells are those of the ledger columns they go to, read from the schema;
the run id, kept as a tag, is bounded as a tag value is (``TAG_VALUE_CHARS``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import TypeVar

from greenai.interop import codecarbon_fields as fields
from greenai.interop.problems import Problem
from greenai.ledger import schema
from greenai.ledger.limits import TAG_VALUE_CHARS

T = TypeVar("T")

LEDGER_COLUMN = {
    "project_name": "project", "region": "region", "cloud_provider": "cloud_provider",
    "cloud_region": "cloud_region", "codecarbon_version": "codecarbon_version",
    "gpu_model": "hardware", "cpu_model": "hardware", "tracking_mode": "mode",
}  # fmt: skip
"""Text columns of the file -> the runs column each goes to (which bounds its length)."""

PUE_RULE = " (PUE = facility energy / IT energy)"


def max_chars(column: str) -> int | None:
    """The length of the ledger column that the file's ``column`` goes to."""
    length = getattr(schema.runs.c[LEDGER_COLUMN[column]].type, "length", None)
    return int(length) if length is not None else None


@dataclass(frozen=True)
class CodecarbonRow:
    """A checked CodeCarbon row. Energies include PUE, as CodeCarbon records them.

    Attributes:
        line: Line of the file where the row starts (1 is the header).
        timestamp: The ``timestamp`` cell as written.
        ended_at: That time, aware UTC (a time without offset is local time in the
            reader's time zone).
        started_at: ``ended_at - duration_s``.
        duration_s: Duration, s.
        emissions_kg: Emissions, kgCO2e.
        energy_consumed_kwh: Facility energy, kWh.
        cpu_energy_kwh: CPU energy x PUE, kWh.
        gpu_energy_kwh: GPU energy x PUE, kWh.
        ram_energy_kwh: RAM energy x PUE, kWh.
        pue: Power usage effectiveness, >= 1.
        intensity_g_per_kwh: emissions / facility energy, gCO2e/kWh; None without energy.
        run_id: CodeCarbon's run id ("" when absent).
        task_name: The task of a task file's row (``task_name``); None when empty.
        experiment_id: The ``experiment_id`` cell; None when empty.
        local_zone: The time zone a timestamp without offset was read in; None with one.
        time_flag: A flag code when a DST change made the local time ambiguous or skipped.
        on_cloud: ``on_cloud`` is ``Y``.
        project, country, region, cloud_provider, cloud_region, codecarbon_version,
        gpu_model, cpu_model, tracking_mode: Text cells; None when empty.
    """

    line: int
    timestamp: str
    ended_at: datetime
    started_at: datetime
    duration_s: float
    emissions_kg: float
    energy_consumed_kwh: float
    cpu_energy_kwh: float
    gpu_energy_kwh: float
    ram_energy_kwh: float
    pue: float
    intensity_g_per_kwh: float | None
    run_id: str
    task_name: str | None
    experiment_id: str | None
    local_zone: str | None
    time_flag: str | None
    on_cloud: bool
    project: str | None
    country: str | None
    region: str | None
    cloud_provider: str | None
    cloud_region: str | None
    codecarbon_version: str | None
    gpu_model: str | None
    cpu_model: str | None
    tracking_mode: str | None


class _Cells:
    """A record's cells by column name; problems gathered with their line and column."""

    def __init__(self, cells: Sequence[str], positions: Mapping[str, int], line: int) -> None:
        self.cells = cells
        self.positions = positions
        self.line = line
        self.problems: list[Problem] = []

    def raw(self, name: str) -> str:
        position = self.positions.get(name)
        return "" if position is None else self.cells[position]

    def check(self, name: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(self.raw(name))
        except fields.FieldError as exc:
            self.fail(name, str(exc))
            return None

    def derive(self, name: str, rule: Callable[[], T]) -> T | None:
        """A rule over values already checked; a refusal is put on column ``name``."""
        try:
            return rule()
        except fields.FieldError as exc:
            self.fail(name, str(exc))
            return None

    def fail(self, name: str, message: str) -> None:
        position = self.positions.get(name)
        column = None if position is None else position + 1
        self.problems.append(Problem(self.line, message, column, name))

    def text(self, name: str) -> str | None:
        return self.check(name, lambda c: fields.text(c, max_chars(name))) or None


def validate_row(
    cells: Sequence[str],
    positions: Mapping[str, int],
    line: int,
    countries: Collection[str],
    zone: tzinfo = UTC,
) -> CodecarbonRow | list[Problem]:
    """Checks every cell of a record that greenai imports.

    Args:
        cells: The record's cells, as many as the header has.
        positions: Column name -> 0-based position in the record (absent: empty cells).
        line: Line of the file where the record starts.
        countries: ISO 3166-1 alpha-3 codes that CodeCarbon's factor table knows.
        zone: The time zone of a timestamp written without offset.

    Returns:
        The checked row, or every problem found in it.
    """
    c = _Cells(cells, positions, line)
    moment = c.check("timestamp", partial(fields.timestamp, zone=zone))
    ended = None if moment is None else moment.utc
    duration = c.check("duration", _duration)
    emissions, facility, cpu, gpu, ram = (
        c.check(name, fields.number)
        for name in ("emissions", "energy_consumed", "cpu_energy", "gpu_energy", "ram_energy")
    )
    pue = c.check("pue", _pue)
    country = c.check("country_iso_code", lambda v: fields.country(v, countries))
    texts = {name: c.text(name) for name in LEDGER_COLUMN}
    run_id, task_name, experiment_id = (
        c.check(name, lambda v: fields.text(v, TAG_VALUE_CHARS))  # tags, or a parent's id
        for name in ("run_id", "task_name", "experiment_id")
    )
    started = intensity = None
    if ended is not None and duration is not None:
        started = c.derive("duration", partial(fields.start_of, ended, duration))
    if emissions is not None and facility is not None:
        intensity = c.derive("emissions", partial(fields.intensity_g_per_kwh, emissions, facility))
    if (
        c.problems or ended is None or started is None or duration is None or emissions is None
        or facility is None or pue is None or moment is None
    ):  # fmt: skip
        return c.problems
    return CodecarbonRow(
        line=line, timestamp=c.raw("timestamp"), ended_at=ended, started_at=started,
        duration_s=duration, emissions_kg=emissions, energy_consumed_kwh=facility,
        cpu_energy_kwh=cpu or 0.0, gpu_energy_kwh=gpu or 0.0, ram_energy_kwh=ram or 0.0,
        pue=pue, intensity_g_per_kwh=intensity, run_id=run_id or "",
        task_name=task_name or None, experiment_id=experiment_id or None,
        local_zone=str(zone) if moment.naive else None, time_flag=moment.flag,
        on_cloud=c.raw("on_cloud").strip().upper() == "Y", country=country,
        project=texts["project_name"], region=texts["region"],
        cloud_provider=texts["cloud_provider"], cloud_region=texts["cloud_region"],
        codecarbon_version=texts["codecarbon_version"], gpu_model=texts["gpu_model"],
        cpu_model=texts["cpu_model"], tracking_mode=texts["tracking_mode"],
    )  # fmt: skip


def _duration(cell: str) -> float:
    return fields.number(cell, maximum=fields.MAX_DURATION_S)


def _pue(cell: str) -> float:
    return fields.number(cell, default=1.0, minimum=1.0, why_minimum=PUE_RULE)
