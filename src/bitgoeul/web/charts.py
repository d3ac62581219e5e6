"""Profile charts as data for inline SVG: no JavaScript chart library, nothing to download.

A version's profile holds, per column, either a histogram (``{"edges", "counts"}``) or its
most frequent values (``"top": [[value, count], ...]``).  :func:`profile_chart` turns either
into horizontal bars with coordinates; ``templates/_chart.html`` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHART_WIDTH = 360
BAR_HEIGHT = 16
BAR_GAP = 4
LABEL_WIDTH = 130
COUNT_WIDTH = 60
MAX_BARS = 12
_LABEL_CHARS = 18


@dataclass(frozen=True)
class Bar:
    label: str
    full_label: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class BarChart:
    kind: str  # "histogram" or "top"
    bars: list[Bar]
    height: int
    bar_x: int = LABEL_WIDTH
    bar_area: int = CHART_WIDTH - LABEL_WIDTH - COUNT_WIDTH
    width: int = CHART_WIDTH


def _short(text: str) -> str:
    return text if len(text) <= _LABEL_CHARS else text[: _LABEL_CHARS - 1] + "…"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _bars(kind: str, labelled: list[tuple[str, int]]) -> BarChart | None:
    labelled = labelled[: MAX_BARS if kind == "top" else 2 * MAX_BARS]
    if not labelled:
        return None
    biggest = max(max(count for _, count in labelled), 1)
    area = CHART_WIDTH - LABEL_WIDTH - COUNT_WIDTH
    bars = [
        Bar(
            label=_short(label),
            full_label=label,
            count=count,
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=max(1, round(area * count / biggest)) if count else 0,
        )
        for i, (label, count) in enumerate(labelled)
    ]
    return BarChart(kind=kind, bars=bars, height=len(bars) * (BAR_HEIGHT + BAR_GAP))


def profile_chart(column: dict[str, Any]) -> BarChart | None:
    """The chart for one column's profile: its histogram, else its top values, else None."""
    histogram = column.get("histogram") or {}
    edges = histogram.get("edges") or []
    counts = histogram.get("counts") or []
    if counts and len(edges) == len(counts) + 1:
        labelled = [
            (f"{_number(edges[i])} – {_number(edges[i + 1])}", int(counts[i]))
            for i in range(len(counts))
        ]
        return _bars("histogram", labelled)
    top = column.get("top") or []
    labelled = [(str(value), int(count)) for value, count in top if count is not None]
    return _bars("top", labelled)
