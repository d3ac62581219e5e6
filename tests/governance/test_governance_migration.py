"""Revision 0002 (governance) upgrades a database that already holds data at 0001."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade

PG_URL = os.environ.get("BITGOEUL_TEST_DATABASE_URL", "")


def _pg_admin(sql: str) -> None:
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


@pytest.fixture
def fresh_settings(tmp_path: Path) -> Iterator[Settings]:
    """An empty database of the backend under test."""
    if not PG_URL:
        yield Settings(data_dir=tmp_path)
        return
    name = f"bitgoeul_migrate_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield Settings(data_dir=tmp_path, database_url=PG_URL.rsplit("/", 1)[0] + "/" + name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrading_a_database_with_datasets_keeps_them_and_adds_governance(
    fresh_settings: Settings,
) -> None:
    upgrade(fresh_settings, "0001")
    engine = make_engine(fresh_settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website,"
                " created_at) VALUES (1, 'kepco', 'KEPCO', '한전', 'agency', '', '', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, email, password_hash, role,"
                " organization_id, locale, is_active, created_at) VALUES (1, 'steward', '', '',"
                " 'x', 'steward', 1, 'en', :yes, :now)"
            ),
            {"now": now, "yes": True},
        )
        conn.execute(
            text(
                "INSERT INTO datasets (id, slug, title, title_ko, description, description_ko,"
                " publisher_id, sector, keywords, licence, access_level, spatial,"
                " update_frequency, contact_name, contact_email, min_group_size, created_at,"
                " updated_at, search_title, search_document) VALUES (1, 'power', 'Power', '',"
                " '', '', 1, 'energy', '[]', 'KOGL-1', 'secure', '', 'unknown', '', '', 15,"
                " :now, :now, 'power', 'power')"
            ),
            {"now": now},
        )
    upgrade(fresh_settings)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT slug, min_group_size, dominance_n, dominance_k FROM datasets")
        ).one()
        users = conn.execute(text("SELECT username FROM users")).scalars().all()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert tuple(row) == ("power", 15, 2, pytest.approx(0.9))
    assert users == ["steward"]
    assert {"projects", "project_members", "access_requests", "agreements", "notifications"} <= (
        tables
    )
