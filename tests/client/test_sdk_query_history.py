"""The SDK reads your query history and keeps saved queries, against a real hub."""

from __future__ import annotations

import pytest

from bitgoeul.client import (
    AccessDenied,
    Client,
    Conflict,
    NotAuthenticated,
    NotFound,
    QueryRun,
    ValidationFailed,
)


def test_history_lists_your_queries_newest_first_failures_included(
    researcher: Client, published: str
) -> None:
    counted = f'SELECT count(*) FROM "{published}"'
    researcher.query(counted)
    with pytest.raises(NotFound):
        researcher.query('SELECT * FROM "no-such-dataset"')
    runs = researcher.history()
    assert all(isinstance(run, QueryRun) for run in runs)
    assert [run.status for run in runs] == ["failed", "ok"]
    ok = runs[1]
    assert (ok.sql, ok.datasets, ok.rows_returned, ok.project) == (counted, [published], 1, None)
    assert "no-such-dataset" in (runs[0].error or "")
    assert [run.id for run in researcher.history(limit=1, offset=1)] == [ok.id]


def test_history_is_your_own(researcher: Client, steward: Client, published: str) -> None:
    researcher.query(f'SELECT count(*) FROM "{published}"')
    assert steward.history() == []


def test_a_saved_query_is_listed_and_deleted(researcher: Client, published: str) -> None:
    sql = f'SELECT sum(kwh) FROM "{published}"'
    saved = researcher.save_query("total use", sql)
    assert (saved.name, saved.sql, saved.project) == ("total use", sql, None)
    assert researcher.saved_queries() == [saved]
    researcher.delete_saved_query(saved.id)
    assert researcher.saved_queries() == []
    with pytest.raises(NotFound, match=f"no saved query {saved.id}"):
        researcher.delete_saved_query(saved.id)


def test_a_saved_query_name_is_taken_once(researcher: Client, published: str) -> None:
    researcher.save_query("total use", f'SELECT sum(kwh) FROM "{published}"')
    with pytest.raises(Conflict, match="already have a saved query named 'total use'"):
        researcher.save_query("total use", f'SELECT count(*) FROM "{published}"')


def test_only_a_select_is_saved(researcher: Client) -> None:
    with pytest.raises((ValidationFailed, AccessDenied)):
        researcher.save_query("wipe", "DROP TABLE users")
    assert researcher.saved_queries() == []


def test_someone_elses_saved_query_is_reported_missing(
    researcher: Client, steward: Client, published: str
) -> None:
    saved = researcher.save_query("total use", f'SELECT sum(kwh) FROM "{published}"')
    with pytest.raises(NotFound):
        steward.delete_saved_query(saved.id)
    assert researcher.saved_queries() == [saved]


def test_saved_queries_need_an_account(hub: Client) -> None:
    with pytest.raises(NotAuthenticated):
        hub.saved_queries()
    with pytest.raises(NotAuthenticated):
        hub.history()
