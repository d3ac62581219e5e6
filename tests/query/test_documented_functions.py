"""docs/query.md and the gateway agree: every documented function runs, every function the
gateway allows is documented, and the constructs the page promises (CASE, CAST, COALESCE...)
work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp
from tests.query.conftest import Ask

from bitgoeul.query import grammar

DOCS = Path(__file__).parents[2] / "docs" / "query.md"
OPEN = '"household-electricity"'

# What the page's prose promises beside the table.
CONSTRUCTS = [
    "CASE WHEN kwh > 100 THEN 'high' ELSE 'low' END",
    "CASE month WHEN 1 THEN 'first' END",
    "if(kwh > 100, 1, 0)",
    "CAST(kwh AS INTEGER)",
    "TRY_CAST(district AS DATE)",
    "kwh::DOUBLE",
    "CAST(kwh AS DECIMAL(10, 2))",
    "DATE '2025-01-01'",
    "TIMESTAMP '2025-01-01 10:00'",
    "DATE '2025-01-01' + INTERVAL '1 day'",
    "coalesce(kwh, 0)",
    "district || '/' || household_id",
    "kwh IS DISTINCT FROM month",
    "month // 2",
    "-kwh",
    'EXISTS (SELECT 1 FROM "district-population")',
    "kwh > 1 AND month < 3",
    "kwh > 1 OR NOT month < 3",
    "date_trunc('week', current_date)",
]


def _examples() -> list[str]:
    examples: list[str] = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) == 4 and cells[1].strip().startswith("`") and "example" not in line:
            examples += re.findall(r"`([^`]+)`", cells[2])
    return examples


EXAMPLES = _examples()


def test_the_page_documents_the_functions() -> None:
    assert len(EXAMPLES) > 100


@pytest.mark.parametrize("expression", [*EXAMPLES, *CONSTRUCTS])
def test_every_documented_function_runs(ask: Ask, expression: str) -> None:
    result = ask(f"SELECT {expression} AS value FROM {OPEN} LIMIT 2")
    assert result.columns == ["value"]


def test_every_function_the_gateway_allows_is_documented() -> None:
    seen: set[type[exp.Expr]] = set()
    anonymous: set[str] = set()
    for expression in [*EXAMPLES, *CONSTRUCTS]:
        tree = sqlglot.parse_one(f"SELECT {expression} FROM t", read="duckdb")
        printed = sqlglot.parse_one(tree.sql(dialect="duckdb"), read="duckdb")
        for node in [*tree.walk(), *printed.walk()]:
            seen.add(type(node))
            if isinstance(node, exp.Anonymous):
                anonymous.add(str(node.name).lower())
    functions = {t for t in grammar.SHAPES if issubclass(t, exp.Func) and t is not exp.Anonymous}
    assert sorted(t.__name__ for t in functions - seen) == []
    assert sorted(set(grammar.ANONYMOUS) - anonymous) == []
