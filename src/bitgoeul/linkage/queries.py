"""Reads for linkage: projects, who must approve them, runs, and who may see them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, User
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.errors import NotAuthenticated, NotFound
from bitgoeul.governance.decision import DecisionContext, LinkageTerms
from bitgoeul.governance.models import ProjectMember
from bitgoeul.linkage.models import LinkageProject, LinkageReviewPair, LinkageRun, RunStatus
from bitgoeul.linkage.schemas import ApprovalPublic, LinkageProjectPublic, LinkageRunPublic
from bitgoeul.messages import msg
from bitgoeul.privacy import views


def get_linkage_project(session: Session, linkage_project_id: int) -> LinkageProject:
    project = session.scalars(
        select(LinkageProject)
        .where(LinkageProject.id == linkage_project_id)
        .options(selectinload(LinkageProject.approvals))
    ).one_or_none()
    if project is None:
        raise NotFound(msg("There is no linkage project {id}.", id=linkage_project_id))
    return project


def source_versions(
    session: Session, project: LinkageProject
) -> list[tuple[Dataset, DatasetVersion]]:
    """Each source's dataset and pinned version, in the project's order (the anchor first)."""
    found = []
    for source in project.sources:
        dataset = get_dataset(session, source["dataset"])
        found.append((dataset, version_of(session, dataset, source["version"])))
    return found


def publishers(session: Session, project: LinkageProject) -> dict[int, Organization]:
    """The organizations publishing the sources: each must approve."""
    slugs = [s["dataset"] for s in project.sources]
    rows = session.execute(
        select(Organization)
        .join(Dataset, Dataset.publisher_id == Organization.id)
        .where(Dataset.slug.in_(slugs))
    ).scalars()
    return {org.id: org for org in rows}


def approved_by(project: LinkageProject) -> set[int]:
    return {approval.organization_id for approval in project.approvals}


def linkage_context(
    project: LinkageProject, dataset: Dataset, version: DatasetVersion, source_index: int
) -> DecisionContext:
    source = project.sources[source_index]
    columns = [*source["fields"].values(), *source["attributes"]]
    return DecisionContext(
        column_classes=views.column_classes(views.schema_fields(version.table_schema)),
        linkage=LinkageTerms(
            linkage_project_id=project.id,
            approved_by_publisher=dataset.publisher_id in approved_by(project),
            custodian_id=project.custodian_id,
            columns=list(dict.fromkeys(columns)),
        ),
    )


def may_see(session: Session, actor: Actor, project: LinkageProject) -> bool:
    """Its creator, the stewards of its publishers and custodian, the research project's
    members and operators see a linkage project, its runs and reports."""
    if actor.is_anonymous:
        return False
    if actor.is_operator or actor.user_id == project.created_by_id:
        return True
    involved = {*publishers(session, project), project.custodian_id}
    if any(actor.is_steward_of(org) for org in involved):
        return True
    if project.project_id is None:
        return False
    member = session.scalar(
        select(ProjectMember.id).where(
            ProjectMember.project_id == project.project_id,
            ProjectMember.user_id == actor.user_id,
        )
    )
    return member is not None


def linkage_project_for(
    session: Session, *, actor: Actor, linkage_project_id: int
) -> LinkageProject:
    project = get_linkage_project(session, linkage_project_id)
    if not may_see(session, actor, project):
        raise NotFound(msg("There is no linkage project {id}.", id=linkage_project_id))
    return project


def project_public(session: Session, project: LinkageProject) -> LinkageProjectPublic:
    orgs = publishers(session, project)
    custodian = session.get(Organization, project.custodian_id)
    names = {
        user.id: user.username
        for user in session.scalars(
            select(User).where(User.id.in_([a.approved_by_id for a in project.approvals]))
        )
    }
    approvals = [
        ApprovalPublic(
            organization=orgs[a.organization_id].slug if a.organization_id in orgs else "",
            approved_by=names.get(a.approved_by_id) if a.approved_by_id else None,
            approved_at=a.approved_at,
            note=a.note,
        )
        for a in project.approvals
    ]
    done = approved_by(project)
    return LinkageProjectPublic(
        id=project.id,
        title=project.title,
        purpose=project.purpose,
        method=project.method,
        custodian=custodian.slug if custodian else "",
        project_id=project.project_id,
        sources=project.sources,
        key_definitions=project.key_definitions,
        threshold=project.threshold,
        publishers=sorted(org.slug for org in orgs.values()),
        approvals=approvals,
        awaiting=sorted(org.slug for org_id, org in orgs.items() if org_id not in done),
        created_at=project.created_at,
    )


def run_for(session: Session, *, actor: Actor, run_id: int) -> LinkageRun:
    run = session.get(LinkageRun, run_id)
    if run is None:
        raise NotFound(msg("There is no linkage run {id}.", id=run_id))
    project = get_linkage_project(session, run.linkage_project_id)
    if not may_see(session, actor, project):
        raise NotFound(msg("There is no linkage run {id}.", id=run_id))
    return run


def run_public(session: Session, run: LinkageRun) -> LinkageRunPublic:
    dataset = session.get(Dataset, run.dataset_id) if run.dataset_id else None
    return LinkageRunPublic(
        id=run.id,
        linkage_project_id=run.linkage_project_id,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        linked_dataset=dataset.slug if dataset else None,
        report=run.report,
        error=run.error,
    )


def require_signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to work with linkage projects."))


def list_linkage_projects(session: Session, *, actor: Actor) -> list[LinkageProject]:
    """The linkage projects the actor may see, newest first."""
    if actor.is_anonymous:
        return []
    projects = session.scalars(
        select(LinkageProject)
        .options(selectinload(LinkageProject.approvals))
        .order_by(LinkageProject.id.desc())
    )
    return [p for p in projects if may_see(session, actor, p)]


def runs_of(session: Session, project: LinkageProject) -> list[LinkageRun]:
    return list(
        session.scalars(
            select(LinkageRun)
            .where(LinkageRun.linkage_project_id == project.id)
            .order_by(LinkageRun.id.desc())
        )
    )


def run_counts(session: Session) -> tuple[int, int]:
    """Linkage runs on the hub: all of them, and those that succeeded (the control tower's
    indicator)."""
    total, succeeded = session.execute(
        select(
            func.count(),
            func.count().filter(LinkageRun.status == RunStatus.succeeded),
        ).select_from(LinkageRun)
    ).one()
    return int(total), int(succeeded)


def review_pairs(session: Session, run_id: int) -> list[LinkageReviewPair]:
    """The run's clerical review sample, by source, stratum and score."""
    return list(
        session.scalars(
            select(LinkageReviewPair)
            .where(LinkageReviewPair.run_id == run_id)
            .order_by(LinkageReviewPair.source, LinkageReviewPair.stratum, LinkageReviewPair.id)
        )
    )
