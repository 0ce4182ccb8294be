"""Small static SVG charts for the report (no script: they print and render in any browser
and in WeasyPrint)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["MIX_COLORS", "PALETTE", "column_chart", "grouped_columns", "stacked_bars", "ticks"]

PALETTE = ("#1b7f5b", "#7fb7d9", "#e0a43a", "#8c6bb1", "#b0b0b0", "#d95f5f")
MIX_COLORS = ("#6e6259", "#8c6bb1", "#2e9e5b", "#c8c8c8")
"""Fossil, nuclear, renewable, unknown."""
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
WIDTH = 640


def ticks(value: float, count: int = 4) -> list[float]:
    """Axis ticks from 0 to at least ``value`` in about ``count`` round steps (1, 2, 2.5, 5
    x 10^n)."""
    if value <= 0 or not math.isfinite(value):
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    raw = value / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(s * power for s in (1.0, 2.0, 2.5, 5.0, 10.0) if raw <= s * power * (1 + 1e-12))
    steps = math.ceil(value / step - 1e-9)
    return [i * step for i in range(steps + 1)]


def fmt(value: float) -> str:
    """A short axis label: ``0``, ``0.25``, ``1.5k``, ``2M``."""
    if value == 0:
        return "0"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11,
          weight: str = "normal", fill: str = "#222") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" font-weight="{weight}" '
        f'fill="{fill}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{fill}">{tip}</rect>'
    )


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _legend(
    names: Sequence[str], y: float, x0: float = 0.0, colors: Sequence[str] = PALETTE
) -> list[str]:
    out = []
    x = x0
    for i, name in enumerate(names):
        out.append(_rect(x, y - 9, 10, 10, colors[i % len(colors)]))
        out.append(_text(x + 14, y, name, size=10))
        x += 24 + 6.2 * len(name)
    return out


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    unit: str,
    label: str,
    colors: Sequence[str] = PALETTE,
) -> str:
    """Horizontal bars, one per row, stacked by series.

    Args:
        rows: (row label, one value per series).
        series: Series names (legend).
        unit: Unit of the values, shown on the axis.
        label: Accessible name of the chart.
        colors: One colour per series.
    """
    left, right, bar_h, gap = 170.0, 20.0, 18.0, 8.0
    top = 26.0
    height = top + len(rows) * (bar_h + gap) + 34
    marks = ticks(max((sum(v) for _, v in rows), default=0.0))
    scale = (WIDTH - left - right) / marks[-1]
    body = _legend(series, 14, colors=colors)
    for tick in marks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" '
                    f'y2="{height - 28:.1f}" stroke="#ddd" stroke-width="1"/>')  # fmt: skip
        body.append(_text(x, height - 14, fmt(tick), anchor="middle", size=10, fill="#555"))
    body.append(_text(WIDTH - right, height - 2, unit, anchor="end", size=10, fill="#555"))
    for r, (name, values) in enumerate(rows):
        y = top + r * (bar_h + gap)
        shown = name if len(name) <= 26 else name[:25] + "…"
        body.append(_text(left - 6, y + bar_h - 5, shown, anchor="end", size=10))
        x = left
        for s, value in enumerate(values):
            width = value * scale
            title = f"{name}, {series[s]}: {value:.6g} {unit}"
            body.append(_rect(x, y, width, bar_h, colors[s % len(colors)], title))
            x += width
    return _svg(height, body, label)


def grouped_columns(
    groups: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], unit: str,
    label: str,
) -> str:  # fmt: skip
    """Vertical columns: one cluster per group, one column per series (None: no column)."""
    left, right, top, plot_h = 56.0, 16.0, 44.0, 170.0
    height = top + plot_h + 28
    values = [v for _, vals in series for v in vals if v is not None]
    marks = ticks(max(values, default=0.0))
    top_value = marks[-1]
    body = [*_legend([name for name, _ in series], 14), *_axis(left, right, top, plot_h, marks)]
    body.append(_text(4, top - 12, unit, size=10, fill="#555"))
    cluster_w = (WIDTH - left - right) / max(len(groups), 1)
    col_w = min(36.0, cluster_w * 0.8 / max(len(series), 1))
    for g, group in enumerate(groups):
        x0 = left + g * cluster_w + (cluster_w - col_w * len(series)) / 2
        for s, (name, vals) in enumerate(series):
            value = vals[g]
            if value is None:
                continue
            h = value / top_value * plot_h
            title = f"{group}, {name}: {value:.6g} {unit}"
            body.append(_rect(x0 + s * col_w, top + plot_h - h, col_w - 2, h,
                              PALETTE[s % len(PALETTE)], title))  # fmt: skip
        body.append(_text(left + (g + 0.5) * cluster_w, top + plot_h + 16, group,
                          anchor="middle", size=10))  # fmt: skip
    return _svg(height, body, label)


def _axis(left: float, right: float, top: float, plot_h: float, marks: list[float]) -> list[str]:
    out = []
    for tick in marks:
        y = top + plot_h - plot_h * tick / marks[-1]
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{WIDTH - right:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd" stroke-width="1"/>')  # fmt: skip
        out.append(_text(left - 6, y + 4, fmt(tick), anchor="end", size=10, fill="#555"))
    return out


def column_chart(
    labels: Sequence[str], values: Sequence[float | None], unit: str, label: str
) -> str:
    """One column per label (None: a gap marked ``n/a``); labels thinned when crowded."""
    left, right, top, plot_h = 56.0, 16.0, 26.0, 160.0
    height = top + plot_h + 30
    marks = ticks(max((v for v in values if v is not None), default=0.0))
    top_value = marks[-1]
    body = _axis(left, right, top, plot_h, marks)
    body.append(_text(4, top - 12, unit, size=10, fill="#555"))
    slot = (WIDTH - left - right) / max(len(labels), 1)
    every = max(1, math.ceil(len(labels) / 12))
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot
        if value is None:
            body.append(_text(x + slot / 2, top + plot_h - 4, "n/a", anchor="middle", size=8,
                              fill="#999"))  # fmt: skip
        else:
            h = value / top_value * plot_h
            body.append(_rect(x + slot * 0.15, top + plot_h - h, slot * 0.7, h, PALETTE[0],
                              f"{name}: {value:.6g} {unit}"))  # fmt: skip
        if i % every == 0:
            body.append(_text(x + slot / 2, top + plot_h + 16, name, anchor="middle", size=9))
    return _svg(height, body, label)
