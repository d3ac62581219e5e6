"""Reads for governance: the decision context, projects, request queues, agreements,
notifications.  Nothing here writes; ``governance.actions`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.datasets import queries as dataset_queries
from bitgoeul.datasets.models import Dataset, DatasetVersion
from bitgoeul.errors import AccessDenied, NotAuthenticated, NotFound
from bitgoeul.governance import odrl
from bitgoeul.governance.decision import AgreementTerms, DecisionContext, DonationTerms
from bitgoeul.governance.models import (
    AccessRequest,
    Agreement,
    Project,
    ProjectChoice,
    ProjectMember,
    ProjectRole,
    RequestStatus,
)
from bitgoeul.governance.schemas import (
    AccessRequestPublic,
    AgreementPublic,
    MemberPublic,
    ProjectPublic,
)
from bitgoeul.messages import msg
from bitgoeul.privacy import views


def column_classes(session: Session, dataset: Dataset) -> dict[str, str]:
    """Column name → class, from the latest version's Table Schema ({} without a version)."""
    version = dataset_queries.latest_version(session, dataset)
    if version is None:
        return {}
    return views.column_classes(views.schema_fields(version.table_schema))


def require_signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in, or send 'Authorization: Bearer <token>'."))


def get_project(session: Session, project_id: int) -> Project:
    project = session.scalars(
        select(Project).where(Project.id == project_id).options(selectinload(Project.members))
    ).one_or_none()
    if project is None:
        raise NotFound(
            msg(
                "There is no project {project}. Your projects are listed on /projects.",
                project=project_id,
            )
        )
    return project


def member_role(project: Project, actor: Actor) -> ProjectRole | None:
    for member in project.members:
        if actor.user_id is not None and member.user_id == actor.user_id:
            return member.role
    return None


def active_agreement(
    session: Session, *, project_id: int, dataset_id: int, now: datetime | None = None
) -> Agreement | None:
    """The project's unrevoked, unexpired agreement on the dataset, latest expiry first."""
    moment = now or datetime.now(UTC)
    return session.scalars(
        select(Agreement)
        .where(
            Agreement.project_id == project_id,
            Agreement.dataset_id == dataset_id,
            Agreement.revoked_at.is_(None),
            Agreement.expires_at > moment,
            Agreement.starts_at <= moment,
        )
        .order_by(Agreement.expires_at.desc())
        .limit(1)
    ).first()


# Who knows whether a dataset holds donated data, and whose consent covers a project: ``mydata``
# registers its reader here (``bitgoeul.mydata``), so governance never imports it.  Read at
# every decision, like the agreement.
DonationTermsReader = Callable[
    [Session, Dataset, DatasetVersion | None, Project | None], DonationTerms | None
]
_donation_readers: list[DonationTermsReader] = []


def register_donation_terms(reader: DonationTermsReader) -> None:
    if reader not in _donation_readers:
        _donation_readers.append(reader)


def donation_terms(
    session: Session, dataset: Dataset, version: DatasetVersion | None, project: Project | None
) -> DonationTerms | None:
    for reader in _donation_readers:
        terms = reader(session, dataset, version, project)
        if terms is not None:
            return terms
    return None


def decision_context(
    session: Session,
    *,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion | None,
    project_id: int | None,
) -> DecisionContext:
    """What ``decide`` needs to know, read now (never cached: expiry and revocation act at once).

    The column classes are those of ``version``, the version the door will read (a column that
    was an identifier in version 1 is one whenever version 1 is read); None (a steward's edit
    of the dataset as a whole) gives the latest version's.  Raises ``NotFound`` for an unknown
    project.  A non-member gets ``is_project_member`` False.
    """
    classes = (
        column_classes(session, dataset)
        if version is None
        else views.column_classes(views.schema_fields(version.table_schema))
    )
    if project_id is None:
        return DecisionContext(
            column_classes=classes, donation=donation_terms(session, dataset, version, None)
        )
    project = get_project(session, project_id)
    agreement = active_agreement(session, project_id=project.id, dataset_id=dataset.id)
    terms = None
    if agreement is not None:
        terms = AgreementTerms(
            agreement_id=agreement.id,
            columns=list(agreement.columns) if agreement.columns is not None else None,
            row_filter=agreement.row_filter,
            grants_identifiers=agreement.grants_identifiers,
            expires_at=agreement.expires_at,
        )
    return DecisionContext(
        project_id=project.id,
        is_project_member=member_role(project, actor) is not None,
        agreement=terms,
        column_classes=classes,
        donation=donation_terms(session, dataset, version, project),
    )


