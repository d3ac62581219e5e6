"""Property-based tests of the rewriter: whatever is composed from SQL fragments, what reaches
DuckDB reads only the generated dataset views and CTEs, and calls only allowlisted functions."""

from __future__ import annotations

import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from bitgoeul.errors import ValidationFailed
from bitgoeul.query.rewrite import (
    ALLOWED_FUNCTIONS,
    CTE_PREFIX,
    VIEW_PREFIX,
    check_allowlist,
    parse_query,
)

TABLES = st.sampled_from(
    [
        '"household-electricity"',
        '"district-population@1"',
        "weather",
        "duckdb_settings",
        "information_schema.tables",
        "read_csv('/etc/passwd')",
        "'/etc/passwd'",
        "glob('/etc/*')",
        "main.secret",
        '"__bg_ds_7"',
        "m",
    ]
)
COLUMNS = st.sampled_from(["district", "kwh", "month", "t.kwh", "*", "1"])
EXPRESSIONS = st.sampled_from(
    [
        "count(*)",
        "sum(kwh)",
        "avg(kwh)",
        "lower(district)",
        "getenv('HOME')",
        "current_setting('threads')",
        "read_text('/etc/passwd')",
        "row_number() OVER (PARTITION BY district ORDER BY kwh)",
        "list_transform([1], x -> x)",
        "kwh + 1",
        "CAST(kwh AS DOUBLE)",
        '(SELECT max(kwh) FROM "household-electricity")',
    ]
)
TAILS = st.sampled_from(
    [
        "",
        " WHERE kwh > 3",
        " GROUP BY district",
        " ORDER BY 1 LIMIT 5",
        "; DROP TABLE x",
        " -- ; ATTACH 'x'",
        " /* */ ; PRAGMA version",
        " UNION ALL SELECT 1",
    ]
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    select_list = ", ".join(draw(st.lists(st.one_of(COLUMNS, EXPRESSIONS), min_size=1, max_size=3)))
    table = draw(TABLES)
    sql = f"SELECT {select_list} FROM {table} AS t{draw(TAILS)}"
    if draw(st.booleans()):
        sql = f"WITH m AS ({sql}) SELECT * FROM m JOIN {draw(TABLES)} ON true"
    return sql


def _tables(tree: exp.Expr) -> list[exp.Table]:
    return list(tree.find_all(exp.Table))


@settings(max_examples=300, deadline=None)
@given(queries())
def test_a_rewritten_query_reads_only_dataset_views_and_ctes(sql: str) -> None:
    try:
        parsed = parse_query(sql)
    except ValidationFailed:
        return
    views = {ref.view for ref in parsed.datasets}
    for table in _tables(parsed.tree):
        assert not table.args.get("db")
        assert not table.args.get("catalog")
        assert isinstance(table.this, exp.Identifier)
        assert table.name in views or table.name.startswith(CTE_PREFIX)
    for function in parsed.tree.find_all(exp.Func):
        name = function.name.lower() if isinstance(function, exp.Anonymous) else function.key
        assert isinstance(function, exp.Distinct) or name in ALLOWED_FUNCTIONS


@settings(max_examples=200, deadline=None)
@given(queries())
def test_rewriting_is_stable_when_the_output_is_parsed_again(sql: str) -> None:
    try:
        parsed = parse_query(sql)
    except ValidationFailed:
        return
    again = sqlglot.parse_one(parsed.tree.sql(dialect="duckdb"), read="duckdb")
    check_allowlist(again)
    names = {t.name for t in _tables(again)}
    assert names == {t.name for t in _tables(parsed.tree)}
    assert all(n.startswith((VIEW_PREFIX, CTE_PREFIX)) for n in names)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_either_refused_or_reads_only_views(sql: str) -> None:
    try:
        parsed = parse_query(sql)
    except ValidationFailed:
        return
    views = {ref.view for ref in parsed.datasets}
    for table in _tables(parsed.tree):
        assert table.name in views or table.name.startswith(CTE_PREFIX)
