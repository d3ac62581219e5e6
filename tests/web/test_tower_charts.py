"""The tower's line charts: a day without a value, or days without a snapshot, break the line
(a gap is never drawn as a slope); a higher value is drawn higher; the target's line is drawn
when it fits the chart."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.web.tower_charts import HEIGHT, PAD, WIDTH, line_chart

DAY = date(2026, 1, 1)


def _points(segment: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in segment.split())]


def test_no_value_at_all_draws_no_chart() -> None:
    assert line_chart([]) is None
    assert line_chart([(DAY, None), (DAY + timedelta(days=1), None)]) is None


def test_a_day_without_a_value_breaks_the_line() -> None:
    series = [(DAY + timedelta(days=i), v) for i, v in enumerate([1.0, 2.0, None, 3.0, 4.0])]
    chart = line_chart(series)
    assert chart is not None
    assert len(chart.segments) == 2
    assert chart.points == 4


def test_days_without_a_snapshot_break_the_line() -> None:
    series = [(DAY, 1.0), (DAY + timedelta(days=1), 2.0), (DAY + timedelta(days=9), 3.0)]
    chart = line_chart(series)
    assert chart is not None
    assert len(chart.segments) == 2
    assert (chart.first, chart.last) == (DAY, DAY + timedelta(days=9))


def test_a_higher_value_is_drawn_higher_and_time_runs_left_to_right() -> None:
    chart = line_chart([(DAY, 10.0), (DAY + timedelta(days=1), 20.0)])
    assert chart is not None
    (x0, y0), (x1, y1) = _points(chart.segments[0])
    assert x0 < x1
    assert y1 < y0  # SVG's y grows downwards


def test_a_target_within_reach_is_drawn_and_a_far_one_is_not() -> None:
    near = line_chart([(DAY, 800.0), (DAY + timedelta(days=1), 900.0)], target=1000)
    assert near is not None
    assert near.target_y is not None
    assert near.target_y == PAD  # the target is the top of the chart
    far = line_chart([(DAY, 3.0), (DAY + timedelta(days=1), 4.0)], target=1000)
    assert far is not None
    assert far.target_y is None


def test_a_single_value_still_shows() -> None:
    chart = line_chart([(DAY, 5.0)])
    assert chart is not None
    assert len(_points(chart.segments[0])) == 2


@given(
    st.lists(
        st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False)),
        min_size=1,
        max_size=60,
    ),
    st.sets(st.integers(min_value=0, max_value=400), min_size=1, max_size=60),
)
def test_every_point_lies_inside_the_chart_and_no_segment_crosses_a_gap(
    values: list[float | None], offsets: set[int]
) -> None:
    days = sorted(offsets)[: len(values)]
    series = [(DAY + timedelta(days=d), v) for d, v in zip(days, values, strict=False)]
    chart = line_chart(series)
    if all(v is None for _, v in series):
        assert chart is None
        return
    assert chart is not None
    drawn = 0
    span = max((series[-1][0] - series[0][0]).days, 1)
    for segment in chart.segments:
        points = _points(segment)
        xs = [x for x, _ in points]
        assert xs == sorted(xs)
        for x, y in points:
            assert 0 <= x <= WIDTH + 1
            assert PAD - 0.1 <= y <= HEIGHT - PAD + 0.1
        # Consecutive points of one segment are at most one day apart.
        step = (WIDTH - 2 * PAD) / span
        if len(points) > 1 and xs[1] - xs[0] > 1:  # not the one-point twin
            assert all(b - a <= step + 0.11 for a, b in itertools.pairwise(xs))
        drawn += len(points)
    assert drawn >= chart.points
