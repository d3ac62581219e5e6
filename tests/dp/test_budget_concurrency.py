"""Under any concurrency the spent total never exceeds the cap: 50 parallel releases of ε 1
against a budget of 10 (a project's, or a time partition's shared by every project) pass
exactly 10 times (SQLite here; PostgreSQL when the suite runs with
BITGOEUL_TEST_DATABASE_URL)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.dp import actions
from bitgoeul.dp.models import DpBudget, DpRelease, ReleaseStatus
from bitgoeul.dp.schemas import ProfileIn, Quote, Release
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


@pytest.mark.parametrize("scope", ["project", "partition"])
def test_fifty_parallel_releases_against_a_budget_for_ten_pass_exactly_ten_times(
    scope: str,
    app: Any,
    db: Session,
    city: City,
    survey_profile: ProfileIn,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    partition: str | None = None
    if scope == "project":
        project = budgets(project=10, dataset=1000)
    else:
        project = budgets(project=1000, dataset=1000)
        steward = city.cast.actors["steward_of_publisher"]
        partitioned = survey_profile.model_copy(update={"partition_column": "district"})
        actions.set_profile(db, actor=steward, slug=SURVEY, profile=partitioned)
        partition = "Buk"
        actions.set_budget(
            db, actor=steward, slug=SURVEY, project_id=None, partition=partition, epsilon=10
        )
    quotes = [
        dp_quote(project=project, partition=partition, **request)
        for request in _distinct_requests(50)
    ]
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
    capped = f"project:{project}" if partition is None else f"partition:{partition}"
    budget = db.scalars(select(DpBudget).where(DpBudget.scope == capped)).one()
    assert budget.spent_micro == 10_000_000
    assert budget.reserved_micro == 0
    spent = db.scalar(
        select(func.count()).select_from(DpRelease).where(DpRelease.status == ReleaseStatus.spent)
    )
    assert spent == 10


def test_the_balances_are_read_under_the_databases_write_lock(
    app: Any,
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    """SQLite: ``BEGIN IMMEDIATE`` before the budgets are read; PostgreSQL: ``FOR UPDATE``."""
    project = budgets(project=10)
    token = dp_quote(project=project, measures=[{"kind": "count"}], epsilon=1).token
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        dp_release(token)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    reads = [i for i, s in enumerate(statements) if s.startswith("SELECT dp_budgets.")]
    assert reads
    if engine.dialect.name == "sqlite":
        assert all(statements[i - 1] == "BEGIN IMMEDIATE" for i in reads), statements
    else:
        assert all(statements[i].endswith("FOR UPDATE") for i in reads), statements
