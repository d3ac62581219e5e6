"""The SQL the gateway accepts, as a positive allowlist of tree shapes.

A researcher's SQL is parsed by sqlglot (DuckDB dialect) into a tree.  The tree is accepted
only if *every* node is of a type listed in ``SHAPES`` and carries only the arguments listed for
that type, each of the listed kind:

* ``EXPR`` / ``LIST``: one allowed node / a list of allowed nodes (checked in turn);
* ``FLAG``: ``True`` only (``DESC``, ``ALL``, ``DISTINCT``...);
* a ``frozenset``: one of those words (a join's side, a window frame's bound...) or data types;
* ``PART``: a date part (``year``, ``month``...) written as a word or a string literal: sqlglot
  keeps a bare word as an ``exp.Var`` whose text it later prints verbatim, so a ``Var`` is
  accepted *only* in such a slot and only with one of the words in ``DATE_PARTS``;
* ``TEXT``: the node's own text (an identifier's name, a literal's value).

Functions are nodes like any other: a function is available when its sqlglot class is in
``SHAPES`` with the arguments it may take, or, for functions sqlglot does not model
(``exp.Anonymous``), when its DuckDB name is in ``ANONYMOUS`` with its number of arguments.
Nothing reads a file, a URL, a setting, the environment or the catalog; nothing runs SQL given
as text; no lambdas, placeholders, structs, lists, or table functions.

What this does not stop on its own: a node type that prints differently from how it parsed
(the ``extract("...")`` attack).  ``query.rewrite.sendable_sql`` closes that: the SQL sent to
DuckDB is printed from the checked tree and parsed again, and must give the same tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from sqlglot import exp

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

EXPR: Final = "expr"
LIST: Final = "list"
FLAG: Final = "flag"
PART: Final = "part"
TEXT: Final = "text"

ArgRule = str | frozenset[object]

# Deeper trees are refused before anything walks them recursively (the printer and DuckDB's
# binder both recurse); real queries stay far below.
MAX_DEPTH = 200

DATE_PARTS: frozenset[str] = frozenset(
    {
        "century", "day", "dayofmonth", "dayofweek", "dayofyear", "decade", "dow", "doy",
        "epoch", "hour", "hours", "isodow", "isoyear", "microsecond", "microseconds",
        "millennium", "millisecond", "milliseconds", "minute", "minutes", "month", "months",
        "quarter", "second", "seconds", "week", "weeks", "weekday", "weekofyear", "year",
        "years", "yearweek", "days", "ms", "us", "day_of_week", "day_of_year",
    }
)  # fmt: skip

_T = exp.DataType.Type
DATA_TYPES: frozenset[object] = frozenset(
    {
        _T.BOOLEAN, _T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.INT128, _T.UTINYINT,
        _T.USMALLINT, _T.UINT, _T.UBIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL, _T.TEXT,
        _T.VARCHAR, _T.CHAR, _T.DATE, _T.TIME, _T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.TIMESTAMPTZ,
        _T.INTERVAL,
    }
)  # fmt: skip

_JOIN_SIDES = frozenset({"LEFT", "RIGHT", "FULL"})
_JOIN_KINDS = frozenset({"INNER", "OUTER", "CROSS", "SEMI", "ANTI"})
_FRAME_KINDS = frozenset({"ROWS", "RANGE", "GROUPS"})
_FRAME_BOUNDS = frozenset({"UNBOUNDED", "CURRENT ROW"})
_FRAME_SIDES = frozenset({"PRECEDING", "FOLLOWING"})
_TRIM_POSITIONS = frozenset({"LEADING", "TRAILING", "BOTH"})

_BINARY: dict[str, ArgRule] = {"this": EXPR, "expression": EXPR}
_UNARY: dict[str, ArgRule] = {"this": EXPR}
_SET_OPERATION: dict[str, ArgRule] = {
    "this": EXPR,
    "expression": EXPR,
    "distinct": FLAG,
    "by_name": FLAG,
    "with_": EXPR,
    "order": EXPR,
    "limit": EXPR,
    "offset": EXPR,
}

# Every node type a query may contain, with the arguments each may carry.
SHAPES: dict[type[exp.Expr], dict[str, ArgRule]] = {
    # --- the query's structure -------------------------------------------------------------
    exp.Select: {
        "with_": EXPR, "expressions": LIST, "distinct": EXPR, "from_": EXPR, "joins": LIST,
        "where": EXPR, "group": EXPR, "having": EXPR, "qualify": EXPR, "order": EXPR,
        "limit": EXPR, "offset": EXPR,
    },
    exp.Union: _SET_OPERATION,
    exp.Except: _SET_OPERATION,
    exp.Intersect: _SET_OPERATION,
    exp.With: {"expressions": LIST},
    exp.CTE: {"this": EXPR, "alias": EXPR, "materialized": FLAG},
    exp.Subquery: {"this": EXPR, "alias": EXPR},
    exp.From: _UNARY,
    exp.Join: {
        "this": EXPR, "on": EXPR, "using": LIST, "side": _JOIN_SIDES, "kind": _JOIN_KINDS,
    },
    exp.Where: _UNARY,
    exp.Group: {"expressions": LIST, "all": FLAG},
    exp.Having: _UNARY,
    exp.Qualify: _UNARY,
    exp.Order: {"expressions": LIST},
    exp.Ordered: {"this": EXPR, "desc": FLAG, "nulls_first": FLAG},
    exp.Limit: {"expression": EXPR},
    exp.Offset: {"expression": EXPR},
    exp.Distinct: {"expressions": LIST, "on": EXPR},
    exp.Table: {"this": EXPR, "alias": EXPR},
    exp.TableAlias: {"this": EXPR, "columns": LIST},
    exp.Alias: {"this": EXPR, "alias": EXPR},
    exp.Column: {"this": EXPR, "table": EXPR},
    exp.Star: {"except_": LIST, "replace": LIST},
    exp.Identifier: {"this": TEXT, "quoted": FLAG},
    # --- values ------------------------------------------------------------------------------
    exp.Literal: {"this": TEXT, "is_string": FLAG},
    exp.Boolean: {"this": FLAG},
    exp.Null: {},
    exp.Paren: _UNARY,
    exp.Tuple: {"expressions": LIST},
    exp.Cast: {"this": EXPR, "to": EXPR},
    exp.TryCast: {"this": EXPR, "to": EXPR, "safe": FLAG},
    exp.DataType: {"this": DATA_TYPES, "expressions": LIST},
    exp.DataTypeParam: {"this": EXPR},
    exp.Interval: {"this": EXPR, "unit": PART},
    exp.Var: {"this": TEXT},  # only where a shape says PART (checked below)
    # --- operators ---------------------------------------------------------------------------
    exp.Add: _BINARY, exp.Sub: _BINARY, exp.Mul: _BINARY,
    exp.Div: {**_BINARY, "typed": FLAG, "safe": FLAG},
    exp.IntDiv: _BINARY, exp.Mod: _BINARY, exp.Neg: _UNARY,
    exp.EQ: _BINARY, exp.NEQ: _BINARY, exp.GT: _BINARY, exp.GTE: _BINARY, exp.LT: _BINARY,
    exp.LTE: _BINARY, exp.NullSafeEQ: _BINARY, exp.NullSafeNEQ: _BINARY,
    exp.And: _BINARY, exp.Or: _BINARY, exp.Not: _UNARY,
    exp.Is: _BINARY,
    exp.In: {"this": EXPR, "expressions": LIST, "query": EXPR},
    exp.Between: {"this": EXPR, "low": EXPR, "high": EXPR},
    exp.Like: {**_BINARY, "negate": FLAG},
    exp.ILike: {**_BINARY, "negate": FLAG},
    exp.DPipe: {**_BINARY, "safe": FLAG},
    exp.Case: {"this": EXPR, "ifs": LIST, "default": EXPR},
    exp.If: {"this": EXPR, "true": EXPR, "false": EXPR},
    exp.Exists: _UNARY,
    # --- windows and aggregate modifiers -------------------------------------------------
    exp.Window: {
        "this": EXPR, "partition_by": LIST, "order": EXPR, "spec": EXPR,
        "over": frozenset({"OVER"}),
    },
    exp.WindowSpec: {
        "kind": _FRAME_KINDS, "start": _FRAME_BOUNDS | {EXPR}, "start_side": _FRAME_SIDES,
        "end": _FRAME_BOUNDS | {EXPR}, "end_side": _FRAME_SIDES,
    },
    exp.WithinGroup: _BINARY,
    exp.Filter: _BINARY,
    exp.IgnoreNulls: _UNARY,
    exp.RespectNulls: _UNARY,
    # --- aggregates --------------------------------------------------------------------------
    exp.Count: {"this": EXPR, "expressions": LIST, "big_int": FLAG},
    exp.Sum: _UNARY, exp.Avg: _UNARY, exp.Min: _UNARY, exp.Max: _UNARY, exp.Median: _UNARY,
    exp.Stddev: _UNARY, exp.StddevPop: _UNARY, exp.StddevSamp: _UNARY, exp.Variance: _UNARY,
    exp.VariancePop: _UNARY, exp.ApproxDistinct: _UNARY, exp.AnyValue: _UNARY,
    exp.First: _UNARY, exp.Last: _UNARY, exp.LogicalAnd: _UNARY, exp.LogicalOr: _UNARY,
    exp.PercentileCont: {"this": EXPR, "expression": EXPR},
    exp.PercentileDisc: {"this": EXPR, "expression": EXPR},
    exp.Quantile: {"this": EXPR, "quantile": EXPR},
    exp.Corr: _BINARY, exp.CovarPop: _BINARY, exp.CovarSamp: _BINARY,
    exp.CountIf: _UNARY,
    exp.GroupConcat: {"this": EXPR, "separator": EXPR},
    exp.ArrayAgg: _UNARY,
    exp.Mode: _UNARY,
    exp.ArgMax: _BINARY, exp.ArgMin: _BINARY,
    # --- window functions --------------------------------------------------------------------
    exp.RowNumber: {}, exp.Rank: {}, exp.DenseRank: {}, exp.PercentRank: {}, exp.CumeDist: {},
    exp.Ntile: _UNARY,
    exp.Lag: {"this": EXPR, "offset": EXPR, "default": EXPR},
    exp.Lead: {"this": EXPR, "offset": EXPR, "default": EXPR},
    exp.FirstValue: _UNARY, exp.LastValue: _UNARY,
    exp.NthValue: {"this": EXPR, "offset": EXPR},
    # --- numbers -----------------------------------------------------------------------------
    exp.Abs: _UNARY, exp.Ceil: _UNARY, exp.Floor: _UNARY,
    exp.Round: {"this": EXPR, "decimals": EXPR},
    exp.Sqrt: _UNARY, exp.Cbrt: _UNARY, exp.Ln: _UNARY, exp.Exp: _UNARY,
    exp.Log: {"this": EXPR, "expression": EXPR},
    exp.Pow: _BINARY, exp.Sign: _UNARY,
    exp.Greatest: {"this": EXPR, "expressions": LIST, "ignore_nulls": FLAG},
    exp.Least: {"this": EXPR, "expressions": LIST, "ignore_nulls": FLAG},
    exp.Nullif: _BINARY,
    exp.Coalesce: {"this": EXPR, "expressions": LIST},
    exp.Trunc: {"this": EXPR, "decimals": EXPR},
    exp.IsNan: _UNARY, exp.IsInf: _UNARY,
    # --- text --------------------------------------------------------------------------------
    exp.Lower: _UNARY, exp.Upper: _UNARY, exp.Length: _UNARY,
    exp.Substring: {"this": EXPR, "start": EXPR, "length": EXPR},
    exp.Trim: {"this": EXPR, "expression": EXPR, "position": _TRIM_POSITIONS},
    exp.Replace: {"this": EXPR, "expression": EXPR, "replacement": EXPR},
    exp.Concat: {"expressions": LIST, "safe": FLAG, "coalesce": FLAG},
    exp.ConcatWs: {"expressions": LIST, "safe": FLAG, "coalesce": FLAG},
    exp.StartsWith: _BINARY, exp.EndsWith: _BINARY, exp.Contains: _BINARY,
    exp.Left: _BINARY, exp.Right: _BINARY,
    exp.Pad: {"this": EXPR, "expression": EXPR, "fill_pattern": EXPR, "is_left": FLAG},
    exp.Reverse: _UNARY,
    exp.RegexpLike: _BINARY,
    exp.RegexpExtract: {
        "this": EXPR, "expression": EXPR, "group": EXPR, "null_if_pos_overflow": FLAG,
    },
    exp.RegexpReplace: {
        "this": EXPR, "expression": EXPR, "replacement": EXPR, "single_replace": FLAG,
    },
    exp.StrPosition: {"this": EXPR, "substr": EXPR},
    exp.Split: _BINARY,
    exp.SplitPart: {"this": EXPR, "delimiter": EXPR, "part_index": EXPR},
    exp.MD5: _UNARY,
    exp.SHA2: {"this": EXPR, "length": EXPR},
    exp.Repeat: {"this": EXPR, "times": EXPR},
    exp.Levenshtein: _BINARY,
    # --- dates and times ---------------------------------------------------------------------
    exp.CurrentDate: {}, exp.CurrentTimestamp: {},
    exp.TimestampTrunc: {"this": EXPR, "unit": PART},
    exp.DateTrunc: {"this": EXPR, "unit": PART},
    exp.Extract: {"this": PART, "expression": EXPR},
    exp.Year: _UNARY, exp.Month: _UNARY, exp.Day: _UNARY, exp.DayOfWeek: _UNARY,
    exp.DayOfYear: _UNARY, exp.Week: _UNARY, exp.WeekOfYear: _UNARY, exp.Quarter: _UNARY,
    exp.Hour: _UNARY, exp.Minute: _UNARY, exp.Second: _UNARY,
    exp.DateDiff: {"this": EXPR, "expression": EXPR, "unit": PART, "date_part_boundary": FLAG},
    exp.DateAdd: {"this": EXPR, "expression": EXPR},
    exp.TimeToStr: {"this": EXPR, "format": EXPR},
    exp.StrToTime: {"this": EXPR, "format": EXPR},
    exp.TimeToUnix: _UNARY, exp.UnixToTime: _UNARY,
    exp.LastDay: _UNARY, exp.Monthname: _UNARY, exp.Dayname: _UNARY,
    exp.DateFromParts: {"year": EXPR, "month": EXPR, "day": EXPR},
    exp.DateBin: _BINARY,
    exp.Anonymous: {"this": TEXT, "expressions": LIST},
}  # fmt: skip

# DuckDB functions sqlglot does not model: name → (fewest, most) arguments, and the argument
# positions that must be a date part.
ANONYMOUS: dict[str, tuple[int, int, frozenset[int]]] = {
    "even": (1, 1, frozenset()),
    "prefix": (2, 2, frozenset()),
    "suffix": (2, 2, frozenset()),
    "strlen": (1, 1, frozenset()),
    "length_grapheme": (1, 1, frozenset()),
    "age": (1, 2, frozenset()),
    "now": (0, 0, frozenset()),
    "date_part": (2, 2, frozenset({0})),
    "date_sub": (3, 3, frozenset({0})),
}
_FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def refuse(message: str) -> ValidationFailed:
    """A refusal of the query; ``message`` (a :func:`msg`) says what and what to do."""
    return ValidationFailed(msg("Query refused: {reason}", reason=message))


def _shown(name: str) -> str:
    return (name if name.isascii() else repr(name))[:80]


def node_name(node: exp.Expr) -> str:
    """What the user would call the node: the function's name, or the construct's keyword."""
    if isinstance(node, exp.Anonymous):
        return f"{_shown(str(node.name))}()"
    if isinstance(node, exp.Func):
        return f"{node.key}()"
    return node.key.upper()


def _is_part(value: object) -> bool:
    if isinstance(value, exp.Var):
        return str(value.name).lower() in DATE_PARTS
    if isinstance(value, exp.Literal) and value.is_string:
        return str(value.name).lower() in DATE_PARTS
    return False


def _bad_argument(node: exp.Expr, key: str) -> ValidationFailed:
    if isinstance(node, exp.Func) and not isinstance(node, exp.Anonymous | exp.Window):
        return refuse(
            msg(
                "{function} is not available in this form; see docs/query.md for the "
                "functions and the arguments they take.",
                function=node_name(node),
            )
        )
    return refuse(
        msg(
            "{construct} with {argument} is not allowed in a gateway query; see docs/query.md "
            "for the SQL that runs.",
            construct=node_name(node),
            argument=key.rstrip("_").upper().replace("_", " "),
        )
    )


def _check_argument(node: exp.Expr, key: str, value: object, rule: ArgRule) -> None:
    if isinstance(rule, frozenset):
        if isinstance(value, exp.Expr) and EXPR in rule:
            return
        word = value.upper() if isinstance(value, str) else value
        if word in rule:
            return
        raise _bad_argument(node, key)
    if rule == EXPR:
        if not isinstance(value, exp.Expr):
            raise _bad_argument(node, key)
    elif rule == LIST:
        if not isinstance(value, list) or not all(isinstance(v, exp.Expr) for v in value):
            raise _bad_argument(node, key)
    elif rule == FLAG:
        if value is not True:
            raise _bad_argument(node, key)
    elif rule == PART:
        if not _is_part(value):
            raise refuse(
                msg(
                    "{function} needs a date part such as year, month, day or hour "
                    "(see docs/query.md).",
                    function=node_name(node),
                )
            )
    elif rule == TEXT:
        if not isinstance(value, str):
            raise _bad_argument(node, key)
    else:  # pragma: no cover - the table above uses only these rules
        raise AssertionError(rule)


def _unavailable(function: str) -> ValidationFailed:
    return refuse(
        msg(
            "the function {function} is not available in the query gateway; see "
            "docs/query.md for the functions you can use.",
            function=function,
        )
    )


def _check_anonymous(node: exp.Anonymous) -> None:
    name = str(node.name)
    spec = ANONYMOUS.get(name.lower()) if _FUNCTION_NAME.match(name.lower()) else None
    if spec is None:
        raise _unavailable(f"{_shown(name)}()")
    fewest, most, parts = spec
    arguments = node.expressions
    if not fewest <= len(arguments) <= most:
        raise refuse(
            msg(
                "{function}() takes {fewest}–{most} arguments, not {given}.",
                function=name,
                fewest=fewest,
                most=most,
                given=len(arguments),
            )
        )
    for position in parts:
        if not _is_part(arguments[position]):
            raise refuse(
                msg(
                    "{function}() needs a date part such as 'year' as argument {position}.",
                    function=name,
                    position=position + 1,
                )
            )


def _part_slot(node: exp.Expr) -> bool:
    """Whether ``node`` sits where its parent's shape asks for a date part."""
    parent = node.parent
    if parent is None:
        return False
    if isinstance(parent, exp.Anonymous):
        spec = ANONYMOUS.get(str(parent.name).lower())
        return spec is not None and node.index in spec[2]
    rule = SHAPES.get(type(parent), {}).get(node.arg_key or "")
    return rule == PART


