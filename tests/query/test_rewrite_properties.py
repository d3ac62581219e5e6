"""Property-based tests of the gateway's parser and rewriter, by construction.

Whatever is composed from a grammar of SQL fragments (hostile ones included: raw-text carriers,
quoting tricks, comments, stacked statements, file readers, settings readers), a query the
gateway accepts satisfies what it promises DuckDB is given:

* every node of the tree is of a type the allowlist names, with only the arguments it names;
* every table is one of the generated dataset views or the query's own CTEs;
* the SQL sent is printed from that tree and parses back to exactly the same tree, as one
  statement.

And the printer is faithful where text is carried: any string and any name, whatever
characters it holds, reaches DuckDB as exactly that string and that name.
"""

from __future__ import annotations

import duckdb
import sqlglot
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from bitgoeul.errors import ValidationFailed
from bitgoeul.query.grammar import SHAPES, check_tree
from bitgoeul.query.rewrite import (
    CTE_PREFIX,
    VIEW_PREFIX,
    fingerprint,
    parse_query,
    sendable_sql,
)

OPEN = '"household-electricity"'

TABLES = st.sampled_from(
    [
        OPEN,
        '"district-population@1"',
        "weather",
        "duckdb_settings()",
        "information_schema.tables",
        "read_csv('/etc/passwd')",
        "'/etc/passwd'",
        "glob('*')",
        "main.secret",
        '"__bg_ds_7"',
        "m",
        "(SELECT * FROM glob('*'))",
    ]
)
COLUMNS = st.sampled_from(["district", "kwh", "month", "t.kwh", "*", "1", '"kwh"'])
PAYLOADS = st.sampled_from(
    [
        "SELECT * FROM glob('*')",
        "SELECT current_setting('allowed_paths')",
        f"SELECT count(*) FROM {OPEN}",
        "SELECT 1); COPY (SELECT 1) TO 'x.csv' --",
        "SELECT getenv('HOME')",
    ]
)
QUOTES = st.sampled_from(['"', "'", "`", "$$", "''", '""', "\\", "*/", "/*", "--", ";", "\n"])


@st.composite
def carriers(draw: st.DrawFn) -> str:
    """Raw-text slots of the parser, stuffed with a payload between quotes."""
    quote = draw(QUOTES)
    payload = draw(PAYLOADS)
    template = draw(
        st.sampled_from(
            [
                "extract({q}day from now()) , ({p}) AS x , extract(day{q} from now())",
                "last_day(now(), {q}x) , ({p}) AS y , (1{q})",
                "date_trunc({q}month, now()) , ({p}) AS z , date_trunc(month{q}, now())",
                "CAST(kwh AS {q}INT) , ({p}) AS z , CAST(kwh AS INT{q})",
                "now() + INTERVAL 1 {q}day) , ({p}) AS z , (1{q}",
                "date_part({q}year, now()) , ({p}) AS z , date_part(year{q}, now())",
                "{q}{p}{q}",
            ]
        )
    )
    return template.format(q=quote, p=payload)


EXPRESSIONS = st.one_of(
    st.sampled_from(
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
            "CASE WHEN kwh > 1 THEN 'a' ELSE 'b' END",
            "coalesce(kwh, 0)",
            "extract(year FROM current_date)",
            "date_trunc('month', current_date)",
            f"(SELECT max(kwh) FROM {OPEN})",
        ]
    ),
    carriers(),
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
        "; COPY (SELECT 1) TO 'x.csv'",
        "; CREATE MACRO main.sha256(x) AS x",
        "; SET enable_external_access = true",
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


def _assert_sendable_and_confined(sql: str) -> None:
    try:
        parsed = parse_query(sql)
        sent = sendable_sql(parsed.tree)
    except ValidationFailed:
        return
    views = {ref.view for ref in parsed.datasets}
    check_tree(parsed.tree)
    for node in parsed.tree.walk():
        assert type(node) in SHAPES
        if isinstance(node, exp.Table):
            assert not node.args.get("db")
            assert not node.args.get("catalog")
            assert node.name in views or node.name.startswith(CTE_PREFIX)
    again = sqlglot.parse(sent, read="duckdb")
    assert len([s for s in again if s is not None]) == 1
    assert fingerprint(again[0]) == fingerprint(parsed.tree)  # type: ignore[arg-type]
    assert all(name.startswith((VIEW_PREFIX, CTE_PREFIX)) for name in _table_names(again[0]))


def _table_names(tree: exp.Expr | None) -> set[str]:
    return {t.name for t in tree.find_all(exp.Table)} if tree is not None else set()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries())
@example('SELECT extract("day from now()) , (SELECT 42) AS x , extract(day" from now()) FROM t')
def test_an_accepted_query_is_confined_and_sent_exactly_as_checked(sql: str) -> None:
    _assert_sendable_and_confined(sql)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_is_either_refused_or_confined(sql: str) -> None:
    _assert_sendable_and_confined(sql)


@settings(max_examples=200, deadline=None)
@given(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40),
    st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=1,
        max_size=20,
    ),
)
def test_any_string_and_any_name_reach_duckdb_exactly(text: str, name: str) -> None:
    """The printer is faithful where text is carried: what DuckDB reads is the literal and the
    output name that were checked, whatever quotes, backslashes or comments they hold."""
    tree = exp.select(exp.alias_(exp.Literal.string(text), exp.to_identifier(name, quoted=True)))
    tree = tree.from_(exp.to_table('"__bg_ds_0"'))
    sent = sendable_sql(tree)
    with duckdb.connect() as conn:
        conn.execute('CREATE TABLE "__bg_ds_0" AS SELECT 1 AS one')
        result = conn.execute(sent)
        assert result.fetchall() == [(text,)]
        assert [d[0] for d in result.description or []] == [name]
