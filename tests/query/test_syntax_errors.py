"""A SQL syntax error says where: the line and column of the token it blames, the token, and
that line of the SQL with a caret under it; in words, without sqlglot's class names.

By example for the mistakes people make (a clause left unfinished, a missing parenthesis, an
unclosed quote or comment, a stray word), and by property for anything else: whatever text
sqlglot cannot parse, the gateway answers with a located, readable refusal (in English and
Korean), and never with a server error.  The API sends the place as ``where`` beside
``detail``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlglot
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot.errors import SqlglotError

from bitgoeul.errors import BitgoeulError
from bitgoeul.messages import translate
from bitgoeul.query.rewrite import parse_query
from bitgoeul.query.syntax import SqlSyntaxError

# What a person should never have to read: the parser's classes, tokens and exceptions.
INTERNALS = re.compile(
    r"<class|sqlglot|TokenType|Token\(|SENTINEL|ParseError|TokenError|SqlglotError|"
    r"expressions\.|Required keyword|Invalid expression"
)


def _refusal(sql: str) -> SqlSyntaxError:
    with pytest.raises(SqlSyntaxError) as caught:
        parse_query(sql)
    return caught.value


def _readable(text: str, token: str) -> bool:
    """``text`` names nothing internal (the caller's own token aside)."""
    return INTERNALS.search(text.replace(token, "")) is None


@pytest.mark.parametrize(
    ("sql", "line", "column", "token", "says"),
    [
        ('SELECT * FROM "naver-places" WHERE', 1, 30, "WHERE", "ends too early: “WHERE”"),
        ("SELECT district,\n       count(*\n  FROM t", 3, 3, "FROM", "expected “)”"),
        ("SELECT kwh FROM t WHERE kwh = = 1", 1, 31, "=", "missing before “=”"),
        ("SELECT 'Buk-gu FROM t", 1, 8, "'", "never closed; end it with “'”"),
        ('SELECT "district FROM t', 1, 8, '"', "never closed"),
        ("SELECT 1 /* a note", 1, 10, "/*", "comment"),
        ("SELECT 1 2 FROM t", 1, 10, "2", "“2” is not expected here"),
        ("SELECT count(*) FROM", 1, 17, "FROM", "expected table name"),
        ("SELECT CAST(kwh AS) FROM t", 1, 19, ")", "expected TYPE after CAST"),
        ("WITH a AS (SELECT 1)", 1, 20, ")", "WITH clause must be followed by a SELECT"),
        ("SELECT a\r\nFROM t\r\nLIMIT", 3, 1, "LIMIT", "“LIMIT” is incomplete"),
        ("SELECT '가나다' 1 FROM t", 1, 14, "1", "not expected"),
    ],
)
def test_a_syntax_error_names_the_line_column_and_token(
    sql: str, line: int, column: int, token: str, says: str
) -> None:
    refusal = _refusal(sql)
    assert refusal.message.startswith(
        f"Query refused: syntax error at line {line}, column {column}"
    )
    assert says in refusal.message
    assert refusal.where == {
        "line": line,
        "column": column,
        "token": token,
        "excerpt": refusal.place.excerpt,
        "caret": refusal.place.caret,
    }
    assert _readable(refusal.message, token)


def test_the_caret_stands_under_the_token_in_the_line_of_sql() -> None:
    refusal = _refusal("SELECT district,\n       count(*\n  FROM t")
    assert refusal.place.excerpt == "  FROM t"
    assert refusal.place.caret == "  ^"


def test_the_caret_counts_hangul_as_two_terminal_cells() -> None:
    refusal = _refusal("SELECT '가나다' 1 FROM t")
    assert refusal.place.excerpt == "SELECT '가나다' 1 FROM t"
    # "SELECT '" (8) + three wide syllables (6) + "' " (2): the caret is the 17th cell.
    assert refusal.place.caret == " " * 16 + "^"


def test_a_long_line_is_shortened_around_the_token() -> None:
    sql = "SELECT " + ", ".join(f"column_{i}" for i in range(40)) + " FROM t WHERE"
    refusal = _refusal(sql)
    assert refusal.place.column == len(sql) - len("WHERE") + 1
    assert len(refusal.place.excerpt) <= 80
    assert refusal.place.excerpt.startswith("…")
    caret_at = refusal.place.caret.index("^")
    assert refusal.place.excerpt[caret_at : caret_at + 5] == "WHERE"


def test_the_refusal_reads_in_korean_with_the_same_place() -> None:
    refusal = _refusal('SELECT * FROM "naver-places" WHERE')
    korean = translate(refusal.message, "ko")
    assert "1행 30열" in korean
    assert "WHERE" in korean
    assert korean != str(refusal.message)


# --- by property -------------------------------------------------------------------------

FRAGMENTS = [
    "SELECT", "district", ",", "count(*)", "FROM", '"naver-places"', "WHERE", "kwh", "=",
    "1", "'Buk-gu'", "(", ")", "GROUP BY", "ORDER BY", "LIMIT", "AS", "JOIN", "ON", "AND",
    "CASE", "WHEN", "THEN", "END", "CAST(", "::", "'", '"', "/*", "--", "\n", "\r\n", "\t",
    "가나다", "WITH", "UNION", "[", "]", "{", "}", "$$", "e'", "x'", ";", "*", "+", ".",
]  # fmt: skip


@st.composite
def near_sql(draw: st.DrawFn) -> str:
    """SQL-like text from SQL's own words in any order: mostly not SQL at all."""
    words = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
    separators = draw(st.lists(st.sampled_from([" ", "", "\n"]), min_size=len(words)))
    return "".join(w + s for w, s in zip(words, separators, strict=False))


def _sqlglot_fails(sql: str) -> bool:
    try:
        sqlglot.parse(sql, read="duckdb")
    except SqlglotError:
        return True
    except RecursionError:
        return False
    return False


def _outcome(sql: str) -> BitgoeulError | None:
    """The refusal of ``sql`` (None: accepted).  Anything but a domain error fails the test."""
    try:
        parse_query(sql)
    except BitgoeulError as refusal:
        return refusal
    return None


def _check_located(sql: str) -> None:
    refusal = _outcome(sql)
    if not isinstance(refusal, SqlSyntaxError):
        # Parsed (then accepted, or refused for what it says, as a 4xx): not a syntax error.
        assert refusal is None or 400 <= refusal.status_code < 500
        assert not _sqlglot_fails(sql), f"sqlglot failed on {sql!r} but no place was given"
        return
    where = refusal.place
    lines = re.split(r"\r\n|\r|\n", sql)
    assert 1 <= where.line <= len(lines)
    assert 1 <= where.column <= len(lines[where.line - 1]) + 1
    assert f"line {where.line}, column {where.column}" in refusal.message
    assert f"{where.line}행 {where.column}열" in translate(refusal.message, "ko")
    assert where.caret.endswith("^")
    assert not where.caret[:-1].strip()
    assert "\n" not in where.excerpt
    assert "\r" not in where.excerpt
    assert _readable(refusal.message, where.token), refusal.message
    assert _readable(translate(refusal.message, "ko"), where.token)


@settings(max_examples=300, deadline=None)
@given(near_sql())
@example("SELECT 1 +")
@example("SELECT x'zz'")
@example("SELECT $a$ text")
@example("(((")
def test_any_sql_that_does_not_parse_is_refused_with_its_place(sql: str) -> None:
    _check_located(sql)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_at_all_is_answered_with_a_place_or_a_reason(sql: str) -> None:
    _check_located(sql)


# --- through the API -----------------------------------------------------------------------


def _post(client: TestClient, sql: str) -> Any:
    return client.post("/api/v1/query", json={"sql": sql})


def test_the_api_sends_the_place_beside_the_detail(client: TestClient) -> None:
    answer = _post(client, 'SELECT district\nFROM "naver-places"\nWHERE')
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("Query refused: syntax error at line 3, column 1")
    assert body["where"] == {
        "line": 3,
        "column": 1,
        "token": "WHERE",
        "excerpt": "WHERE",
        "caret": "^",
    }


def test_the_api_says_it_in_korean_when_asked(client: TestClient) -> None:
    answer = client.post(
        "/api/v1/query", json={"sql": "SELECT (1"}, headers={"Accept-Language": "ko"}
    )
    assert answer.status_code == 422
    assert "1행 9열" in answer.json()["detail"]
    assert answer.json()["where"]["column"] == 9


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(near_sql())
def test_no_malformed_query_is_a_server_error(client: TestClient, sql: str) -> None:
    answer = _post(client, sql)
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert isinstance(body["detail"], str)
    if "where" in body:
        assert _readable(body["detail"], body["where"]["token"])
        assert f"line {body['where']['line']}, column {body['where']['column']}" in body["detail"]
