"""Writes for governance: what researchers and stewards do with projects and requests.

Each action checks who may do it, writes, appends to the audit log and notifies the other side,
in one transaction.  A refusal of a signed-in user is itself audited (``outcome="denied"``).
Routes, the CLI and tests all call these functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.datasets.models import AccessLevel, Dataset
from bitgoeul.datasets.queries import get_dataset
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, Conflict, NotAuthenticated, NotFound, ValidationFailed
from bitgoeul.governance import notifications, queries
from bitgoeul.governance.models import (
    AccessRequest,
    Agreement,
    GovernanceAudit,
    Notification,
    Project,
    ProjectChoice,
    ProjectMember,
    ProjectRole,
    RequestStatus,
)
from bitgoeul.governance.row_filter import check_row_filter
from bitgoeul.governance.schemas import (
    AccessRequestCreate,
    ApprovalConditions,
    MemberAdd,
    ProjectCreate,
)
from bitgoeul.messages import Message, msg

_PROJECT_ROLES = {Role.member, Role.steward, Role.operator}


def _audit(
    session: Session,
    *,
    actor: Actor,
    action: GovernanceAudit,
    resource_type: str,
    resource_id: int | str,
    organization_id: int | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    record_event(
        session,
        action=action,
        outcome=outcome,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type=resource_type,
        resource_id=resource_id,
        organization_id=organization_id,
        detail=detail,
    )


def _refuse(
    session: Session,
    *,
    actor: Actor,
    action: GovernanceAudit,
    resource_type: str,
    resource_id: int | str,
    reason: str,
    organization_id: int | None = None,
) -> AccessDenied:
    """Audit a refusal (committed on its own) and return the error to raise."""
    session.rollback()
    _audit(
        session,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        organization_id=organization_id,
        outcome="denied",
        detail={"reason": reason},
    )
    session.commit()
    return AccessDenied(reason)


def _invalid(field: str, message: str) -> ValidationFailed:
    """Bad input, shaped like FastAPI's own 422s so clients read both the same way."""
    return ValidationFailed(
        msg("{field}: {message}", field=field, message=message),
        detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}],
    )


def _already(request: AccessRequest) -> Conflict:
    """A request answered already (approved, rejected or withdrawn) cannot be answered again."""
    if request.status == RequestStatus.approved:
        return Conflict(msg("Request {request} is approved already.", request=request.id))
    if request.status == RequestStatus.rejected:
        return Conflict(msg("Request {request} is rejected already.", request=request.id))
    return Conflict(msg("Request {request} is withdrawn already.", request=request.id))


def _notify(session: Session, user_ids: set[int], *, kind: str, text: Message, link: str) -> None:
    notifications.notify(session, user_ids, kind=kind, text=text, link=link)


def _stewards_of(session: Session, organization_id: int) -> set[int]:
    return set(
        session.scalars(
            select(User.id).where(
                User.organization_id == organization_id,
                User.role == Role.steward,
                User.is_active.is_(True),
            )
        )
    )


def _member_ids(project: Project) -> set[int]:
    return {m.user_id for m in project.members}


def create_project(session: Session, *, actor: Actor, data: ProjectCreate) -> Project:
    """A member, steward or operator of an organization opens a project for it, as its lead."""
    queries.require_signed_in(actor)
    if actor.role not in _PROJECT_ROLES or actor.organization_id is None:
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.project_create,
            resource_type="project",
            resource_id="",
            reason=msg(
                "Projects are opened and joined by members of an organization; a citizen's "
                "account can neither lead nor join one. What the hub holds about you is on "
                "your page, /me."
            ),
        )
    project = Project(
        title=data.title,
        purpose=data.purpose,
        justification=data.justification,
        lead_organization_id=actor.organization_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by_id=actor.user_id,
    )
    session.add(project)
    session.flush()
    assert actor.user_id is not None  # noqa: S101 (signed in)
    session.add(ProjectMember(project_id=project.id, user_id=actor.user_id, role=ProjectRole.lead))
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.project_created,
        resource_type="project",
        resource_id=project.id,
        organization_id=actor.organization_id,
        detail={"title": data.title, "purpose": data.purpose.value},
    )
    session.commit()
    return queries.get_project(session, project.id)


