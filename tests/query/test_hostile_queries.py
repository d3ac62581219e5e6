"""Hostile SQL, by construction as well as by example.

Every case is sent through the real gateway (``run_query``: the decision point, the door, the
rewriter, the locked engine) as a researcher holding agreements on the restricted and the
secure datasets, and must be a 4xx that reveals nothing (no file, path, hash, key, value or
internal name), leave a ``query.refused`` entry in the audit log, and change nothing: after
all of them the stored files hash as published, pseudonyms are still those of the project's
key, the open data answers as before and the audit chain verifies.

The cases are generated where the attack surface can be listed: every DuckDB table function,
every DuckDB function the allowlist does not name (both read from DuckDB itself, so a new
DuckDB release adds its functions here), every statement kind stacked after a query, every
raw-text slot of the parser carrying every payload, every quoting style.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.query.conftest import SURNAMES, Ask, City, Grant

from bitgoeul.audit.models import AuditEvent
from bitgoeul.audit.queries import verify_chain
from bitgoeul.config import Settings
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.schemas import ApprovalConditions
from bitgoeul.privacy.pseudonyms import pseudonym_key, pseudonymise
from bitgoeul.query import grammar

OPEN = '"household-electricity"'
SECURE = '"income-survey"'
RESTRICTED = '"clinic-visits"'
LABELS = '"exam-labels"'

# What an attacker wants out: files, the store's listing, settings, secure rows, hidden labels.
PAYLOADS = [
    "SELECT * FROM read_parquet(current_setting('allowed_directories')[1] || 'x.parquet')",
    "SELECT * FROM glob('*')",
    "SELECT content FROM read_text('/etc/passwd')",
    "SELECT current_setting('allowed_paths')",
    "SELECT getenv('HOME')",
    f"SELECT name FROM {SECURE}",
    f"SELECT label FROM {LABELS}",
    "SELECT * FROM duckdb_settings()",
]

# Statements that must never run, alone or stacked after an innocent query.
STATEMENTS = [
    f"COPY (SELECT * FROM {OPEN}) TO '/tmp/bitgoeul-out.csv'",
    "COPY (SELECT 1 AS x) TO 'parquet/x.parquet' (FORMAT parquet, USE_TMP_FILE false)",
    f"COPY {OPEN} FROM '/etc/passwd'",
    "CREATE OR REPLACE MACRO main.sha256(x) AS x",
    "CREATE OR REPLACE TEMP MACRO sha256(x) AS x",
    "CREATE MACRO leak(x) AS x",
    "CREATE FUNCTION leak(x) AS x",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "CREATE SEQUENCE s",
    "CREATE TYPE mood AS ENUM ('a')",
    "CREATE SCHEMA s",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "DROP SECRET s",
    "ATTACH '/tmp/other.duckdb' AS other",
    "ATTACH ':memory:' AS other",
    "DETACH other",
    "USE other",
    "INSTALL httpfs",
    "FORCE INSTALL httpfs FROM 'http://example.com'",
    "LOAD httpfs",
    "LOAD '/tmp/evil.duckdb_extension'",
    "PRAGMA database_list",
    "PRAGMA enable_profiling",
    "PRAGMA disable_object_cache",
    "PRAGMA threads=64",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET allowed_directories = ['/']",
    "SET memory_limit = '100GB'",
    "SET GLOBAL threads = 64",
    "SET VARIABLE x = 42",
    "RESET enable_external_access",
    "RESET ALL",
    "CALL duckdb_settings()",
    "CALL pragma_version()",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    f"INSERT INTO {OPEN} VALUES (1)",
    f"UPDATE {OPEN} SET kwh = 0",
    f"DELETE FROM {OPEN}",
    f"DROP VIEW {OPEN}",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    f"DESCRIBE {OPEN}",
    f"SUMMARIZE {OPEN}",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    f"EXPLAIN SELECT * FROM {OPEN}",
    f"EXPLAIN ANALYZE SELECT * FROM {OPEN}",
    "PREPARE p AS SELECT 1",
    "EXECUTE p",
    "DEALLOCATE p",
    f"PIVOT {OPEN} ON district USING sum(kwh)",
    f"UNPIVOT {OPEN} ON kwh INTO NAME k VALUE v",
    "VALUES (1)",
    "SELECT 1",
]

# Places where the parser keeps text it will print back verbatim, each written to smuggle a
# subquery between two innocent-looking halves ({p}: a payload).
CARRIERS = [
    'extract("day from now()) , ({p}) AS x , extract(day" from now())',
    'extract("day from now()) , ({p}) AS x , extract(day" from kwh)',
    'last_day(now(), "x) , ({p}) AS y , (1")',
    "date_trunc(\"month', now()) , ({p}) AS z , date_trunc('month\", now())",
    "date_diff(\"day', now(), now()) , ({p}) AS z , date_diff('day\", now(), now())",
    "date_part(\"year', now()) , ({p}) AS z , date_part('year\", now())",
    "strftime(now(), \"%Y') , ({p}) AS z , strftime(now(), '%Y\")",
    'kwh::"x) , ({p}) AS z , (1"',
    '"count"(*) , ({p}) AS z',
    '"extract"("day", now()) , ({p}) AS z',
]

# Table functions: every one DuckDB has, read from DuckDB itself.
with duckdb.connect() as _conn:
    TABLE_FUNCTIONS = sorted(
        row[0]
        for row in _conn.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE function_type IN ('table', 'table_macro')"
        ).fetchall()
    )
    OTHER_FUNCTIONS = sorted(
        row[0]
        for row in _conn.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() "
            "WHERE function_type IN ('scalar', 'aggregate', 'macro', 'pragma')"
        ).fetchall()
    )

QUOTING = [
    # identifiers and strings in every quoting style DuckDB or sqlglot know
    'SELECT * FROM "household-electricity"; SELECT * FROM "income-survey"',
    "SELECT * FROM `household-electricity`",
    "SELECT * FROM [household-electricity]",
    'SELECT * FROM "household-electricity""; SELECT 1 --"',
    'SELECT $$x$$ FROM "household-electricity"',
    "SELECT $tag$ ' ; COPY x TO 'y' $tag$ FROM \"household-electricity\"",
    "SELECT E'\\x27; COPY x TO \\x27y' FROM \"household-electricity\"",
    "SELECT U&'\\0027' FROM \"household-electricity\"",
    'SELECT U&"\\0061" FROM "household-electricity"',
    "SELECT N'x' FROM \"household-electricity\"",
    "SELECT X'41' FROM \"household-electricity\"",
    "SELECT B'01' FROM \"household-electricity\"",
    "SELECT '\\'' FROM \"household-electricity\"",
    'SELECT kwh FROM "household-electricity" -- \n; INSTALL httpfs',
    'SELECT kwh FROM "household-electricity" /* */ ; /* */ LOAD httpfs',
    'SELECT kwh FROM "household-electricity"\r\n;\r\nSET threads = 64',
    'SELECT kwh FROM "household-electricity"\x00; SET threads = 64',
    'SELECT kwh FROM "household-electricity" \u037e SET threads = 64',
    'SELECT kwh FROM "household-electricity" \uff1b SET threads = 64',
    'ＳＥＬＥＣＴ * FROM "household-electricity"',
    'SELECT * FROM "household-electricity\u0430"',
    "SELECT * FROM read_cѕv('/etc/passwd')",
    'SELECT * FROM "hоusehold-electricity"',
    'SELECT * FROM "household-electricity@0"',
    'SELECT * FROM "household-electricity@-1"',
    'SELECT * FROM "household-electricity@1@2"',
    'SELECT * FROM "HOUSEHOLD-ELECTRICITY"',
    'SELECT * FROM "__bg_ds_0"',
    "SELECT * FROM __bg_ds_0",
    "SELECT * FROM main.__bg_ds_0",
    "SELECT * FROM memory.main.__bg_ds_0",
    "SELECT * FROM temp.main.__bg_ds_0",
    'SELECT * FROM "household-electricity"."kwh"',
    "SELECT * FROM system.main.duckdb_settings",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM 'file.csv'",
    "SELECT * FROM '/etc/passwd'",
    'SELECT * FROM "/etc/passwd"',
    "SELECT * FROM 'https://example.com/data.parquet'",
    "SELECT * FROM 's3://bucket/x.parquet'",
    "FROM '/etc/passwd'",
]

# Node types sqlglot has for SQL that carries text, values or code of its own.
NODE_FORMS = [
    f"SELECT $1 FROM {OPEN}",
    f"SELECT ? FROM {OPEN}",
    f"SELECT $name FROM {OPEN}",
    f"SELECT @@version FROM {OPEN}",
    f"SELECT :x FROM {OPEN}",
    f"SELECT list_transform([1, 2], x -> x + 1) FROM {OPEN}",
    f"SELECT list_filter([1, 2], lambda x: x > 1) FROM {OPEN}",
    f"SELECT [kwh, 1] FROM {OPEN}",
    f"SELECT {{'a': kwh}} FROM {OPEN}",
    f"SELECT MAP {{'a': 1}} FROM {OPEN}",
    f"SELECT kwh[1] FROM {OPEN}",
    f"SELECT household_id.x FROM {OPEN}",
    f"SELECT COLUMNS('.*') FROM {OPEN}",
    f"SELECT COLUMNS(c -> c LIKE '%') FROM {OPEN}",
    f"SELECT * FROM {OPEN} ORDER BY ALL",
    f"SELECT * FROM {OPEN} TABLESAMPLE 10%",
    f"SELECT * FROM {OPEN} USING SAMPLE 10",
    f"SELECT * FROM {OPEN} AT (VERSION => 1)",
    f"SELECT * FROM {OPEN} WINDOW w AS (PARTITION BY district)",
    f"SELECT * FROM {OPEN} a ASOF JOIN {OPEN} b ON a.kwh >= b.kwh",
    f"SELECT * FROM {OPEN} POSITIONAL JOIN {OPEN}",
    f"SELECT * FROM {OPEN}, LATERAL (SELECT * FROM glob('*'))",
    f"SELECT * FROM {OPEN} WHERE kwh = ANY(SELECT 1)",
    f"SELECT * FROM {OPEN} WHERE district SIMILAR TO 'x'",
    f"SELECT * FROM {OPEN} WHERE district GLOB 'x'",
    f"SELECT kwh::JSON FROM {OPEN}",
    f"SELECT kwh::mood FROM {OPEN}",
    f"SELECT CAST(kwh AS STRUCT(a INT)) FROM {OPEN}",
    f"SELECT kwh -> '$' FROM {OPEN}",
    f"SELECT kwh ->> '$' FROM {OPEN}",
    f"SELECT json_extract(household_id, '$') FROM {OPEN}",
    f"SELECT * FROM {OPEN} QUALIFY true LIMIT (SELECT 1)",
    f"SELECT * FROM {OPEN} LIMIT (SELECT count(*) FROM glob('*'))",
    f"WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM {OPEN}",
    f"WITH m AS (SELECT * FROM glob('*')) SELECT * FROM {OPEN}",
    f"SELECT * REPLACE (getenv('HOME') AS district) FROM {OPEN}",
    "SELECT * EXCLUDE (kwh) FROM glob('*')",
    f"SELECT * FROM {OPEN} WHERE district IN (SELECT * FROM duckdb_secrets())",
    f"SELECT kwh FROM {OPEN} GROUP BY GROUPING SETS ((kwh), ())",
    f"SELECT kwh FROM {OPEN} GROUP BY CUBE (kwh)",
    f"SELECT kwh FROM {OPEN} UNION ALL BY NAME SELECT * FROM glob('*')",
    f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY kwh) FROM {OPEN}",
    f"SELECT initcap(district) FROM {OPEN}",
    f"SELECT kwh FROM {OPEN} FOR UPDATE",
    f"INSERT INTO x SELECT * FROM {OPEN}",
    f"SELECT * INTO x FROM {OPEN}",
]

# Re-identification and indicator arithmetic on secure data (issue: one person's value in one
# query), and names that DuckDB binds differently from how they read.
SECURE_SMUGGLING = [
    f"SELECT sum(strpos('ABCDEFGHIJ', substring(name, 1, 1)) * strpos(district || "
    f"CAST(age AS VARCHAR), 'Buk27') + 1000) FROM {SECURE}",
    f"SELECT district, sum(income + 1000) FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(income) + 1000 FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(income) * 2 FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(CASE WHEN age = 27 THEN income ELSE 0 END) FROM {SECURE} "
    "GROUP BY district",
    f"SELECT district, sum(age * 1000000 + income) FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(length(name)) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(*) FILTER (WHERE name = 'x') FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(CAST(name AS INTEGER)) FROM {SECURE} GROUP BY district",
    f"SELECT district, avg(if(age = 27, income, 0)) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(DISTINCT age + 0) FROM {SECURE} GROUP BY district",
    f"SELECT district, sum(1) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(1) FROM {SECURE} GROUP BY district",
    f"SELECT 1 AS income, count(*) FROM {SECURE} GROUP BY income",
    f"SELECT 1 AS name, count(*) FROM {SECURE} GROUP BY name",
    f"SELECT district AS age, count(*) FROM {SECURE} GROUP BY age",
    f"SELECT 'x' AS district, count(*) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(*) AS __bg_persons FROM {SECURE} GROUP BY district",
    f"SELECT upper(district), count(*) FROM {SECURE} GROUP BY upper(district)",
    f"SELECT age // 10, count(*) FROM {SECURE} GROUP BY age // 10",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district HAVING max(name) > ''",
    f"SELECT district, string_agg(name, ',') FROM {SECURE} GROUP BY district",
    f"SELECT district, list(name) FROM {SECURE} GROUP BY district",
    f"SELECT district, max(phone) FROM {SECURE} GROUP BY district",
    f"SELECT district, min(income) FROM {SECURE} GROUP BY district",
    f"SELECT district, max(age) FROM {SECURE} GROUP BY district",
    f"SELECT district, arg_max(name, income) FROM {SECURE} GROUP BY district",
    f"SELECT district, first(name) FROM {SECURE} GROUP BY district",
    f"SELECT district, median(income) FROM {SECURE} GROUP BY district",
    f"SELECT district, count(DISTINCT name) FROM {SECURE} GROUP BY district",
    f"SELECT name, count(*) FROM {SECURE} GROUP BY name",
    f"SELECT phone, count(*) FROM {SECURE} GROUP BY phone",
    f'SELECT "NAME", count(*) FROM {SECURE} GROUP BY "NAME"',
    f"SELECT income, count(*) FROM {SECURE} GROUP BY income",
    f"SELECT district, count(*) FROM {SECURE} WHERE name LIKE 'Kim%' GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE person_id = 'P0001' GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE income > 5000 GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE age + 0 = 27 GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE age = (SELECT 27) GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} WHERE age = kwh GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district ORDER BY max(name)",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district ORDER BY age",
    f"SELECT district, row_number() OVER () FROM {SECURE} GROUP BY district",
    f"SELECT * FROM (SELECT name FROM {SECURE}) t",
    f"WITH x AS (SELECT name FROM {SECURE}) SELECT count(*) FROM x",
    f"SELECT district, count(*) FROM {SECURE} WHERE district IN "
    f"(SELECT district FROM {SECURE} WHERE name = 'Kim Person5') GROUP BY district",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district UNION ALL "
    f"SELECT name, 1 FROM {SECURE}",
    f"SELECT s.district, count(*) FROM {SECURE} s JOIN {OPEN} e USING (district) "
    "GROUP BY s.district",
    f"SELECT DISTINCT district FROM {SECURE}",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY ALL",
    f"SELECT district, count(*) FROM {SECURE} GROUP BY district LIMIT (SELECT 1)",
    f"SELECT age FROM {SECURE}",
    f"SELECT income FROM {SECURE}",
    f"SELECT * FROM {SECURE}",
    f"SELECT {SECURE}.* FROM {SECURE}",
    f"SELECT count(*), age FROM {SECURE}",
]


def _cases() -> list[str]:
    cases = [*STATEMENTS, *QUOTING, *NODE_FORMS, *SECURE_SMUGGLING]
    cases += [f"SELECT 1 FROM {OPEN}; {statement}" for statement in STATEMENTS]
    cases += [f"SELECT kwh FROM {OPEN} /* ; */ ; {statement}" for statement in STATEMENTS[:10]]
    cases += [f"SELECT {c.format(p=p)} FROM {OPEN}" for c in CARRIERS for p in PAYLOADS]
    cases += [f"SELECT * FROM {p.split('FROM ', 1)[1]}" for p in PAYLOADS if "FROM " in p]
    cases += [f"SELECT * FROM {OPEN} WHERE district IN ({p})" for p in PAYLOADS]
    cases += [f"SELECT ({p}) FROM {OPEN}" for p in PAYLOADS]
    cases += [f"SELECT * FROM {name}()" for name in TABLE_FUNCTIONS]
    cases += [
        f"SELECT * FROM {OPEN} WHERE EXISTS (SELECT * FROM {name}())" for name in TABLE_FUNCTIONS
    ]
    return list(dict.fromkeys(cases))


CASES = _cases()


# Text the parser reads as something harmless (a type name, an alias, a comment): accepted, but
# what DuckDB is given holds none of the smuggled SQL.
DEFUSED = [
    *(
        f'SELECT CAST(kwh AS "INTEGER) , ({p}) AS z , CAST(kwh AS INTEGER") FROM {OPEN}'
        for p in PAYLOADS
        if '"' not in p
    ),
    *(
        f'SELECT now() + INTERVAL 1 "day) , ({p}) AS z , (1" FROM {OPEN}'
        for p in PAYLOADS
        if '"' not in p
    ),
    f"SELECT kwh FROM {OPEN} /* /* nested */ ; COPY x TO 'y' */",
    f"SELECT kwh FROM {OPEN} -- ; COPY x TO 'y'",
]


@pytest.mark.parametrize("sql", DEFUSED)
def test_smuggled_text_that_parses_as_a_name_or_a_comment_never_reaches_duckdb(sql: str) -> None:
    from bitgoeul.query.rewrite import parse_query, sendable_sql

    sent = sendable_sql(parse_query(sql).tree)
    tree = sqlglot.parse_one(sent, read="duckdb")
    assert [type(n) for n in tree.walk() if isinstance(n, sqlglot.exp.Query)] == [
        sqlglot.exp.Select
    ]
    assert not any(isinstance(n, sqlglot.exp.Func) and "glob" in n.sql() for n in tree.walk())
    assert "/*" not in sent
    assert "--" not in sent


def test_the_hostile_suite_is_large() -> None:
    assert len(CASES) >= 600  # the issue asks for at least 200


def _store_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _forbidden_fragments(city: City, settings: Settings, root: Path) -> list[str]:
    """What no refusal may echo: paths, file hashes, the pseudonym key, secure and hidden values."""
    fragments = [str(root), str(settings.resolved_data_dir), "parquet/", "root:", "010-"]
    fragments += list(_store_hashes(root).values())
    fragments += [f"{s} Person" for s in SURNAMES] + ["Patient", "secret-label"]
    fragments += [pseudonym_key(settings.secret(), "platform")]
    return fragments


def _reveals(message: str, sql: str, fragments: list[str]) -> list[str]:
    leaked = [f for f in fragments if f and f in message and f not in sql]
    if "__bg_" in message and "__bg_" not in sql:
        leaked.append("__bg_")
    return leaked


@pytest.fixture
def research_project(grant: Grant) -> int:
    """The researcher's project, holding agreements on the restricted and the secure data."""
    return grant(
        {
            "clinic-visits": ApprovalConditions(),
            "income-survey": ApprovalConditions(),
        }
    )


