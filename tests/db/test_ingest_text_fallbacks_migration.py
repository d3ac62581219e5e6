"""Revision 0010 (ingest runs awaiting a choice) upgrades a database holding datasets and
ingest runs, and downgrades again, keeping every run as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, Table, select

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

BEFORE = "0012_linkage"
REVISION = "0010_ingest_text_fallbacks"


def _fill(settings: Settings) -> None:
    engine = make_engine(settings)
    now = datetime.now(UTC)
    meta = MetaData()
    tables = {
        name: Table(name, meta, autoload_with=engine)
        for name in ("organizations", "datasets", "ingest_runs")
    }
    rows = {
        "organizations": {
            "id": 1, "slug": "kepco", "name": "KEPCO", "name_ko": "한전", "kind": "agency",
            "description": "", "website": "", "created_at": now,
        },
        "datasets": {
            "id": 1, "slug": "power", "title": "Power", "title_ko": "", "description": "",
            "description_ko": "", "publisher_id": 1, "sector": "energy", "keywords": [],
            "licence": "CC-BY-4.0", "access_level": "open", "spatial": "",
            "update_frequency": "", "contact_name": "", "contact_email": "",
            "min_group_size": 10, "dominance_n": 2, "dominance_k": 0.9, "holdout": False,
            "created_at": now, "updated_at": now, "search_title": "", "search_document": "",
        },
        "ingest_runs": {
            "id": 1, "dataset_id": 1, "status": "failed", "source_filename": "meters.csv",
            "bytes_total": 10, "bytes_done": 10, "rows_done": 0,
            "error_report": {"message": "The file is empty (0 bytes)."}, "started_at": now,
        },
    }  # fmt: skip
    with engine.begin() as conn:
        for name, values in rows.items():
            columns = tables[name].columns
            conn.execute(
                tables[name].insert().values({k: v for k, v in values.items() if k in columns})
            )
    engine.dispose()


def _runs(settings: Settings) -> list[tuple[object, ...]]:
    engine = make_engine(settings)
    with engine.connect() as conn:
        runs = Table("ingest_runs", MetaData(), autoload_with=conn)
        found = [
            tuple(row)
            for row in conn.execute(
                select(runs.c.id, runs.c.status, runs.c.source_filename, runs.c.error_report)
            )
        ]
    engine.dispose()
    return found


def test_upgrading_and_downgrading_keeps_every_ingest_run(tmp_path: Path) -> None:
    from alembic import command

    settings = Settings(data_dir=tmp_path)
    upgrade(settings, BEFORE)
    _fill(settings)
    before = _runs(settings)
    assert before == [(1, "failed", "meters.csv", {"message": "The file is empty (0 bytes)."})]

    upgrade(settings, REVISION)
    assert _runs(settings) == before
    engine = make_engine(settings)
    with engine.connect() as conn:
        runs = Table("ingest_runs", MetaData(), autoload_with=conn)
        assert conn.execute(select(runs.c.text_fallbacks, runs.c.staged)).one() == (None, None)
    engine.dispose()

    command.downgrade(alembic_config(settings), BEFORE)
    assert _runs(settings) == before
