"""The catalog's writes through a browser session carry its CSRF token; API tokens need none.

A page on another site can make a signed-in browser send a request with its session cookie, but
cannot read the session's CSRF token: without it, creating a dataset, editing one and uploading
a version are refused, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, Cast, MakeDataset

from bitgoeul.catalog.models import Dataset, DatasetVersion, IngestRun

METERS = b"meter,kwh\nm1,1.5\nm2,2.5\n"
Write = Callable[[TestClient, dict[str, str]], httpx.Response]


def _create(api: TestClient, headers: dict[str, str]) -> httpx.Response:
    body = {"slug": "feeder-load", "title": "Feeder load", "sector": "energy"}
    return api.post("/api/v1/datasets", json=body, headers=headers)


def _edit(api: TestClient, headers: dict[str, str]) -> httpx.Response:
    return api.patch("/api/v1/datasets/power", json={"title": "Renamed"}, headers=headers)


def _upload(api: TestClient, headers: dict[str, str]) -> httpx.Response:
    return api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.csv", METERS, "text/csv")},
        headers=headers,
    )


WRITES: dict[str, tuple[Write, int]] = {
    "create": (_create, 201),
    "edit": (_edit, 200),
    "upload": (_upload, 201),
}


def _unchanged(db: Session) -> None:
    db.expire_all()
    assert db.scalars(select(Dataset.slug)).all() == ["power"]
    assert db.scalars(select(Dataset.title)).one() == "Hourly household electricity use"
    assert db.scalars(select(DatasetVersion)).all() == []
    assert db.scalars(select(IngestRun)).all() == []


@pytest.fixture(autouse=True)
def power(make_dataset: MakeDataset) -> None:
    make_dataset(slug="power")


@pytest.mark.parametrize("write", WRITES)
def test_a_browser_session_without_the_csrf_token_is_refused_and_changes_nothing(
    api: TestClient, browser: Browser, db: Session, write: str
) -> None:
    browser("steward_of_publisher")
    send, _ = WRITES[write]

    response = send(api, {})

    assert response.status_code == 403, response.text
    assert "CSRF token" in response.json()["detail"]
    _unchanged(db)


@pytest.mark.parametrize("write", WRITES)
def test_a_browser_session_with_a_wrong_csrf_token_is_refused(
    api: TestClient, browser: Browser, db: Session, write: str
) -> None:
    browser("steward_of_publisher")
    send, _ = WRITES[write]

    response = send(api, {"X-CSRF-Token": "forged-token"})

    assert response.status_code == 403
    assert "does not match" in response.json()["detail"]
    _unchanged(db)


@pytest.mark.parametrize("write", WRITES)
def test_a_browser_session_with_its_csrf_token_in_the_header_goes_through(
    api: TestClient, browser: Browser, write: str
) -> None:
    csrf_token = browser("steward_of_publisher")
    send, expected = WRITES[write]

    response = send(api, {"X-CSRF-Token": csrf_token})

    assert response.status_code == expected, response.text


@pytest.mark.parametrize("write", WRITES)
def test_an_api_token_needs_no_csrf_token(api: TestClient, cast: Cast, write: str) -> None:
    send, expected = WRITES[write]

    response = send(api, cast.headers("steward_of_publisher"))

    assert response.status_code == expected, response.text


@pytest.mark.parametrize("write", WRITES)
def test_an_anonymous_write_is_told_to_sign_in(api: TestClient, db: Session, write: str) -> None:
    send, _ = WRITES[write]

    assert send(api, {}).status_code == 401
    _unchanged(db)


def test_an_upload_with_the_token_only_in_a_form_field_is_told_to_use_the_header(
    app: FastAPI, api: TestClient, browser: Browser, db: Session
) -> None:
    # The route reads its body itself, within the upload limit: the token must come first.
    csrf_token = browser("steward_of_publisher")

    response = api.post(
        "/api/v1/datasets/power/versions",
        files={"file": ("meters.csv", METERS, "text/csv")},
        data={"csrf_token": csrf_token},
    )

    assert response.status_code == 403
    assert "'X-CSRF-Token' header" in response.json()["detail"]
    _unchanged(db)
    uploads = Path(app.state.settings.data_dir) / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
