"""The civic API: the fixed routes, the whole way over HTTP, photos, errors, and who may do what
(every role × every action, each answer checked)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.civic.civic_city import CivicCity
from tests.civic.photo_files import GPS, SERIAL, jpeg_with_exif, png

from bitgoeul.audit.models import AuditEvent
from bitgoeul.civic import actions
from bitgoeul.civic.models import CivicPhoto
from bitgoeul.civic.schemas import PilotIn
from bitgoeul.civic.states import ProblemState
from bitgoeul.db.base import utcnow

NEW = {
    "title": "Bus stop without shelter on Mudeung-ro",
    "description": "Residents wait in the rain at the stop by the market; there is no roof.",
    "district": "Dong-gu",
}


def _post(api: TestClient, civic: CivicCity, who: str = "citizen") -> int:
    response = api.post("/api/v1/civic/problems", json=NEW, headers=civic.headers(who))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_the_way_from_a_problem_to_a_measured_pilot_over_http(
    api: TestClient, civic: CivicCity
) -> None:
    problem_id = _post(api, civic)
    for resident in ("resident0", "resident1", "resident2"):
        response = api.post(
            f"/api/v1/civic/problems/{problem_id}/supports", headers=civic.headers(resident)
        )
        assert response.status_code == 201, response.text
    assert response.json()["state"] == "triage"
    assert response.json()["threshold"] == 3
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/triage",
        json={"decision": "accept", "department": "kepco"},
        headers=civic.headers("operator"),
    )
    assert response.json()["state"] == "accepted", response.text
    proposal = civic.proposal().model_dump(mode="json")
    response = api.put(
        f"/api/v1/civic/problems/{problem_id}/metric",
        json=proposal,
        headers=civic.headers("operator"),
    )
    assert response.json()["challenge"]["proposed_by"] == "operator", response.text
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/metric/agreement",
        headers=civic.headers("steward_of_publisher"),
    )
    assert response.json()["state"] == "metric_agreed", response.text
    spec = civic.challenge_spec(slug="bus-shelter").model_dump(mode="json")
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/challenge",
        json=spec,
        headers=civic.headers("steward_of_publisher"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["challenge"]["task"] == "bus-shelter"
    assert api.get("/api/v1/testbed/tasks/bus-shelter").status_code == 200
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/pilot",
        json={"description": "Shelters with heaters at ten stops."},
        headers=civic.headers("steward_of_publisher"),
    )
    assert response.json()["state"] == "pilot"
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/measurements", headers=civic.headers("operator")
    )
    challenge = response.json()["challenge"]
    assert challenge["current"] == 35.0
    assert challenge["progress"] == pytest.approx(0.5)
    # Anyone reads it, without signing in.
    public = api.get(f"/api/v1/civic/problems/{problem_id}").json()
    assert public["challenge"]["progress"] == pytest.approx(0.5)
    assert [t["to_state"] for t in public["transitions"]][-1] == "pilot"
    counts = api.get("/api/v1/civic/counts").json()
    assert counts["problems"]["pilot"] == 1
    assert counts["challenges"] == 1


def test_the_list_filters_by_state_and_district(api: TestClient, civic: CivicCity) -> None:
    _post(api, civic)
    listing = api.get("/api/v1/civic/problems", params={"state": "open", "district": "Dong-gu"})
    assert listing.json()["total"] == 1
    assert api.get("/api/v1/civic/problems", params={"state": "pilot"}).json()["total"] == 0
    assert api.get("/api/v1/civic/problems", params={"state": "nope"}).status_code == 422


def test_a_problem_with_photos_keeps_none_of_their_metadata(
    api: TestClient, db: Session, civic: CivicCity
) -> None:
    response = api.post(
        "/api/v1/civic/problems",
        data=NEW,
        files=[
            ("photos", ("stop.jpg", jpeg_with_exif(), "image/jpeg")),
            ("photos", ("drain.png", png(metadata=True), "image/png")),
        ],
        headers=civic.headers("citizen"),
    )
    assert response.status_code == 201, response.text
    photos = response.json()["photos"]
    assert [p["media_type"] for p in photos] == ["image/jpeg", "image/png"]
    for photo in photos:
        shown = api.get(photo["url"])
        assert shown.status_code == 200
        assert shown.headers["content-type"] == photo["media_type"]
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert GPS not in shown.content
        assert SERIAL not in shown.content
    for row in db.scalars(select(CivicPhoto)):
        with civic.store.open(row.key) as handle:
            assert GPS not in handle.read()
    post = db.scalars(select(AuditEvent).where(AuditEvent.action == "civic.post")).one()
    assert "APP1" in post.detail["removed_metadata"]


def test_a_bad_photo_refuses_the_problem_and_keeps_nothing(
    api: TestClient, db: Session, civic: CivicCity
) -> None:
    response = api.post(
        "/api/v1/civic/problems",
        data=NEW,
        files=[("photos", ("evil.jpg", b"<svg onload=alert(1)>", "image/jpeg"))],
        headers=civic.headers("citizen"),
    )
    assert response.status_code == 422
    assert "'evil.jpg'" in response.json()["detail"]
    assert api.get("/api/v1/civic/problems").json()["total"] == 0
    civic.settings.civic_photo_max_bytes = 200
    response = api.post(
        "/api/v1/civic/problems",
        data=NEW,
        files=[("photos", ("big.jpg", jpeg_with_exif(), "image/jpeg"))],
        headers=civic.headers("citizen"),
    )
    assert response.status_code == 422
    assert "at most 200" in response.json()["detail"]


def test_an_incomplete_problem_says_which_field(api: TestClient, civic: CivicCity) -> None:
    response = api.post(
        "/api/v1/civic/problems",
        json={**NEW, "district": "Atlantis"},
        headers=civic.headers("citizen"),
    )
    assert response.status_code == 422
    assert "district" in str(response.json()["detail"])
    assert "Dong-gu" in str(response.json()["detail"])


def test_a_decline_without_a_reason_is_refused(api: TestClient, civic: CivicCity) -> None:
    problem_id = _post(api, civic)
    response = api.post(
        f"/api/v1/civic/problems/{problem_id}/triage",
        json={"decision": "decline"},
        headers=civic.headers("operator"),
    )
    assert response.status_code == 422
    assert "reason" in response.text


def test_an_overdue_triage_is_shown_and_escalated_to_operators_once(
    api: TestClient, db: Session, civic: CivicCity
) -> None:
    problem_id = _post(api, civic)
    civic.to_triage(problem_id)
    problem = civic.problem(problem_id)
    problem.triage_due_at = utcnow() - timedelta(days=2)
    db.commit()
    listing = api.get("/api/v1/civic/problems", params={"overdue": "true"}).json()
    assert [p["id"] for p in listing["problems"]] == [problem_id]
    assert listing["problems"][0]["overdue"] is True
    assert api.get("/api/v1/civic/counts").json()["overdue_triage"] == 1
    assert api.post("/api/v1/civic/escalations", headers=civic.headers("member")).status_code == (
        403
    )
    first = api.post("/api/v1/civic/escalations", headers=civic.headers("operator")).json()
    again = api.post("/api/v1/civic/escalations", headers=civic.headers("operator")).json()
    assert first == {"escalated": [problem_id]}
    assert again == {"escalated": []}
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "civic.triage_overdue")).one()
    assert event.actor_name == "bitgoeul"
    notes = api.get("/api/v1/notifications", headers=civic.headers("operator")).json()
    assert any("missed its deadline" in n["text"] for n in notes)


# --- Roles × actions --------------------------------------------------------------------------

WHO = [
    "anonymous",
    "citizen",  # the author
    "resident0",
    "member",
    "steward_of_other_org",
    "steward_of_publisher",  # KEPCO, the department
    "operator",
]


def _prepare(civic: CivicCity, state: ProblemState) -> int:
    """A problem of ``citizen`` brought to ``state`` by the people who may."""
    problem_id = civic.post()
    if state == ProblemState.open:
        return problem_id
    civic.to_triage(problem_id)
    if state == ProblemState.triage:
        return problem_id
    civic.accept(problem_id)
    if state == ProblemState.accepted:
        return problem_id
    actions.propose_metric(
        civic._db,
        actor=civic.actor("steward_of_publisher"),
        problem_id=problem_id,
        proposal=civic.proposal(),
    )
    if state == ProblemState.metric_proposed:
        return problem_id
    actions.agree_metric(civic._db, actor=civic.actor("operator"), problem_id=problem_id)
    if state == ProblemState.metric_agreed:
        return problem_id
    civic.open_challenge(problem_id, slug=f"civic-roles-{problem_id}")
    if state == ProblemState.challenge:
        return problem_id
    actions.start_pilot(
        civic._db,
        actor=civic.actor("steward_of_publisher"),
        problem_id=problem_id,
        pilot=PilotIn(description="Deployed on three streets."),
    )
    if state == ProblemState.pilot:
        return problem_id
    raise AssertionError(state)


# (what, the state it needs, method, path, body): who may is in ALLOWED.
ACTIONS: dict[str, tuple[ProblemState, str, str, dict[str, Any] | None]] = {
    "support": (ProblemState.open, "post", "supports", None),
    "withdraw": (ProblemState.open, "post", "withdrawal", {"reason": "fixed already"}),
    "accept": (
        ProblemState.triage,
        "post",
        "triage",
        {"decision": "accept", "department": "kepco"},
    ),
    "decline": (ProblemState.triage, "post", "triage", {"decision": "decline", "reason": "no"}),
    "decline_accepted": (ProblemState.accepted, "post", "decline", {"reason": "no data"}),
    "propose_metric": (ProblemState.accepted, "put", "metric", None),
    "agree_metric": (ProblemState.metric_proposed, "post", "metric/agreement", None),
    "open_challenge": (ProblemState.metric_agreed, "post", "challenge", None),
    "start_pilot": (ProblemState.challenge, "post", "pilot", {"description": "Deployed widely."}),
    "follow": (ProblemState.open, "put", "follow", None),
    "measure": (ProblemState.pilot, "post", "measurements", None),
    "complete": (ProblemState.pilot, "post", "completion", {"note": "done"}),
}
ALLOWED: dict[str, set[str]] = {
    "support": {"resident0", "member", "steward_of_other_org", "steward_of_publisher", "operator"},
    "withdraw": {"citizen", "operator"},
    "accept": {"operator"},
    "decline": {"operator"},
    "decline_accepted": {"operator", "steward_of_publisher"},
    "propose_metric": {"operator", "steward_of_publisher"},
    # The steward proposed (in _prepare): only the operator side agrees.
    "agree_metric": {"operator"},
    "open_challenge": {"steward_of_publisher"},
    "start_pilot": {"steward_of_publisher"},
    "follow": {
        "citizen",
        "resident0",
        "member",
        "steward_of_other_org",
        "steward_of_publisher",
        "operator",
    },
    "measure": {"operator", "steward_of_publisher"},
    "complete": {"operator", "steward_of_publisher"},
}


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("what", sorted(ACTIONS))
def test_roles_by_actions(api: TestClient, civic: CivicCity, what: str, who: str) -> None:
    state, method, path, body = ACTIONS[what]
    problem_id = _prepare(civic, state)
    if what == "propose_metric":
        body = civic.proposal().model_dump(mode="json")
    if what == "open_challenge":
        body = civic.challenge_spec(slug=f"roles-{problem_id}").model_dump(mode="json")
    response = api.request(
        method.upper(),
        f"/api/v1/civic/problems/{problem_id}/{path}",
        json=body,
        headers=civic.headers(who),
    )
    if who in ALLOWED[what]:
        assert response.status_code in (200, 201), response.text
        return
    expected = 401 if who == "anonymous" else (409 if what == "support" else 403)
    assert response.status_code == expected, response.text
    assert civic.problem(problem_id).state == state
