"""Shared fixtures.

The whole suite runs on SQLite by default and on PostgreSQL when ``BITGOEUL_TEST_DATABASE_URL``
points at a server (CI runs it both ways).  Migrations run once per test session (per xdist
worker); each test then gets a clean copy (SQLite: a copied file; PostgreSQL: truncated tables).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bitgoeul.app import create_app
from bitgoeul.config import Environment, Settings
from bitgoeul.db import upgrade
from bitgoeul.db.base import Base
from bitgoeul.tower import indicators as tower_indicators

PG_URL = os.environ.get("BITGOEUL_TEST_DATABASE_URL", "")
TEST_SECRET = "test-secret-" + "x" * 40


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_admin(sql: str) -> None:
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database: a SQLite file path, or a PostgreSQL URL of a fresh database."""
    if PG_URL:
        # One database per test process, so parallel runs never share tables.
        name = f"bitgoeul_test_{_worker()}_{os.getpid()}"
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{name}"')
        url = PG_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(Settings(data_dir=tmp_path_factory.mktemp("pg"), database_url=url))
        yield url
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    data_dir = tmp_path_factory.mktemp("template")
    upgrade(Settings(data_dir=data_dir))
    yield str(data_dir / "bitgoeul.sqlite3")


def _truncate_all(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_template: str) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # The public tower keeps its counts a minute per database URL; PostgreSQL runs reuse one.
    tower_indicators.forget_public()
    if PG_URL:
        _truncate_all(database_template)
        return Settings(
            environment=Environment.test,
            data_dir=data_dir,
            database_url=database_template,
            secret_key=TEST_SECRET,  # type: ignore[arg-type]
        )
    shutil.copyfile(database_template, data_dir / "bitgoeul.sqlite3")
    return Settings(
        environment=Environment.test,
        data_dir=data_dir,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings, migrate=False)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    with app.state.sessionmaker() as session:
        yield session
