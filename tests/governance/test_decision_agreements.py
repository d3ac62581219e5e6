"""The decision point with projects and agreements: roles × actions × levels × membership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.governance.decision import (
    DATA_ACTIONS,
    AgreementTerms,
    DataAction,
    DecisionContext,
    Obligations,
    decide,
)

PUBLISHER = 1
OTHER_ORG = 2
PROJECT = 7

ACTORS = {
    "anonymous": ANONYMOUS,
    "citizen": Actor(10, "citizen", Role.citizen, None, "session"),
    "member": Actor(11, "researcher", Role.member, OTHER_ORG, "session"),
    "steward_of_other_org": Actor(12, "kpx", Role.steward, OTHER_ORG, "session"),
    "steward_of_publisher": Actor(13, "kepco", Role.steward, PUBLISHER, "session"),
    "operator": Actor(14, "operator", Role.operator, 99, "session"),
}
CLASSES = {
    "resident_id": "direct_identifier",
    "age_band": "quasi_identifier",
    "diagnosis": "sensitive",
    "kwh": "other",
}
GOVERNORS = {"steward_of_publisher", "operator"}
SIGNED_IN = set(ACTORS) - {"anonymous"}


def _terms(**overrides: object) -> AgreementTerms:
    values: dict[str, object] = {
        "agreement_id": 3,
        "columns": None,
        "row_filter": None,
        "grants_identifiers": False,
        "expires_at": datetime.now(UTC) + timedelta(days=30),
    }
    values.update(overrides)
    return AgreementTerms(**values)  # type: ignore[arg-type]


CONTEXTS = {
    "no_context": None,
    "non_member": DecisionContext(PROJECT, False, _terms(), CLASSES),
    "member_without_agreement": DecisionContext(PROJECT, True, None, CLASSES),
    "member_with_agreement": DecisionContext(PROJECT, True, _terms(), CLASSES),
}


# ``link`` has a rule of its own (an approved linkage project, run by the key custodian),
# tested in tests/linkage/test_linkage_decision.py.
ROW_ACTIONS = sorted(DATA_ACTIONS - {DataAction.link})


def _dataset(level: AccessLevel) -> Dataset:
    return Dataset(
        slug="d",
        title="d",
        publisher_id=PUBLISHER,
        access_level=level,
        min_group_size=12,
        dominance_n=2,
        dominance_k=0.9,
    )


def _expected(who: str, level: AccessLevel, action: DataAction, ctx: str) -> bool:
    if who in GOVERNORS:
        return True
    if level == AccessLevel.open:
        return True
    if level == AccessLevel.registered:
        return who in SIGNED_IN
    if level == AccessLevel.secure and action in {DataAction.preview, DataAction.download}:
        return False
    return who in SIGNED_IN and ctx == "member_with_agreement"


@pytest.mark.parametrize("ctx", list(CONTEXTS))
@pytest.mark.parametrize("action", ROW_ACTIONS)
@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", list(ACTORS))
def test_data_actions_follow_level_membership_and_agreement(
    who: str, level: AccessLevel, action: DataAction, ctx: str
) -> None:
    decision = decide(ACTORS[who], action, _dataset(level), context=CONTEXTS[ctx])
    assert decision.allowed is _expected(who, level, action, ctx)
    assert decision.reason


@pytest.mark.parametrize("action", ROW_ACTIONS)
def test_open_data_obliges_nothing(action: DataAction) -> None:
    decision = decide(ANONYMOUS, action, _dataset(AccessLevel.open))
    assert decision.obligations == Obligations()


def test_restricted_member_gets_agreement_columns_filter_and_pseudonyms() -> None:
    terms = _terms(columns=["resident_id", "kwh"], row_filter="kwh > 0")
    context = DecisionContext(PROJECT, True, terms, CLASSES)
    decision = decide(
        ACTORS["member"], DataAction.query, _dataset(AccessLevel.restricted), context=context
    )
    ob = decision.obligations
    assert ob.visible_columns == ["resident_id", "kwh"]
    assert ob.pseudonymise_columns == ["resident_id"]
    assert ob.pseudonym_scope == f"project:{PROJECT}"
    assert ob.row_filter == "kwh > 0"
    assert ob.agreement_id == 3
    assert not ob.aggregate_only


def test_restricted_identifiers_stay_in_clear_only_when_the_agreement_grants_them() -> None:
    context = DecisionContext(PROJECT, True, _terms(grants_identifiers=True), CLASSES)
    decision = decide(
        ACTORS["member"], DataAction.preview, _dataset(AccessLevel.restricted), context=context
    )
    assert decision.allowed
    assert decision.obligations.pseudonymise_columns == []


def test_identifiers_outside_the_visible_columns_need_no_pseudonym() -> None:
    context = DecisionContext(PROJECT, True, _terms(columns=["kwh"]), CLASSES)
    decision = decide(
        ACTORS["member"], DataAction.query, _dataset(AccessLevel.restricted), context=context
    )
    assert decision.obligations.pseudonymise_columns == []


def test_secure_queries_are_aggregate_only_with_the_datasets_thresholds() -> None:
    context = CONTEXTS["member_with_agreement"]
    decision = decide(
        ACTORS["member"], DataAction.query, _dataset(AccessLevel.secure), context=context
    )
    ob = decision.obligations
    assert decision.allowed
    assert ob.aggregate_only
    assert ob.min_group_size == 12
    assert (ob.dominance_n, ob.dominance_k) == (2, 0.9)
    assert sorted(ob.forbidden_output_columns) == ["diagnosis", "resident_id"]


@pytest.mark.parametrize("action", [DataAction.preview, DataAction.download])
def test_secure_data_is_never_previewed_or_downloaded_even_under_an_agreement(
    action: DataAction,
) -> None:
    decision = decide(
        ACTORS["member"],
        action,
        _dataset(AccessLevel.secure),
        context=CONTEXTS["member_with_agreement"],
    )
    assert not decision.allowed
    assert "aggregate" in decision.reason


@pytest.mark.parametrize("level", [AccessLevel.restricted, AccessLevel.secure])
def test_an_expired_agreement_denies_at_once(level: AccessLevel) -> None:
    expired = _terms(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    context = DecisionContext(PROJECT, True, expired, CLASSES)
    decision = decide(ACTORS["member"], DataAction.query, _dataset(level), context=context)
    assert not decision.allowed
    assert "expired" in decision.reason


def test_a_refusal_names_the_missing_project() -> None:
    decision = decide(ACTORS["member"], DataAction.query, _dataset(AccessLevel.restricted))
    assert "project" in decision.reason
