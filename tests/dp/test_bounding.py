"""Contribution bounding: at most m rows of one person reach an aggregate, and the fast path
(no person over m, counted once per version) computes the very same aggregates."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bitgoeul.dp import aggregates
from bitgoeul.dp.plan import plan_request
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
    assert "HAVING" in aggregates.vector_sql(plan, "v", bound=False)
