"""Alembic environment: runs migrations against the URL from the settings object."""

from __future__ import annotations

from alembic import context

import bitgoeul.models  # noqa: F401  (registers every table on Base.metadata)
from bitgoeul.config import Settings
from bitgoeul.db.base import Base
from bitgoeul.db.engine import make_engine
from bitgoeul.db.migrations.autogenerate import include_object

config = context.config
settings = config.attributes.get("settings") or Settings()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = make_engine(settings)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