def _depth_first(tree: exp.Expr) -> Iterator[tuple[exp.Expr, int]]:
    stack: list[tuple[exp.Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        stack.extend((child, depth + 1) for child in node.iter_expressions())


def check_tree(tree: exp.Expr) -> None:
    """Refuse the first node, argument or function the allowlist does not name."""
    for node, depth in _depth_first(tree):
        if depth > MAX_DEPTH:
            raise refuse(
                msg(
                    "the query is nested more than {depth} levels deep; write it flatter "
                    "(with CTEs, for example).",
                    depth=MAX_DEPTH,
                )
            )
        shape = SHAPES.get(type(node))
        if shape is None:
            if isinstance(node, exp.Func):
                raise _unavailable(node_name(node))
            raise refuse(
                msg(
                    "{construct} is not allowed in a gateway query; only plain SELECT "
                    "queries over datasets are run (see docs/query.md).",
                    construct=node_name(node),
                )
            )
        if isinstance(node, exp.Var) and not (_part_slot(node) and _is_part(node)):
            raise refuse(
                msg(
                    "{word} is not a column, value or date part the gateway knows; quote "
                    "column names with double quotes and text with single quotes.",
                    word=_shown(str(node.name)),
                )
            )
        if isinstance(node, exp.Anonymous):
            _check_anonymous(node)
        for key, value in node.args.items():
            if value is None or value is False or value == []:
                continue
            rule = shape.get(key)
            if rule is None:
                raise _bad_argument(node, key)
            _check_argument(node, key, value, rule)
