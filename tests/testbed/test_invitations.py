"""Teams grow by invitation: the invitee is told, joins only by accepting, and can decline.

A pending invitation binds no one: the invitee may open or join another team, so nobody can be
kept out of a task by being invited, however many people a team invites.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.testbed.bench_city import TASK, Bench, accept, invite, join

from bitgoeul.governance.models import Notification
from bitgoeul.models import AuditEvent
from bitgoeul.testbed.actions import teams

EVERYONE = ["anonymous", "citizen", "member", "rival", "steward_of_publisher", "operator"]


def _invited(api: TestClient, bench: Bench, username: str = "teammate") -> dict[str, Any]:
    """The member opens a team and invites ``username``; the invitation."""
    team = join(api, bench, "member", "Forecasters").json()
    sent = invite(api, bench, "member", team["id"], username)
    assert sent.status_code == 201, sent.text
    body: dict[str, Any] = sent.json()
    return body


def _team(api: TestClient, bench: Bench, who: str) -> Any:
    return api.get(f"/api/v1/testbed/tasks/{TASK}/team", headers=bench.headers(who)).json()


def _decline(api: TestClient, bench: Bench, who: str, invitation_id: int) -> Any:
    return api.post(
        f"/api/v1/testbed/invitations/{invitation_id}/decline", headers=bench.headers(who)
    )


def test_an_invitee_is_told_and_is_not_a_member_until_they_accept(
    api: TestClient, db: Session, bench: Bench
) -> None:
    invitation = _invited(api, bench)
    assert invitation["status"] == "pending"
    assert invitation["invitee"] == "teammate"
    assert invitation["invited_by"] == "researcher"
    assert _team(api, bench, "teammate") is None
    teams = api.get(f"/api/v1/testbed/tasks/{TASK}/teams").json()
    assert [t["members"] for t in teams if t["name"] == "Forecasters"] == [["researcher"]]
    note = db.scalars(select(Notification).where(Notification.kind == "testbed.invitation")).one()
    assert note.user_id == bench.cast.actors["teammate"].user_id
    assert note.link == "/testbed/invitations"  # a page, not the API's JSON
    assert "Forecasters" in note.text
    mine = api.get("/api/v1/testbed/invitations", headers=bench.headers("teammate")).json()
    assert [(i["id"], i["status"]) for i in mine] == [(invitation["id"], "pending")]


def test_accepting_makes_the_invitee_a_member_and_tells_the_inviter(
    api: TestClient, db: Session, bench: Bench
) -> None:
    invitation = _invited(api, bench)
    joined = accept(api, bench, "teammate", invitation["id"])
    assert joined.status_code == 200, joined.text
    assert joined.json()["members"] == ["researcher", "teammate"]
    assert _team(api, bench, "teammate")["name"] == "Forecasters"
    mine = api.get("/api/v1/testbed/invitations", headers=bench.headers("teammate")).json()
    assert mine[0]["status"] == "accepted"
    told = db.scalars(
        select(Notification).where(
            Notification.user_id == bench.cast.actors["member"].user_id,
            Notification.kind == "testbed.team",
        )
    ).one()
    assert "teammate accepted" in told.text
    events = {e.action for e in db.scalars(select(AuditEvent))}
    assert {"testbed.invitation_sent", "testbed.invitation_accepted"} <= events
    again = accept(api, bench, "teammate", invitation["id"])
    assert again.status_code == 409


def test_declining_keeps_the_invitee_off_the_team_and_is_not_asked_again(
    api: TestClient, bench: Bench
) -> None:
    invitation = _invited(api, bench)
    declined = _decline(api, bench, "teammate", invitation["id"])
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert _team(api, bench, "teammate") is None
    team_id = invitation["team_id"]
    again = invite(api, bench, "member", team_id, "teammate")
    assert again.status_code == 409
    assert "declined" in again.json()["detail"]
    assert accept(api, bench, "teammate", invitation["id"]).status_code == 409


@pytest.mark.parametrize("answer", ["accept", "decline"])
@pytest.mark.parametrize("who", [*EVERYONE, "teammate"])
def test_only_the_invitee_answers_an_invitation(
    api: TestClient, bench: Bench, who: str, answer: str
) -> None:
    invitation = _invited(api, bench)
    response = api.post(
        f"/api/v1/testbed/invitations/{invitation['id']}/{answer}",
        json={} if answer == "accept" else None,
        headers=bench.headers(who),
    )
    expected = {"anonymous": 401, "teammate": 200}.get(who, 404)
    assert response.status_code == expected, response.text
    status = (
        {"accept": "accepted", "decline": "declined"}[answer] if who == "teammate" else "pending"
    )
    mine = api.get("/api/v1/testbed/invitations", headers=bench.headers("teammate")).json()
    assert mine[0]["status"] == status


def test_a_pending_invitation_does_not_stop_the_invitee_opening_a_team(
    api: TestClient, bench: Bench
) -> None:
    invitation = _invited(api, bench)
    own = join(api, bench, "teammate", "Own team")
    assert own.status_code == 201, own.text
    mine = api.get("/api/v1/testbed/invitations", headers=bench.headers("teammate")).json()
    assert mine[0]["status"] == "lapsed"
    late = accept(api, bench, "teammate", invitation["id"])
    assert late.status_code == 409
    assert _team(api, bench, "teammate")["name"] == "Own team"


def test_inviting_everyone_locks_no_one_out(
    api: TestClient, bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(teams, "MAX_PENDING_INVITATIONS", 2)
    team = join(api, bench, "member", "Forecasters").json()
    for username in ("teammate", "rival-researcher"):
        assert invite(api, bench, "member", team["id"], username).status_code == 201
    capped = invite(api, bench, "member", team["id"], "minji")
    assert capped.status_code == 409
    assert "2 invitations waiting" in capped.json()["detail"]
    for who, name in (("teammate", "Mates"), ("rival", "Rivals")):
        assert join(api, bench, who, name).status_code == 201


def test_a_second_teams_invitation_is_accepted_while_the_first_lapses(
    api: TestClient, bench: Bench
) -> None:
    first = _invited(api, bench, "minji")
    rivals = join(api, bench, "rival", "Rivals").json()
    second = invite(api, bench, "rival", rivals["id"], "minji").json()
    assert accept(api, bench, "citizen", second["id"]).status_code == 200
    mine = {
        i["id"]: i["status"]
        for i in api.get("/api/v1/testbed/invitations", headers=bench.headers("citizen")).json()
    }
    assert mine == {first["id"]: "lapsed", second["id"]: "accepted"}


@pytest.mark.parametrize("who", ["rival", "citizen", "steward_of_publisher", "operator"])
def test_only_the_teams_members_invite_to_it(api: TestClient, bench: Bench, who: str) -> None:
    team = join(api, bench, "member", "Forecasters").json()
    refused = invite(api, bench, who, team["id"], "teammate")
    assert refused.status_code == 403


def test_label_holders_and_members_of_other_teams_are_not_invited(
    api: TestClient, bench: Bench
) -> None:
    team = join(api, bench, "member", "Forecasters").json()
    holder = invite(api, bench, "member", team["id"], "kepco-steward")
    assert holder.status_code == 409
    assert "hidden labels" in holder.json()["detail"]
    join(api, bench, "rival", "Rivals")
    taken = invite(api, bench, "member", team["id"], "rival-researcher")
    assert taken.status_code == 409
    assert "already on a team" in taken.json()["detail"]
    assert invite(api, bench, "member", team["id"], "nobody").status_code == 404


def test_a_teams_invitations_are_for_its_members_and_the_organizer(
    api: TestClient, bench: Bench
) -> None:
    invitation = _invited(api, bench)
    path = f"/api/v1/testbed/tasks/{TASK}/teams/{invitation['team_id']}/invitations"
    for who, status in (("member", 200), ("steward_of_publisher", 200), ("rival", 403)):
        response = api.get(path, headers=bench.headers(who))
        assert response.status_code == status, (who, response.text)
    listed = api.get(path, headers=bench.headers("member")).json()
    assert [(i["invitee"], i["status"]) for i in listed] == [("teammate", "pending")]


def test_accepting_an_invitation_to_a_task_with_terms_needs_accepting_them(
    api: TestClient, bench: Bench
) -> None:
    changed = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"terms": "Use the inputs for this task only."},
        headers=bench.headers("steward_of_publisher"),
    )
    assert changed.status_code == 200
    team = join(api, bench, "member", "Forecasters", accept_terms=True).json()
    invitation = invite(api, bench, "member", team["id"], "teammate").json()
    refused = accept(api, bench, "teammate", invitation["id"])
    assert refused.status_code == 422
    assert "has terms" in refused.json()["detail"]
    joined = accept(api, bench, "teammate", invitation["id"], accept_terms=True)
    assert joined.status_code == 200
    assert joined.json()["terms_accepted"] is True


def test_no_task_takes_the_invitations_pages_name(api: TestClient, bench: Bench) -> None:
    body = {
        "slug": "invitations",
        "title": "x",
        "sector": "energy",
        "problem": "x",
        "metric": "mae",
        "test_dataset": bench.test_set.slug,
        "label_column": "kwh",
        "opens_at": "2030-01-01T00:00:00+09:00",
        "final_phase_at": "2030-02-01T00:00:00+09:00",
        "deadline": "2030-03-01T00:00:00+09:00",
    }
    refused = api.post(
        "/api/v1/testbed/tasks", json=body, headers=bench.headers("steward_of_publisher")
    )
    assert refused.status_code == 422
    assert "names a page of the testbed" in refused.text
