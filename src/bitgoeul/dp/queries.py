"""Reads of the DP door: a dataset's approved profile, its budgets and balances, releases."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import get_dataset
from bitgoeul.dp.models import MICRO, DpBudget, DpProfile, DpRelease, ReleaseStatus
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
        updated_at=profile.updated_at,
    )


def profile_dict(profile: DpProfile) -> dict[str, Any]:
    return {
        "person_column": profile.person_column,
        "max_rows_per_person": profile.max_rows_per_person,
        "keys": dict(profile.keys),
        "measures": dict(profile.measures),
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
    )


def budget_public(slug: str, budget: DpBudget) -> BudgetPublic:
    return BudgetPublic(
        dataset=slug,
        scope=budget.scope,
        project=budget.project_id,
        cap=budget.cap_micro / MICRO,
        spent=budget.spent_micro / MICRO,
        reserved=budget.reserved_micro / MICRO,
        left=budget.left_micro / MICRO,
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
