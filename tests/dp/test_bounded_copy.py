"""The bounded copy: a version's rows at most m per person, written once when a release must
drop rows.  The rows kept of one person depend on that person's rows alone (the sensitivity
argument of ``dp.plan``), per partition on a time-partitioned dataset."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import City, _publish

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.config import Settings
from bitgoeul.dp import actions, aggregates, queries
from bitgoeul.dp.models import DpBoundedCopy
from bitgoeul.dp.schemas import DpRequest, MeasureBounds, ProfileIn
from bitgoeul.engine import locked as engine
from bitgoeul.governance.models import Notification
from bitgoeul.storage.integrity import IntegrityFailed

Row = tuple[str | None, str, float]


def _copy(tmp_path: Path, rows: list[Row], *, m: int, partition: str | None = None) -> list[Row]:
    source = tmp_path / f"source-{len(list(tmp_path.iterdir()))}.parquet"
    person, month, cost = zip(*rows, strict=True)
    pq.write_table(
        pa.table({"person": list(person), "month": list(month), "cost": list(cost)}), source
    )
    view = engine.View("__bg_dp", source, "SELECT * FROM {source}")
    target = source.with_suffix(".bounded.parquet")
    aggregates.write_bounded_copy(
        view,
        person_column="person",
        partition_column=partition,
        max_rows=m,
        target=target,
        limits=engine.Limits(),
    )
    with duckdb.connect() as conn:
        found = conn.execute(f"SELECT person, month, cost FROM '{target}'").fetchall()
    return sorted(found)


def _of(person: str, rows: list[Row]) -> list[Row]:
    return [r for r in rows if r[0] == person]


A_ROWS: list[Row] = [("A", f"2026-0{k % 3 + 1}", float(k)) for k in range(7)]


def test_at_most_m_rows_of_a_person_are_kept_and_all_of_a_person_within_m(
    tmp_path: Path,
) -> None:
    rows = [*A_ROWS, ("B", "2026-01", 1.0), ("B", "2026-02", 2.0), (None, "2026-01", 9.0)]
    kept = _copy(tmp_path, rows, m=3)
    assert len(_of("A", kept)) == 3
    assert set(_of("A", kept)) <= set(A_ROWS)
    assert _of("B", kept) == [("B", "2026-01", 1.0), ("B", "2026-02", 2.0)]
    assert all(r[0] is not None for r in kept)


def test_a_persons_kept_rows_do_not_depend_on_anyone_elses(tmp_path: Path) -> None:
    alone = _copy(tmp_path, list(A_ROWS), m=2)
    others = [(f"P{p}", f"2026-0{p % 3 + 1}", float(p)) for p in range(200)]
    crowded = _copy(tmp_path, [*others[:100], *reversed(A_ROWS), *others[100:]], m=2)
    assert _of("A", crowded) == _of("A", alone)


def test_per_partition_a_persons_rows_in_one_partition_ignore_their_other_partitions(
    tmp_path: Path,
) -> None:
    january = [("A", "2026-01", float(k)) for k in range(5)]
    later = [r for r in A_ROWS if r[1] != "2026-01"]
    kept = _copy(tmp_path, [*january, *later], m=2, partition="month")
    assert Counter(r[1] for r in kept) == {"2026-01": 2, "2026-02": 2, "2026-03": 2}
    changed = _copy(tmp_path, [*january, ("A", "2026-02", 99.0)], m=2, partition="month")
    # What A has in February changed; what is kept of A's January did not.
    january_kept = [r for r in kept if r[1] == "2026-01"]
    assert [r for r in changed if r[1] == "2026-01"] == january_kept


def _metered(
    db: Session, settings: Settings, app: Any, city: City, tmp_path: Path
) -> tuple[str, Callable[[dict[str, Any]], Any]]:
    """Secure metered electricity with two rows (months) per household, m = 1, a budget of
    ε 10; the dataset's slug and a steward's release of one measure at ε 1 by district."""
    steward = city.cast.actors["steward_of_publisher"]
    slug = _publish(
        db,
        settings,
        app.state.store,
        city.cast,
        tmp_path,
        title="Metered electricity",
        level=AccessLevel.secure,
        header=["household_id", "district", "month", "kwh"],
        versions=[
            [
                [f"H{h:03d}", ["Buk", "Seo", "Nam"][h % 3], month, 100 + h * 3 + month]
                for h in range(30)
                for month in (1, 2)
            ]
        ],
        classes={"household_id": "direct_identifier"},
    ).slug
    actions.set_profile(
        db,
        actor=steward,
        slug=slug,
        profile=ProfileIn(
            person_column="household_id",
            max_rows_per_person=1,
            keys={"district": ["Buk", "Seo", "Nam"]},
            measures={"kwh": MeasureBounds(lower=0, upper=1000)},
        ),
    )
    actions.set_budget(db, actor=steward, slug=slug, project_id=None, epsilon=10)
    release: Callable[[dict[str, Any]], Any] = lambda measure: actions.release(  # noqa: E731
        db,
        settings=settings,
        store=app.state.store,
        actor=steward,
        token=actions.quote(
            db,
            settings=settings,
            actor=steward,
            request=DpRequest.model_validate(
                {"dataset": slug, "group_by": ["district"], "measures": [measure], "epsilon": 1}
            ),
        ).token,
    )
    return slug, release


def test_a_release_that_must_drop_rows_writes_the_copy_once(
    db: Session,
    settings: Settings,
    app: Any,
    city: City,
    tmp_path: Path,
) -> None:
    """Secure metered electricity with two rows (months) per household; with m = 1 the first
    release writes a copy of one row per household, the next one reads it."""
    _slug, release = _metered(db, settings, app, city, tmp_path)
    release({"kind": "count"})
    release({"kind": "sum", "column": "kwh"})
    [copy] = db.scalars(select(DpBoundedCopy)).all()
    assert (copy.max_rows, copy.row_count, copy.partition_column) == (1, 30, "")
    path = app.state.store.local_file(copy.object_key)
    with duckdb.connect() as conn:
        kept = sorted(conn.execute(f"SELECT * FROM '{path}'").fetchall())
        per_household = conn.execute(
            f"SELECT max(n), count(*) FROM (SELECT count(*) n FROM '{path}' GROUP BY household_id)"
        ).fetchall()
    assert per_household == [(1, 30)]
    # A caller erasing the version's rows (a My Data pool) removes the copy with them; the
    # next release that needs it writes it again from the version.
    assert (
        actions.forget_bounded_copies(db, store=app.state.store, version_ids=[copy.version_id]) == 1
    )
    db.commit()
    assert not app.state.store.exists(copy.object_key)
    assert db.scalars(select(DpBoundedCopy)).all() == []
    release({"kind": "mean", "column": "kwh"})
    [again] = db.scalars(select(DpBoundedCopy)).all()
    path = app.state.store.local_file(again.object_key)
    with duckdb.connect() as conn:
        assert sorted(conn.execute(f"SELECT * FROM '{path}'").fetchall()) == kept


def test_a_changed_bounded_copy_is_refused_reported_and_costs_nothing(
    db: Session,
    settings: Settings,
    app: Any,
    city: City,
    tmp_path: Path,
) -> None:
    """The copy holds the version's rows; one changed in the store (here: every row again, so
    no bound holds) is never aggregated: the release is refused before anything is spent, the
    refusal is audited under the publisher as an integrity failure, and operators are told."""
    slug, release = _metered(db, settings, app, city, tmp_path)
    release({"kind": "count"})
    [copy] = db.scalars(select(DpBoundedCopy)).all()
    path = app.state.store.local_file(copy.object_key)
    unbounded = pq.read_table(path)
    pq.write_table(pa.concat_tables([unbounded, unbounded]), path)
    dataset_id = db.scalars(select(Dataset.id).where(Dataset.slug == slug)).one()
    spent = [b.spent_micro for b in queries.budgets(db, dataset_id)]
    with pytest.raises(IntegrityFailed, match="bounded copy"):
        release({"kind": "sum", "column": "kwh"})
    db.rollback()
    assert [b.spent_micro for b in queries.budgets(db, dataset_id)] == spent
    failures = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.integrity_failed")
    ).all()
    assert failures
    assert all(f.resource_id == slug for f in failures)
    assert failures[-1].detail["found_sha256"] != failures[-1].detail["expected_sha256"]
    told = db.scalars(select(Notification).where(Notification.kind == "dataset.integrity_failed"))
    assert told.all()
