"""A researcher's quote costs nothing; a release spends it once; asking again is free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.audit.models import AuditEvent
from bitgoeul.dp import actions
from bitgoeul.dp.models import DpBudget
from bitgoeul.dp.schemas import DpRequest, ProfileIn, Quote, Release
from bitgoeul.errors import AccessDenied, ValidationFailed

COUNT_BY_DISTRICT: dict[str, Any] = {
    "group_by": ["district"],
    "measures": [{"kind": "count"}, {"kind": "mean", "column": "income"}],
    "epsilon": 1.0,
}


def _spent(db: Session) -> dict[str, float]:
    db.expire_all()
    return {b.scope: b.spent_micro / 1e6 for b in db.scalars(select(DpBudget))}


def test_a_quote_states_mechanism_scale_accuracy_and_cost_without_spending(
    db: Session, budgets: Budgets, dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=5)
    quote = dp_quote(project=project, **COUNT_BY_DISTRICT)
    assert quote.epsilon == pytest.approx(1.0)
    assert [g["district"] for g in quote.groups] == ["Buk", "Seo", "Nam"]
    count, mean = quote.measures
    assert "Laplace" in count.mechanism
    # ε 1 over three measurements (the count, the mean's sum and count): 1/3 each; one
    # person moves a count by 1, so the scale is 3.
    assert count.noise_scale == pytest.approx(3.0)
    assert count.accuracy_95 is not None
    assert 8 < count.accuracy_95 < 10
    assert mean.accuracy_95 is None
    assert {b.scope: b.left for b in quote.balances} == {
        "dataset": 1000.0,
        f"project:{project}": 5.0,
    }
    assert _spent(db) == {"dataset": 0.0, f"project:{project}": 0.0}


def test_a_release_spends_the_quote_on_every_scope_and_is_audited(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=5)
    quote = dp_quote(project=project, **COUNT_BY_DISTRICT)
    released = dp_release(quote.token)
    assert not released.repeated
    assert released.columns == ["district", "count", "mean(income)"]
    assert [row[0] for row in released.rows] == ["Buk", "Seo", "Nam"]
    assert all(isinstance(row[1], int) for row in released.rows)
    assert _spent(db) == {"dataset": 1.0, f"project:{project}": 1.0}
    debits = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "dp.debit")))
    assert len(debits) == 2
    assert {d.detail["measurement_sha256"] for d in debits} == {released.measurement_sha256}
    assert {d.detail["scope"]: d.detail["left"] for d in debits} == {
        "dataset": 999.0,
        f"project:{project}": 4.0,
    }


def test_the_same_request_again_returns_the_stored_answer_at_no_cost(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=5)
    first = dp_release(dp_quote(project=project, **COUNT_BY_DISTRICT).token)
    again = dp_release(dp_quote(project=project, **COUNT_BY_DISTRICT).token)
    assert again.repeated
    assert again.epsilon_charged == 0
    assert again.rows == first.rows
    assert _spent(db)[f"project:{project}"] == 1.0


def test_a_release_past_the_project_budget_is_refused_and_spends_nothing(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=1.5)
    dp_release(dp_quote(project=project, **COUNT_BY_DISTRICT).token)
    other = {**COUNT_BY_DISTRICT, "group_by": []}
    with pytest.raises(AccessDenied, match=r"has 0.5 left; this release costs 1.0"):
        dp_release(dp_quote(project=project, **other).token)
    assert _spent(db) == {"dataset": 1.0, f"project:{project}": 1.0}


def test_a_quote_token_is_bound_to_its_account(
    budgets: Budgets, dp_quote: Callable[..., Quote], dp_release: Callable[..., Release]
) -> None:
    project = budgets(project=5)
    quote = dp_quote(project=project, **COUNT_BY_DISTRICT)
    with pytest.raises(AccessDenied, match="another account"):
        dp_release(quote.token, who="steward_of_other_org")
    with pytest.raises(ValidationFailed, match="not a quote this hub signed"):
        dp_release(quote.token[:-3] + "abc")


def test_only_approved_keys_and_measured_columns_may_be_asked_for(
    budgets: Budgets, dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=5)
    with pytest.raises(ValidationFailed, match="no approved public key set"):
        dp_quote(project=project, **{**COUNT_BY_DISTRICT, "group_by": ["phone"]})
    with pytest.raises(ValidationFailed, match="no approved bounds"):
        dp_quote(project=project, measures=[{"kind": "sum", "column": "phone"}], epsilon=1)


def test_a_steward_cannot_approve_an_identifier_as_a_key(
    db: Session, city: City, survey_profile: ProfileIn
) -> None:
    keyed = survey_profile.model_copy(update={"keys": {"phone": ["010-5555-0001"]}})
    with pytest.raises(ValidationFailed, match="identifies people"):
        actions.set_profile(
            db, actor=city.cast.actors["steward_of_publisher"], slug=SURVEY, profile=keyed
        )


def test_a_request_cannot_carry_a_filter_or_sql() -> None:
    with pytest.raises(ValidationError):
        DpRequest.model_validate(
            {"dataset": SURVEY, "measures": [{"kind": "count"}], "epsilon": 1, "where": "age<>27"}
        )


def test_the_dp_door_needs_the_projects_agreement(
    city: City, budgets: Budgets, dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=5)
    with pytest.raises(AccessDenied, match="not a member"):
        dp_quote(who="steward_of_other_org", project=project, **COUNT_BY_DISTRICT)
