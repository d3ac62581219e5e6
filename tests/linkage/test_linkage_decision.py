"""The decision point on ``link``: only inside an approved linkage project, by its custodian."""

from __future__ import annotations

import pytest

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.governance.decision import DataAction, DecisionContext, LinkageTerms, decide

PUBLISHER, CUSTODIAN = 1, 5
ACTORS = {
    "anonymous": ANONYMOUS,
    "researcher": Actor(11, "researcher", Role.member, 2, "session"),
    "steward_of_publisher": Actor(13, "kepco", Role.steward, PUBLISHER, "session"),
    "steward_of_custodian": Actor(15, "kisa", Role.steward, CUSTODIAN, "session"),
    "operator": Actor(14, "operator", Role.operator, 99, "session"),
}


def _dataset(level: AccessLevel, *, holdout: bool = False) -> Dataset:
    return Dataset(slug="d", title="d", publisher_id=PUBLISHER, access_level=level, holdout=holdout)


def _context(*, approved: bool) -> DecisionContext:
    return DecisionContext(
        linkage=LinkageTerms(
            linkage_project_id=7,
            approved_by_publisher=approved,
            custodian_id=CUSTODIAN,
            columns=["name", "birth", "kwh"],
        )
    )


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", list(ACTORS))
def test_only_the_custodian_or_an_operator_links_and_only_once_approved(
    who: str, level: AccessLevel
) -> None:
    approved = decide(
        ACTORS[who], DataAction.link, _dataset(level), context=_context(approved=True)
    )
    assert approved.allowed == (who in {"steward_of_custodian", "operator"})
    pending = decide(
        ACTORS[who], DataAction.link, _dataset(level), context=_context(approved=False)
    )
    assert not pending.allowed
    assert "has not approved linkage project 7" in pending.reason


@pytest.mark.parametrize("who", list(ACTORS))
def test_nothing_is_linked_outside_a_linkage_project(who: str) -> None:
    decision = decide(ACTORS[who], DataAction.link, _dataset(AccessLevel.open))
    assert not decision.allowed
    assert "only in a linkage project" in decision.reason


def test_a_hidden_test_set_is_never_linked() -> None:
    dataset = _dataset(AccessLevel.restricted, holdout=True)
    decision = decide(ACTORS["operator"], DataAction.link, dataset, context=_context(approved=True))
    assert not decision.allowed


def test_the_run_reads_only_the_named_columns() -> None:
    decision = decide(
        ACTORS["steward_of_custodian"],
        DataAction.link,
        _dataset(AccessLevel.secure),
        context=_context(approved=True),
    )
    assert decision.obligations.visible_columns == ["name", "birth", "kwh"]
