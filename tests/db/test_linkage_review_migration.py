"""Revision 0021_linkage_review upgrades a database that holds a linkage run: the run is kept,
with an empty review sample, and the review table arrives empty."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config
from bitgoeul.linkage.models import LinkageRun, RunStatus

REVISION = "0021_linkage_review"


def test_a_run_made_before_the_review_sample_is_kept_without_one(
    fresh_settings: Settings,
) -> None:
    down = ScriptDirectory.from_config(alembic_config(fresh_settings)).get_revision(REVISION)
    assert isinstance(down.down_revision, str)
    upgrade(fresh_settings, down.down_revision)
    engine = make_engine(fresh_settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, slug, name, name_ko, kind, description, website,"
                " created_at) VALUES (1, 'kisa', 'KISA', '', 'agency', '', '', :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO linkage_projects (id, title, purpose, method, custodian_id, sources,"
                " key_definitions, threshold, created_at) VALUES (1, 'old', '', 'bloom', 1,"
                " '[]', '[]', 0.7, :now)"
            ),
            {"now": now},
        )
        conn.execute(
            text(
                "INSERT INTO linkage_runs (id, linkage_project_id, status, started_at, report,"
                " error) VALUES (1, 1, 'succeeded', :now, '{\"persons\": 12}', '')"
            ),
            {"now": now},
        )
    assert "linkage_review_pairs" not in inspect(engine).get_table_names()
    upgrade(fresh_settings)
    assert "linkage_review_pairs" in inspect(engine).get_table_names()
    with Session(engine) as session:
        run = session.get(LinkageRun, 1)
        assert run is not None
        assert run.status == RunStatus.succeeded
        assert run.report == {"persons": 12}
        assert run.review_strata == []
    engine.dispose()
