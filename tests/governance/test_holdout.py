"""A testbed's hidden test set: no door lets its rows out, whatever the level or agreement."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.governance.test_decision_agreements import ACTORS, CONTEXTS, GOVERNORS, PUBLISHER

from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate, DatasetUpdate
from bitgoeul.governance.decision import DATA_ACTIONS, DataAction, decide

LABELS = ["readmitted-within-30-days", "not-readmitted-by-day-30"]


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("action", sorted(DATA_ACTIONS))
@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize("context", list(CONTEXTS))
def test_only_its_stewards_and_operators_reach_a_hidden_test_set(
    level: AccessLevel, action: DataAction, who: str, context: str
) -> None:
    dataset = Dataset(slug="test-labels", publisher_id=PUBLISHER, access_level=level, holdout=True)
    decision = decide(ACTORS[who], action, dataset, context=CONTEXTS[context])
    # Linkage never reads a hidden test set, not even for its stewards.
    assert decision.allowed == (who in GOVERNORS and action != DataAction.link)
    if not decision.allowed:
        assert "hidden test set" in decision.reason


@pytest.mark.parametrize("who", list(ACTORS))
def test_its_metadata_stays_public(who: str) -> None:
    dataset = Dataset(slug="test-labels", publisher_id=PUBLISHER, holdout=True)
    assert decide(ACTORS[who], DataAction.view_metadata, dataset).allowed


@pytest.fixture
def hidden(app: FastAPI, db: Session, settings: Any, tmp_path: Path) -> Any:
    """An *open* dataset of labels marked as a hidden test set, published from a CSV."""
    from tests.governance.governance_city import build_city

    city = build_city(db)
    steward = city.actors["steward_of_publisher"]
    dataset = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            slug="readmission-test-labels",
            title="Readmission test labels",
            sector=Sector.healthcare,
            access_level=AccessLevel.open,
            holdout=True,
        ),
    )
    source = tmp_path / "labels.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_key", "label"])
        writer.writerows([[f"K{i:03d}", LABELS[i % 2]] for i in range(40)])
    catalog_actions.publish_version(
        db,
        settings=settings,
        store=app.state.store,
        actor=steward,
        slug=dataset.slug,
        source=source,
        filename=source.name,
    )
    return city


def _no_label_in(response: Any) -> None:
    for label in LABELS:
        assert label not in response.text, response.text[:500]


@pytest.mark.parametrize("who", ["anonymous", "citizen", "project_member", "steward_of_other_org"])
def test_no_route_shows_a_participant_the_labels(client: TestClient, hidden: Any, who: str) -> None:
    headers = hidden.headers(who)
    slug = "readmission-test-labels"
    attempts = [
        client.get(f"/api/v1/datasets/{slug}/preview", headers=headers),
        client.get(f"/api/v1/datasets/{slug}/download", params={"format": "csv"}, headers=headers),
        client.post(
            "/api/v1/query",
            json={"sql": f'SELECT label, count(*) FROM "{slug}" GROUP BY label'},
            headers=headers,
        ),
        client.post(
            "/api/v1/query/export", json={"sql": f'SELECT * FROM "{slug}"'}, headers=headers
        ),
        client.get(f"/datasets/{slug}", headers={**headers, "accept": "text/html"}),
        client.get(f"/api/v1/datasets/{slug}", headers=headers),
    ]
    for response in attempts[:4]:
        assert response.status_code in (401, 403), response.text
        _no_label_in(response)
    for response in attempts[4:]:  # the metadata and its page: public, but no rows, no profile
        assert response.status_code == 200
        _no_label_in(response)
    assert attempts[5].json()["holdout"] is True


def test_its_steward_still_reads_it(client: TestClient, hidden: Any) -> None:
    preview = client.get(
        "/api/v1/datasets/readmission-test-labels/preview",
        headers=hidden.headers("steward_of_publisher"),
    )
    assert preview.status_code == 200
    assert LABELS[0] in preview.text


def test_marking_a_dataset_hidden_closes_its_doors_at_once(
    client: TestClient, db: Session, hidden: Any
) -> None:
    slug = "readmission-test-labels"
    catalog_actions.update_dataset(
        db,
        actor=hidden.actors["steward_of_publisher"],
        slug=slug,
        data=DatasetUpdate(holdout=False),
    )
    opened = client.get(f"/api/v1/datasets/{slug}/preview", headers=hidden.headers("citizen"))
    assert opened.status_code == 200
    catalog_actions.update_dataset(
        db,
        actor=hidden.actors["steward_of_publisher"],
        slug=slug,
        data=DatasetUpdate(holdout=True),
    )
    closed = client.get(f"/api/v1/datasets/{slug}/preview", headers=hidden.headers("citizen"))
    assert closed.status_code == 403
