"""Revision 0009_project_choices upgrades a database that holds projects: they are kept, nobody
has chosen one yet, and a choice can be remembered (and is gone with its project)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

REVISION = "0009_project_choices"


def _previous(settings: Settings) -> str:
    """The revision this one follows (whatever the chain holds before it)."""
    script = ScriptDirectory.from_config(alembic_config(settings))
    down = script.get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


ROWS = [
    "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website, created_at)"
    " VALUES (1, 'lab', 'Lab', '랩', 'research', '', '', :now)",
    "INSERT INTO users (id, username, display_name, email, password_hash, role,"
    " organization_id, locale, is_active, created_at) VALUES"
    " (1, 'researcher', '', '', 'x', 'member', 1, 'en', :yes, :now)",
    "INSERT INTO projects (id, title, purpose, justification, lead_organization_id,"
    " created_at) VALUES (1, 'Elderly wellbeing', 'public-service-improvement', 'why', 1, :now),"
    " (2, 'Clinic load', 'health-research', 'why', 1, :now)",
    "INSERT INTO project_members (id, project_id, user_id, role, added_at) VALUES"
    " (1, 1, 1, 'lead', :now), (2, 2, 1, 'lead', :now)",
]


def _fill(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"now": datetime.now(UTC), "yes": True})
    engine.dispose()


def test_upgrading_keeps_the_projects_and_remembers_choices(fresh_settings: Settings) -> None:
    upgrade(fresh_settings, _previous(fresh_settings))
    _fill(fresh_settings)
    upgrade(fresh_settings, REVISION)
    engine = make_engine(fresh_settings)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM project_choices")).scalar() == 0
        conn.execute(
            text(
                "INSERT INTO project_choices (user_id, project_id, chosen_at) VALUES (1, 2, :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    with engine.begin() as conn:
        titles = conn.execute(text("SELECT title FROM projects ORDER BY id")).scalars().all()
        chosen = conn.execute(text("SELECT project_id FROM project_choices")).scalars().all()
        conn.execute(text("DELETE FROM project_members WHERE project_id = 2"))
        conn.execute(text("DELETE FROM projects WHERE id = 2"))
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM project_choices")).scalar()
    engine.dispose()
    assert titles == ["Elderly wellbeing", "Clinic load"]
    assert chosen == [2]
    assert left == 0  # the choice went with its project


def test_downgrading_drops_only_the_choices(fresh_settings: Settings) -> None:
    previous = _previous(fresh_settings)
    upgrade(fresh_settings, previous)
    _fill(fresh_settings)
    upgrade(fresh_settings, REVISION)
    command.downgrade(alembic_config(fresh_settings), previous)
    engine = make_engine(fresh_settings)
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        projects = conn.execute(text("SELECT count(*) FROM projects")).scalar()
    engine.dispose()
    assert "project_choices" not in tables
    assert projects == 2
