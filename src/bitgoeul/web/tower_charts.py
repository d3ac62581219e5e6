"""The control tower's charts: one indicator's daily values as an inline SVG line, drawn on the
server (no JavaScript, nothing vendored).

:func:`line_chart` turns a series of (day, value) into coordinates; a day without a value (not
available, nothing measured, suppressed, or no snapshot that day) breaks the line, so a gap is
never drawn as a slope.  ``templates/_tower_chart.html`` draws the result with SVG
presentation attributes only (the pages' CSP forbids inline styles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH = 320
HEIGHT = 72
PAD = 4


@dataclass(frozen=True)
class LineChart:
    segments: list[str]  # SVG polyline "x,y x,y ..." runs, one per stretch without gaps
    first: date
    last: date
    low: float
    high: float
    points: int
    width: int = WIDTH
    height: int = HEIGHT
    target_y: float | None = None  # where the target's line is, when it fits the chart


def line_chart(
    series: list[tuple[date, float | None]], *, target: float | None = None
) -> LineChart | None:
    """The chart of ``series`` (oldest first), or None when it holds no value at all."""
    values = [v for _, v in series if v is not None]
    if not series or not values:
        return None
    first, last = series[0][0], series[-1][0]
    span_days = max((last - first).days, 1)
    low = min(0.0, min(values))
    high = max(values)
    if target is not None and target <= high * 1.5:
        high = max(high, target)
    if high == low:
        high = low + 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def y_of(value: float) -> float:
        return round(PAD + inner_h * (1 - (value - low) / (high - low)), 1)

    # Days as ordinals (a year of points for each of the tower's indicators is drawn on every
    # page view; integer differences are cheaper than date arithmetic).
    first_ordinal = first.toordinal()
    segments: list[str] = []
    run: list[str] = []
    previous = -1
    for day, value in series:
        ordinal = day.toordinal()
        # A day without a value, or days missing between two snapshots, end the stretch.
        gap = value is None or (previous >= 0 and ordinal - previous > 1)
        if gap and run:
            segments.append(" ".join(run))
            run = []
        previous = ordinal
        if value is None:
            continue
        x = round(PAD + inner_w * (ordinal - first_ordinal) / span_days, 1)
        run.append(f"{x},{y_of(value)}")
    if run:
        segments.append(" ".join(run))
    # A single point still shows: a segment of one point gets a twin one pixel on.
    segments = [
        s if " " in s else f"{s} {float(s.split(',')[0]) + 1},{s.split(',')[1]}" for s in segments
    ]
    target_y = y_of(target) if target is not None and low <= target <= high else None
    return LineChart(
        segments=segments,
        first=first,
        last=last,
        low=low,
        high=high,
        points=len(values),
        target_y=target_y,
    )
