"""A city with one benchmark task: KEPCO's next-day demand, scored by MAE.

The hidden test set's labels are distinctive numbers (``LABELS``), so a test can search any
response, page, error or file for them.  Import the fixtures by name into a test module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, _user, api, cast, issue_tokens, make_dataset  # noqa: F401

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import actions
from bitgoeul.testbed.models import TestbedTask
from bitgoeul.testbed.schemas import TaskCreate

TEST_ROWS = 40
TASK = "next-day-demand"
# Each label is unlike any other number in the city: 9xx.4242 kWh.
LABELS = {f"T{i:03d}": round(900 + i + 0.4242, 4) for i in range(TEST_ROWS)}
HEADER = ["id", "household", "prev_kwh", "kwh"]


def _csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_rows() -> list[list[Any]]:
    return [[tid, f"HH{i % 7}", 880 + i, label] for i, (tid, label) in enumerate(LABELS.items())]


test_rows.__test__ = False  # type: ignore[attr-defined]


@dataclass
class Bench:
    cast: Cast
    task: TestbedTask
    training: Dataset
    test_set: Dataset

    def headers(self, who: str) -> dict[str, str]:
        if who in ("rival", "teammate"):
            return {"Authorization": f"Bearer {self.cast.tokens[who]}"}
        return self.cast.headers(who)


def publish(
    db: Session,
    settings: Settings,
    store: ObjectStore,
    steward: Actor,
    tmp: Path,
    *,
    title: str,
    rows: list[list[Any]],
    holdout: bool,
    level: AccessLevel = AccessLevel.open,
    classes: dict[str, str] | None = None,
) -> Dataset:
    dataset = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(title=title, sector=Sector.energy, access_level=level, holdout=holdout),
    )
    source = _csv(tmp / f"{dataset.slug}.csv", rows)
    catalog_actions.publish_version(
        db,
        settings=settings,
        store=store,
        actor=steward,
        slug=dataset.slug,
        source=source,
        filename=source.name,
        column_classes=classes,
    )
    return dataset


def task_create(test_slug: str, training: str, **overrides: Any) -> TaskCreate:
    now = utcnow()
    values: dict[str, Any] = {
        "slug": TASK,
        "title": "Next-day household demand",
        "sector": Sector.energy,
        "problem": "Predict each household's electricity use tomorrow.",
        "metric": "mae",
        "test_dataset": test_slug,
        "label_column": "kwh",
        "training_datasets": [training],
        "daily_limit": 3,
        "opens_at": now - timedelta(days=1),
        "final_phase_at": now + timedelta(days=10),
        "deadline": now + timedelta(days=20),
    }
    values.update(overrides)
    return TaskCreate(**values)


@pytest.fixture
def bench(
    db: Session,
    settings: Settings,
    app: FastAPI,
    cast: Cast,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Bench:
    store: ObjectStore = app.state.store
    steward = cast.actors["steward_of_publisher"]
    training = publish(
        db,
        settings,
        store,
        steward,
        tmp_path,
        title="Daily household demand (training)",
        rows=[[f"R{i:03d}", f"HH{i % 7}", 100 + i, 101 + i] for i in range(60)],
        holdout=False,
    )
    test_set = publish(
        db,
        settings,
        store,
        steward,
        tmp_path,
        title="Daily household demand (hidden test set)",
        rows=test_rows(),
        holdout=True,
    )
    task = actions.create_task(
        db,
        settings=settings,
        store=store,
        actor=steward,
        data=task_create(test_set.slug, training.slug),
    )
    lab = db.get(type(cast.kepco), cast.actors["member"].organization_id)
    extra = {
        "rival": _user(db, "rival-researcher", Role.member, lab),
        "teammate": _user(db, "teammate", Role.member, lab),
    }
    tokens = issue_tokens(db, extra)
    db.commit()
    for who, user in extra.items():
        cast.actors[who] = Actor.for_user(user, via="token")
        cast.tokens[who] = tokens[who]
    return Bench(cast=cast, task=task, training=training, test_set=test_set)


def predictions_csv(values: dict[str, float] | None = None, *, shift: float = 0.0) -> bytes:
    """A predictions file for every test id: the labels themselves plus ``shift``, or ``values``."""
    chosen = values if values is not None else {k: v + shift for k, v in LABELS.items()}
    out = io.StringIO()
    out.write("id,prediction\n")
    for key, value in chosen.items():
        out.write(f"{key},{value}\n")
    return out.getvalue().encode()


SubmitFile = Callable[..., Any]


@pytest.fixture
def submit_file(api: TestClient, bench: Bench) -> SubmitFile:  # noqa: F811
    """POST a predictions file as ``who``."""

    def post(content: bytes, *, who: str = "member", name: str = "predictions.csv") -> Any:
        return api.post(
            f"/api/v1/testbed/tasks/{TASK}/submissions",
            files={"file": (name, content, "text/csv")},
            headers=bench.headers(who),
        )

    return post


def join(
    api: TestClient,  # noqa: F811
    bench: Bench,
    who: str,
    team: str,
    *,
    task: str = TASK,
    accept_terms: bool = False,
) -> Any:
    return api.post(
        f"/api/v1/testbed/tasks/{task}/teams",
        json={"name": team, "accept_terms": accept_terms},
        headers=bench.headers(who),
    )


def invite(api: TestClient, bench: Bench, who: str, team_id: int, username: str) -> Any:  # noqa: F811
    """``who`` invites ``username`` to their team ``team_id``."""
    return api.post(
        f"/api/v1/testbed/tasks/{TASK}/teams/{team_id}/invitations",
        json={"username": username},
        headers=bench.headers(who),
    )


def accept(
    api: TestClient,  # noqa: F811
    bench: Bench,
    who: str,
    invitation_id: int,
    *,
    accept_terms: bool = False,
) -> Any:
    return api.post(
        f"/api/v1/testbed/invitations/{invitation_id}/accept",
        json={"accept_terms": accept_terms},
        headers=bench.headers(who),
    )


def move_to(db: Session, task: TestbedTask, phase: str) -> None:
    """Shift the task's dates so that now falls in ``phase`` (the organizer's calendar)."""
    now = utcnow()
    day = timedelta(days=1)
    opens, final, deadline = {
        "upcoming": (now + day, now + 2 * day, now + 3 * day),
        "development": (now - day, now + day, now + 2 * day),
        "final": (now - 2 * day, now - day, now + day),
        "closed": (now - 3 * day, now - 2 * day, now - day),
    }[phase]
    fresh = db.get(TestbedTask, task.id)
    assert fresh is not None
    fresh.opens_at, fresh.final_phase_at, fresh.deadline = opens, final, deadline
    db.commit()
