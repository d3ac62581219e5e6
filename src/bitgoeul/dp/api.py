"""The DP door's routes: quote and release for researchers, profile and budgets for stewards."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.schemas import DatasetPublic
from bitgoeul.dp import actions, queries
from bitgoeul.dp.schemas import (
    BudgetIn,
    BudgetPublic,
    DpRequest,
    ProfileIn,
    ProfilePublic,
    Quote,
    Release,
)

router = APIRouter(tags=["dp"])


class ReleaseIn(BaseModel):
    token: str = Field(max_length=8000, description="The token of a quote.")


@router.post("/dp/quote", response_model=Quote)
def quote(body: DpRequest, session: SessionDep, settings: SettingsDep, actor: CsrfChecked) -> Quote:
    """What a request would cost (ε) and how accurate it would be; spends nothing."""
    return actions.quote(session, settings=settings, actor=actor, request=body)


@router.post("/dp/release", response_model=Release)
def release(
    body: ReleaseIn,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> Release:
    """Spend a quote: the noisy statistics (or, for a request already released, the stored
    ones, free)."""
    return actions.release(session, settings=settings, store=store, actor=actor, token=body.token)


@router.get("/datasets/{slug}/dp/profile", response_model=ProfilePublic)
def get_profile(slug: str, session: SessionDep) -> ProfilePublic:
    """What DP requests on the dataset may use: public by design (key sets, bounds)."""
    return queries.public_profile(session, slug)


@router.put("/datasets/{slug}/dp/profile", response_model=ProfilePublic)
def put_profile(
    slug: str, body: ProfileIn, session: SessionDep, actor: CsrfChecked
) -> ProfilePublic:
    actions.set_profile(session, actor=actor, slug=slug, profile=body)
    return queries.public_profile(session, slug)


@router.get("/datasets/{slug}/dp/budgets", response_model=list[BudgetPublic])
def get_budgets(slug: str, session: SessionDep, actor: CurrentActor) -> list[BudgetPublic]:
    """Every budget of the dataset with its spending (the dataset's stewards and operators)."""
    return actions.read_budgets(session, actor=actor, slug=slug)


@router.put("/datasets/{slug}/dp/budgets", response_model=BudgetPublic)
def put_budget(slug: str, body: BudgetIn, session: SessionDep, actor: CsrfChecked) -> BudgetPublic:
    """Set the dataset's overall cap (no project), one project's cap, or one partition's cap
    (a time-partitioned dataset), in ε, and with ``delta`` its δ cap."""
    budget = actions.set_budget(
        session,
        actor=actor,
        slug=slug,
        project_id=body.project,
        partition=body.partition,
        epsilon=body.epsilon,
        delta=body.delta,
    )
    return queries.budget_public(slug, budget)


class PublishIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    slug: str | None = Field(default=None, max_length=100)


@router.post("/dp/releases/{release_id}/publish", response_model=DatasetPublic, status_code=201)
def publish_release(
    release_id: int,
    body: PublishIn,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> DatasetPublic:
    """A steward publishes a release's noisy statistics as a new open dataset (with its ε)."""
    created = actions.publish_release(
        session,
        settings=settings,
        store=store,
        actor=actor,
        release_id=release_id,
        title=body.title,
        slug=body.slug,
    )
    return catalog_queries.dataset_public(session, actor=actor, slug=created.slug)
