"""Migrations build the whole schema and can be applied again safely."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from bitgoeul.config import Settings
from bitgoeul.db import Base, make_engine, upgrade


def test_upgrade_creates_every_table_and_is_repeatable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings)
    upgrade(settings)
    engine = make_engine(settings)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_the_models_match_the_migrations(settings: Settings) -> None:
    """A model change without a migration fails here (autogenerate finds no differences)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bitgoeul.db.migrations.autogenerate import include_object

    engine = make_engine(settings)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
