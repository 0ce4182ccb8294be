"""The CSV tables a configuration names (factor tables, instruments): UTF-8 (a byte-order
mark allowed), ``#`` lines and blank lines skipped, a header, cells stripped."""

from __future__ import annotations

from pathlib import Path

from greenai.errors import ConfigError


def read_table(path: Path, key: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The table's header (case-folded) and its rows as (line number, header -> cell).

    Raises:
        ConfigError: The file is unreadable or not UTF-8 (named by ``key``).
    """
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(key, str(path), f"a readable UTF-8 CSV file ({exc})") from exc
    numbered = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    rows = list(csv.reader(line for _, line in numbered))
    header = [h.strip().casefold() for h in rows[0]] if rows else []
    cells = [
        (line_no, dict(zip(header, (c.strip() for c in row), strict=False)))
        for (line_no, _), row in zip(numbered[1:], rows[1:], strict=False)
    ]
    return header, cells
