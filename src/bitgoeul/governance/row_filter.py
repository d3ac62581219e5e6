"""Checking an agreement's row filter before it is stored.

A steward may limit an agreement to some rows with a SQL boolean expression over the dataset's
columns (``district = '북구' AND year >= 2023``).  The SQL gateway later adds it to every query
of that project, so it must be one plain condition: built only from the node types listed here
(comparisons, AND/OR/NOT, IN lists, BETWEEN, LIKE, IS NULL, arithmetic, CAST and a few pure
string and number functions), naming only the dataset's columns, with no subquery, no table
function, no second statement.  Anything else is ``ValidationFailed`` naming ``row_filter``.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

MAX_ROW_FILTER_CHARS = 2000
DIALECT = "duckdb"

_CONDITIONS: tuple[type[exp.Expression], ...] = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Like,
    exp.ILike,
    exp.Boolean,
)
_ALLOWED: tuple[type[exp.Expression], ...] = (
    *_CONDITIONS,
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Cast,
    exp.DataType,
    exp.Tuple,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Trim,
    exp.Abs,
    exp.Coalesce,
    exp.Substring,
)


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(
        msg("row_filter: {problem}", problem=message),
        detail=[{"loc": ["body", "row_filter"], "msg": message, "type": "value_error"}],
    )


def check_row_filter(text: str, columns: Collection[str]) -> str:
    """The filter in canonical SQL, or ``ValidationFailed`` saying what is wrong with it."""
    if not text.strip():
        raise _fail(msg("is empty; leave it out to give every row."))
    if len(text) > MAX_ROW_FILTER_CHARS:
        raise _fail(msg("is longer than {limit} characters.", limit=MAX_ROW_FILTER_CHARS))
    try:
        statements = sqlglot.parse(text, dialect=DIALECT)
    except Exception as exc:  # any parser failure is the caller's bad input
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(msg("is not valid SQL ({problem}).", problem=first_line)) from None
    parsed = [s for s in statements if s is not None]
    if len(parsed) != 1:
        raise _fail(msg("must be one condition, not several statements (remove ';')."))
    condition = parsed[0]
    if not isinstance(condition, _CONDITIONS):
        raise _fail(
            msg(
                "must be a condition such as \"district = 'Buk-gu' AND year >= 2023\", "
                "not a {kind}.",
                kind=condition.key.upper(),
            )
        )
    known = set(columns)
    for node in condition.walk():
        if not isinstance(node, _ALLOWED):
            raise _fail(
                msg(
                    "may not use {kind}: only comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, "
                    "IS NULL, arithmetic, CAST and simple string functions are allowed.",
                    kind=node.key.upper(),
                )
            )
        if isinstance(node, exp.Column):
            if node.table:
                raise _fail(
                    msg(
                        "names a table ('{table}'); name the dataset's columns only.",
                        table=node.table,
                    )
                )
            if node.name not in known:
                raise _fail(msg("names an unknown column '{column}'.", column=node.name))
    return condition.sql(dialect=DIALECT, comments=False)
