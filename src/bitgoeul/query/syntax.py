"""Where a researcher's SQL fails to parse, said so that a person can fix it.

sqlglot's own messages name its classes (``Required keyword: 'this' missing for <class
'sqlglot.expressions.query.Where'>``) and count columns from the *end* of the token they
blame.  :func:`syntax_error` turns a failed parse into a :class:`SqlSyntaxError`: a sentence
("the SQL ends too early after WHERE: WHERE is incomplete") with the line and column of the
token's first character, and a ``where`` record (line, column, token, the line of SQL with a
caret under the token) that the API, the query page, the CLI and the SDK show.

This module only *describes* a failure; whether SQL is accepted is decided in
``query.rewrite`` and ``query.grammar``, unchanged by anything here.  The excerpt quotes only
the caller's own SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import Message, msg

# sqlglot counts a line break as "\r\n", "\r" or "\n"; so does the excerpt.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SQLGLOT_CLASS = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")
_EXCERPT_WIDTH = 72
_TOKEN_WIDTH = 40

# What an incomplete node is called in the SQL a person wrote.
_CONSTRUCTS: dict[str, str] = {
    "Where": "WHERE", "Having": "HAVING", "Qualify": "QUALIFY", "Limit": "LIMIT",
    "Offset": "OFFSET", "Order": "ORDER BY", "Group": "GROUP BY", "Join": "JOIN",
    "From": "FROM", "Select": "SELECT", "Alias": "AS", "Cast": "CAST", "TryCast": "TRY_CAST",
    "Case": "CASE", "If": "IF", "In": "IN", "Between": "BETWEEN", "Like": "LIKE",
    "ILike": "ILIKE", "Is": "IS", "Not": "NOT", "And": "AND", "Or": "OR", "Add": "+",
    "Sub": "-", "Mul": "*", "Div": "/", "IntDiv": "//", "Mod": "%", "DPipe": "||",
    "EQ": "=", "NEQ": "<>", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=",
    "Interval": "INTERVAL", "Window": "OVER", "Union": "UNION", "Except": "EXCEPT",
    "Intersect": "INTERSECT", "With": "WITH", "CTE": "WITH", "Paren": "(",
}  # fmt: skip


@dataclass(frozen=True)
class Where:
    """A place in the SQL text: 1-based line and column of the token's first character."""

    line: int
    column: int
    token: str  # the text blamed, as shown (shortened, control characters escaped)
    excerpt: str  # that line of the SQL (shortened around the column when long)
    caret: str  # spaces and a ^ under the token, in terminal cells (Hangul is two wide)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SqlSyntaxError(ValidationFailed):
    """The SQL could not be parsed; ``where`` says where."""

    def __init__(self, message: str, *, where: Where) -> None:
        super().__init__(message, where=where.as_dict())
        self.place = where


def _shown(text: str, width: int) -> str:
    """``text`` as one printable line: control and format characters escaped, shortened."""
    out = "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )
    return out if len(out) <= width else out[: width - 1] + "…"


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _printable(ch: str) -> str:
    """One character of the excerpt, keeping the caret's alignment: tabs become a space,
    other invisible characters a middle dot."""
    if ch == "\t":
        return " "
    return "·" if unicodedata.category(ch)[0] in ("C", "Z") and ch != " " else ch