def project_public(session: Session, project: Project) -> ProjectPublic:
    users = {
        u.id: u
        for u in session.scalars(
            select(User)
            .where(User.id.in_([m.user_id for m in project.members]))
            .options(selectinload(User.organization))
        )
    }
    lead = session.get(Organization, project.lead_organization_id)
    return ProjectPublic(
        id=project.id,
        title=project.title,
        purpose=project.purpose,
        justification=project.justification,
        lead_organization=lead.slug if lead else "",
        starts_on=project.starts_on,
        ends_on=project.ends_on,
        created_at=project.created_at,
        members=[
            MemberPublic(
                username=users[m.user_id].username,
                organization=(
                    users[m.user_id].organization.slug  # type: ignore[union-attr]
                    if users[m.user_id].organization_id is not None
                    else None
                ),
                role=m.role,
            )
            for m in project.members
        ],
    )


def project_for(session: Session, *, actor: Actor, project_id: int) -> Project:
    """A project's page: for any signed-in user (projects are a public register of data use)."""
    require_signed_in(actor)
    return get_project(session, project_id)


def list_projects(session: Session, *, actor: Actor) -> list[Project]:
    """The actor's projects; operators see every project."""
    require_signed_in(actor)
    query = select(Project).options(selectinload(Project.members)).order_by(Project.id)
    if not actor.is_operator:
        query = query.join(ProjectMember).where(ProjectMember.user_id == actor.user_id)
    return list(session.scalars(query).unique())


def chosen_project(session: Session, *, actor: Actor) -> Project | None:
    """The project the actor chose to work for on dataset pages, while still a member of it."""
    if actor.user_id is None:
        return None
    choice = session.get(ProjectChoice, actor.user_id)
    if choice is None:
        return None
    project = get_project(session, choice.project_id)
    return project if member_role(project, actor) is not None else None


def pending_request(session: Session, *, project_id: int, dataset_id: int) -> AccessRequest | None:
    """The project's pending request for the dataset, if it has one."""
    return session.scalars(
        select(AccessRequest).where(
            AccessRequest.project_id == project_id,
            AccessRequest.dataset_id == dataset_id,
            AccessRequest.status == RequestStatus.pending,
        )
    ).first()


def request_queue(
    session: Session, *, actor: Actor, status: RequestStatus | None = None
) -> list[AccessRequest]:
    """Requests the actor may see: stewards get those for their organization's datasets,
    members those of their projects, operators all of them.  Newest first."""
    require_signed_in(actor)
    query = select(AccessRequest).options(
        selectinload(AccessRequest.project), selectinload(AccessRequest.dataset)
    )
    if not actor.is_operator:
        mine = select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id)
        visible = [AccessRequest.project_id.in_(mine)]
        if actor.role == Role.steward and actor.organization_id is not None:
            published = select(Dataset.id).where(Dataset.publisher_id == actor.organization_id)
            visible.append(AccessRequest.dataset_id.in_(published))
        query = query.where(or_(*visible))
    if status is not None:
        query = query.where(AccessRequest.status == status)
    return list(session.scalars(query.order_by(AccessRequest.id.desc())))


def get_request(session: Session, request_id: int) -> AccessRequest:
    request = session.get(AccessRequest, request_id)
    if request is None:
        raise NotFound(msg("There is no access request {request}.", request=request_id))
    return request


