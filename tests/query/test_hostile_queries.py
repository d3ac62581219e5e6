"""Hostile SQL: every attempt to read files, URLs, settings, the catalog, or row-level secure
data gets a clear 4xx that reveals nothing, and the refusal is audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import SURNAMES, Ask, City, secure_policy

from bitgoeul.audit.models import AuditEvent
from bitgoeul.errors import BitgoeulError

OPEN = '"household-electricity"'
SECURE = '"income-survey"'

HOSTILE = [
    # file and URL readers
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM read_json('/etc/hosts')",
    "SELECT * FROM read_json_auto('/etc/hosts')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM parquet_scan('/etc/passwd')",
    "SELECT * FROM 'file.csv'",
    "SELECT * FROM '/etc/passwd'",
    'SELECT * FROM "/etc/passwd"',
    "SELECT * FROM 'https://example.com/data.parquet'",
    "SELECT * FROM read_parquet('http://169.254.169.254/latest')",
    f"SELECT * FROM {OPEN} UNION ALL SELECT * FROM read_csv('/etc/passwd')",
    f"SELECT (SELECT count(*) FROM read_text('/etc/passwd')) FROM {OPEN}",
    f"SELECT * FROM {OPEN} WHERE district IN (SELECT content FROM read_text('/etc/passwd'))",
    # statements other than SELECT
    f"COPY (SELECT * FROM {OPEN}) TO '/tmp/out.csv'",
    f"COPY {OPEN} FROM '/etc/passwd'",
    "ATTACH '/tmp/other.duckdb' AS other",
    "DETACH other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL httpfs",
    "PRAGMA database_list",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "SET memory_limit = '100GB'",
    "RESET enable_external_access",
    "CALL duckdb_settings()",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    "CREATE TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "CREATE MACRO leak(x) AS x",
    "CREATE FUNCTION leak(x) AS x",
    f"INSERT INTO {OPEN} VALUES (1)",
    f"UPDATE {OPEN} SET kwh = 0",
    f"DELETE FROM {OPEN}",
    f"DROP VIEW {OPEN}",
    "CHECKPOINT",
    f"DESCRIBE {OPEN}",
    f"SUMMARIZE {OPEN}",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    f"EXPLAIN SELECT * FROM {OPEN}",
    # system catalogs and settings
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_views()",
    "SELECT * FROM duckdb_functions()",
    "SELECT * FROM duckdb_extensions()",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM duckdb_views",
    f"SELECT current_setting('memory_limit') FROM {OPEN}",
    f"SELECT getenv('HOME') FROM {OPEN}",
    "SELECT * FROM __bg_ds_0",
    'SELECT * FROM "__bg_ds_0"',
    "SELECT * FROM main.__bg_ds_0",
    "SELECT * FROM memory.main.__bg_ds_0",
    "SELECT * FROM query('SELECT * FROM duckdb_settings()')",
    "SELECT * FROM query_table('__bg_ds_0')",
    "SELECT * FROM range(10)",
    "SELECT * FROM generate_series(1, 10)",
    "SELECT * FROM unnest([1, 2])",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    # several statements, comments and quoting tricks
    f"SELECT 1 FROM {OPEN}; SELECT * FROM read_csv('/etc/passwd')",
    f"SELECT 1 FROM {OPEN};; ATTACH 'x.db'",
    f"SELECT 1 FROM {OPEN} -- harmless\n; COPY {OPEN} TO '/tmp/x.csv'",
    f"SELECT 1 FROM {OPEN} /* hide */ ; /* */ INSTALL httpfs",
    "/* SELECT */ PRAGMA version",
    f"SELECT * FROM {OPEN} WHERE 1 = 1 /* ; DROP VIEW x */ ; SET threads = 64",
    "SELECT * FROM \"read_csv\"('/etc/passwd')",
    "SELECT \"getenv\"('HOME')",
    'SELECT * FROM "household-electricity"."kwh"',
    # unicode look-alikes
    f"ＳＥＬＥＣＴ * FROM {OPEN}",
    'SELECT * FROM "household-electricity\u0430"',
    "SELECT * FROM read_cѕv('/etc/passwd')",
    'SELECT * FROM "hоusehold-electricity"',
    # lambdas, macros and dynamic SQL
    f"SELECT list_transform([1, 2], x -> x + 1) FROM {OPEN}",
    f"SELECT list_filter([1, 2], x -> x > 1) FROM {OPEN}",
    f"SELECT json_extract(household_id, '$') FROM {OPEN}",
    f"SELECT sql_auto_complete('SEL') FROM {OPEN}",
    "SELECT 1",
    "VALUES (1)",
    f"SELECT $1 FROM {OPEN}",
    f"SELECT ? FROM {OPEN}",
    f"PIVOT {OPEN} ON district USING sum(kwh)",
]

# Row-level values smuggled out of secure data, and differencing attacks: refused outright or
# answered with every small group suppressed.
SMUGGLING = [
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district HAVING max(name) > ''",
    f"SELECT district, string_agg(name, ',') FROM {SECURE} GROUP BY district",
    f"SELECT district, list(name) FROM {SECURE} GROUP BY district",
    f"SELECT district, max(phone) FROM {SECURE} GROUP BY district",
    f"SELECT district, min(income) FROM {SECURE} GROUP BY district",
    f"SELECT district, max(age) FROM {SECURE} GROUP BY district",
    f"SELECT district, arg_max(name, income) FROM {SECURE} GROUP BY district",
    f"SELECT district, first(name) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(DISTINCT name) FROM {SECURE} GROUP BY district",
    f"SELECT name, count(*) FROM {SECURE} GROUP BY name",
    f"SELECT phone, count(*) FROM {SECURE} GROUP BY phone",
    f'SELECT "NAME", count(*) FROM {SECURE} GROUP BY "NAME"',
    f"SELECT district, count(*) FROM {SECURE} WHERE name LIKE 'Kim%' GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE person_id = 'P0001' GROUP BY district",
    f"SELECT district, sum(length(name)) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district ORDER BY max(name)",
    f"SELECT district, row_number() OVER () FROM {SECURE} GROUP BY district",
    f"SELECT * FROM (SELECT name FROM {SECURE}) t",
    f"WITH x AS (SELECT name FROM {SECURE}) SELECT count(*) FROM x",
    f"SELECT district, count(*) FROM {SECURE} WHERE district IN "
    f"(SELECT district FROM {SECURE} WHERE name = 'Kim Person5') GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district UNION ALL "
    f"SELECT name, 1 FROM {SECURE}",
    f"SELECT s.district, count(*) FROM {SECURE} s JOIN {OPEN} e USING (district) "
    "GROUP BY s.district",
    f"SELECT district, count(*) FILTER (WHERE name = 'x') FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(CAST(name AS INTEGER)) FROM {SECURE} GROUP BY district",
    f"SELECT age FROM {SECURE}",
    f"SELECT income FROM {SECURE}",
    f"SELECT * FROM {SECURE}",
]

DIFFERENCING = [
    # each aggregate narrows to a single person: the group is suppressed, not shown
    f"SELECT count(*) FROM {SECURE} WHERE age = 27",
    f"SELECT sum(income) FROM {SECURE} WHERE age = 27",
    f"SELECT district, avg(income) FROM {SECURE} WHERE age BETWEEN 27 AND 27 GROUP BY district",
    f"SELECT age, count(*) FROM {SECURE} GROUP BY age",
    f"SELECT district, age, sum(income) FROM {SECURE} GROUP BY district, age",
]


def _assert_reveals_nothing(message: str, sql: str = "") -> None:
    assert "root:" not in message
    assert "Person" not in message
    assert "Patient" not in message
    assert not any(f"{s} " in message for s in SURNAMES)
    assert "010-" not in message
    assert "__bg_" not in message or "__bg_" in sql  # internal names, unless the user wrote them


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_sql_is_refused_with_a_clear_4xx(ask: Ask, db: Session, sql: str) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(sql, policies={"income-survey": secure_policy()})
    assert 400 <= refused.value.status_code < 500
    assert len(refused.value.message) > 20
    _assert_reveals_nothing(refused.value.message, sql)
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == "query.refused"
    assert event.outcome == "denied"


@pytest.mark.parametrize("sql", SMUGGLING)
def test_smuggling_row_level_values_out_of_secure_data_is_refused(ask: Ask, sql: str) -> None:
    with pytest.raises(BitgoeulError) as refused:
        ask(sql, policies={"income-survey": secure_policy()})
    assert 400 <= refused.value.status_code < 500
    _assert_reveals_nothing(refused.value.message, sql)


@pytest.mark.parametrize("sql", DIFFERENCING)
def test_aggregates_that_single_out_a_person_are_suppressed(ask: Ask, sql: str) -> None:
    result = ask(sql, policies={"income-survey": secure_policy()})
    assert result.rows == []
    assert result.suppressed_groups >= 1


def test_hostile_sql_over_http_is_a_4xx_with_a_detail(api: TestClient, city: City) -> None:
    for sql in HOSTILE[:10]:
        response = api.post("/api/v1/query", json={"sql": sql})
        assert 400 <= response.status_code < 500, sql
        assert isinstance(response.json()["detail"], str)
        _assert_reveals_nothing(response.json()["detail"])