def locate(sql: str, offset: int, length: int = 1) -> Where:
    """The :class:`Where` of ``sql[offset:offset + length]``."""
    offset = max(0, min(offset, len(sql)))
    line = 1
    line_start = 0
    for found in _LINE_BREAK.finditer(sql, 0, offset):
        if found.end() > offset:
            break
        line += 1
        line_start = found.end()
    following = _LINE_BREAK.search(sql, line_start)
    line_text = sql[line_start : following.start() if following else len(sql)]
    column = offset - line_start + 1
    left = 0
    if len(line_text) > _EXCERPT_WIDTH and column > _EXCERPT_WIDTH // 2:
        left = min(column - _EXCERPT_WIDTH // 2, len(line_text) - _EXCERPT_WIDTH + 1)
    visible = "".join(_printable(ch) for ch in line_text[left : left + _EXCERPT_WIDTH])
    before = visible[: column - 1 - left]
    excerpt = (
        ("…" if left else "") + visible + ("…" if left + _EXCERPT_WIDTH < len(line_text) else "")
    )
    caret = " " * (_cells(before) + (1 if left else 0)) + "^"
    token = _shown(sql[offset : offset + max(length, 1)], _TOKEN_WIDTH)
    return Where(line=line, column=column, token=token, excerpt=excerpt, caret=caret)


def _line_of(sql: str, offset: int) -> int:
    return len(_LINE_BREAK.findall(sql, 0, offset)) + 1


def _parse_error_offset(sql: str, error: dict[str, Any]) -> tuple[int, int] | None:
    """Where (offset, length) the token sqlglot blamed starts.  sqlglot gives the text just
    before it (up to 100 characters), the token itself, and its line; the token is found
    where that text and token occur, nearest to that line."""
    before = str(error.get("start_context") or "")
    token = str(error.get("highlight") or "")
    if not token and not before:
        return None
    if len(before) < 100 and sql.startswith(before + token):
        return len(before), len(token)
    line = error.get("line") if isinstance(error.get("line"), int) else 1
    candidates = [m.start() + len(before) for m in re.finditer(re.escape(before + token), sql)]
    if not candidates:
        return None
    best = min(candidates, key=lambda start: abs(_line_of(sql, start) - int(line or 1)))
    return best, len(token)


def _ends_after(sql: str, offset: int, length: int) -> bool:
    return not sql[offset + length :].strip()


def _quoted(token: str) -> str:
    return f"\u201c{token}\u201d"


def _problem(description: str, *, at_end: bool, token: str) -> Message:
    """What was wrong, in words (sqlglot's description rewritten, without its class names)."""
    shown = _quoted(token)
    incomplete = re.match(r"Required keyword: '\w+' missing for (.*)$", description)
    if incomplete:
        named = _SQLGLOT_CLASS.search(incomplete.group(1))
        construct = _CONSTRUCTS.get(named.group(1), "") if named else ""
        if at_end:
            if construct:
                return msg(
                    "the SQL ends too early: {construct} is incomplete.",
                    construct=_quoted(construct),
                )
            return msg("the SQL ends too early: something is missing at the end.")
        if construct and construct != token:
            return msg(
                "something is missing before {token}: {construct} is incomplete.",
                token=shown,
                construct=_quoted(construct),
            )
        return msg("something is missing before {token}.", token=shown)
    if description.startswith("Invalid expression / Unexpected token"):
        return msg("{token} is not expected here.", token=shown)
    if description.startswith("Failed to parse any statement following CTE"):
        return msg("a WITH clause must be followed by a SELECT.")
    expected = re.match(r"Expect(?:ed|ing) (.+?)(?: but got .*)?$", description)
    if expected and "<" not in expected.group(1):
        what = expected.group(1)
        if not any(ch.isalnum() for ch in what):
            what = _quoted(what)
        if at_end:
            return msg(
                "the SQL ends too early after {token}: expected {expected}.",
                expected=what,
                token=shown,
            )
        return msg("expected {expected}, found {token}.", expected=what, token=shown)
    return msg("{token} is not valid SQL here.", token=shown)


def _described(sql: str, where: Where, problem: Message) -> SqlSyntaxError:
    return SqlSyntaxError(
        msg(
            "Query refused: syntax error at line {line}, column {column}: {problem}",
            line=where.line,
            column=where.column,
            problem=problem,
        ),
        where=where,
    )


def _token_error(sql: str, dialect: str) -> SqlSyntaxError:
    """A text sqlglot cannot even split into tokens: an unclosed quote or comment.  The
    tokenizer is run once more to learn where the failing token starts."""
    tokenizer = Dialect.get_or_raise(dialect).tokenizer()
    cause: BaseException | None = None
    try:
        tokenizer.tokenize(sql)
    except TokenError as error:
        cause = error.__cause__
    start = getattr(getattr(tokenizer, "_core", None), "_start", None)
    offset = start if isinstance(start, int) and 0 <= start < len(sql) else len(sql.rstrip())
    closing = re.match(r"Missing (.+) from \d+:\d+$", str(cause or ""))
    if closing:
        opening = sql[offset:].split(closing.group(1), 1)[0] + closing.group(1)
        where = locate(sql, offset, len(opening) if len(opening) <= 3 else 1)
        problem = msg(
            "the text that starts with {token} is never closed; end it with {closing}.",
            token=_quoted(where.token),
            closing=_quoted(closing.group(1)),
        )
    elif sql.startswith("/*", offset):
        where = locate(sql, offset, 2)
        problem = msg("the comment that starts with /* is never closed; end it with */.")
    else:
        where = locate(sql, offset)
        problem = msg("{token} could not be read as SQL.", token=_quoted(where.token))
    return _described(sql, where, problem)


def syntax_error(sql: str, error: SqlglotError, *, dialect: str = "duckdb") -> SqlSyntaxError:
    """``error`` (sqlglot failing to parse ``sql``) as a refusal that says where and what."""
    if isinstance(error, TokenError):
        return _token_error(sql, dialect)
    details = error.errors[0] if isinstance(error, ParseError) and error.errors else {}
    found = _parse_error_offset(sql, details)
    if found is None:
        offset = len(sql.rstrip()) - 1 if sql.strip() else 0
        where = locate(sql, max(offset, 0))
        return _described(sql, where, msg("the SQL ends before the query is complete."))
    offset, length = found
    where = locate(sql, offset, length)
    problem = _problem(
        str(details.get("description") or ""),
        at_end=_ends_after(sql, offset, length),
        token=where.token,
    )
    return _described(sql, where, problem)
