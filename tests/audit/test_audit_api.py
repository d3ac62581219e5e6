"""Who reads which audit entries: operators everything, stewards their data, others their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.config import Settings

PASSWORD = "correct-horse-battery"


@pytest.fixture
def tokens(db: Session, settings: Settings) -> dict[str, str]:
    """Bearer tokens for an operator, two agencies' stewards, a researcher and a citizen."""
    hub = actions.create_organization(db, slug="ai-hub", name="AI Hub", kind="operator")
    kepco = actions.create_organization(db, slug="kepco", name="KEPCO", kind="agency")
    cnuh = actions.create_organization(db, slug="cnuh", name="CNUH", kind="agency")
    labs = actions.create_organization(db, slug="labs", name="Labs", kind="company")
    people = {
        "operator": ("operator", hub.id),
        "kepco": ("steward", kepco.id),
        "cnuh": ("steward", cnuh.id),
        "researcher": ("member", labs.id),
        "citizen": ("citizen", None),
    }
    issued: dict[str, str] = {}
    for username, (role, organization_id) in people.items():
        user = actions.create_user(
            db,
            username=username,
            password=PASSWORD,
            role=role,
            organization_id=organization_id,
            settings=settings,
        )
        _, token = actions.create_api_token(
            db, actor=Actor.for_user(user, via="token"), name="test"
        )
        issued[username] = token
    # Uses of each agency's data, and one event of the researcher's own.
    record_event(
        db,
        action="dataset.downloaded",
        actor_name="researcher",
        resource_type="dataset",
        resource_id="kepco-meters",
        organization_id=kepco.id,
    )
    record_event(
        db,
        action="dataset.previewed",
        actor_name="researcher",
        resource_type="dataset",
        resource_id="cnuh-patients",
        organization_id=cnuh.id,
    )
    db.commit()
    return issued


def _read(client: TestClient, token: str, **params: str) -> list[dict[str, object]]:
    response = client.get(
        "/api/v1/audit", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, object]] = response.json()
    return events


def test_anonymous_callers_cannot_read_the_audit_log(client: TestClient) -> None:
    assert client.get("/api/v1/audit").status_code == 401


def test_operators_read_every_entry(client: TestClient, tokens: dict[str, str]) -> None:
    resources = {e["resource_id"] for e in _read(client, tokens["operator"])}
    assert {"kepco-meters", "cnuh-patients"} <= resources


def test_a_steward_sees_the_uses_of_their_data_and_not_another_agencys(
    client: TestClient, tokens: dict[str, str]
) -> None:
    resources = {e["resource_id"] for e in _read(client, tokens["kepco"])}
    assert "kepco-meters" in resources
    assert "cnuh-patients" not in resources


def test_researchers_and_citizens_see_only_their_own_entries(
    client: TestClient, tokens: dict[str, str]
) -> None:
    for who in ("researcher", "citizen"):
        events = _read(client, tokens[who])
        assert all(e["actor_name"] == who for e in events)
        assert not {"kepco-meters", "cnuh-patients"} & {e["resource_id"] for e in events}


def test_entries_filter_by_dataset_and_action(client: TestClient, tokens: dict[str, str]) -> None:
    by_dataset = _read(client, tokens["operator"], dataset="cnuh-patients")
    assert [e["action"] for e in by_dataset] == ["dataset.previewed"]
    by_action = _read(client, tokens["operator"], action="dataset")
    assert {e["action"] for e in by_action} == {"dataset.downloaded", "dataset.previewed"}


def test_entries_filter_by_who_and_when(client: TestClient, tokens: dict[str, str]) -> None:
    by_actor = _read(client, tokens["operator"], actor="researcher")
    assert by_actor
    assert {e["actor_name"] for e in by_actor} == {"researcher"}
    now = datetime.now(UTC)
    assert _read(client, tokens["operator"], since=(now + timedelta(hours=1)).isoformat()) == []
    assert _read(client, tokens["operator"], until=(now - timedelta(days=1)).isoformat()) == []
    today = _read(client, tokens["operator"], since=(now - timedelta(hours=1)).isoformat())
    assert len(today) == len(_read(client, tokens["operator"]))


def test_entries_come_newest_first(client: TestClient, tokens: dict[str, str]) -> None:
    sequence = [e["seq"] for e in _read(client, tokens["operator"])]
    assert sequence == sorted(sequence, reverse=True)  # type: ignore[type-var]


def test_only_operators_verify_the_chain(client: TestClient, tokens: dict[str, str]) -> None:
    ok = client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {tokens['operator']}"}
    )
    assert ok.status_code == 200
    assert ok.json()["ok"] is True
    refused = client.get(
        "/api/v1/audit/verify", headers={"Authorization": f"Bearer {tokens['kepco']}"}
    )
    assert refused.status_code == 403


def test_a_bad_limit_is_a_clear_422(client: TestClient, tokens: dict[str, str]) -> None:
    response = client.get(
        "/api/v1/audit",
        params={"limit": "many"},
        headers={"Authorization": f"Bearer {tokens['operator']}"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
