"""What a failed release costs: nothing if it failed before any noise was drawn (refunded,
audited), its whole quote once noise was drawn (charged, nothing shown, asking again is a new
release), and its quote when the refusal itself depends on the data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.audit.models import AuditEvent
from bitgoeul.dp import actions, aggregates
from bitgoeul.dp.models import DpBudget, DpRelease, ReleaseStatus
from bitgoeul.dp.schemas import ProfileIn, Quote, Release
from bitgoeul.errors import ValidationFailed

COUNT_BY_DISTRICT: dict[str, Any] = {
    "group_by": ["district"],
    "measures": [{"kind": "count"}],
    "epsilon": 1.0,
}


def _ledger(db: Session) -> dict[str, tuple[int, int]]:
    db.expire_all()
    return {b.scope: (b.spent_micro, b.reserved_micro) for b in db.scalars(select(DpBudget))}


def _actions(db: Session, name: str) -> int:
    return len(list(db.scalars(select(AuditEvent).where(AuditEvent.action == name))))


def test_a_release_failing_before_the_noise_is_refunded_and_audited(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = budgets(project=5)
    quote = dp_quote(project=project, **COUNT_BY_DISTRICT)

    def broken(*_args: Any, **_kwargs: Any) -> aggregates.Exact:
        raise RuntimeError("the engine stopped")

    monkeypatch.setattr(aggregates, "exact_aggregates", broken)
    with pytest.raises(RuntimeError, match="engine stopped"):
        dp_release(quote.token)
    assert _ledger(db) == {"dataset": (0, 0), f"project:{project}": (0, 0)}
    assert _actions(db, "dp.refund") == 1
    assert _actions(db, "dp.debit") == 0
    assert list(db.scalars(select(DpRelease))) == []
    monkeypatch.undo()
    released = dp_release(quote.token)  # the same quote now releases, charged once
    assert not released.repeated
    assert _ledger(db)[f"project:{project}"] == (1_000_000, 0)


def test_a_release_failing_once_noise_was_drawn_stays_charged_and_shows_nothing(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = budgets(project=5)
    quote = dp_quote(project=project, **COUNT_BY_DISTRICT)

    def broken(*_args: Any, **_kwargs: Any) -> tuple[list[str], list[list[Any]]]:
        raise RuntimeError("lost after the noise")

    monkeypatch.setattr(aggregates, "noisy_answer", broken)
    with pytest.raises(RuntimeError, match="after the noise"):
        dp_release(quote.token)
    assert _ledger(db) == {"dataset": (1_000_000, 0), f"project:{project}": (1_000_000, 0)}
    assert _actions(db, "dp.refund") == 0
    (row,) = db.scalars(select(DpRelease))
    assert (row.status, row.answer) == (ReleaseStatus.spent, None)
    monkeypatch.undo()
    again = dp_release(quote.token)  # nothing was shown: a new release, charged again
    assert not again.repeated
    assert _ledger(db)[f"project:{project}"] == (2_000_000, 0)


def test_too_many_groups_under_a_threshold_key_is_refused_and_charged(
    db: Session,
    city: City,
    budgets: Budgets,
    survey_profile: ProfileIn,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    steward = city.cast.actors["steward_of_publisher"]
    actions.set_profile(
        db,
        actor=steward,
        slug=SURVEY,
        profile=survey_profile.model_copy(
            update={
                "keys": {"district": survey_profile.keys["district"]},
                "threshold_keys": ["age"],
                "delta": 1e-9,
            }
        ),
    )
    project = budgets(project=5)
    for scope in (None, project):
        actions.set_budget(
            db, actor=steward, slug=SURVEY, project_id=scope, epsilon=1000 if scope is None else 5,
            delta=1e-6,
        )  # fmt: skip
    quote = dp_quote(project=project, group_by=["age"], measures=[{"kind": "count"}], epsilon=1)
    monkeypatch.setattr(aggregates, "MAX_DATA_GROUPS", 10)  # the survey has 28 ages
    with pytest.raises(ValidationFailed, match="more than 10 groups"):
        dp_release(quote.token)
    db.expire_all()
    budget = db.scalars(select(DpBudget).where(DpBudget.scope == f"project:{project}")).one()
    assert (budget.spent_micro, budget.delta_spent, budget.delta_reserved) == (
        1_000_000,
        round(quote.delta * 10**15),
        0,
    )
