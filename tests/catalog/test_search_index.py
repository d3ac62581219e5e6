"""The full-text index DDL, as the migration runs it."""

from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import FastAPI
from sqlalchemy.orm import Session
from tests.catalog.conftest import MakeDataset

from bitgoeul.catalog import search_index
from bitgoeul.catalog.queries import search_datasets


def test_building_the_index_on_a_database_with_datasets_indexes_them(
    app: FastAPI, db: Session, make_dataset: MakeDataset
) -> None:
    make_dataset(slug="power", title_ko="가구별 시간당 전력사용량")
    db.close()
    with app.state.engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection))
        search_index.drop(operations)
        search_index.create(operations)
    assert [i.slug for i in search_datasets(db, q="사용량").items] == ["power"]


def test_deleting_a_dataset_removes_it_from_the_index(
    db: Session, make_dataset: MakeDataset
) -> None:
    dataset = make_dataset(slug="power", title_ko="가구별 시간당 전력사용량")
    db.delete(dataset)
    db.commit()
    assert search_datasets(db, q="사용량").items == []
