"""The tower's indicators are counted from the platform's own tables: recomputed here from
fixtures, each equals what plain SQL counts; packages not on the hub say "not available"; and
values about a few people are suppressed for everyone but operators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session
from tests.programmes.programme_city import People
from tests.tower.tower_city import fill

from bitgoeul.tower import indicators
from bitgoeul.tower.indicators import BY_KEY, DEFINITIONS, SUPPRESSION_K, Indicator, Indicators

# Each indicator as a person would count it in SQL, without the tower's code.
SQL = {
    "datasets": "SELECT count(*) FROM datasets",
    "dataset_versions": "SELECT count(*) FROM dataset_versions",
    "publishers": "SELECT count(DISTINCT publisher_id) FROM datasets",
    "access_requests": "SELECT count(*) FROM access_requests",
    "access_approved": "SELECT count(*) FROM access_requests WHERE status = 'approved'",
    "queries": "SELECT count(*) FROM query_runs",
    "query_refusals": "SELECT count(*) FROM query_runs WHERE status = 'refused'",
    "jobs": "SELECT count(*) FROM jobs",
    "cpu_hours_used": "SELECT coalesce(sum(used_cpu_hours), 0) FROM jobs",
    "gpu_hours_used": "SELECT coalesce(sum(used_gpu_hours), 0) FROM jobs",
    "cpu_hours_granted": "SELECT coalesce(sum(hours), 0) FROM credit_entries"
    " WHERE reason = 'grant' AND kind = 'cpu'",
    "gpu_hours_granted": "SELECT coalesce(sum(hours), 0) FROM credit_entries"
    " WHERE reason = 'grant' AND kind = 'gpu'",
    "testbed_tasks": "SELECT count(*) FROM testbed_tasks",
    "testbed_submissions": "SELECT count(*) FROM testbed_submissions WHERE NOT is_baseline",
    "linkage_runs": "SELECT count(*) FROM linkage_runs",
    "donors": "SELECT count(DISTINCT user_id) FROM mydata_donations WHERE status = 'active'",
    "active_consents": "SELECT count(*) FROM mydata_consents WHERE status = 'active'",
    "civic_problems": "SELECT count(*) FROM civic_problems",
    "civic_challenges": "SELECT count(*) FROM civic_problems"
    " WHERE state IN ('challenge', 'pilot', 'completed')",
    "epsilon_spent": "SELECT coalesce(sum(cost_micro), 0) / 1000000.0 FROM dp_releases"
    " WHERE status = 'spent'",
    "startups_supported": "SELECT count(DISTINCT organization_id) FROM programme_applications"
    " WHERE status = 'approved'",
    "startup_jobs": "SELECT coalesce(sum(a.employees), 0) FROM programme_applications a"
    " WHERE a.id IN (SELECT max(id) FROM programme_applications WHERE status = 'approved'"
    " GROUP BY organization_id)",
    "trainees": "SELECT count(DISTINCT user_id) FROM academy_enrolments WHERE status = 'completed'",
}


def test_every_indicator_equals_its_direct_sql_count(db: Session, people: People) -> None:
    expected = fill(db, people)
    found = indicators.compute(db)
    for key, sql in SQL.items():
        counted = float(db.execute(text(sql)).scalar_one())
        assert found.get(key).value == pytest.approx(counted), key
        assert counted == pytest.approx(expected[key]), key
    assert found.get("decision_days_median").value == pytest.approx(3.0)
    assert found.get("decision_days_median").basis == 3


def test_every_indicator_is_either_counted_in_sql_here_or_said_to_be_unavailable(
    db: Session, people: People
) -> None:
    found = indicators.compute(db)
    unavailable = {i.key for i in found.items if not i.available}
    assert set(SQL) | {"decision_days_median"} | unavailable == set(BY_KEY)
    for key in unavailable:
        assert found.get(key).value is None


def test_indicators_of_packages_not_on_the_hub_say_not_available(
    db: Session, people: People
) -> None:
    found = indicators.compute(db)
    missing = indicators.indicators_not_installed()
    for key in ("donors", "active_consents"):
        assert (key in missing) is (not found.get(key).available)
    for key in missing:
        assert found.get(key).value is None
    assert found.get("civic_problems").available


def test_an_empty_hub_counts_zero_and_has_no_decision_time(db: Session) -> None:
    found = indicators.compute(db)
    assert found.get("datasets").value == 0
    assert found.get("trainees").value == 0
    median = found.get("decision_days_median")
    assert median.available
    assert median.value is None
    assert median.basis == 0


def test_the_targets_are_the_seeds(db: Session) -> None:
    found = indicators.compute(db)
    assert found.get("startups_supported").definition.target == 1000
    assert found.get("startup_jobs").definition.target == 7000
    assert found.get("trainees").definition.target == 5150


def test_small_counts_about_people_are_suppressed_outside_the_operators(
    db: Session, people: People
) -> None:
    fill(db, people)
    shown = indicators.suppressed(indicators.compute(db))
    for key in ("trainees", "startups_supported", "startup_jobs", "decision_days_median"):
        assert shown.get(key).suppressed, key
        assert shown.get(key).value is None, key
    assert shown.get("datasets").value == 3  # a count of things, not of people
    assert shown.get("jobs").value == 3


def test_datasets_and_versions_are_counted_per_institution(db: Session, people: People) -> None:
    fill(db, people)
    rows = {r.slug: (r.datasets, r.versions) for r in indicators.by_institution(db)}
    assert rows == {"kepco": (2, 3), "kpx": (1, 0)}


@given(
    value=st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False)),
    basis=st.integers(min_value=0, max_value=10_000),
    key=st.sampled_from([d.key for d in DEFINITIONS]),
)
def test_a_value_is_shown_publicly_unless_it_is_about_fewer_than_k_people(
    value: float | None, basis: int, key: str
) -> None:
    definition = BY_KEY[key]
    found = Indicators(at=indicators.utcnow(), items=[Indicator(definition, value, basis)])
    shown = indicators.suppressed(found).items[0]
    hidden = definition.about_people and value is not None and 0 < basis < SUPPRESSION_K
    assert shown.suppressed == hidden
    assert shown.value == (None if hidden else value)
