"""Revision 0007 (testbed invitations and terms) upgrades a database whose testbed holds a task,
teams and members: everyone keeps their place, with no terms accepted yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

ROWS = [
    "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website, created_at)"
    " VALUES (1, 'kepco', 'KEPCO', '한전', 'agency', '', '', :now),"
    " (2, 'lab', 'Lab', '랩', 'research', '', '', :now)",
    "INSERT INTO users (id, username, display_name, email, password_hash, role,"
    " organization_id, locale, is_active, created_at) VALUES"
    " (1, 'steward', '', '', 'x', 'steward', 1, 'en', :yes, :now),"
    " (2, 'researcher', '', '', 'x', 'member', 2, 'en', :yes, :now),"
    " (3, 'teammate', '', '', 'x', 'member', 2, 'en', :yes, :now)",
    "INSERT INTO datasets (id, slug, title, title_ko, description, description_ko,"
    " publisher_id, sector, keywords, licence, access_level, spatial, update_frequency,"
    " contact_name, contact_email, min_group_size, created_at, updated_at, search_title,"
    " search_document, holdout) VALUES (1, 'demand-test', 'Demand', '', '', '', 1, 'energy',"
    " '[]', 'KOGL-1', 'restricted', '', 'unknown', '', '', 10, :now, :now, 'demand', 'demand',"
    " :yes)",
    "INSERT INTO projects (id, title, purpose, justification, lead_organization_id,"
    " created_at) VALUES (1, 'Testbed: demand', 'service-evaluation', 'runs models', 1, :now)",
    "INSERT INTO testbed_tasks (id, slug, title, title_ko, sector, problem, problem_ko,"
    " organization_id, created_by_id, project_id, metric, test_dataset_id, test_version,"
    " test_rows, id_column, label_column, input_columns, training_datasets,"
    " accepts_predictions, accepts_models, public_fraction, split_seed, daily_limit,"
    " show_logs, opens_at, final_phase_at, deadline, created_at) VALUES (1, 'demand',"
    " 'Demand', '', 'energy', 'Predict it.', '', 1, 1, 1, 'mae', 1, 1, 40, 'id', 'kwh',"
    " '[\"id\"]', '[]', :yes, :yes, 0.5, 'seed', 5, :yes, :now, :later, :latest, :now)",
    "INSERT INTO testbed_teams (id, task_id, name, is_organizer, created_by_id, created_at)"
    " VALUES (1, 1, 'Organizer baseline', :yes, 1, :now), (2, 1, 'Forecasters', :no, 2, :now)",
    "INSERT INTO testbed_team_members (id, task_id, team_id, user_id, created_at) VALUES"
    " (1, 1, 1, 1, :now), (2, 1, 2, 2, :now), (3, 1, 2, 3, :now)",
]


def _fill(settings: Settings) -> None:
    engine = make_engine(settings)
    now = datetime.now(UTC)
    values = {
        "now": now,
        "later": now + timedelta(days=10),
        "latest": now + timedelta(days=20),
        "yes": True,
        "no": False,
    }
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), values)
    engine.dispose()


def _members(settings: Settings) -> list[tuple[object, ...]]:
    engine = make_engine(settings)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT team_id, user_id FROM testbed_team_members ORDER BY id")
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_upgrading_a_testbed_with_teams_keeps_every_member_without_accepted_terms(
    fresh_settings: Settings,
) -> None:
    upgrade(fresh_settings, "0006")
    _fill(fresh_settings)
    upgrade(fresh_settings, "0007")
    engine = make_engine(fresh_settings)
    with engine.connect() as conn:
        members = conn.execute(
            text(
                "SELECT team_id, user_id, terms_sha256, terms_accepted_at"
                " FROM testbed_team_members ORDER BY id"
            )
        ).all()
        terms = conn.execute(text("SELECT slug, terms FROM testbed_tasks")).all()
        conn.execute(
            text(
                "INSERT INTO testbed_invitations (task_id, team_id, user_id, invited_by_id,"
                " status, created_at) VALUES (1, 2, 1, 2, 'pending', :now)"
            ),
            {"now": datetime.now(UTC)},
        )
        conn.commit()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert [tuple(m) for m in members] == [(1, 1, "", None), (2, 2, "", None), (2, 3, "", None)]
    assert [tuple(t) for t in terms] == [("demand", "")]
    assert "testbed_invitations" in tables


def test_downgrading_0007_keeps_the_teams(fresh_settings: Settings) -> None:
    from alembic import command

    upgrade(fresh_settings, "0006")
    _fill(fresh_settings)
    upgrade(fresh_settings, "0007")
    command.downgrade(alembic_config(fresh_settings), "0006")
    assert _members(fresh_settings) == [(1, 1), (2, 2), (2, 3)]
    engine = make_engine(fresh_settings)
    tables = set(inspect(engine).get_table_names())
    columns = {c["name"] for c in inspect(engine).get_columns("testbed_tasks")}
    engine.dispose()
    assert "testbed_invitations" not in tables
    assert "terms" not in columns
