"""The decision point as a matrix of who × what × access level."""

from __future__ import annotations

import pytest

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.governance.decision import DataAction, decide

PUBLISHER = 1
OTHER_ORG = 2

ACTORS = {
    "anonymous": ANONYMOUS,
    "citizen": Actor(10, "citizen", Role.citizen, None, "session"),
    "member": Actor(11, "researcher", Role.member, OTHER_ORG, "session"),
    "steward_of_other_org": Actor(12, "kpx", Role.steward, OTHER_ORG, "session"),
    "steward_of_publisher": Actor(13, "kepco", Role.steward, PUBLISHER, "session"),
    "operator": Actor(14, "operator", Role.operator, 99, "session"),
}

ROW_LEVEL = [DataAction.preview, DataAction.download, DataAction.query]

# Expected answers for row-level actions: who may see rows at each level.
ROW_ACCESS = {
    AccessLevel.open: set(ACTORS),
    AccessLevel.registered: set(ACTORS) - {"anonymous"},
    AccessLevel.restricted: {"steward_of_publisher", "operator"},
    AccessLevel.secure: {"steward_of_publisher", "operator"},
}


def _dataset(level: AccessLevel) -> Dataset:
    return Dataset(slug="d", title="d", publisher_id=PUBLISHER, access_level=level)


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", list(ACTORS))
def test_everyone_may_read_catalog_metadata(who: str, level: AccessLevel) -> None:
    assert decide(ACTORS[who], DataAction.view_metadata, _dataset(level)).allowed


@pytest.mark.parametrize("action", ROW_LEVEL)
@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("who", list(ACTORS))
def test_row_level_access_follows_the_access_level(
    who: str, level: AccessLevel, action: DataAction
) -> None:
    decision = decide(ACTORS[who], action, _dataset(level))
    assert decision.allowed is (who in ROW_ACCESS[level])
    assert decision.reason


@pytest.mark.parametrize("action", [DataAction.publish_version, DataAction.edit_metadata])
@pytest.mark.parametrize("who", list(ACTORS))
def test_only_the_publishers_stewards_and_operators_change_a_dataset(
    who: str, action: DataAction
) -> None:
    decision = decide(ACTORS[who], action, _dataset(AccessLevel.open))
    assert decision.allowed is (who in {"steward_of_publisher", "operator"})


def test_a_refusal_says_what_to_do() -> None:
    decision = decide(ANONYMOUS, DataAction.preview, _dataset(AccessLevel.registered))
    assert "sign in" in decision.reason
