"""Every revision upgrades a database that already holds data, one revision at a time.

The database is migrated to revision 0001, given one row in every table (values chosen from
each column's type, enums from the models), then upgraded revision by revision to the head;
after each step every row is still there.  A revision that rebuilds a table and drops its rows,
or fails on existing data (a NOT NULL column added without a default...), fails here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from bitgoeul.catalog.search_index import FTS_TABLE
from bitgoeul.config import Settings
from bitgoeul.db import Base, make_engine
from bitgoeul.db.upgrade import alembic_config, upgrade

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _value(table: str, column: sa.Column[Any]) -> Any:
    modelled = Base.metadata.tables.get(table)
    if modelled is not None and column.name in modelled.c:
        kind = modelled.c[column.name].type
        if isinstance(kind, sa.Enum) and kind.enums:
            return kind.enums[0]
    if column.foreign_keys or column.primary_key:
        return 1
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.DateTime):
        return NOW
    if isinstance(kind, sa.Date):
        return date(2026, 1, 2)
    if isinstance(kind, sa.Integer):
        return 1
    if isinstance(kind, sa.Float | sa.Numeric):
        return 1.0
    if isinstance(kind, sa.JSON):
        return {}
    if isinstance(kind, sa.LargeBinary):
        return b"x"
    length = getattr(kind, "length", None)
    return "x" * min(length or 8, 8)


def _fill(engine: sa.Engine) -> dict[str, int]:
    meta = sa.MetaData()
    meta.reflect(engine)
    counts = {}
    with engine.begin() as connection:
        for table in meta.sorted_tables:
            if table.name == "alembic_version" or table.name.startswith(FTS_TABLE):
                continue  # the search index is kept by triggers
            row = {c.name: _value(table.name, c) for c in table.columns}
            connection.execute(table.insert().values(**row))
            counts[table.name] = 1
    return counts


def _counts(engine: sa.Engine, tables: list[str]) -> dict[str, int]:
    present = set(sa.inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in tables
            if name in present
        }


def test_every_revision_upgrades_a_database_holding_data(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    config = alembic_config(settings)
    revisions = [
        r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
    ]
    assert revisions[0] == "0001"
    upgrade(settings, "0001")
    engine = make_engine(settings)
    try:
        filled = _fill(engine)
        assert {"organizations", "users", "datasets", "dataset_versions", "audit_events"} <= set(
            filled
        )
        for revision in revisions[1:]:
            command.upgrade(config, revision)
            kept = _counts(engine, list(filled))
            lost = {name: n for name, n in kept.items() if n != filled[name]}
            assert lost == {}, f"revision {revision} lost rows: {lost}"
    finally:
        engine.dispose()