def request_public(session: Session, request: AccessRequest) -> AccessRequestPublic:
    def username(user_id: int | None) -> str | None:
        user = session.get(User, user_id) if user_id is not None else None
        return user.username if user else None

    agreement_id = session.scalar(select(Agreement.id).where(Agreement.request_id == request.id))
    return AccessRequestPublic(
        id=request.id,
        project=request.project_id,
        project_title=request.project.title,
        project_purpose=request.project.purpose,
        project_justification=request.project.justification,
        dataset=request.dataset.slug,
        dataset_is_test_set=request.dataset.holdout,
        status=request.status,
        requested_columns=request.requested_columns,
        requested_days=request.requested_days,
        note=request.note,
        reason=request.reason,
        requested_by=username(request.requested_by_id),
        decided_by=username(request.decided_by_id),
        decided_at=request.decided_at,
        created_at=request.created_at,
        agreement=agreement_id,
    )


def may_see_agreement(session: Session, actor: Actor, agreement: Agreement) -> bool:
    if actor.is_operator or actor.is_steward_of(agreement.dataset.publisher_id):
        return True
    return member_role(get_project(session, agreement.project_id), actor) is not None


def get_agreement(session: Session, *, actor: Actor, agreement_id: int) -> Agreement:
    """An agreement, for its project's members, the publisher's stewards and operators."""
    require_signed_in(actor)
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound(msg("There is no agreement {agreement}.", agreement=agreement_id))
    if not may_see_agreement(session, actor, agreement):
        raise AccessDenied(
            msg(
                "Agreement {agreement} is shown to its project's members, the publisher's "
                "stewards and operators only.",
                agreement=agreement_id,
            )
        )
    return agreement


def agreement_public(agreement: Agreement, *, now: datetime | None = None) -> AgreementPublic:
    moment = now or datetime.now(UTC)
    return AgreementPublic(
        id=agreement.id,
        request=agreement.request_id,
        project=agreement.project_id,
        project_title=agreement.project.title,
        dataset=agreement.dataset.slug,
        columns=agreement.columns,
        row_filter=agreement.row_filter,
        grants_identifiers=agreement.grants_identifiers,
        starts_at=agreement.starts_at,
        expires_at=agreement.expires_at,
        revoked_at=agreement.revoked_at,
        revoke_reason=agreement.revoke_reason,
        active=agreement.revoked_at is None
        and agreement.starts_at <= moment < agreement.expires_at,
    )


def list_agreements(
    session: Session, *, actor: Actor, project_id: int | None = None
) -> list[Agreement]:
    """Agreements the actor may see (as ``may_see_agreement``), newest first: operators all,
    stewards those on their organization's datasets and of their projects, members those of
    their projects."""
    require_signed_in(actor)
    query = select(Agreement).options(selectinload(Agreement.dataset))
    if not actor.is_operator:
        mine = select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id)
        visible = [Agreement.project_id.in_(mine)]
        if actor.role == Role.steward and actor.organization_id is not None:
            published = select(Dataset.id).where(Dataset.publisher_id == actor.organization_id)
            visible.append(Agreement.dataset_id.in_(published))
        query = query.where(or_(*visible))
    if project_id is not None:
        query = query.where(Agreement.project_id == project_id)
    return list(session.scalars(query.order_by(Agreement.id.desc())))


def agreement_odrl(session: Session, agreement: Agreement, *, base_url: str) -> dict[str, Any]:
    """The agreement as an ODRL 2.2 policy (JSON-LD), for the API and the CLI alike."""
    project = get_project(session, agreement.project_id)
    lead = session.get(Organization, project.lead_organization_id)
    return odrl.agreement_policy(
        agreement,
        project=project,
        lead_organization=lead.slug if lead else "",
        base_url=base_url,
        column_classes=column_classes(session, agreement.dataset),
    )
