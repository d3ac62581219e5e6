"""The decision point's DP door (``dp_release``): secure data only, under the same agreement
as an aggregate query, obliging differential privacy; other doors unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.governance.decision import AgreementTerms, DataAction, DecisionContext, decide

PUBLISHER = 1
MEMBER = Actor(11, "researcher", Role.member, 2, "session")
STEWARD = Actor(13, "kepco", Role.steward, PUBLISHER, "session")
TERMS = AgreementTerms(
    agreement_id=3,
    columns=["district", "cost"],
    row_filter="cost >= 0",
    grants_identifiers=False,
    expires_at=datetime.now(UTC) + timedelta(days=30),
)
WITH_AGREEMENT = DecisionContext(7, True, TERMS, {"patient_id": "direct_identifier"})


def _dataset(level: AccessLevel, *, holdout: bool = False) -> Dataset:
    return Dataset(
        slug="diagnoses",
        title="Diagnoses",
        publisher_id=PUBLISHER,
        licence="CC-BY-4.0",
        access_level=level,
        min_group_size=10,
        holdout=holdout,
    )


def test_a_member_with_an_agreement_gets_dp_statistics_of_secure_data() -> None:
    decision = decide(
        MEMBER, DataAction.dp_release, _dataset(AccessLevel.secure), context=WITH_AGREEMENT
    )
    assert decision.allowed
    assert decision.obligations.differential_privacy
    assert decision.obligations.visible_columns == ["district", "cost"]
    assert decision.obligations.row_filter == "cost >= 0"
    assert decision.obligations.agreement_id == 3


@pytest.mark.parametrize(
    ("actor", "context", "reason"),
    [
        (ANONYMOUS, None, "sign in"),
        (MEMBER, None, "name the project"),
        (MEMBER, DecisionContext(7, False, TERMS), "not a member"),
        (MEMBER, DecisionContext(7, True, None), "no active agreement"),
    ],
)
def test_the_dp_door_needs_what_an_aggregate_query_needs(
    actor: Actor, context: DecisionContext | None, reason: str
) -> None:
    decision = decide(actor, DataAction.dp_release, _dataset(AccessLevel.secure), context=context)
    assert not decision.allowed
    assert reason in decision.reason


@pytest.mark.parametrize(
    "level", [AccessLevel.open, AccessLevel.registered, AccessLevel.restricted]
)
def test_the_dp_door_is_for_secure_data_only(level: AccessLevel) -> None:
    decision = decide(STEWARD, DataAction.dp_release, _dataset(level), context=WITH_AGREEMENT)
    assert not decision.allowed
    assert "secure data" in decision.reason


def test_a_hidden_test_set_is_refused_even_to_its_steward() -> None:
    dataset = _dataset(AccessLevel.secure, holdout=True)
    assert not decide(STEWARD, DataAction.dp_release, dataset).allowed


def test_the_steward_is_allowed_and_still_obliged_to_differential_privacy() -> None:
    decision = decide(STEWARD, DataAction.dp_release, _dataset(AccessLevel.secure))
    assert decision.allowed
    assert decision.obligations.differential_privacy


def test_an_aggregate_query_on_secure_data_does_not_become_differentially_private() -> None:
    decision = decide(
        MEMBER, DataAction.query, _dataset(AccessLevel.secure), context=WITH_AGREEMENT
    )
    assert decision.allowed
    assert decision.obligations.aggregate_only
    assert not decision.obligations.differential_privacy
