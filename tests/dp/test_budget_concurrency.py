"""Under any concurrency the spent total never exceeds the cap: 50 parallel releases of ε 1
against a project budget of 10 pass exactly 10 times (SQLite here; PostgreSQL when the suite
runs with BITGOEUL_TEST_DATABASE_URL)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.dp.conftest import Budgets

from bitgoeul.dp.models import DpBudget, DpRelease, ReleaseStatus
from bitgoeul.dp.schemas import Quote, Release
from bitgoeul.errors import AccessDenied

MEASURES: list[dict[str, Any]] = [
    {"kind": "count"},
    {"kind": "sum", "column": "income"},
    {"kind": "mean", "column": "income"},
    {"kind": "sum", "column": "age"},
    {"kind": "mean", "column": "age"},
    {"kind": "quantile", "column": "income", "q": 0.5},
]


def _distinct_requests(n: int) -> list[dict[str, Any]]:
    """``n`` different requests, each costing ε 1."""
    shapes = [[m] for m in MEASURES] + [list(p) for p in itertools.permutations(MEASURES, 2)]
    requests = [
        {"group_by": group_by, "measures": measures, "epsilon": 1.0}
        for group_by in ([], ["district"])
        for measures in shapes
    ]
    return requests[:n]


def test_fifty_parallel_releases_against_a_budget_for_ten_pass_exactly_ten_times(
    app: Any,
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=10, dataset=1000)
    quotes = [dp_quote(project=project, **request) for request in _distinct_requests(50)]
    assert len({q.token for q in quotes}) == 50
    assert all(q.epsilon == 1.0 for q in quotes)

    def attempt(quote: Quote) -> str:
        with app.state.sessionmaker() as session:
            try:
                dp_release(quote.token, session=session)
            except AccessDenied:
                return "refused"
            return "released"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, quotes))

    assert outcomes.count("released") == 10
    assert outcomes.count("refused") == 40
    db.expire_all()
    project_budget = db.scalars(
        select(DpBudget).where(DpBudget.scope == f"project:{project}")
    ).one()
    assert project_budget.spent_micro == 10_000_000
    assert project_budget.reserved_micro == 0
    spent = db.scalar(
        select(func.count()).select_from(DpRelease).where(DpRelease.status == ReleaseStatus.spent)
    )
    assert spent == 10
