"""Reads of the DP door: a dataset's approved profile, its budgets and balances, releases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.catalog.queries import get_dataset
from bitgoeul.dp.models import MICRO, DpBudget, DpProfile, DpRelease, ReleaseStatus
from bitgoeul.dp.schemas import Balance, BudgetPublic, MeasureBounds, ProfilePublic
from bitgoeul.errors import NotFound
from bitgoeul.messages import msg


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
