"""The SDK runs gateway queries and reads the audit log, against a real hub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitgoeul.client import AccessDenied, Client, NotAuthenticated, ValidationFailed


def test_a_query_returns_columns_and_rows(researcher: Client, published: str) -> None:
    result = researcher.query(f'SELECT count(*) AS readings, sum(kwh) AS total FROM "{published}"')
    assert result.columns == ["readings", "total"]
    assert result.rows == [[3, 20.75]]
    assert result.suppressed_groups == 0
    assert result.datasets == [{"slug": published, "version": 1}]


def test_a_hostile_query_raises_with_the_gateways_reason(
    researcher: Client, published: str
) -> None:
    with pytest.raises((AccessDenied, ValidationFailed)) as raised:
        researcher.query("SELECT * FROM read_csv('/etc/passwd')")
    assert raised.value.status in {400, 403, 422}
    assert "root:" not in str(raised.value.detail)


def test_a_syntax_error_says_where_with_the_line_of_sql(researcher: Client, published: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        researcher.query(f'SELECT count(*\nFROM "{published}"')
    error = raised.value
    assert error.where is not None
    assert (error.where["line"], error.where["column"], error.where["token"]) == (2, 1, "FROM")
    assert "line 2, column 1" in error.message
    assert str(error).endswith(f'\n  FROM "{published}"\n  ^')


def test_the_steward_reads_the_researchers_query_in_the_audit_log(
    researcher: Client, steward: Client, published: str
) -> None:
    researcher.query(f'SELECT count(*) FROM "{published}"')
    entries = steward.audit(dataset=published, action="dataset.query_decision")
    assert [(e.actor_name, e.outcome) for e in entries] == [("researcher", "ok")]


def test_the_audit_log_filters_by_who_and_when(
    researcher: Client, steward: Client, published: str
) -> None:
    researcher.query(f'SELECT count(*) FROM "{published}"')
    now = datetime.now(UTC)
    mine = steward.audit(actor="researcher", since=now - timedelta(minutes=5))
    assert mine
    assert {e.actor_name for e in mine} == {"researcher"}
    assert steward.audit(actor="researcher", until=now - timedelta(days=1)) == []


def test_reading_the_audit_log_needs_an_account(hub: Client) -> None:
    with pytest.raises(NotAuthenticated, match=r"(?i)sign in"):
        hub.audit()