def _canary(ask: Ask, project: int, settings: Settings) -> list[Any]:
    """What later queries must still answer: open data, and the project's pseudonyms."""
    opened = ask(f"SELECT district, sum(kwh) FROM {OPEN} GROUP BY 1 ORDER BY 1", project=project)
    named = ask(f"SELECT patient_id FROM {RESTRICTED} ORDER BY age", project=project)
    key = pseudonym_key(settings.secret(), f"project:{project}")
    expected = [[pseudonymise(key, f"P{p:04d}")] for p in range(1, 9)]
    assert named.rows == expected, "pseudonyms changed: a hostile query left state behind"
    return opened.rows


def _refused(ask: Ask, db: Session, sql: str, project: int, fragments: list[str]) -> str | None:
    """None if ``sql`` is refused properly; else what went wrong."""
    try:
        ask(sql, project=project)
    except BitgoeulError as error:
        if not 400 <= error.status_code < 500:
            return f"status {error.status_code}"
        leaked = _reveals(error.message, sql, fragments)
        if leaked:
            return f"message reveals {leaked}: {error.message[:200]}"
        event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        digest = hashlib.sha256(sql.encode()).hexdigest()
        if (event.action, event.outcome, event.resource_id) != ("query.refused", "denied", digest):
            return f"not audited (last entry {event.action})"
        return None
    except Exception as error:
        return f"crashed: {type(error).__name__}"
    return "ran"


