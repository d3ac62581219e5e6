"""Obligations from the decision point under real agreements: visible columns, pseudonyms, row
filters, secure data."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import Ask, City, Grant, secure_grant

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.schemas import DatasetUpdate
from bitgoeul.errors import AccessDenied, BitgoeulError
from bitgoeul.governance.schemas import ApprovalConditions

VISITS = "clinic-visits"
SURVEY = "income-survey"


def _visits(**conditions: object) -> dict[str, ApprovalConditions]:
    return {VISITS: ApprovalConditions(**conditions)}  # type: ignore[arg-type]


def test_the_same_identifier_is_pseudonymised_differently_in_two_projects(ask: Ask) -> None:
    sql = f'SELECT patient_id, name FROM "{VISITS}" WHERE age = 31'
    first = ask(sql, grants=_visits()).rows
    second = ask(sql, grants=_visits()).rows
    assert first != second
    assert first[0][0] != "P0001"
    assert len(first[0][0]) == 16
    assert "Patient" not in first[0][1]


def test_pseudonyms_join_consistently_within_one_project(ask: Ask, grant: Grant) -> None:
    project = grant(_visits())
    result = ask(
        f'SELECT count(*) FROM "{VISITS}" a JOIN "{VISITS}" b ON a.patient_id = b.patient_id',
        project=project,
    )
    assert result.rows == [[8]]
    again = ask(f'SELECT patient_id FROM "{VISITS}" ORDER BY age', project=project)
    once = ask(f'SELECT patient_id FROM "{VISITS}" ORDER BY age', project=project)
    assert again.rows == once.rows


def test_selecting_a_hidden_column_is_refused_naming_it(ask: Ask) -> None:
    grants = _visits(columns=["patient_id", "district", "age"])
    with pytest.raises(AccessDenied) as refused:
        ask(f'SELECT diagnosis FROM "{VISITS}"', grants=grants)
    assert "'diagnosis'" in refused.value.message
    assert "flu" not in refused.value.message


def test_a_star_query_returns_only_visible_columns(ask: Ask) -> None:
    grants = _visits(columns=["patient_id", "district", "age"])
    result = ask(f'SELECT * FROM "{VISITS}"', grants=grants)
    assert result.columns == ["patient_id", "district", "age"]


def test_the_row_filter_is_applied_before_the_query_sees_rows(ask: Ask) -> None:
    result = ask(f'SELECT count(*) FROM "{VISITS}"', grants=_visits(row_filter="age < 35"))
    assert result.rows == [[4]]


def test_secure_groups_under_k_people_are_suppressed_and_counted(ask: Ask) -> None:
    result = ask(
        f'SELECT district, count(*) AS people FROM "{SURVEY}" GROUP BY district ORDER BY 1',
        grants=secure_grant(),
    )
    assert result.rows == [["Buk", 12], ["Nam", 12]]
    assert result.suppressed_groups == 1
    assert result.columns == ["district", "people"]


def test_a_secure_sum_dominated_by_one_person_is_suppressed(ask: Ask) -> None:
    result = ask(
        f'SELECT district, sum(income) AS income FROM "{SURVEY}" GROUP BY district ORDER BY 1',
        grants=secure_grant(),
    )
    assert [row[0] for row in result.rows] == ["Buk"]
    assert result.suppressed_groups == 2


def test_the_group_size_is_the_one_the_steward_set(ask: Ask, city: City, db: Session) -> None:
    catalog_actions.update_dataset(
        db,
        actor=city.cast.actors["steward_of_publisher"],
        slug=SURVEY,
        data=DatasetUpdate(min_group_size=3),
    )
    result = ask(
        f'SELECT district, count(*) FROM "{SURVEY}" GROUP BY district', grants=secure_grant()
    )
    assert result.suppressed_groups == 0


@pytest.mark.parametrize(
    "sql",
    [
        f'SELECT * FROM "{SURVEY}"',
        f'SELECT district, age FROM "{SURVEY}"',
        f"SELECT age FROM \"{SURVEY}\" WHERE district = 'Seo'",
    ],
)
def test_a_row_level_query_on_secure_data_is_refused(ask: Ask, sql: str) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(sql, grants=secure_grant())
    assert 400 <= refused.value.status_code < 500
    assert "Secure data" in refused.value.message


@pytest.mark.parametrize("column", ["name", "phone", "person_id", "income"])
def test_identifiers_and_sensitive_columns_cannot_be_output_from_secure_data(
    ask: Ask, column: str
) -> None:
    with pytest.raises(AccessDenied):
        ask(
            f'SELECT {column}, count(*) FROM "{SURVEY}" GROUP BY {column}',
            grants=secure_grant(),
        )


def test_a_refused_secure_query_is_audited(ask: Ask, db: Session) -> None:
    with pytest.raises(AccessDenied):
        ask(f'SELECT name FROM "{SURVEY}"', grants=secure_grant())
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == "query.refused"
    assert event.detail["decisions"][0]["dataset"] == SURVEY
