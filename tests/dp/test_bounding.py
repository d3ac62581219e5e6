"""Contribution bounding: at most m rows of one person reach an aggregate, and the fast path
(no person over m, counted once per version) computes the very same aggregates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from bitgoeul.dp import aggregates
from bitgoeul.dp.plan import Bounds, Measurement, plan_request
from bitgoeul.dp.schemas import DpRequest
from bitgoeul.engine import locked as engine

PROFILE = {
    "person_column": "person",
    "max_rows_per_person": 2,
    "keys": {"district": ["Buk", "Seo"]},
    "measures": {"cost": {"lower": 0, "upper": 100, "decimals": 1}},
}
COLUMNS = {"person": "direct_identifier", "district": "other", "cost": "other"}


def _view(tmp_path: Path, rows: list[tuple[str | None, str, float]]) -> engine.View:
    path = tmp_path / "visits.parquet"
    person, district, cost = zip(*rows, strict=True)
    table = pa.table({"person": list(person), "district": list(district), "cost": list(cost)})
    pq.write_table(table, path)
    return engine.View("__bg_dp", path, "SELECT * FROM {source}")


def _plan() -> aggregates.Plan:
    request = DpRequest(
        dataset="visits",
        group_by=["district"],
        measures=[{"kind": "count"}, {"kind": "sum", "column": "cost"}],  # type: ignore[list-item]
        epsilon=1,
    )
    return plan_request(request, profile=PROFILE, columns=COLUMNS, visible=set(COLUMNS))


def test_no_person_contributes_more_than_m_rows(tmp_path: Path) -> None:
    view = _view(
        tmp_path,
        [
            ("A", "Buk", 10.0),
            ("A", "Buk", 20.0),
            ("A", "Seo", 30.0),  # A's third row: one of A's three is left out
            ("B", "Seo", 500.0),  # clamped to the upper bound, 100
            ("C", "Moon", 5.0),  # a district outside the key set: never read
            (None, "Buk", 7.0),  # no person: never read
        ],
    )
    assert aggregates.person_rows("person", view, limits=engine.Limits()).most == 3
    exact = aggregates.exact_aggregates(_plan(), view, limits=engine.Limits(), bound=True)
    counts, sums = exact.vectors[0], exact.vectors[1]
    assert sum(counts) == 3  # two of A's rows and B's
    assert counts[1] >= 1  # B is in Seo
    # Sums on the grid of 0.1: B's 500 is clamped to 100.0 (1000 units); A keeps two of three.
    assert sum(sums) in {1000 + 100 + 200, 1000 + 100 + 300, 1000 + 200 + 300}


def test_when_nobody_exceeds_m_the_fast_path_gives_the_same_aggregates(tmp_path: Path) -> None:
    view = _view(
        tmp_path,
        [("A", "Buk", 10.0), ("A", "Seo", 20.5), ("B", "Seo", 99.9), ("C", "Buk", 0.04)],
    )
    assert aggregates.person_rows("person", view, limits=engine.Limits()).most == 2
    plan = _plan()
    slow = aggregates.exact_aggregates(plan, view, limits=engine.Limits(), bound=True)
    fast = aggregates.exact_aggregates(plan, view, limits=engine.Limits(), bound=False)
    assert slow == fast
    assert fast.vectors == {0: [2, 2], 1: [100, 205 + 999]}


def test_the_window_by_hash_of_the_person_keeps_the_same_rows_as_by_the_person(
    tmp_path: Path,
) -> None:
    """When no two persons share hash(person) (counted once per version), the window may
    partition by that integer: the very same rows are kept."""
    rows = [
        (f"P{p}", ("Buk", "Seo")[(p * k) % 2], float((p * 37 + k * 11) % 150))
        for p in range(40)
        for k in range(1 + p % 5)
    ]
    view = _view(tmp_path, rows)
    counted = aggregates.person_rows("person", view, limits=engine.Limits())
    assert counted.most == 5
    assert counted.hash_unique
    plan = _plan()
    by_person = aggregates.exact_aggregates(plan, view, limits=engine.Limits(), bound=True)
    by_hash = aggregates.exact_aggregates(
        plan, view, limits=engine.Limits(), bound=True, hash_unique=True
    )
    assert by_hash == by_person
    assert sum(by_person.vectors[0]) == sum(min(1 + p % 5, 2) for p in range(40))


def test_a_partitioned_request_reads_its_partition_only(tmp_path: Path) -> None:
    view = _view(
        tmp_path,
        [("A", "Buk", 10.0), ("A", "Seo", 20.0), ("B", "Seo", 30.0), ("C", "Seo", 1.0)],
    )
    profile = {**PROFILE, "partition_column": "district"}
    request = DpRequest(
        dataset="visits",
        partition="Seo",
        measures=[{"kind": "count"}, {"kind": "sum", "column": "cost"}],  # type: ignore[list-item]
        epsilon=1,
    )
    plan = plan_request(request, profile=profile, columns=COLUMNS, visible=set(COLUMNS))
    exact = aggregates.exact_aggregates(plan, view, limits=engine.Limits(), bound=True)
    assert exact.vectors == {0: [3], 1: [200 + 300 + 10]}


def test_rows_outside_the_key_set_count_nowhere_with_or_without_the_window(
    tmp_path: Path,
) -> None:
    """Without the window the key set is tested on the groups, not the rows: a district
    outside it (Nam), or none, adds to no released group, exactly as with the window."""
    view = _view(
        tmp_path,
        [
            ("A", "Buk", 10.0),
            ("B", "Nam", 40.0),
            ("C", "Seo", 30.0),
            ("D", "Nam", 70.0),
            ("E", "Buk", 5.0),
            (None, "Buk", 99.0),  # no person: never used
        ],
    )
    plan = _plan()
    limits = engine.Limits()
    with_window = aggregates.exact_aggregates(plan, view, limits=limits)
    without = aggregates.exact_aggregates(plan, view, limits=limits, bound=False)
    assert without.vectors == with_window.vectors
    assert without.groups == [("Buk",), ("Seo",)]
    assert without.vectors[0] == [2, 1]  # counts: Buk A and E, Seo C
    assert without.vectors[1] == [150, 300]  # sums on the 0.1 grid


def test_the_key_sets_are_tested_on_the_groups_not_on_every_row(tmp_path: Path) -> None:
    """DuckDB pushes a HAVING on the grouping keys down to the scan, where it costs a test of
    every row; the key sets are applied above an OFFSET, where no filter crosses."""
    view = _view(tmp_path, [("A", "Buk", 10.0), ("B", "Nam", 40.0)])
    sql = aggregates.vector_sql(_plan(), view.name, bound=False)
    explained = engine.run(
        f"EXPLAIN {sql}", [view], limit=10, limits=engine.Limits(), scrub={}, secure=False
    )
    text = "\n".join(str(cell) for row in explained.rows for cell in row)
    scan = text[text.index("READ_PARQUET") :]
    assert "'Buk'" not in scan  # the key set is not a filter of the scan
    assert "'Buk'" in text[: text.index("READ_PARQUET")]  # it is tested above the aggregate


_GRID = duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
        st.integers(-(10**6), 10**6).map(lambda n: n / 2),  # halves: the rounding ties
        st.integers(-(10**6), 10**6).map(lambda n: n / 200),
    ),
    decimals=st.integers(0, 3),
    lower=st.integers(-1000, 1000),
    width=st.integers(0, 5000),
)
def test_a_value_on_the_grid_is_rounded_then_clamped_to_the_bounds(
    value: float, decimals: int, lower: int, width: int
) -> None:
    """The release's one-cast grid expression gives what the bounds mean: the value times
    10^decimals rounded half away from zero, then clamped to [lower, upper]."""
    factor = 10**decimals
    bounds = Bounds(lower, lower + width, factor, ())
    noise = aggregates.mechanisms.Noise("-", 1.0, None, 1.0)
    measurement = Measurement(0, "sum", "v", bounds, 1, 1.0, noise)
    expression = aggregates._grid(measurement)
    found = _GRID.execute(
        f'SELECT {expression} FROM (SELECT CAST($1 AS DOUBLE) AS "v")', [value]
    ).fetchone()
    reference = _GRID.execute(
        "SELECT least(greatest(CAST(round(CAST($1 AS DOUBLE) * $2) AS BIGINT), $3), $4)",
        [value, factor, lower, lower + width],
    ).fetchone()
    assert found == reference


def test_a_missing_or_not_a_number_value_stays_missing_or_goes_to_a_bound() -> None:
    bounds = Bounds(0, 1000, 10, ())
    noise = aggregates.mechanisms.Noise("-", 1.0, None, 1.0)
    expression = aggregates._grid(Measurement(0, "sum", "v", bounds, 1, 1.0, noise))
    rows = _GRID.execute(
        f"SELECT {expression} FROM (SELECT unnest([NULL, 'nan'::DOUBLE, 'inf'::DOUBLE, "
        "'-inf'::DOUBLE]) AS \"v\")"
    ).fetchall()
    assert rows == [(None,), (1000,), (1000,), (0,)]
