"""What Alembic's autogenerate compares: the models, minus objects managed as raw DDL."""

from __future__ import annotations

from bitgoeul.catalog.search_index import FTS_TABLE, PG_INDEX


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the full-text index (FTS5 tables, the PostgreSQL GIN index) to search_index."""
    if type_ == "table" and reflected and (name or "").startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)
