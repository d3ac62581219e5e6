"""Parse a researcher's SQL, check it, and rewrite it so that it can only read the datasets it
names; then print the SQL that DuckDB runs so that it means exactly the tree that was checked.

1. sqlglot parses the text (DuckDB dialect); anything but one SELECT query is refused.
2. ``grammar.check_tree``: every node, argument and function must be on the allowlist.  The
   tree is then printed and parsed once more, and that second tree is checked again and is
   the one rewritten and run: the text a user wrote never reaches DuckDB.
3. Every table must be a dataset slug (``"kepco-household-electricity"`` or a pinned
   ``"slug@3"``) or a CTE of the same query.  Datasets become generated view names and CTEs
   are renamed into their own namespace, so nothing else in DuckDB can be named.
4. ``sendable_sql``: the final tree (after the disclosure rules, if any, add their columns) is
   printed, parsed again, and must be exactly one statement whose tree is identical to the
   final tree, argument by argument and letter by letter; otherwise the query is refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg
from bitgoeul.query.grammar import check_tree, refuse
from bitgoeul.query.syntax import SqlSyntaxError, locate, syntax_error

MAX_SQL_CHARS = 20_000
SLUG_PATTERN = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9-]{0,99})(?:@(?P<version>[1-9][0-9]{0,6}))?$")
VIEW_PREFIX = "__bg_ds_"
CTE_PREFIX = "__bg_cte_"
DIALECT = "duckdb"

_NESTED = "the query is nested too deeply to be checked; write it flatter (with CTEs, for example)."


@dataclass(frozen=True)
class DatasetRef:
    """A dataset the query names, and the view name the rewritten query reads it through."""

    slug: str
    version: int | None
    view: str
    written_as: str


@dataclass(frozen=True)
class ParsedQuery:
    tree: exp.Query
    datasets: list[DatasetRef]


_UNPRINTABLE = (
    "it could not be printed for DuckDB exactly as it was checked; "
    "write it more plainly (quote names with double quotes, text with single quotes)."
)


def _parse_statements(sql: str, *, written: bool = True) -> list[exp.Expr]:
    """The statements of ``sql``.  ``written``: the text is the caller's, so a syntax error
    says where in it (``query.syntax``); otherwise it is the gateway's own printing of a
    checked tree, and failing to parse it again is a refusal of the query as a whole."""
    try:
        return [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except RecursionError:
        raise refuse(_NESTED) from None
    except SqlglotError as error:
        if written:
            raise syntax_error(sql, error, dialect=DIALECT) from None
        raise refuse(_UNPRINTABLE) from None


def _print(tree: exp.Expr) -> str:
    try:
        return tree.sql(dialect=DIALECT, comments=False)
    except RecursionError:
        raise refuse(_NESTED) from None


def _one_query(statements: list[exp.Expr]) -> exp.Query:
    if len(statements) != 1:
        raise refuse(
            f"send exactly one SELECT statement (found {len(statements)}); "
            "statements separated by ';' are not run."
        )
    tree = statements[0]
    if not isinstance(tree, exp.Select | exp.Union | exp.Except | exp.Intersect):
        raise refuse(
            f"only SELECT queries are allowed (this is {tree.key.upper()}); the gateway never "
            "changes data, settings, files or extensions."
        )
    return tree


def _parse_single(sql: str) -> exp.Query:
    if not sql.strip():
        raise refuse("the SQL is empty; send one SELECT query.")
    if len(sql) > MAX_SQL_CHARS:
        raise refuse(f"the SQL is longer than {MAX_SQL_CHARS} characters.")
    if "\x00" in sql:
        where = locate(sql, sql.index("\x00"))
        raise SqlSyntaxError(
            msg(
                "Query refused: the SQL contains a NUL character (\\x00) at line {line}, "
                "column {column}; remove it.",
                line=where.line,
                column=where.column,
            ),
            where=where,
        )
    written = _one_query(_parse_statements(sql))
    check_tree(written)
    # sqlglot prints some nodes differently from how they were written (``if()`` as CASE,
    # a few functions as whole expressions).  The tree that goes on is the parse of what
    # sqlglot prints, checked in its turn: only that text can ever reach DuckDB.
    printed = _one_query(_parse_statements(_print(written), written=False))
    check_tree(printed)
    return printed


def _cte_names(tree: exp.Expr) -> set[str]:
    return {str(cte.alias).lower() for cte in tree.find_all(exp.CTE)}


def parse_query(sql: str) -> ParsedQuery:
    """Parse, check and rewrite ``sql``: datasets become views, CTEs get their own namespace.

    A pure function of the text, so the result is kept for texts seen recently (dashboards
    send the same SQL again and again); each caller gets its own copy of the tree."""
    parsed = _checked_and_rewritten(sql)
    return ParsedQuery(tree=parsed.tree.copy(), datasets=list(parsed.datasets))


@functools.lru_cache(maxsize=512)
def _checked_and_rewritten(sql: str) -> ParsedQuery:
    tree = _parse_single(sql)
    ctes = _cte_names(tree)
    for cte in tree.find_all(exp.CTE):
        alias = cte.args.get("alias")
        if alias is None or not isinstance(alias.this, exp.Identifier):
            raise refuse("every CTE needs a plain name.")
        alias.set("this", exp.to_identifier(CTE_PREFIX + str(alias.name).lower(), quoted=True))
    refs: dict[tuple[str, int | None], DatasetRef] = {}
    for table in list(tree.find_all(exp.Table)):
        name_node = table.this
        if not isinstance(name_node, exp.Identifier):
            raise refuse(
                f"{_print(table)[:80]} is not a dataset; name datasets by their slug in double "
                'quotes, e.g. "kepco-household-electricity" or "slug@3".'
            )
        name = str(name_node.name)
        if (name.lower() in ctes and not name_node.quoted) or name in ctes:
            table.set("this", exp.to_identifier(CTE_PREFIX + name.lower(), quoted=True))
            continue
        match = SLUG_PATTERN.match(name)
        if match is None:
            shown = name if name.isascii() else repr(name)
            raise refuse(
                f"{shown[:120]} is not a dataset slug: slugs are lower-case ASCII letters, "
                'digits and hyphens, optionally pinned with "@<version>".'
            )
        version = int(match["version"]) if match["version"] else None
        key = (match["slug"], version)
        if key not in refs:
            refs[key] = DatasetRef(match["slug"], version, f"{VIEW_PREFIX}{len(refs)}", name)
        ref = refs[key]
        alias = table.args.get("alias")
        table.set("this", exp.to_identifier(ref.view, quoted=True))
        if alias is None:
            # Keep "slug".column working: the view is aliased with what the user wrote.
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name, quoted=True)))
    if not refs:
        raise refuse('the query reads no dataset; name one by its slug, e.g. FROM "my-dataset".')
    return ParsedQuery(tree=tree, datasets=list(refs.values()))


Fingerprint = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]


def fingerprint(tree: exp.Expr) -> Fingerprint:
    """The tree, node by node in a fixed order, with every argument's exact value (no lower
    casing, unlike sqlglot's ``==``, but for the names of functions sqlglot does not model,
    which DuckDB reads case-insensitively): two trees are the same query iff these are
    equal."""
    nodes: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    stack: list[exp.Expr] = [tree]
    while stack:
        node = stack.pop()
        described: list[tuple[str, str]] = []
        children: list[exp.Expr] = []
        for key in sorted(node.args):
            value = node.args[key]
            if value is None or value is False or value == []:
                continue
            if isinstance(value, exp.Expr):
                described.append((key, "node"))
                children.append(value)
            elif isinstance(value, list):
                described.append((key, f"list:{len(value)}"))
                for item in value:
                    if isinstance(item, exp.Expr):
                        children.append(item)
                    else:
                        described.append((key, repr(item)))
            elif isinstance(node, exp.Anonymous) and key == "this":
                # Function names are case-insensitive; sqlglot prints unknown ones upper case.
                described.append((key, repr(str(value).lower())))
            else:
                described.append((key, repr(value)))
        nodes.append((type(node).__name__, tuple(described)))
        stack.extend(reversed(children))
    return tuple(nodes)


def sendable_sql(tree: exp.Query) -> str:
    """The SQL DuckDB is given for ``tree``: printed from it, and refused unless parsing the
    text again gives one statement with exactly the same tree."""
    text = _print(tree)
    if _reparsed(text) != fingerprint(tree):
        raise ValidationFailed(
            "Query refused: it could not be printed for DuckDB exactly as it was checked; "
            "write it more plainly (quote names with double quotes, text with single quotes)."
        )
    return text


@functools.lru_cache(maxsize=512)
def _reparsed(text: str) -> Fingerprint | None:
    """What parsing ``text`` gives (None: not exactly one statement); a pure function of the
    text, kept for texts seen recently."""
    try:
        statements = _parse_statements(text, written=False)
    except ValidationFailed:
        return None
    return fingerprint(statements[0]) if len(statements) == 1 else None
