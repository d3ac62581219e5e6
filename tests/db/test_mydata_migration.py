"""Revision 0014_mydata upgrades a database that holds datasets, users and projects: they are
kept, the My Data tables start empty and take a source, a donation, a consent with its event
and receipt; downgrading drops only them."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

REVISION = "0014_mydata"
TABLES = {
    "mydata_sources",
    "mydata_identities",
    "mydata_donations",
    "mydata_consents",
    "mydata_consent_events",
    "mydata_receipts",
    "mydata_campaigns",
    "mydata_project_uses",
}


def _previous(settings: Settings) -> str:
    script = ScriptDirectory.from_config(alembic_config(settings))
    down = script.get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


ROWS = [
    "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website, created_at)"
    " VALUES (1, 'gwangju', 'Gwangju', '광주', 'operator', '', '', :now)",
    "INSERT INTO users (id, username, display_name, email, password_hash, role,"
    " organization_id, locale, is_active, created_at) VALUES"
    " (1, 'citizen', '', '', 'x', 'citizen', NULL, 'ko', :yes, :now)",
    "INSERT INTO datasets (id, slug, title, title_ko, description, description_ko, publisher_id,"
    " sector, keywords, licence, access_level, spatial, update_frequency, contact_name,"
    " contact_email, min_group_size, dominance_n, dominance_k, holdout, created_at, updated_at,"
    " search_title, search_document) VALUES (1, 'donated-power', 'Donated power', '', '', '', 1,"
    " 'energy', '[]', 'CC-BY-4.0', 'secure', '', '', '', '', 10, 2, 0.9, :no, :now, :now, '', '')",
    "INSERT INTO projects (id, title, purpose, justification, lead_organization_id,"
    " created_at) VALUES (1, 'Elderly wellbeing', 'public-service-improvement', 'why', 1, :now)",
]

MYDATA_ROWS = [
    "INSERT INTO mydata_sources (id, slug, title, title_ko, description, description_ko,"
    " agency_dataset_id, identity_column, items, item_fields, pool_dataset_id, consent_epoch,"
    " created_at) VALUES (1, 'meter', 'Meter', '계량', '', '', NULL, '', '[\"kwh\"]',"
    ' \'[{"name": "kwh", "type": "integer"}]\', 1, 0, :now)',
    "INSERT INTO mydata_donations (id, user_id, source_id, donor_key, origin, items,"
    " dropped_rows, row_count, object_key, sha256, status, created_at) VALUES"
    " (1, 1, 1, 'dabc', 'upload', '[\"kwh\"]', 0, 3, 'mydata/donations/x.parquet', 'x',"
    " 'active', :now)",
    "INSERT INTO mydata_consents (id, donation_id, user_id, purposes, projects, tier, starts_at,"
    " ends_at, retention_days, status, created_at) VALUES (1, 1, 1,"
    " '[\"public-service-improvement\"]', '[]', 'aggregates', :now, :now, 30, 'active', :now)",
    "INSERT INTO mydata_consent_events (id, consent_id, kind, at, actor_id, text_en, text_ko,"
    " epoch) VALUES (1, 1, 'given', :now, 1, 'I donate', '기부합니다', 1)",
    "INSERT INTO mydata_receipts (id, consent_id, event_id, document, sha256, audit_hash,"
    " created_at) VALUES (1, 1, 1, '{}', 'abc', '', :now)",
]


def _run(settings: Settings, statements: list[str]) -> None:
    engine = make_engine(settings)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"now": datetime.now(UTC), "yes": True, "no": False})
    engine.dispose()


def test_upgrading_keeps_the_data_and_adds_the_mydata_tables(fresh_settings: Settings) -> None:
    upgrade(fresh_settings, _previous(fresh_settings))
    _run(fresh_settings, ROWS)
    upgrade(fresh_settings, REVISION)
    engine = make_engine(fresh_settings)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mydata_consents")).scalar() == 0
        assert conn.execute(text("SELECT title FROM projects")).scalar() == "Elderly wellbeing"
        assert conn.execute(text("SELECT slug FROM datasets")).scalar() == "donated-power"
    engine.dispose()
    _run(fresh_settings, MYDATA_ROWS)
    engine = make_engine(fresh_settings)
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM mydata_consent_events")).scalars().all()
    engine.dispose()
    assert kinds == ["given"]


def test_downgrading_drops_only_the_mydata_tables(fresh_settings: Settings) -> None:
    previous = _previous(fresh_settings)
    upgrade(fresh_settings, previous)
    _run(fresh_settings, ROWS)
    upgrade(fresh_settings, REVISION)
    _run(fresh_settings, MYDATA_ROWS)
    command.downgrade(alembic_config(fresh_settings), previous)
    engine = make_engine(fresh_settings)
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM projects")).scalar()
    engine.dispose()
    assert not TABLES & tables
    assert projects == 1
