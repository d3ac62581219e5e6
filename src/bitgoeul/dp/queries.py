"""Reads of the DP door: a dataset's approved profile, its budgets and balances, releases,
and the ε spent per dataset that the control tower shows (``epsilon_spent_per_dataset``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import get_dataset
from bitgoeul.dp.models import (
    DATASET_SCOPE,
    DELTA_UNIT,
    MICRO,
    PARTITION_PREFIX,
    DpBudget,
    DpProfile,
    DpRelease,
    ReleaseStatus,
)
from bitgoeul.dp.schemas import Balance, BudgetPublic, MeasureBounds, ProfilePublic
from bitgoeul.errors import NotFound
from bitgoeul.messages import msg


def dp_datasets(session: Session) -> list[tuple[str, str]]:
    """The datasets with approved DP settings: (slug, title), by title."""
    rows = session.execute(
        select(Dataset.slug, Dataset.title)
        .join(DpProfile, DpProfile.dataset_id == Dataset.id)
        .order_by(Dataset.title)
    )
    return [(slug, title) for slug, title in rows]


def projected_exhaustion(
    session: Session, dataset_slug: str, budget: Balance, *, today: date | None = None
) -> date | None:
    """When the budget runs out at the pace it has been spent since its first release (None:
    nothing spent yet, or nothing left)."""
    today = today or datetime.now(UTC).date()
    if budget.spent <= 0 or budget.left <= 0:
        return None
    query = (
        select(func.min(DpRelease.spent_at))
        .join(Dataset, Dataset.id == DpRelease.dataset_id)
        .where(Dataset.slug == dataset_slug, DpRelease.status == ReleaseStatus.spent)
    )
    if budget.scope.startswith("project:"):
        query = query.where(DpRelease.project_id == int(budget.scope.split(":", 1)[1]))
    elif budget.scope.startswith(PARTITION_PREFIX):
        query = query.where(DpRelease.partition == budget.scope.removeprefix(PARTITION_PREFIX))
    else:
        query = query.where(DpRelease.partition.is_(None))
    first = session.scalar(query)
    if first is None:
        return None
    days = max((today - first.date()).days, 1)
    per_day = budget.spent / days
    return today + timedelta(days=math.ceil(budget.left / per_day))


def profile_of(session: Session, dataset_id: int) -> DpProfile | None:
    return session.scalars(select(DpProfile).where(DpProfile.dataset_id == dataset_id)).first()


def public_profile(session: Session, slug: str) -> ProfilePublic:
    """The steward's approved DP settings of ``slug``: public, like the catalog's metadata."""
    dataset = get_dataset(session, slug, publisher=False)
    profile = profile_of(session, dataset.id)
    if profile is None:
        raise NotFound(
            msg(
                "Dataset '{slug}' has no approved DP settings yet; ask its steward.",
                slug=slug,
            )
        )
    return ProfilePublic(
        dataset=slug,
        person_column=profile.person_column,
        max_rows_per_person=profile.max_rows_per_person,
        keys=dict(profile.keys),
        measures={k: MeasureBounds.model_validate(v) for k, v in profile.measures.items()},
        partition_column=profile.partition_column,
        threshold_keys=list(profile.threshold_keys or []),
        delta=profile.delta,
        updated_at=profile.updated_at,
    )


def partitions(session: Session, slug: str) -> list[str]:
    """The partitions of a time-partitioned dataset, as the steward listed them (empty when
    the dataset is not partitioned)."""
    dataset = get_dataset(session, slug, publisher=False)
    profile = profile_of(session, dataset.id)
    if profile is None or profile.partition_column is None:
        return []
    return [str(v) for v in profile.keys.get(profile.partition_column, [])]


def profile_dict(profile: DpProfile) -> dict[str, Any]:
    return {
        "person_column": profile.person_column,
        "max_rows_per_person": profile.max_rows_per_person,
        "keys": dict(profile.keys),
        "measures": dict(profile.measures),
        "partition_column": profile.partition_column,
        "threshold_keys": list(profile.threshold_keys or []),
        "delta": profile.delta,
    }


def budgets(session: Session, dataset_id: int, scopes: list[str] | None = None) -> list[DpBudget]:
    query = select(DpBudget).where(DpBudget.dataset_id == dataset_id)
    if scopes is not None:
        query = query.where(DpBudget.scope.in_(scopes))
    return list(session.scalars(query.order_by(DpBudget.id)))


def balance(budget: DpBudget) -> Balance:
    return Balance(
        scope=budget.scope,
        cap=budget.cap_micro / MICRO,
        spent=budget.spent_micro / MICRO,
        reserved=budget.reserved_micro / MICRO,
        left=budget.left_micro / MICRO,
        **_delta_balance(budget),
    )


def _delta_balance(budget: DpBudget) -> dict[str, float]:
    return {
        "delta_cap": budget.delta_cap / DELTA_UNIT,
        "delta_spent": budget.delta_spent / DELTA_UNIT,
        "delta_reserved": budget.delta_reserved / DELTA_UNIT,
        "delta_left": budget.delta_left / DELTA_UNIT,
    }


def budget_public(slug: str, budget: DpBudget) -> BudgetPublic:
    return BudgetPublic(
        dataset=slug,
        scope=budget.scope,
        project=budget.project_id,
        partition=(
            budget.scope.removeprefix(PARTITION_PREFIX)
            if budget.scope.startswith(PARTITION_PREFIX)
            else None
        ),
        cap=budget.cap_micro / MICRO,
        spent=budget.spent_micro / MICRO,
        reserved=budget.reserved_micro / MICRO,
        left=budget.left_micro / MICRO,
        **_delta_balance(budget),
        updated_at=budget.updated_at,
    )


def stored_release(session: Session, request_sha256: str) -> DpRelease | None:
    return session.scalars(
        select(DpRelease).where(
            DpRelease.request_sha256 == request_sha256, DpRelease.status == ReleaseStatus.spent
        )
    ).first()


def spent_totals(session: Session) -> tuple[int, float]:
    """Every spent release on the hub: how many, and the ε they spent together (the control
    tower's indicator)."""
    count, micro = session.execute(
        select(func.count(), func.coalesce(func.sum(DpRelease.cost_micro), 0)).where(
            DpRelease.status == ReleaseStatus.spent
        )
    ).one()
    return int(count), int(micro) / MICRO


@dataclass(frozen=True)
class DatasetEpsilon:
    """The ε a dataset's DP door has given out, all projects together.

    ``cap``, ``spent`` and ``reserved`` add the dataset's overall budget and, for a
    time-partitioned dataset, every partition's: each release is charged on exactly one of
    these, so ``spent`` is the ε of every release on the dataset.  ``partitions`` counts the
    partition budgets (0 for a dataset that is not partitioned)."""

    dataset: str
    title: str
    cap: float
    spent: float
    reserved: float
    partitions: int
    releases: int
    last_release_at: datetime | None

    @property
    def left(self) -> float:
        return self.cap - self.spent - self.reserved


def epsilon_spent_per_dataset(session: Session) -> list[DatasetEpsilon]:
    """Per dataset with a DP budget, by slug: the ε spent from its overall (or partition)
    budgets and the releases that spent it.  For the control tower; the caller checks that
    the reader may see it (operators)."""
    overall = (DpBudget.scope == DATASET_SCOPE) | DpBudget.scope.startswith(PARTITION_PREFIX)
    budget_rows = session.execute(
        select(
            DpBudget.dataset_id,
            func.sum(DpBudget.cap_micro),
            func.sum(DpBudget.spent_micro),
            func.sum(DpBudget.reserved_micro),
            func.count().filter(DpBudget.scope.startswith(PARTITION_PREFIX)),
        )
        .where(overall)
        .group_by(DpBudget.dataset_id)
    ).all()
    release_rows = {
        dataset_id: (int(count), last)
        for dataset_id, count, last in session.execute(
            select(DpRelease.dataset_id, func.count(), func.max(DpRelease.spent_at))
            .where(DpRelease.status == ReleaseStatus.spent)
            .group_by(DpRelease.dataset_id)
        )
    }
    names = {
        dataset_id: (slug, title)
        for dataset_id, slug, title in session.execute(
            select(Dataset.id, Dataset.slug, Dataset.title).where(
                Dataset.id.in_([row[0] for row in budget_rows])
            )
        )
    }
    found = [
        DatasetEpsilon(
            dataset=names[dataset_id][0],
            title=names[dataset_id][1],
            cap=int(cap) / MICRO,
            spent=int(spent) / MICRO,
            reserved=int(reserved) / MICRO,
            partitions=int(partitions),
            releases=release_rows.get(dataset_id, (0, None))[0],
            last_release_at=release_rows.get(dataset_id, (0, None))[1],
        )
        for dataset_id, cap, spent, reserved, partitions in budget_rows
    ]
    return sorted(found, key=lambda d: d.dataset)
