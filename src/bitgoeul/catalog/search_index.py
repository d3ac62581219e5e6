"""The full-text index over ``datasets.search_title`` / ``search_document``, per backend.

Neither index is expressible as SQLAlchemy metadata, so migrations call :func:`create` and
:func:`drop` (revision 0001, and any later revision that rebuilds the index).

* SQLite: an FTS5 external-content table ``datasets_search`` with the ``ascii`` tokenizer
  (the text is already tokenised by ``search_text``), kept in sync with ``datasets`` by
  triggers, so every write path (actions, demo seeding, raw SQL) keeps the index right.
* PostgreSQL: ``datasets.search_vector``, a weighted ``tsvector`` (titles A, the rest B) with
  the ``simple`` configuration (no stemming, no stop words: ``search_text`` did the language
  work), set by a trigger on every insert and update and GIN-indexed.  A stored vector rather
  than an expression index, because ranking and phrase rechecks would otherwise re-parse the
  text of every matching row.
"""

from __future__ import annotations

from typing import Any

FTS_TABLE = "datasets_search"
PG_INDEX = "ix_datasets_search_vector"
PG_FUNCTION = "datasets_search_vector_refresh"
PG_TRIGGER = "datasets_search_vector_refresh"

_PG_CREATE = [
    f"""CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector('simple'::regconfig, coalesce(NEW.search_title, '')), 'A') ||
            setweight(to_tsvector('simple'::regconfig, coalesce(NEW.search_document, '')), 'B');
        RETURN NEW;
    END
    $$""",
    f"""CREATE TRIGGER {PG_TRIGGER} BEFORE INSERT OR UPDATE OF search_title, search_document
        ON datasets FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()""",
    # Rows that existed before the trigger (a database upgraded with data in it).
    "UPDATE datasets SET search_title = search_title",
    f"CREATE INDEX {PG_INDEX} ON datasets USING gin (search_vector)",
]
_PG_DROP = [
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON datasets",
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
]

_SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        search_title, search_document,
        content='datasets', content_rowid='id', tokenize='ascii'
    )""",
    f"""CREATE TRIGGER {FTS_TABLE}_after_insert AFTER INSERT ON datasets BEGIN
        INSERT INTO {FTS_TABLE}(rowid, search_title, search_document)
        VALUES (new.id, new.search_title, new.search_document);
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_after_delete AFTER DELETE ON datasets BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_title, search_document)
        VALUES ('delete', old.id, old.search_title, old.search_document);
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_after_update
        AFTER UPDATE OF search_title, search_document ON datasets BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_title, search_document)
        VALUES ('delete', old.id, old.search_title, old.search_document);
        INSERT INTO {FTS_TABLE}(rowid, search_title, search_document)
        VALUES (new.id, new.search_title, new.search_document);
    END""",
    # Rows that existed before the index (a database upgraded with data in it).
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]

_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_after_update",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_after_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_after_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def create(op: Any) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_CREATE:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _PG_CREATE:
            op.execute(statement)


def drop(op: Any) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _PG_DROP:
            op.execute(statement)
