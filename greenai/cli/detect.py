"""``greenai detect``: the devices found and how each one's energy will be obtained."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer


class Format(StrEnum):
    """Output formats."""

    TABLE = "table"
    JSON = "json"


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


def detect(
    format: Annotated[Format, typer.Option("--format", help="table or json")] = Format.TABLE,
) -> None:
    """List each device found, how its energy will be obtained, and why a collector is not."""
    entries = detection()
    if format is Format.JSON:
        typer.echo(json.dumps(entries, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Names, notes and reasons come from the hardware and the configuration (a path):
    # shown as text, never read as rich markup ("[/]" in a path would raise).
    table = Table(title="greenai: devices and how their energy is obtained")
    for column in ("device", "kind", "name", "method", "limit/TDP W"):
        table.add_column(column)
    for entry in entries:
        for dev in entry["devices"]:
            limit = dev["power_limit_w"]
            table.add_row(
                Text(dev["device_id"]),
                Text(dev["kind"]),
                Text(dev["name"]),
                Text(dev["method"]),
                f"{limit:.0f}" if limit else "-",
            )
    console = Console()
    console.print(table)
    for entry in entries:
        for dev in entry["devices"]:
            for note in dev["notes"]:
                console.print(f"{dev['device_id']}: {note}", markup=False, highlight=False)
    for entry in entries:
        if not entry["available"]:
            reason = f": unavailable: {entry['reason']}"
            console.print(Text.assemble((entry["collector"], "yellow"), reason))
