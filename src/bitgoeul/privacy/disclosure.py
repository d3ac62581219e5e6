"""Statistical disclosure control for secure datasets: only counts and sums of plain columns,
only over big enough groups.

A query on a secure dataset is accepted only if it is built from this small grammar, checked
node by node (a positive list, like ``query.grammar``, not a list of known attacks):

* ``SELECT`` outputs, each a *key* or an *aggregate*, optionally with an alias;
* a *key* is a column, or one of the date transforms in ``TRANSFORMS`` of a column
  (``date_trunc('month', visit_date)``, ``year(birth_date)``, ``extract(hour FROM at)``), and
  every key output must be a ``GROUP BY`` key;
* an *aggregate* is ``count(*)``, ``count(key)``, ``count(DISTINCT key)``, ``sum(column)`` or
  ``avg(column)`` of a bare column: no arithmetic, string functions, casts or literals inside or
  around an aggregate, so no aggregate can encode one person's value into a number (the
  ``sum(strpos(...) * ... + 1000)`` attack);
* ``FROM`` the one dataset; ``WHERE`` a condition of comparisons, ``IN`` lists, ``BETWEEN``,
  ``LIKE`` and ``IS NULL`` between a key and literal values, joined by ``AND``/``OR``/``NOT``;
  ``GROUP BY`` keys (by name, position or the alias of a key output); ``ORDER BY`` outputs;
  ``LIMIT``/``OFFSET`` numbers.  Nothing else: no CTE, subquery, join, window, ``HAVING``,
  ``QUALIFY``, ``DISTINCT`` or set operation.

Names resolve the way DuckDB binds them.  DuckDB binds a name in ``GROUP BY`` to an input
column before an output alias (``SELECT 1 AS kcd_code ... GROUP BY kcd_code`` groups by the
real column), so here too a ``GROUP BY`` name that is a column of the dataset means the column,
and only another name means an output alias; and since every output is a key or a bare
aggregate, an alias cannot carry anything a key or an aggregate would not.

Direct identifiers may appear nowhere; sensitive and pseudonymised columns ("forbidden") may be
counted, summed or averaged, but not be keys or filters.  The rewriter adds hidden columns: the
number of distinct persons in each group (the dataset's direct identifier, else rows) and, per
sum or average, the share of the two largest contributions; groups under k persons or dominated
(n=2, k=90 %) are suppressed and counted.

Remaining risk, stated plainly: differencing across two queries whose groups both pass k (e.g.
"everyone" minus "everyone but those over 99") can still isolate a small group; the k
threshold bounds it only for each query separately (differential privacy, with a budget, is the
answer to that).  Dominance is computed per row, which is per person only where the dataset
has one row per person.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from bitgoeul.engine.sql import quote_name
from bitgoeul.errors import AccessDenied
from bitgoeul.messages import Message, msg

COUNT_COLUMN = "__bg_persons"
DOMINANCE_PREFIX = "__bg_dominance_"
RESERVED_PREFIX = "__bg_"

# Transforms that may wrap a column as a key: each maps a date or time onto a coarser one.
TRANSFORMS: tuple[type[exp.Expr], ...] = (
    exp.TimestampTrunc, exp.DateTrunc, exp.Extract, exp.Year, exp.Quarter, exp.Month,
    exp.Week, exp.WeekOfYear, exp.Day, exp.DayOfWeek, exp.DayOfYear, exp.Hour,
)  # fmt: skip
_COMPARISONS: tuple[type[exp.Expr], ...] = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
)  # fmt: skip
_SELECT_ARGS = frozenset({"expressions", "from_", "where", "group", "order", "limit", "offset"})


@dataclass(frozen=True)
class SecureRule:
    person_column: str | None
    columns: frozenset[str]  # every column of the version (lower case)
    forbidden_columns: frozenset[str]  # never a key, a filter or a bare output
    identifier_columns: frozenset[str]  # nowhere at all
    min_group_size: int
    dominance_n: int
    dominance_k: float


@dataclass(frozen=True)
class SecurePlan:
    tree: exp.Select
    visible_width: int
    dominance_columns: int
    rule: SecureRule


def _refuse(message: str) -> AccessDenied:
    """A refusal under the secure-data rules; ``message`` (a :func:`msg`) says which."""
    return AccessDenied(msg("Secure data: {reason}", reason=message))


# What a column is used as, in the refusal that names it.
_USES: dict[str, Message] = {
    "a filter": msg("a filter"),
    "a GROUP BY key": msg("a GROUP BY key"),
    "an output": msg("an output"),
}


def _shown(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")[:80]


class _Checker:
    """The grammar above, for one query on one secure dataset."""

    def __init__(self, tree: exp.Select, rule: SecureRule, table_names: set[str]) -> None:
        self.tree = tree
        self.rule = rule
        self.table_names = table_names

    def column(self, node: exp.Expr, *, use: str) -> str:
        """The dataset column a bare column reference names (lower case)."""
        if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
            raise _refuse(
                msg("{expression} is not a column of the dataset.", expression=_shown(node))
            )
        if node.table and node.table.lower() not in self.table_names:
            raise _refuse(msg("{expression} names another table.", expression=_shown(node)))
        name = str(node.name).lower()
        if name not in self.rule.columns:
            raise _refuse(
                msg("'{column}' is not a column of this dataset you may use.", column=name)
            )
        if name in self.rule.identifier_columns:
            raise _refuse(
                msg(
                    "column '{column}' is a direct identifier and cannot be used in a query.",
                    column=name,
                )
            )
        if use != "aggregate" and name in self.rule.forbidden_columns:
            raise _refuse(
                msg(
                    "column '{column}' cannot be used as {use} on secure data.",
                    column=name,
                    use=_USES.get(use, use),
                )
            )
        return name

    def key(self, node: exp.Expr, *, use: str) -> exp.Expr:
        """A column or a date transform of one; refused otherwise."""
        if isinstance(node, TRANSFORMS):
            inner = node.expression if isinstance(node, exp.Extract) else node.this
            extra = set(node.args) - {"this", "expression", "unit"}
            if any(node.args.get(k) for k in extra):
                raise _refuse(
                    msg(
                        "{expression} is not one of the allowed transforms.",
                        expression=_shown(node),
                    )
                )
            self.column(inner, use=use)
            return node
        if isinstance(node, exp.Column):
            self.column(node, use=use)
            return node
        raise _refuse(
            msg(
                "{expression} is not allowed on secure data: use a column or a date transform "
                "(date_trunc, year, month, ...) of one, without arithmetic, text functions or "
                "literals.",
                expression=_shown(node),
            )
        )

    def aggregate(self, node: exp.Expr) -> exp.Expr | None:
        """The value a sum or average adds up (for the dominance rule), None for a count."""
        if isinstance(node, exp.Count):
            inner = node.this
            if isinstance(inner, exp.Star):
                return None
            if isinstance(inner, exp.Distinct):
                if len(inner.expressions) != 1 or inner.args.get("on"):
                    raise _refuse(msg("count(DISTINCT ...) takes one column."))
                inner = inner.expressions[0]
            if node.expressions:
                raise _refuse(msg("count() takes one column."))
            self.key(inner, use="aggregate")
            return None
        if isinstance(node, exp.Sum | exp.Avg):
            summed: exp.Expr = node.this
            self.column(summed, use="aggregate")
            return summed
        if isinstance(node, exp.AggFunc):
            raise _refuse(
                msg(
                    "{function}() is not allowed; use count, sum or avg (other aggregates "
                    "can return one person's value).",
                    function=node.sql_name(),
                )
            )
        raise _refuse(
            msg(
                "output {expression} is not allowed: output GROUP BY keys and count, sum or "
                "avg of a column, with nothing inside or around them.",
                expression=_shown(node),
            )
        )

    def value(self, node: exp.Expr) -> None:
        if isinstance(node, exp.Literal | exp.Boolean | exp.Null):
            return
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            return
        if (
            isinstance(node, exp.Cast)
            and isinstance(node.this, exp.Literal)
            and node.this.is_string
            and not node.to.expressions
        ):
            return  # DATE '2025-01-01'
        raise _refuse(
            msg(
                "{expression} is not a plain value; compare keys with literals only.",
                expression=_shown(node),
            )
        )

    def condition(self, node: exp.Expr) -> None:
        if isinstance(node, exp.And | exp.Or):
            self.condition(node.this)
            self.condition(node.expression)
        elif isinstance(node, exp.Not | exp.Paren):
            self.condition(node.this)
        elif isinstance(node, _COMPARISONS):
            left: exp.Expr = node.this
            right: exp.Expr = node.expression
            if isinstance(left, (exp.Column, *TRANSFORMS)):
                self.key(left, use="a filter")
                self.value(right)
            else:
                self.value(left)
                self.key(right, use="a filter")
        elif isinstance(node, exp.In):
            if node.args.get("query") or not node.expressions:
                raise _refuse(msg("IN takes a list of values on secure data, not a subquery."))
            self.key(node.this, use="a filter")
            for item in node.expressions:
                self.value(item)
        elif isinstance(node, exp.Between):
            self.key(node.this, use="a filter")
            self.value(node.args["low"])
            self.value(node.args["high"])
        elif isinstance(node, exp.Like | exp.ILike):
            self.key(node.this, use="a filter")
            if not (isinstance(node.expression, exp.Literal) and node.expression.is_string):
                raise _refuse(msg("LIKE takes a text pattern on secure data."))
        elif isinstance(node, exp.Is):
            self.key(node.this, use="a filter")
            self.value(node.expression)
        else:
            raise _refuse(
                msg(
                    "the condition {expression} is not allowed on secure data: compare keys "
                    "with values (=, <, IN, BETWEEN, LIKE, IS NULL) joined by AND, OR and NOT.",
                    expression=_shown(node),
                )
            )


def _same(node: exp.Expr) -> str:
    """A key's form for comparing outputs, keys and ORDER BY items: columns unqualified (there
    is one table) and in lower case, as DuckDB binds them."""
    plain = node.transform(
        lambda n: exp.column(str(n.name).lower()) if isinstance(n, exp.Column) else n
    )
    return plain.sql(dialect="duckdb")


def _output_parts(projection: exp.Expr) -> tuple[exp.Expr, str | None]:
    if isinstance(projection, exp.Alias):
        return projection.this, str(projection.alias)
    return projection, None


def _table_names(tree: exp.Select) -> set[str]:
    source = tree.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    if not isinstance(table, exp.Table):
        raise _refuse(msg('read the secure dataset directly: FROM "its-slug".'))
    names = {str(table.name).lower()}
    if table.alias:
        names.add(str(table.alias).lower())
    return names


def _check_shape(tree: exp.Query) -> exp.Select:
    if not isinstance(tree, exp.Select):
        raise _refuse(msg("set operations (UNION, EXCEPT, INTERSECT) are not allowed."))
    for node in tree.walk():
        if node is not tree and isinstance(node, exp.Select | exp.Subquery | exp.Exists):
            raise _refuse(msg("subqueries are not allowed; they could carry row-level values out."))
        if isinstance(node, exp.Window):
            raise _refuse(msg("window functions are not allowed; they return row-level values."))
    if tree.args.get("with_"):
        raise _refuse(msg("CTEs are not allowed; write one aggregate SELECT with GROUP BY."))
    if tree.args.get("joins"):
        raise _refuse(msg("joins are not allowed on secure data."))
    if tree.args.get("having") or tree.args.get("qualify"):
        raise _refuse(msg("HAVING and QUALIFY are not allowed; small groups are suppressed."))
    if tree.args.get("distinct"):
        raise _refuse(msg("SELECT DISTINCT is not allowed; use GROUP BY."))
    for name, value in tree.args.items():
        if value and name not in _SELECT_ARGS:
            raise _refuse(
                msg("{clause} is not allowed on secure data.", clause=name.rstrip("_").upper())
            )
    return tree


def plan_secure(tree: exp.Query, rule: SecureRule) -> SecurePlan:
    """Check ``tree`` against the grammar above; the tree with the hidden columns added."""
    select = _check_shape(tree)
    checker = _Checker(select, rule, _table_names(select))
    outputs = [_output_parts(p) for p in select.expressions]
    for projection in select.expressions:
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            raise _refuse(
                msg("SELECT * returns row-level data; select GROUP BY keys and aggregates.")
            )
    aliases: dict[str, exp.Expr] = {}
    for inner, alias in outputs:
        if alias is None:
            continue
        lowered = alias.lower()
        if lowered.startswith(RESERVED_PREFIX):
            raise _refuse(
                msg("the output name '{alias}' is reserved; choose another alias.", alias=alias)
            )
        aliases.setdefault(lowered, inner)
    where = select.args.get("where")
    if where is not None:
        checker.condition(where.this)
    group = select.args.get("group")
    if group is not None and any(group.args.get(k) for k in set(group.args) - {"expressions"}):
        raise _refuse(msg("GROUP BY ALL, ROLLUP, CUBE and GROUPING SETS are not allowed."))
    keys: list[exp.Expr] = []
    for item in group.expressions if group is not None else []:
        if isinstance(item, exp.Literal) and item.is_int:
            position = int(item.name)
            if not 1 <= position <= len(outputs):
                raise _refuse(msg("GROUP BY {position} names no output column.", position=position))
            item = outputs[position - 1][0]
        elif (
            isinstance(item, exp.Column)
            and not item.table
            and str(item.name).lower() not in rule.columns
            and str(item.name).lower() in aliases
        ):
            item = aliases[str(item.name).lower()]
        keys.append(checker.key(item, use="a GROUP BY key"))
    key_forms = {_same(k) for k in keys}
    sums: list[exp.Expr] = []
    has_aggregate = False
    for inner, _alias in outputs:
        if _same(inner) in key_forms:
            continue
        if isinstance(inner, (exp.Column, *TRANSFORMS)):
            checker.key(inner, use="an output")
            raise _refuse(
                msg(
                    "output {expression} is row-level; output GROUP BY keys and count, sum or avg.",
                    expression=_shown(inner),
                )
            )
        summed = checker.aggregate(inner)
        if summed is not None:
            sums.append(summed)
        has_aggregate = True
    if not has_aggregate and not keys:
        raise _refuse(msg("row-level queries are refused; use GROUP BY with count, sum or avg."))
    _check_order(select, outputs, aliases)
    for name in ("limit", "offset"):
        clause = select.args.get(name)
        if clause is not None and not (
            isinstance(clause.expression, exp.Literal) and clause.expression.is_int
        ):
            raise _refuse(msg("{clause} takes a whole number.", clause=name.upper()))
    return _with_hidden_columns(select, rule, sums)


def _check_order(
    select: exp.Select, outputs: list[tuple[exp.Expr, str | None]], aliases: dict[str, exp.Expr]
) -> None:
    order = select.args.get("order")
    shown = {_same(inner) for inner, _ in outputs}
    for ordered in order.expressions if order is not None else []:
        item = ordered.this
        if isinstance(item, exp.Literal) and item.is_int:
            if not 1 <= int(item.name) <= len(outputs):
                raise _refuse(
                    msg("ORDER BY {position} names no output column.", position=item.name)
                )
            continue
        if isinstance(item, exp.Column) and not item.table and str(item.name).lower() in aliases:
            continue
        if _same(item) in shown:
            continue
        raise _refuse(
            msg("ORDER BY may name outputs only (by alias, position or the same expression).")
        )


def _with_hidden_columns(select: exp.Select, rule: SecureRule, sums: list[exp.Expr]) -> SecurePlan:
    """The query with the person count and the dominance shares added.  They are written as
    SQL and parsed, like the user's query, so that they print back exactly as they parse."""
    rewritten = select.copy()
    width = len(rewritten.expressions)
    person = (
        f"count(DISTINCT {quote_name(rule.person_column)})" if rule.person_column else "count(*)"
    )
    extra = [f"{person} AS {COUNT_COLUMN}"]
    for index, value in enumerate(sums):
        column = quote_name(str(value.name))
        extra.append(
            f"list_sum(max(abs({column}), {int(rule.dominance_n)})) / "
            f"nullif(sum(abs({column})), 0) AS {DOMINANCE_PREFIX}{index}"
        )
    added = sqlglot.parse_one(f"SELECT {', '.join(extra)}", read="duckdb")
    rewritten.set("expressions", [*rewritten.expressions, *added.expressions])
    return SecurePlan(rewritten, width, len(sums), rule)


def suppress(
    plan: SecurePlan, rows: list[tuple[object, ...]]
) -> tuple[list[tuple[object, ...]], int]:
    """The rows whose groups pass k and dominance, without the hidden columns; and the count."""
    kept: list[tuple[object, ...]] = []
    suppressed = 0
    width = plan.visible_width
    for row in rows:
        persons = row[width]
        shares = row[width + 1 : width + 1 + plan.dominance_columns]
        small = not isinstance(persons, int) or persons < plan.rule.min_group_size
        dominated = any(isinstance(s, int | float) and s > plan.rule.dominance_k for s in shares)
        if small or dominated:
            suppressed += 1
            continue
        kept.append(tuple(row[:width]))
    return kept, suppressed