def add_project_member(
    session: Session, *, actor: Actor, project_id: int, data: MemberAdd
) -> Project:
    """The project's lead adds a signed-up user of any organization (citizens cannot join)."""
    queries.require_signed_in(actor)
    project = queries.get_project(session, project_id)
    if queries.member_role(project, actor) != ProjectRole.lead:
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.project_add_member,
            resource_type="project",
            resource_id=project_id,
            reason=msg("Only a lead of project {project} may add members.", project=project_id),
        )
    user = session.scalar(select(User).where(User.username == data.username))
    if user is None or not user.is_active:
        raise _invalid(
            "username", msg("there is no active user '{username}'.", username=data.username)
        )
    if user.role not in _PROJECT_ROLES or user.organization_id is None:
        raise _invalid(
            "username",
            msg(
                "'{username}' belongs to no organization; project members work for one.",
                username=data.username,
            ),
        )
    if user.id in _member_ids(project):
        raise Conflict(
            msg(
                "'{username}' is a member of project {project} already.",
                username=data.username,
                project=project_id,
            )
        )
    session.add(ProjectMember(project_id=project.id, user_id=user.id, role=data.role))
    _notify(
        session,
        {user.id},
        kind="project.member_added",
        text=msg(
            "{username} added you to project '{project}'.",
            username=actor.username,
            project=project.title,
        ),
        link=f"/projects/{project.id}",
    )
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.project_member_added,
        resource_type="project",
        resource_id=project.id,
        organization_id=project.lead_organization_id,
        detail={"username": user.username, "role": data.role.value},
    )
    session.commit()
    session.expire(project)
    return queries.get_project(session, project.id)


def choose_project(session: Session, *, actor: Actor, project_id: int) -> Project:
    """Remember the project the actor works for on dataset pages (one choice per user).

    A preference, not a use of data: nothing is audited here; every read made under the
    project is decided and audited at its door.
    """
    queries.require_signed_in(actor)
    assert actor.user_id is not None  # noqa: S101 (signed in)
    project = queries.get_project(session, project_id)
    if queries.member_role(project, actor) is None:
        raise AccessDenied(
            msg(
                "You are not a member of project {project}; choose one of your own projects.",
                project=project_id,
            )
        )
    choice = session.get(ProjectChoice, actor.user_id)
    if choice is None:
        session.add(ProjectChoice(user_id=actor.user_id, project_id=project.id))
    else:
        choice.project_id = project.id
        choice.chosen_at = datetime.now(UTC)
    session.commit()
    return project


def _known_columns(session: Session, dataset: Dataset, columns: list[str], *, field: str) -> None:
    known = queries.column_classes(session, dataset)
    if not known:
        raise _invalid(
            field,
            msg(
                "dataset '{slug}' has no version yet, so no columns to choose; "
                "leave the field out.",
                slug=dataset.slug,
            ),
        )
    unknown = [name for name in columns if name not in known]
    if unknown:
        raise _invalid(
            field,
            msg(
                "dataset '{slug}' has no column {columns}.",
                slug=dataset.slug,
                columns=", ".join(map(repr, unknown)),
            ),
        )


def request_access(session: Session, *, actor: Actor, data: AccessRequestCreate) -> AccessRequest:
    """A project member asks the publisher for a restricted or secure dataset."""
    queries.require_signed_in(actor)
    project = queries.get_project(session, data.project)
    dataset = get_dataset(session, data.dataset)
    if queries.member_role(project, actor) is None:
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.access_request_create,
            resource_type="dataset",
            resource_id=dataset.slug,
            organization_id=dataset.publisher_id,
            reason=msg(
                "Only members of project {project} may request data for it.", project=project.id
            ),
        )
    if dataset.holdout:
        raise Conflict(
            msg(
                "Dataset '{slug}' is a testbed's hidden test set: its rows are never shared, "
                "so it cannot be requested. Join the testbed task that uses it to be scored "
                "on it.",
                slug=dataset.slug,
            )
        )
    if dataset.access_level in (AccessLevel.open, AccessLevel.registered):
        raise Conflict(
            msg(
                "Dataset '{slug}' is {level} data and needs no request: use it directly.",
                slug=dataset.slug,
                level=dataset.access_level.value,
            )
        )
    if data.columns is not None:
        _known_columns(session, dataset, data.columns, field="columns")
    pending = session.scalar(
        select(AccessRequest.id).where(
            AccessRequest.project_id == project.id,
            AccessRequest.dataset_id == dataset.id,
            AccessRequest.status == RequestStatus.pending,
        )
    )
    if pending is not None:
        raise Conflict(
            msg(
                "Project {project} has a pending request ({request}) for '{slug}'; "
                "withdraw it or wait for the steward's answer.",
                project=project.id,
                request=pending,
                slug=dataset.slug,
            )
        )
    request = AccessRequest(
        project_id=project.id,
        dataset_id=dataset.id,
        requested_by_id=actor.user_id,
        requested_columns=data.columns,
        requested_days=data.days,
        note=data.note,
        status=RequestStatus.pending,
    )
    session.add(request)
    session.flush()
    _notify(
        session,
        _stewards_of(session, dataset.publisher_id),
        kind="access_request.created",
        text=msg(
            "Project '{project}' requests '{dataset}' for {days} days.",
            project=project.title,
            dataset=dataset.slug,
            days=data.days,
        ),
        link=f"/requests#request-{request.id}",
    )
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.access_request_created,
        resource_type="access_request",
        resource_id=request.id,
        organization_id=dataset.publisher_id,
        detail={
            "project": project.id,
            "dataset": dataset.slug,
            "columns": data.columns,
            "days": data.days,
        },
    )
    session.commit()
    return request


