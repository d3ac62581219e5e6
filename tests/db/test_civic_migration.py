"""Revision 0015_civic upgrades a database that holds data: what was there is kept, the civic
tables arrive empty, and a problem can be posted, supported and triaged at once."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User
from bitgoeul.civic import actions
from bitgoeul.civic.schemas import ProblemCreate
from bitgoeul.civic.states import ProblemState
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config
from bitgoeul.storage import make_store

REVISION = "0015_civic"


def _previous(settings: Settings) -> str:
    down = ScriptDirectory.from_config(alembic_config(settings)).get_revision(REVISION)
    assert isinstance(down.down_revision, str)
    return down.down_revision


def test_the_civic_tables_arrive_beside_the_data_that_was_there(
    fresh_settings: Settings,
) -> None:
    upgrade(fresh_settings, _previous(fresh_settings))
    engine = make_engine(fresh_settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website,"
                " created_at) VALUES (1, 'kepco', 'KEPCO', '', 'agency', '', '', :now)"
            ),
            {"now": now},
        )
        for user_id, name, role in ((1, "minji", "citizen"), (2, "op", "operator")):
            conn.execute(
                text(
                    "INSERT INTO users (id, username, display_name, email, password_hash, role,"
                    " organization_id, locale, is_active, created_at) VALUES"
                    " (:id, :name, '', '', 'x', :role, NULL, 'en', :yes, :now)"
                ),
                {"id": user_id, "name": name, "role": role, "now": now, "yes": True},
            )
    assert "civic_problems" not in inspect(engine).get_table_names()
    upgrade(fresh_settings)
    tables = set(inspect(engine).get_table_names())
    assert {
        "civic_problems",
        "civic_supports",
        "civic_follows",
        "civic_photos",
        "civic_transitions",
        "civic_challenges",
        "civic_measurements",
    } <= tables
    with Session(engine) as session:
        assert session.get(User, 1) is not None
        citizen = Actor.for_user(session.get(User, 1), via="cli")  # type: ignore[arg-type]
        problem = actions.post_problem(
            session,
            settings=fresh_settings,
            store=make_store(fresh_settings),
            actor=citizen,
            data=ProblemCreate(
                title="Flooded underpass",
                description="The underpass floods after every heavy rain.",
                district="Buk-gu",
            ),
        )
        assert problem.state == ProblemState.open
    engine.dispose()
