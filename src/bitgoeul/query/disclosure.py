"""Statistical disclosure control for secure datasets: only aggregates, only big enough groups.

A query touching a secure dataset must be one plain aggregate SELECT over that one dataset: no
CTE, subquery, join, window, HAVING or set operation (each could carry row-level values out),
output columns that are GROUP BY keys or COUNT/SUM/AVG of columns, and no direct identifier or
forbidden column as a key, in WHERE or in a bare output.  The rewriter adds hidden columns:
the number of distinct persons in each group (the dataset's direct identifier, else rows) and,
per SUM/AVG, the share of the two largest contributions; groups under k persons or dominated
(n=2, k=90 %) are suppressed and counted.

Remaining risk, stated plainly: differencing across two queries whose groups both pass k (e.g.
"everyone" minus "everyone but those over 99") can still isolate a small group; the k
threshold bounds it only for each query separately.  Dominance is computed per row, which is
per person only where the dataset has one row per person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from bitgoeul.errors import AccessDenied, ValidationFailed

COUNT_COLUMN = "__bg_persons"
DOMINANCE_PREFIX = "__bg_dominance_"
_AGGREGATES = (exp.Count, exp.Sum, exp.Avg)


@dataclass(frozen=True)
class SecureRule:
    person_column: str | None
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
    return AccessDenied(f"Secure data: {message}")


def _column_names(node: exp.Expr) -> set[str]:
    return {str(c.name).lower() for c in node.find_all(exp.Column)}


def plan_secure(tree: exp.Query, rule: SecureRule) -> SecurePlan:
    if not isinstance(tree, exp.Select):
        raise _refuse("set operations (UNION, EXCEPT, INTERSECT) are not allowed.")
    if tree.args.get("with_"):
        raise _refuse("CTEs are not allowed; write one aggregate SELECT with GROUP BY.")
    for node in tree.walk():
        if node is not tree and isinstance(node, exp.Select | exp.Subquery | exp.Exists):
            raise _refuse("subqueries are not allowed; they could carry row-level values out.")
        if isinstance(node, exp.Window):
            raise _refuse("window functions are not allowed; they return row-level values.")
        if isinstance(node, exp.Join):
            raise _refuse("joins are not allowed on secure data.")
        if isinstance(node, exp.Having | exp.Qualify):
            raise _refuse("HAVING and QUALIFY are not allowed; small groups are suppressed.")
        if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
            raise _refuse("SELECT * returns row-level data; select GROUP BY keys and aggregates.")
    used = _column_names(tree)
    for name in sorted(used & rule.identifier_columns):
        raise _refuse(f"column '{name}' is a direct identifier and cannot be used in a query.")
    where = tree.args.get("where")
    if where is not None:
        for name in sorted(_column_names(where) & rule.forbidden_columns):
            raise _refuse(f"column '{name}' cannot be used to filter secure data.")
    group = tree.args.get("group")
    keys: list[exp.Expr] = []
    for key in group.expressions if group is not None else []:
        # GROUP BY 1 and GROUP BY <alias> name an output column: check what it stands for.
        if isinstance(key, exp.Literal) and key.is_int:
            position = int(key.name)
            if not 1 <= position <= len(tree.expressions):
                raise _refuse(f"GROUP BY {position} names no output column.")
            key = tree.expressions[position - 1]
        elif isinstance(key, exp.Column) and not key.table:
            for projection in tree.expressions:
                if isinstance(projection, exp.Alias) and projection.alias == key.name:
                    key = projection
        keys.append(key.this if isinstance(key, exp.Alias) else key)
    key_sql = {k.sql(dialect="duckdb") for k in keys}
    for key in keys:
        if _column_names(key) & rule.forbidden_columns:
            raise _refuse("a GROUP BY key uses a column that cannot appear in output.")
        if key.find(exp.AggFunc):
            raise _refuse("GROUP BY keys cannot be aggregates.")
    sums: list[exp.Expr] = []
    has_aggregate = False
    for projection in tree.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if inner.sql(dialect="duckdb") in key_sql or (
            isinstance(inner, exp.Column)
            and any(inner.name.lower() == k.alias_or_name.lower() for k in keys)
        ):
            continue
        aggregates = list(inner.find_all(exp.AggFunc))
        if not aggregates:
            raise _refuse(
                f"output {projection.sql(dialect='duckdb')[:80]} is row-level; output only "
                "GROUP BY keys and COUNT, SUM or AVG."
            )
        for aggregate in aggregates:
            if not isinstance(aggregate, _AGGREGATES):
                raise _refuse(
                    f"{aggregate.key.upper()}() is not allowed; use COUNT, SUM or AVG (other "
                    "aggregates can return one person's value)."
                )
            if any(isinstance(n, exp.AggFunc) and n is not aggregate for n in aggregate.walk()):
                raise _refuse("nested aggregates are not allowed.")
            if isinstance(aggregate, exp.Sum | exp.Avg):
                sums.append(aggregate.this)
        outside = inner.transform(
            lambda n: exp.Literal.number(0) if isinstance(n, exp.AggFunc) else n
        )
        if _column_names(outside) - {k.alias_or_name.lower() for k in keys}:
            raise _refuse("outputs may combine only aggregates and GROUP BY keys.")
        has_aggregate = True
    if not has_aggregate and not keys:
        raise _refuse("row-level queries are refused; use GROUP BY with COUNT, SUM or AVG.")
    order = tree.args.get("order")
    if order is not None and _column_names(order) & rule.forbidden_columns:
        raise _refuse("ORDER BY cannot use a column that cannot appear in output.")
    rewritten = tree.copy()
    width = len(rewritten.expressions)
    person = (
        exp.Count(this=exp.Distinct(expressions=[exp.column(rule.person_column, quoted=True)]))
        if rule.person_column
        else exp.Count(this=exp.Star())
    )
    extra: list[exp.Expr] = [exp.alias_(person, COUNT_COLUMN)]
    for index, value in enumerate(sums):
        top = exp.Anonymous(
            this="list_sum",
            expressions=[
                exp.Max(
                    this=exp.Abs(this=value.copy()),
                    expressions=[exp.Literal.number(rule.dominance_n)],
                )
            ],
        )
        total = exp.Nullif(
            this=exp.Sum(this=exp.Abs(this=value.copy())), expression=exp.Literal.number(0)
        )
        extra.append(exp.alias_(exp.Div(this=top, expression=total), f"{DOMINANCE_PREFIX}{index}"))
    rewritten.set("expressions", [*rewritten.expressions, *extra])
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


def check_not_secure_export() -> None:
    raise ValidationFailed("Secure data cannot be downloaded; only aggregate queries are run.")
