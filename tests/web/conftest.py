"""Fixtures for the page tests: the small city of ``web_city`` in the test's database."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from web_city import City, build_small_city

from bitgoeul.config import Settings


@pytest.fixture
def city(app: FastAPI, settings: Settings, tmp_path: Path) -> City:
    return build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
