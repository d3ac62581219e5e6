"""The SDK is tested against the real hub, served by uvicorn on a free loopback port.

Why a real server rather than an in-process transport: the SDK is synchronous (``httpx.Client``)
and httpx's ``ASGITransport`` is async-only; a thread running the very server ``bitgoeul serve``
builds (:func:`bitgoeul.cli.server.make_server`) also exercises real multipart uploads and
streamed downloads over HTTP, the way a researcher's script meets the hub.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.cli.server import make_server
from bitgoeul.client import Client
from bitgoeul.config import Settings
from live_hub import serving


@pytest.fixture
def hub_url(settings: Settings) -> Iterator[str]:
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=True)
    with serving(server) as url:
        yield url


@pytest.fixture
def hub(hub_url: str) -> Iterator[Client]:
    with Client(hub_url) as client:
        yield client


PASSWORD = "correct-horse-battery"
METER_SCHEMA = {
    "fields": [
        {"name": "meter_id", "type": "string", "constraints": {"required": True}},
        {"name": "day", "type": "date"},
        {"name": "kwh", "type": "number", "constraints": {"minimum": 0}},
    ]
}


@pytest.fixture
def people(db: Session, settings: Settings) -> None:
    """A KEPCO steward and a researcher, both with the password ``PASSWORD``."""
    kepco = actions.create_organization(db, slug="kepco", name="KEPCO", kind="agency")
    actions.create_user(
        db,
        username="kepco",
        password=PASSWORD,
        role="steward",
        organization_id=kepco.id,
        settings=settings,
    )
    actions.create_user(
        db, username="researcher", password=PASSWORD, role="member", settings=settings
    )


@pytest.fixture
def steward(hub_url: str, people: None) -> Iterator[Client]:
    with Client(hub_url) as client:
        client.login("kepco", PASSWORD)
        yield client


@pytest.fixture
def researcher(hub_url: str, people: None) -> Iterator[Client]:
    with Client(hub_url) as client:
        client.login("researcher", PASSWORD)
        yield client


@pytest.fixture
def meter_csv(tmp_path: Path) -> Path:
    path = tmp_path / "meters.csv"
    path.write_text(
        "meter_id,day,kwh\nM-001,2026-01-01,12.5\nM-002,2026-01-01,8.25\nM-003,2026-01-02,0\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def published(steward: Client, meter_csv: Path) -> str:
    """An open dataset with one version, published by the KEPCO steward through the SDK."""
    dataset = steward.create_dataset(
        slug="household-electricity",
        title="Household electricity use",
        title_ko="가정용 전력 사용량",
        sector="energy",
        access_level="open",
        keywords=["electricity", "전력"],
    )
    steward.upload(dataset.slug, meter_csv, schema=METER_SCHEMA, note="first")
    return dataset.slug
