"""``greenai detect``: the devices found and how each one's energy will be obtained."""

from __future__ import annotations

from typing import Any

import typer

from greenai.cli import options as o
from greenai.cli.console import table_console
from greenai.cli.data_output import csv_text, json_text
from greenai.cli.shown_text import shown_text

CSV_COLUMNS = (
    "collector", "available", "reason", "device_id", "kind", "vendor", "name", "uuid",
    "method", "power_limit_w", "notes",
)  # fmt: skip
"""``--format csv``: one line per device, or per collector without devices (its reason)."""


def detection() -> list[dict[str, Any]]:
    """One entry per collector: available, reason, and its devices."""
    from collectors.discover import discover
    from greenai.config import load_settings

    settings = load_settings()
    found = discover(
        mode=settings.mode, powercap_root=settings.powercap_root, cpu_tdp_w=settings.cpu_tdp_w
    )
    try:
        return [
            {
                "collector": a.name,
                "available": a.available,
                "reason": a.reason,
                "devices": [
                    {
                        "device_id": d.device_id,
                        "kind": d.kind.value,
                        "vendor": d.vendor,
                        "name": d.name,
                        "uuid": d.uuid,
                        "method": d.method.value,
                        "power_limit_w": d.power_limit_w,
                        "notes": list(d.notes),
                    }
                    for d in a.devices
                ],
            }
            for a in found.availability
        ]
    finally:
        for collector in found.collectors:
            collector.close()


def device_rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`detection` flattened: one row per device with its collector's fields, and
    one row for a collector without devices (so its reason is kept)."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        collector = {k: entry[k] for k in ("collector", "available", "reason")}
        rows.extend({**collector, **device} for device in entry["devices"])
        if not entry["devices"]:
            rows.append(collector)
    return rows


def detect(format: o.FormatOpt = o.OutputFormat.TABLE) -> None:
    """List each device found, how its energy will be obtained, and why a collector is not."""
    entries = detection()
    if format is o.OutputFormat.JSON:
        typer.echo(json_text(entries))
    elif format is o.OutputFormat.CSV:
        typer.echo(csv_text(device_rows(entries), CSV_COLUMNS), nl=False)
    else:
        print_table(entries)


def print_table(entries: list[dict[str, Any]]) -> None:
    """The devices as a table for people, then their notes and each collector that is
    unavailable with its reason."""
    from rich.table import Table
    from rich.text import Text

    # Names, notes and reasons come from the hardware and the configuration (a path):
    # shown as text, never read as rich markup ("[/]" in a path would raise), with
    # undecodable bytes of a path as escapes.
    table = Table(title="greenai: devices and how their energy is obtained")
    for column in ("device", "kind", "name", "method", "limit/TDP W"):
        table.add_column(column)
    for entry in entries:
        for dev in entry["devices"]:
            limit = dev["power_limit_w"]
            table.add_row(
                shown_text(dev["device_id"]),
                shown_text(dev["kind"]),
                shown_text(dev["name"]),
                shown_text(dev["method"]),
                f"{limit:.0f}" if limit else "-",
            )
    console = table_console()
    console.print(table)
    for entry in entries:
        for dev in entry["devices"]:
            for note in dev["notes"]:
                console.print(shown_text(f"{dev['device_id']}: {note}"))
    for entry in entries:
        if not entry["available"]:
            reason = shown_text(f": unavailable: {entry['reason']}")
            console.print(Text.assemble(shown_text(entry["collector"], "yellow"), reason))
