"""REST routes for governance: projects, access requests, agreements, ODRL, notifications.

Routes parse and answer; every change is an action in ``governance.actions``.  Writes ride a
bearer token, or a session cookie with its CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep
from bitgoeul.datasets.queries import get_dataset
from bitgoeul.governance import actions, odrl, queries
from bitgoeul.governance import notifications as notifications_
from bitgoeul.governance.models import AccessRequest, Project, RequestStatus
from bitgoeul.governance.schemas import (
    AccessRequestCreate,
    AccessRequestPublic,
    AgreementPublic,
    ApprovalConditions,
    MemberAdd,
    NotificationPublic,
    ProjectCreate,
    ProjectPublic,
    Reason,
)
from bitgoeul.messages import preferred_language

router = APIRouter(tags=["governance"])

ODRL_MEDIA_TYPE = "application/ld+json"


def _request_out(session: Session, request: AccessRequest) -> AccessRequestPublic:
    return queries.request_public(session, queries.get_request(session, request.id))


def _project_out(session: Session, project: Project) -> ProjectPublic:
    return queries.project_public(session, project)


@router.post("/projects", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED)
def create_project(data: ProjectCreate, session: SessionDep, actor: CsrfChecked) -> ProjectPublic:
    project = actions.create_project(session, actor=actor, data=data)
    return _project_out(session, project)


@router.get("/projects", response_model=list[ProjectPublic])
def list_projects(session: SessionDep, actor: CurrentActor) -> list[ProjectPublic]:
    return [_project_out(session, p) for p in queries.list_projects(session, actor=actor)]


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(project_id: int, session: SessionDep, actor: CurrentActor) -> ProjectPublic:
    return _project_out(session, queries.project_for(session, actor=actor, project_id=project_id))


@router.post(
    "/projects/{project_id}/members",
    response_model=ProjectPublic,
    status_code=status.HTTP_201_CREATED,
)
def add_member(
    project_id: int, data: MemberAdd, session: SessionDep, actor: CsrfChecked
) -> ProjectPublic:
    project = actions.add_project_member(session, actor=actor, project_id=project_id, data=data)
    return _project_out(session, project)


@router.post(
    "/access-requests", response_model=AccessRequestPublic, status_code=status.HTTP_201_CREATED
)
def request_access(
    data: AccessRequestCreate, session: SessionDep, actor: CsrfChecked
) -> AccessRequestPublic:
    request = actions.request_access(session, actor=actor, data=data)
    return _request_out(session, request)


@router.get("/access-requests", response_model=list[AccessRequestPublic])
def list_requests(
    session: SessionDep,
    actor: CurrentActor,
    status: Annotated[RequestStatus | None, Query(alias="status")] = None,
) -> list[AccessRequestPublic]:
    rows = queries.request_queue(session, actor=actor, status=status)
    return [queries.request_public(session, r) for r in rows]


@router.post("/access-requests/{request_id}/approve", response_model=AgreementPublic)
def approve(
    request_id: int,
    session: SessionDep,
    actor: CsrfChecked,
    conditions: Annotated[ApprovalConditions | None, Body()] = None,
) -> AgreementPublic:
    agreement = actions.approve_request(
        session,
        actor=actor,
        request_id=request_id,
        conditions=conditions or ApprovalConditions(),
    )
    return queries.agreement_public(agreement)


@router.post("/access-requests/{request_id}/reject", response_model=AccessRequestPublic)
def reject(
    request_id: int, data: Reason, session: SessionDep, actor: CsrfChecked
) -> AccessRequestPublic:
    request = actions.reject_request(
        session, actor=actor, request_id=request_id, reason=data.reason
    )
    return _request_out(session, request)


@router.post("/access-requests/{request_id}/withdraw", response_model=AccessRequestPublic)
def withdraw(request_id: int, session: SessionDep, actor: CsrfChecked) -> AccessRequestPublic:
    request = actions.withdraw_request(session, actor=actor, request_id=request_id)
    return _request_out(session, request)


@router.get("/agreements/{agreement_id}", response_model=AgreementPublic)
def get_agreement(agreement_id: int, session: SessionDep, actor: CurrentActor) -> AgreementPublic:
    agreement = queries.get_agreement(session, actor=actor, agreement_id=agreement_id)
    return queries.agreement_public(agreement)


@router.post("/agreements/{agreement_id}/revoke", response_model=AgreementPublic)
def revoke(
    agreement_id: int, data: Reason, session: SessionDep, actor: CsrfChecked
) -> AgreementPublic:
    agreement = actions.revoke_agreement(
        session, actor=actor, agreement_id=agreement_id, reason=data.reason
    )
    return queries.agreement_public(agreement)


@router.get("/agreements/{agreement_id}/odrl", response_class=JSONResponse)
def agreement_odrl(
    agreement_id: int, session: SessionDep, actor: CurrentActor, settings: SettingsDep
) -> JSONResponse:
    agreement = queries.get_agreement(session, actor=actor, agreement_id=agreement_id)
    policy = queries.agreement_odrl(session, agreement, base_url=settings.base_url)
    return JSONResponse(policy, media_type=ODRL_MEDIA_TYPE)


@router.get("/datasets/{slug}/odrl", response_class=JSONResponse)
def dataset_odrl(slug: str, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """The ODRL 2.2 Offer for the dataset's access level (public, like its metadata)."""
    dataset = get_dataset(session, slug)
    offer = odrl.dataset_offer(
        dataset,
        base_url=settings.base_url,
        column_classes=queries.column_classes(session, dataset),
    )
    return JSONResponse(offer, media_type=ODRL_MEDIA_TYPE)


@router.get("/notifications", response_model=list[NotificationPublic])
def notifications(
    request: Request, session: SessionDep, actor: CurrentActor, unread: bool = False
) -> list[NotificationPublic]:
    """Your notifications, newest first, in the language of ``Accept-Language``."""
    return notifications_.list_notifications(
        session,
        actor=actor,
        lang=preferred_language(request.headers.get("accept-language")),
        unread_only=unread,
    )


@router.post("/notifications/read")
def read_notifications(session: SessionDep, actor: CsrfChecked) -> dict[str, int]:
    return {"marked_read": actions.mark_all_read(session, actor=actor)}
