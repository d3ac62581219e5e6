"""REST routes for linkage: projects, approvals, runs, and the runs' clerical review.

Routes parse and answer; every change is an action in ``linkage.actions``. Writes ride a
bearer token, or a session cookie with its CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.linkage import actions, queries
from bitgoeul.linkage.schemas import (
    LinkageApprove,
    LinkageProjectCreate,
    LinkageProjectPublic,
    LinkageReviewLabels,
    LinkageReviewPublic,
    LinkageRunPublic,
)

router = APIRouter(prefix="/linkage", tags=["linkage"])


@router.post("/projects", response_model=LinkageProjectPublic, status_code=status.HTTP_201_CREATED)
def create_linkage_project(
    data: LinkageProjectCreate, session: SessionDep, actor: CsrfChecked
) -> LinkageProjectPublic:
    project = actions.create_linkage_project(session, actor=actor, data=data)
    return queries.project_public(session, project)


@router.get("/projects/{linkage_project_id}", response_model=LinkageProjectPublic)
def get_linkage_project(
    linkage_project_id: int, session: SessionDep, actor: CurrentActor
) -> LinkageProjectPublic:
    queries.require_signed_in(actor)
    project = queries.linkage_project_for(
        session, actor=actor, linkage_project_id=linkage_project_id
    )
    return queries.project_public(session, project)


@router.post("/projects/{linkage_project_id}/approve", response_model=LinkageProjectPublic)
def approve_linkage_project(
    linkage_project_id: int,
    session: SessionDep,
    actor: CsrfChecked,
    data: LinkageApprove | None = None,
) -> LinkageProjectPublic:
    actions.approve_linkage_project(
        session,
        actor=actor,
        linkage_project_id=linkage_project_id,
        note=data.note if data else "",
    )
    project = queries.get_linkage_project(session, linkage_project_id)
    return queries.project_public(session, project)


@router.post(
    "/projects/{linkage_project_id}/runs",
    response_model=LinkageRunPublic,
    status_code=status.HTTP_201_CREATED,
)
def run_linkage(
    linkage_project_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> LinkageRunPublic:
    run = actions.run_linkage(
        session, settings=settings, store=store, actor=actor, linkage_project_id=linkage_project_id
    )
    return queries.run_public(session, run)


@router.get("/runs/{run_id}", response_model=LinkageRunPublic)
def get_linkage_run(run_id: int, session: SessionDep, actor: CurrentActor) -> LinkageRunPublic:
    queries.require_signed_in(actor)
    return queries.run_public(session, queries.run_for(session, actor=actor, run_id=run_id))


@router.get("/runs/{run_id}/review", response_model=LinkageReviewPublic)
def get_clerical_review(
    run_id: int, session: SessionDep, settings: SettingsDep, store: StoreDep, actor: CurrentActor
) -> LinkageReviewPublic:
    """The run's review sample with both records' identifying fields (the key custodian's
    steward or an operator; read through the decision point and audited)."""
    return actions.clerical_review(
        session, settings=settings, store=store, actor=actor, run_id=run_id
    )


@router.post("/runs/{run_id}/review", response_model=LinkageRunPublic)
def label_review_pairs(
    run_id: int, data: LinkageReviewLabels, session: SessionDep, actor: CsrfChecked
) -> LinkageRunPublic:
    """Label review pairs as the same person or not; the report's estimate follows."""
    run = actions.label_review_pairs(session, actor=actor, run_id=run_id, labels=data.labels)
    return queries.run_public(session, run)
