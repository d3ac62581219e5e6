"""The two lookups the decision point and every door need: a dataset by its slug, and its
newest version.  ``catalog.queries`` re-exports both for the catalog's callers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bitgoeul.datasets.models import Dataset, DatasetVersion
from bitgoeul.errors import NotFound
from bitgoeul.messages import msg


def get_dataset(session: Session, slug: str, *, publisher: bool = True) -> Dataset:
    """The dataset named ``slug``; with its publisher loaded unless ``publisher`` is False (a
    door needs only the publisher's id, and saves the second query)."""
    query = select(Dataset).where(Dataset.slug == slug)
    if publisher:
        query = query.options(selectinload(Dataset.publisher))
    dataset = session.scalars(query).one_or_none()
    if dataset is None:
        raise NotFound(
            msg(
                "There is no dataset '{slug}'. Search the catalog for its current name.",
                slug=slug,
            )
        )
    return dataset


def latest_version(session: Session, dataset: Dataset) -> DatasetVersion | None:
    """The dataset's newest version (the highest number), or None before the first upload.
    Every "latest version" in the platform is this one; ``latest_versions`` is its batch form."""
    return session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