def _steward_decision(
    session: Session, *, actor: Actor, request_id: int, verb: str
) -> AccessRequest:
    """The pending request a steward of its dataset's publisher is answering."""
    queries.require_signed_in(actor)
    request = queries.get_request(session, request_id)
    if not actor.is_steward_of(request.dataset.publisher_id):
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit(f"access_request.{verb}"),
            resource_type="access_request",
            resource_id=request_id,
            organization_id=request.dataset.publisher_id,
            reason=(
                msg(
                    "Only stewards of the organization publishing '{slug}' may approve this "
                    "request.",
                    slug=request.dataset.slug,
                )
                if verb == "approve"
                else msg(
                    "Only stewards of the organization publishing '{slug}' may reject this "
                    "request.",
                    slug=request.dataset.slug,
                )
            ),
        )
    if request.status != RequestStatus.pending:
        raise _already(request)
    return request


def approve_request(
    session: Session, *, actor: Actor, request_id: int, conditions: ApprovalConditions
) -> Agreement:
    """A publisher's steward approves with conditions; the agreement is active at once."""
    request = _steward_decision(session, actor=actor, request_id=request_id, verb="approve")
    project = queries.get_project(session, request.project_id)
    if queries.member_role(project, actor) is not None:
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.access_request_approve,
            resource_type="access_request",
            resource_id=request_id,
            organization_id=request.dataset.publisher_id,
            reason=msg(
                "You are a member of project {project}: nobody approves their own "
                "request. Ask another steward of your organization.",
                project=project.id,
            ),
        )
    dataset = request.dataset
    if dataset.holdout and not conditions.confirm_test_set:
        # A dataset marked a test set after it was requested: the agreement would grant
        # nothing (decide refuses every data action on it), so the steward confirms first.
        said = msg(
            "'{slug}' is a testbed's hidden test set: its rows are never shared, even under "
            "an agreement. Reject the request, or confirm that you still approve (the page's "
            'check box, --confirm-test-set, "confirm_test_set": true).',
            slug=dataset.slug,
        )
        raise ValidationFailed(
            said,
            detail=[{"loc": ["body", "confirm_test_set"], "msg": said, "type": "value_error"}],
        )
    columns = conditions.columns if conditions.columns is not None else request.requested_columns
    if columns is not None:
        _known_columns(session, dataset, columns, field="columns")
        if request.requested_columns is not None:
            extra = [c for c in columns if c not in request.requested_columns]
            if extra:
                raise _invalid(
                    "columns",
                    msg(
                        "{columns} were not requested; an approval may narrow a request, "
                        "not widen it.",
                        columns=", ".join(map(repr, extra)),
                    ),
                )
    days = conditions.expires_in_days or request.requested_days
    if days > request.requested_days:
        raise _invalid(
            "expires_in_days",
            msg(
                "{days} days is longer than the {requested} days requested.",
                days=days,
                requested=request.requested_days,
            ),
        )
    row_filter = None
    if conditions.row_filter is not None:
        row_filter = check_row_filter(
            conditions.row_filter, queries.column_classes(session, dataset)
        )
    now = datetime.now(UTC)
    agreement = Agreement(
        request_id=request.id,
        project_id=request.project_id,
        dataset_id=dataset.id,
        columns=columns,
        row_filter=row_filter,
        grants_identifiers=conditions.grants_identifiers,
        approved_by_id=actor.user_id,
        starts_at=now,
        expires_at=now + timedelta(days=days),
    )
    request.status = RequestStatus.approved
    request.decided_by_id = actor.user_id
    request.decided_at = now
    session.add(agreement)
    session.flush()
    _notify(
        session,
        _member_ids(project),
        kind="access_request.approved",
        text=msg(
            "Your request for '{dataset}' was approved for {days} days (agreement {agreement}).",
            dataset=dataset.slug,
            days=days,
            agreement=agreement.id,
        ),
        link=f"/projects/{project.id}#agreement-{agreement.id}",
    )
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.access_request_approved,
        resource_type="access_request",
        resource_id=request.id,
        organization_id=dataset.publisher_id,
        detail={
            "agreement": agreement.id,
            "project": project.id,
            "dataset": dataset.slug,
            "columns": columns,
            "row_filter": row_filter,
            "grants_identifiers": conditions.grants_identifiers,
            "days": days,
        },
    )
    session.commit()
    return agreement


