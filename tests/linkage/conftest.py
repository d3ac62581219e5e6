"""Fixtures for the linkage service's tests; the city itself is built in ``linkage_city``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from linkage_city import LinkCity, build_city
from sqlalchemy.orm import Session

from bitgoeul.config import Settings


@pytest.fixture
def city(db: Session, settings: Settings, app: Any, tmp_path: Path) -> LinkCity:
    return build_city(db, settings, app, tmp_path)


@pytest.fixture
def api(client: TestClient) -> TestClient:
    return client
