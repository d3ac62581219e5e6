"""The clerical review through the API: the key custodian's steward reads the sample's pairs
side by side through the decision point (audited under every publisher), labels them, and the
run's report then carries precision and recall with intervals; nobody else reads the pairs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from linkage_city import LinkCity, project_body
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.audit.models import AuditEvent
from bitgoeul.linkage.models import LinkageReviewPair


def _run(api: TestClient, city: LinkCity, method: str = "bloom") -> dict[str, Any]:
    created = api.post(
        "/api/v1/linkage/projects", json=project_body(method), headers=city.headers("researcher")
    )
    project_id = created.json()["id"]
    for steward in ("kepco_steward", "hospital_steward"):
        api.post(f"/api/v1/linkage/projects/{project_id}/approve", headers=city.headers(steward))
    response = api.post(
        f"/api/v1/linkage/projects/{project_id}/runs", headers=city.headers("custodian")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _truthful_labels(db: Session, city: LinkCity, run_id: int) -> list[dict[str, Any]]:
    pairs = db.scalars(select(LinkageReviewPair).where(LinkageReviewPair.run_id == run_id))
    return [{"pair": p.id, "match": (p.left_row, p.right_row) in city.truth} for p in pairs.all()]


def test_the_custodian_reviews_pairs_side_by_side_and_the_report_follows(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    run = _run(api, city)
    quality = run["report"]["quality"]
    assert quality["precision"] is None
    assert quality["reviewed"] == 0
    assert quality["sample"] > 0
    shown = api.get(f"/api/v1/linkage/runs/{run['id']}/review", headers=city.headers("custodian"))
    assert shown.status_code == 200, shown.text
    review = shown.json()
    assert review["anchor"] == "kepco-customers"
    assert {p["stratum"] for p in review["pairs"]} <= {
        "linked_near",
        "linked_sure",
        "unlinked_near",
    }
    first = review["pairs"][0]
    assert first["dataset"] == "cnuh-patients"
    assert set(first["anchor"]) == {"name", "birth_date", "phone", "district"}
    assert first["anchor"]["name"]
    assert first["record"]["name"]

    labels = _truthful_labels(db, city, run["id"])
    answer = api.post(
        f"/api/v1/linkage/runs/{run['id']}/review",
        json={"labels": labels},
        headers=city.headers("custodian"),
    )
    assert answer.status_code == 200, answer.text
    quality = answer.json()["report"]["quality"]
    assert quality["source"] == "clerical"
    assert quality["reviewed"] == len(labels)
    low, high = quality["precision_interval"]
    assert low <= quality["precision"] <= high
    assert quality["precision"] >= 0.95
    assert quality["recall"] is not None
    assert quality["recall_interval"][1] <= 1.0
    assert answer.json()["report"]["sources"][1]["clerical"]["complete"]
    again = api.get(f"/api/v1/linkage/runs/{run['id']}", headers=city.headers("researcher"))
    assert again.json()["report"]["quality"] == quality

    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    read = [
        e
        for e in events
        if e.action == "dataset.linkage_decision" and e.detail.get("clerical_review")
    ]
    publishers = {city.kepco.publisher_id, city.hospital.publisher_id}
    assert {e.organization_id for e in read} == publishers
    assert all(e.outcome == "ok" for e in read)
    labelled = [e for e in events if e.action == "linkage.review_labelled"]
    assert publishers <= {e.organization_id for e in labelled}
    assert labelled[0].detail["labelled"] == len(labels)


def test_only_the_custodian_or_an_operator_reads_the_pairs(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    run = _run(api, city)
    seen = {
        who: api.get(f"/api/v1/linkage/runs/{run['id']}/review", headers=city.headers(who))
        for who in ("anonymous", "outsider", "researcher", "kepco_steward", "custodian", "operator")
    }
    assert {who: r.status_code for who, r in seen.items()} == {
        "anonymous": 401,
        "outsider": 404,
        "researcher": 403,
        "kepco_steward": 403,
        "custodian": 200,
        "operator": 200,
    }
    assert "key custodian" in seen["researcher"].json()["detail"]
    assert "김" not in seen["researcher"].text
    refused = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "dataset.linkage_decision", AuditEvent.outcome == "denied"
        )
    ).all()
    assert refused
    assert all(e.detail.get("clerical_review") for e in refused)
    pair = db.scalars(select(LinkageReviewPair)).first()
    assert pair is not None
    labelling = api.post(
        f"/api/v1/linkage/runs/{run['id']}/review",
        json={"labels": [{"pair": pair.id, "match": True}]},
        headers=city.headers("researcher"),
    )
    assert labelling.status_code == 403
    db.expire_all()
    assert db.get(LinkageReviewPair, pair.id).match is None  # type: ignore[union-attr]


def test_a_label_for_a_pair_of_another_run_saves_nothing(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    run = _run(api, city)
    pair = db.scalars(select(LinkageReviewPair)).first()
    assert pair is not None
    response = api.post(
        f"/api/v1/linkage/runs/{run['id']}/review",
        json={"labels": [{"pair": pair.id, "match": False}, {"pair": 999_999, "match": True}]},
        headers=city.headers("custodian"),
    )
    assert response.status_code == 422
    assert "999999" in str(response.json()["detail"])
    db.expire_all()
    assert db.get(LinkageReviewPair, pair.id).match is None  # type: ignore[union-attr]


def test_exact_links_are_reviewed_for_precision_only(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    run = _run(api, city, "exact")
    labels = _truthful_labels(db, city, run["id"])
    strata = {
        p.stratum
        for p in db.scalars(select(LinkageReviewPair).where(LinkageReviewPair.run_id == run["id"]))
    }
    assert strata
    assert all(s.startswith("key:") for s in strata)
    quality = api.post(
        f"/api/v1/linkage/runs/{run['id']}/review",
        json={"labels": labels},
        headers=city.headers("custodian"),
    ).json()["report"]["quality"]
    assert quality["precision"] == 1.0
    assert quality["recall"] is None
    assert "recall is not estimated" in quality["note"]


def test_a_partly_reviewed_sample_keeps_the_models_estimate_for_probabilistic_runs(
    api: TestClient, city: LinkCity, db: Session
) -> None:
    run = _run(api, city, "probabilistic")
    assert run["report"]["quality"]["source"] == "model"
    labels = _truthful_labels(db, city, run["id"])[:3]
    quality = api.post(
        f"/api/v1/linkage/runs/{run['id']}/review",
        json={"labels": labels},
        headers=city.headers("custodian"),
    ).json()["report"]["quality"]
    assert quality["source"] == "model"
    assert quality["reviewed"] == 3
    assert quality["model"]["precision"] == quality["precision"]
