"""A steward publishes DP statistics of a secure dataset as a new open dataset, with its ε."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.dp.conftest import Budgets
from tests.query.conftest import City

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.config import Settings
from bitgoeul.dp import actions
from bitgoeul.dp.schemas import Quote, Release
from bitgoeul.errors import AccessDenied

BY_DISTRICT = {"group_by": ["district"], "measures": [{"kind": "count"}], "epsilon": 0.5}


def test_a_steward_publishes_a_release_as_an_open_dataset_recorded_with_its_epsilon(
    app: Any,
    db: Session,
    settings: Settings,
    city: City,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
    client: TestClient,
) -> None:
    budgets(project=1)
    steward = "steward_of_publisher"
    released = dp_release(dp_quote(who=steward, **BY_DISTRICT).token, who=steward)
    created = actions.publish_release(
        db,
        settings=settings,
        store=app.state.store,
        actor=city.cast.actors[steward],
        release_id=released.release_id,
        title="Survey respondents per district (DP)",
    )
    dataset = get_dataset(db, created.slug)
    assert dataset.access_level == AccessLevel.open
    assert "ε 0.5" in dataset.description
    assert released.measurement_sha256 in dataset.description
    assert version_of(db, dataset).row_count == 3
    # Anyone may query the published statistics: they are the noisy ones, exactly.
    answer = client.post(
        "/api/v1/query", json={"sql": f'SELECT * FROM "{created.slug}" ORDER BY district'}
    )
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["rows"]) == sorted(released.rows)
    published = db.scalars(select(AuditEvent).where(AuditEvent.action == "dp.published")).one()
    assert published.detail["epsilon"] == 0.5


def test_only_the_publishers_stewards_publish(
    app: Any,
    db: Session,
    settings: Settings,
    city: City,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=1)
    released = dp_release(dp_quote(project=project, **BY_DISTRICT).token)
    with pytest.raises(AccessDenied):
        actions.publish_release(
            db,
            settings=settings,
            store=app.state.store,
            actor=city.cast.actors["member"],
            release_id=released.release_id,
            title="Mine now",
        )
