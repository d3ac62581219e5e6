"""What the migration tests share: an empty database of the backend under test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bitgoeul.config import Settings

PG_URL = os.environ.get("BITGOEUL_TEST_DATABASE_URL", "")


def _pg_admin(sql: str) -> None:
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


@pytest.fixture
def fresh_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """An empty database of the backend under test: a file under ``tmp_path`` on SQLite, a
    database of its own (named after the test module and the worker's process) on
    PostgreSQL, dropped afterwards."""
    if not PG_URL:
        yield Settings(data_dir=tmp_path)
        return
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"bitgoeul_{module}_{os.getpid()}"[:63]
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield Settings(data_dir=tmp_path, database_url=PG_URL.rsplit("/", 1)[0] + "/" + name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