def _chunks(cases: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(cases), size):
        yield cases[start : start + size]


CHUNKS = list(_chunks(CASES, 60))


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_hostile_sql_is_refused_audited_and_changes_nothing(
    ask: Ask,
    db: Session,
    city: City,
    settings: Settings,
    app: Any,
    research_project: int,
    chunk: int,
) -> None:
    root = Path(app.state.store.root)
    before_files = _store_hashes(root)
    fragments = _forbidden_fragments(city, settings, root)
    before = _canary(ask, research_project, settings)
    failures = {}
    for sql in CHUNKS[chunk]:
        problem = _refused(ask, db, sql, research_project, fragments)
        if problem is not None:
            failures[sql] = problem
    assert failures == {}
    assert _canary(ask, research_project, settings) == before
    assert _store_hashes(root) == before_files
    assert verify_chain(db).ok


def test_every_duckdb_function_is_refused_or_sent_as_an_allowlisted_one() -> None:
    """Every function DuckDB has, called by its own name, is refused, or (an alias sqlglot maps
    to an allowlisted function) reaches DuckDB only as that allowlisted function."""
    from bitgoeul.errors import ValidationFailed
    from bitgoeul.query.rewrite import parse_query, sendable_sql

    escaped = []
    for name in OTHER_FUNCTIONS:
        for sql in (
            f"SELECT {name}() FROM {OPEN}",
            f"SELECT {name}(kwh) FROM {OPEN}",
            f"SELECT {name}(district, kwh) FROM {OPEN}",
            f'SELECT "{name}"(kwh) FROM {OPEN}',
        ):
            try:
                sent = sendable_sql(parse_query(sql).tree)
            except ValidationFailed:
                continue
            try:
                grammar.check_tree(sqlglot.parse_one(sent, read="duckdb"))
            except ValidationFailed:
                escaped.append(sql)
    assert escaped == []


