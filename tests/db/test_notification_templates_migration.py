"""Revision 0011_notification_templates upgrades a database that holds notifications: they are
kept and shown as they were written (in English), while new ones keep their template and are
shown in the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config
from bitgoeul.governance import notifications
from bitgoeul.messages import msg

REVISION = "0011_notification_templates"


def _previous(settings: Settings) -> str:
    script = ScriptDirectory.from_config(alembic_config(settings))
    down = script.get_revision(REVISION).down_revision
    assert isinstance(down, str)
    return down


def test_old_notifications_are_kept_in_english_and_new_ones_are_translated(
    fresh_settings: Settings,
) -> None:
    upgrade(fresh_settings, _previous(fresh_settings))
    engine = make_engine(fresh_settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, email, password_hash, role,"
                " organization_id, locale, is_active, created_at) VALUES"
                " (1, 'researcher', '', '', 'x', 'member', NULL, 'en', :yes, :now)"
            ),
            {"now": now, "yes": True},
        )
        conn.execute(
            text(
                "INSERT INTO notifications (user_id, kind, text, link, created_at) VALUES"
                " (1, 'job.finished', 'Job 7 succeeded.', '/jobs/7', :now)"
            ),
            {"now": now},
        )
    upgrade(fresh_settings)
    reader = Actor(user_id=1, username="researcher", role=Role.member, organization_id=None)
    with Session(engine) as session:
        notifications.notify(
            session, {1}, kind="job.finished", text=msg("Job {job} failed.", job=8), link="/jobs/8"
        )
        session.commit()
        shown = notifications.list_notifications(session, actor=reader, lang="ko")
    engine.dispose()
    assert [n.text for n in shown] == ["작업 8이(가) 실패했습니다.", "Job 7 succeeded."]
    assert [n.link for n in shown] == ["/jobs/8", "/jobs/7"]
