"""Revision 0016_tower_programmes upgrades a database that holds organizations, users and
credits: they are kept, the tower can keep a snapshot at once, a startup's application and an
academy enrolment can be written, and a downgrade drops only the new tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

REVISION = "0016_tower_programmes"
NEW_TABLES = {
    "tower_snapshots",
    "programme_applications",
    "academy_courses",
    "academy_cohorts",
    "academy_labs",
    "academy_enrolments",
    "academy_lab_results",
}


def _previous(settings: Settings) -> str:
    script = ScriptDirectory.from_config(alembic_config(settings))
    down = script.get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


ROWS = [
    "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website, created_at)"
    " VALUES (1, 'vision-lab', 'Vision Lab', '비전랩', 'company', '', '', :now)",
    "INSERT INTO users (id, username, display_name, email, password_hash, role,"
    " organization_id, locale, is_active, created_at) VALUES"
    " (1, 'founder', '', '', 'x', 'member', 1, 'en', :yes, :now)",
    "INSERT INTO credit_accounts (organization_id, cpu_hours, gpu_hours, updated_at)"
    " VALUES (1, 12.5, 1, :now)",
]


def _fill(settings: Settings) -> None:
    engine = make_engine(settings)
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"now": datetime.now(UTC), "yes": True})
    engine.dispose()


def test_upgrading_keeps_the_data_and_the_new_tables_take_rows(fresh_settings: Settings) -> None:
    upgrade(fresh_settings, _previous(fresh_settings))
    _fill(fresh_settings)
    upgrade(fresh_settings, REVISION)
    engine = make_engine(fresh_settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO tower_snapshots (day, "values", bases, taken_at)'
                """ VALUES (:day, '{"datasets": 0}', '{}', :now)"""
            ),
            {"day": date(2026, 12, 5), "now": now},
        )
        conn.execute(
            text(
                "INSERT INTO programme_applications (organization_id, applicant_id, summary,"
                " employees, cpu_hours, gpu_hours, data_access_help, testbed_sponsorship,"
                " status, granted_cpu_hours, granted_gpu_hours, review_note, created_at)"
                " VALUES (1, 1, 'Drone images of farms', 4, 10, 0, :no, :no, 'submitted',"
                " 0, 0, '', :now)"
            ),
            {"now": now, "no": False},
        )
        conn.execute(
            text(
                "INSERT INTO academy_courses (id, slug, title, title_ko, description,"
                " description_ko, created_at) VALUES (1, 'ai-basics', 'AI basics', '', '', '',"
                " :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO academy_cohorts (id, course_id, name, starts_on, ends_on, capacity,"
                " created_at) VALUES (1, 1, 'spring', :start, :end, 20, :now)"
            ),
            {"now": now, "start": date(2026, 3, 1), "end": date(2026, 6, 1)},
        )
        conn.execute(
            text(
                "INSERT INTO academy_enrolments (cohort_id, user_id, status, enrolled_at)"
                " VALUES (1, 1, 'enrolled', :now)"
            ),
            {"now": now},
        )
    with engine.connect() as conn:
        balance = conn.execute(text("SELECT cpu_hours FROM credit_accounts")).scalar()
        snapshots = conn.execute(text("SELECT count(*) FROM tower_snapshots")).scalar()
        enrolments = conn.execute(text("SELECT count(*) FROM academy_enrolments")).scalar()
    engine.dispose()
    assert float(balance) == 12.5
    assert (snapshots, enrolments) == (1, 1)


def test_downgrading_drops_only_the_new_tables(fresh_settings: Settings) -> None:
    previous = _previous(fresh_settings)
    upgrade(fresh_settings, previous)
    _fill(fresh_settings)
    upgrade(fresh_settings, REVISION)
    command.downgrade(alembic_config(fresh_settings), previous)
    engine = make_engine(fresh_settings)
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        users = conn.execute(text("SELECT count(*) FROM users")).scalar()
    engine.dispose()
    assert not tables & NEW_TABLES
    assert users == 1
