"""Revision 0008 (job workers) upgrades a database holding jobs, their releases and credit
ledger, and downgrades again, without losing a row (no table rebuild cascades on SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, inspect, select, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config


def _fill(settings: Settings) -> None:
    """An organization, a project, a finished job with a release and two ledger entries."""
    engine = make_engine(settings)
    now = datetime.now(UTC)
    meta = MetaData()
    tables = {
        name: Table(name, meta, autoload_with=engine)
        for name in ("organizations", "users", "projects", "jobs", "credit_entries",
                     "output_releases")
    }  # fmt: skip
    rows = {
        "organizations": {
            "id": 1, "slug": "lab", "name": "Lab", "name_ko": "랩", "kind": "research",
            "description": "", "website": "", "created_at": now,
        },
        "users": {
            "id": 1, "username": "researcher", "display_name": "", "email": "",
            "password_hash": "x", "role": "member", "organization_id": 1, "locale": "en",
            "is_active": True, "created_at": now,
        },
        "projects": {
            "id": 1, "title": "A study", "purpose": "academic-research",
            "justification": "research", "lead_organization_id": 1, "created_at": now,
        },
        "jobs": {
            "id": 1, "project_id": 1, "submitted_by_id": 1, "organization_id": 1,
            "name": "count", "status": "succeeded", "priority": 0, "executor": "local",
            "environment": "default", "entrypoint": "main.py", "arguments": [], "cpus": 1,
            "memory_mb": 512, "gpus": 0, "time_limit_s": 60, "code_sha256": "0" * 64,
            "datasets": [], "reserved_cpu_hours": 1, "reserved_gpu_hours": 0,
            "cancel_requested": False, "outputs": [], "checks": {}, "reason": "",
            "release_status": "in_review", "created_at": now,
        },
        "credit_entries": {
            "id": 1, "organization_id": 1, "kind": "cpu", "hours": 1, "balance_after": 1,
            "reason": "grant", "note": "",
            "job_id": 1, "created_at": now,
        },
        "output_releases": {
            "id": 1, "job_id": 1, "round": 1, "requested_by_id": 1,
            "file_context": {"*": "a count"}, "created_at": now,
        },
    }  # fmt: skip
    with engine.begin() as conn:
        for name, values in rows.items():
            columns = tables[name].columns
            conn.execute(
                tables[name].insert().values({k: v for k, v in values.items() if k in columns})
            )
    engine.dispose()


def _counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings)
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            for name in ("jobs", "credit_entries", "output_releases")
        }
    engine.dispose()
    return counts


def test_upgrading_and_downgrading_keeps_every_job_release_and_ledger_entry(
    fresh_settings: Settings,
) -> None:
    from alembic import command

    upgrade(fresh_settings, "0007")
    _fill(fresh_settings)
    before = _counts(fresh_settings)
    assert before == {"jobs": 1, "credit_entries": 1, "output_releases": 1}

    upgrade(fresh_settings, "0008")
    assert _counts(fresh_settings) == before
    engine = make_engine(fresh_settings)
    assert "job_workers" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        jobs = Table("jobs", MetaData(), autoload_with=conn)
        assert conn.execute(select(jobs.c.worker_id)).scalar_one() is None
    engine.dispose()

    command.downgrade(alembic_config(fresh_settings), "0007")
    assert _counts(fresh_settings) == before
    engine = make_engine(fresh_settings)
    assert "job_workers" not in inspect(engine).get_table_names()
    engine.dispose()