@pytest.mark.parametrize(
    "subquery",
    [
        "SELECT * FROM read_parquet(current_setting('allowed_directories')[1] || 'x.parquet')",
        "SELECT file FROM glob('*')",
    ],
)
def test_the_reported_extract_attack_reads_nothing_and_is_audited(
    ask: Ask, db: Session, research_project: int, subquery: str
) -> None:
    sql = f'SELECT extract("day from now()) , ({subquery}) AS x , extract(day" from now()) '
    sql += f"FROM {OPEN}"
    with pytest.raises(BitgoeulError) as refused:
        ask(sql, project=research_project)
    assert refused.value.status_code == 422
    assert "date part" in refused.value.message
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert event.action == "query.refused"


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT count(*) FROM {SECURE} WHERE age = 27",
        f"SELECT sum(income) FROM {SECURE} WHERE age = 27",
        f"SELECT district, avg(income) FROM {SECURE} WHERE age BETWEEN 27 AND 27 GROUP BY district",
        f"SELECT age, count(*) FROM {SECURE} GROUP BY age",
        f"SELECT district, age, sum(income) FROM {SECURE} GROUP BY district, age",
    ],
)
def test_aggregates_that_single_out_a_person_are_suppressed(
    ask: Ask, research_project: int, sql: str
) -> None:
    result = ask(sql, project=research_project)
    assert result.rows == []
    assert result.suppressed_groups >= 1


def test_hostile_sql_over_http_is_a_4xx_with_a_detail_for_an_anonymous_caller(
    api: TestClient, city: City
) -> None:
    for sql in [*PAYLOADS, *STATEMENTS[:10], *CASES[-20:]]:
        response = api.post("/api/v1/query", json={"sql": sql})
        assert 400 <= response.status_code < 500, sql
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert "secret-label" not in detail
        assert "Person" not in detail
