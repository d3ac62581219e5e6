"""Parse a researcher's SQL and rewrite it so that it can only read the datasets it names.

The gateway's first line of defence (the locked-down DuckDB in ``engine.py`` is the second):
sqlglot parses the text with the DuckDB dialect; anything but one SELECT query (with CTEs,
joins, set operations, window functions) is refused; every node type and every function must
be on an allowlist (deny by default); every table reference must be a dataset slug
(``"kepco-household-electricity"`` or a pinned ``"slug@3"``) or a CTE of the same query.
Datasets are replaced by generated view names, CTEs are renamed into their own namespace, so
whatever the user writes can resolve to nothing DuckDB holds besides those views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from bitgoeul.errors import ValidationFailed

MAX_SQL_CHARS = 20_000
SLUG_PATTERN = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9-]{0,99})(?:@(?P<version>[1-9][0-9]{0,6}))?$")
VIEW_PREFIX = "__bg_ds_"
CTE_PREFIX = "__bg_cte_"

# Structural nodes a SELECT may contain.  Everything else (DDL, DML, commands, lambdas,
# placeholders, table functions, pragmas, settings, struct/dot access...) is refused.
ALLOWED_NODES: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Select, exp.Union, exp.Except, exp.Intersect, exp.With, exp.CTE, exp.Subquery,
        exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Qualify, exp.Order,
        exp.Ordered, exp.Limit, exp.Offset, exp.Distinct, exp.Column, exp.Identifier,
        exp.Star, exp.Literal, exp.Boolean, exp.Null, exp.Alias, exp.TableAlias, exp.Table,
        exp.Paren, exp.Tuple, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam,
        exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.EQ, exp.NEQ,
        exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Not, exp.Is, exp.In,
        exp.Between, exp.Like, exp.ILike, exp.Case, exp.If, exp.Window, exp.WindowSpec,
        exp.Interval, exp.Var, exp.IgnoreNulls, exp.RespectNulls, exp.WithinGroup,
        exp.DPipe, exp.Exists, exp.NullSafeEQ, exp.NullSafeNEQ,
    }
)  # fmt: skip

# Functions by sqlglot key (class name, lower case) or, for functions sqlglot does not model,
# by their DuckDB name.  Scalar and aggregate functions over values only: nothing that reads a
# file, a URL, a setting, the environment, the catalog, or runs SQL given as a string.
ALLOWED_FUNCTIONS: frozenset[str] = frozenset(
    {
        # aggregates
        "count", "sum", "avg", "min", "max", "median", "stddev", "stddevpop", "stddevsamp",
        "variance", "variancepop", "approxdistinct", "anyvalue", "first", "last",
        "logicaland", "logicalor", "percentilecont", "percentiledisc", "quantile",
        "quantilecont", "quantiledisc", "corr", "covarpop", "covarsamp", "countif",
        "groupconcat", "arrayagg", "mode", "argmax", "argmin", "arg_max", "arg_min",
        "quantile_cont", "quantile_disc", "string_agg", "list", "bool_and", "bool_or",
        # window functions
        "rownumber", "rank", "denserank", "percentrank", "cumedist", "ntile", "lag", "lead",
        "firstvalue", "lastvalue", "nthvalue", "row_number", "dense_rank",
        # numbers
        "abs", "ceil", "floor", "round", "sqrt", "ln", "log", "log10", "log2", "exp", "pow",
        "power", "sign", "greatest", "least", "nullif", "coalesce", "mod", "trunc", "cbrt",
        "even", "isnan", "isinf",
        # text
        "lower", "upper", "length", "substring", "trim", "ltrim", "rtrim", "replace", "concat",
        "concatws", "startswith", "endswith", "contains", "left", "right", "lpad", "rpad",
        "reverse", "regexplike", "regexpextract", "regexpreplace", "strposition", "initcap",
        "split", "splitpart", "md5", "sha2", "sha256", "prefix", "suffix", "repeat",
        "strlen", "length_grapheme", "levenshtein",
        # dates and times
        "currentdate", "currenttimestamp", "datetrunc", "timestamptrunc", "extract", "year",
        "month", "day", "dayofweek", "dayofyear", "week", "weekofyear", "quarter", "hour",
        "minute", "second", "datediff", "dateadd", "datesub", "timetostr", "strtotime",
        "strtodate", "timetounix", "unixtotime", "date", "makedate", "todate", "totimestamp",
        "date_part", "datepart", "date_diff", "date_trunc", "now", "strftime", "strptime",
        "epoch", "age", "last_day", "lastday", "monthname", "dayname", "timestamp",
        "tsordstodate", "tsordstotime", "time_bucket",
    }
)  # fmt: skip


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


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(f"Query refused: {message}")


def _parse_single(sql: str) -> exp.Query:
    if not sql.strip():
        raise refuse("the SQL is empty; send one SELECT query.")
    if len(sql) > MAX_SQL_CHARS:
        raise refuse(f"the SQL is longer than {MAX_SQL_CHARS} characters.")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except SqlglotError as error:
        raise refuse(f"the SQL could not be parsed as DuckDB SQL ({_first_line(error)}).") from None
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


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.key


def check_allowlist(tree: exp.Expr) -> None:
    """Refuse any node type or function not on the allowlist, naming the first one found."""
    for node in tree.walk():
        if isinstance(node, exp.Func) and not isinstance(node, exp.Distinct):
            name = _function_name(node)
            if name not in ALLOWED_FUNCTIONS:
                shown = name if name.isascii() else repr(name)
                raise refuse(
                    f"the function {shown}() is not available in the query gateway; "
                    "see docs/query.md for the functions you can use."
                )
            continue
        if type(node) not in ALLOWED_NODES:
            raise refuse(
                f"{node.key.upper()} is not allowed in a gateway query; only plain SELECT "
                "queries over datasets are run."
            )
        if isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
            raise refuse(f"column reference {node.sql(dialect='duckdb')} has too many parts.")


def _cte_names(tree: exp.Expr) -> set[str]:
    return {str(cte.alias).lower() for cte in tree.find_all(exp.CTE)}


def parse_query(sql: str) -> ParsedQuery:
    """Parse, check and rewrite ``sql``: datasets become views, CTEs get their own namespace."""
    tree = _parse_single(sql)
    check_allowlist(tree)
    ctes = _cte_names(tree)
    for cte in tree.find_all(exp.CTE):
        alias = cte.args.get("alias")
        if alias is None or not isinstance(alias.this, exp.Identifier):
            raise refuse("every CTE needs a plain name.")
        alias.set("this", exp.to_identifier(CTE_PREFIX + str(alias.name).lower(), quoted=True))
    refs: dict[tuple[str, int | None], DatasetRef] = {}
    for table in list(tree.find_all(exp.Table)):
        name_node = table.this
        if (
            not isinstance(name_node, exp.Identifier)
            or table.args.get("db")
            or table.args.get("catalog")
        ):
            raise refuse(
                f"{table.sql(dialect='duckdb')[:80]} is not a dataset; name datasets by their "
                'slug in double quotes, e.g. "kepco-household-electricity" or "slug@3".'
            )
        if table.args.get("joins") or table.args.get("pivots") or table.args.get("laterals"):
            raise refuse("this table syntax is not supported.")
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