def reject_request(
    session: Session, *, actor: Actor, request_id: int, reason: str
) -> AccessRequest:
    request = _steward_decision(session, actor=actor, request_id=request_id, verb="reject")
    request.status = RequestStatus.rejected
    request.reason = reason
    request.decided_by_id = actor.user_id
    request.decided_at = datetime.now(UTC)
    project = queries.get_project(session, request.project_id)
    _notify(
        session,
        _member_ids(project),
        kind="access_request.rejected",
        text=msg(
            "Your request for '{dataset}' was rejected: {reason}",
            dataset=request.dataset.slug,
            reason=reason,
        ),
        link=f"/projects/{project.id}#request-{request.id}",
    )
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.access_request_rejected,
        resource_type="access_request",
        resource_id=request.id,
        organization_id=request.dataset.publisher_id,
        detail={"reason": reason},
    )
    session.commit()
    return request


def withdraw_request(session: Session, *, actor: Actor, request_id: int) -> AccessRequest:
    """The requester (or the project's lead) withdraws a pending request."""
    queries.require_signed_in(actor)
    request = queries.get_request(session, request_id)
    project = queries.get_project(session, request.project_id)
    if actor.user_id != request.requested_by_id and (
        queries.member_role(project, actor) != ProjectRole.lead
    ):
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.access_request_withdraw,
            resource_type="access_request",
            resource_id=request_id,
            reason=msg("Only the requester or the project's lead may withdraw a request."),
        )
    if request.status != RequestStatus.pending:
        raise _already(request)
    request.status = RequestStatus.withdrawn
    request.decided_at = datetime.now(UTC)
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.access_request_withdrawn,
        resource_type="access_request",
        resource_id=request.id,
        organization_id=request.dataset.publisher_id,
    )
    session.commit()
    return request


def revoke_agreement(
    session: Session, *, actor: Actor, agreement_id: int, reason: str
) -> Agreement:
    """A publisher's steward or an operator ends an agreement; the next decision denies."""
    queries.require_signed_in(actor)
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound(msg("There is no agreement {agreement}.", agreement=agreement_id))
    publisher_id = agreement.dataset.publisher_id
    if not (actor.is_operator or actor.is_steward_of(publisher_id)):
        raise _refuse(
            session,
            actor=actor,
            action=GovernanceAudit.agreement_revoke,
            resource_type="agreement",
            resource_id=agreement_id,
            organization_id=publisher_id,
            reason=msg(
                "Only stewards of the publishing organization and operators may revoke "
                "an agreement."
            ),
        )
    if agreement.revoked_at is not None:
        raise Conflict(msg("Agreement {agreement} was revoked already.", agreement=agreement_id))
    agreement.revoked_at = datetime.now(UTC)
    agreement.revoked_by_id = actor.user_id
    agreement.revoke_reason = reason
    _notify(
        session,
        _member_ids(queries.get_project(session, agreement.project_id)),
        kind="agreement.revoked",
        text=msg(
            "Agreement {agreement} for '{dataset}' was revoked: {reason}",
            agreement=agreement.id,
            dataset=agreement.dataset.slug,
            reason=reason,
        ),
        link=f"/projects/{agreement.project_id}#agreement-{agreement.id}",
    )
    _audit(
        session,
        actor=actor,
        action=GovernanceAudit.agreement_revoked,
        resource_type="agreement",
        resource_id=agreement.id,
        organization_id=publisher_id,
        detail={"reason": reason, "project": agreement.project_id},
    )
    session.commit()
    return agreement


# Notifications, as their reader reads them -------------------------------------------------


def open_notification(session: Session, *, actor: Actor, notification_id: int) -> str:
    """The reader opens one of their notifications: it is marked read (commits) and the page
    it links to is returned (their notifications page when it has none).  Another person's
    notification is not found."""
    if actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to read your notifications."))
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.user_id:
        raise NotFound(
            msg(
                "There is no notification {id} of yours; see your notifications.",
                id=notification_id,
            )
        )
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.commit()
    return notification.link or "/notifications"


def mark_all_read(session: Session, *, actor: Actor) -> int:
    """Mark all of the actor's notifications read (commits); how many were unread."""
    if actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to read your notifications."))
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
