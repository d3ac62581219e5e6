"""Reading jobs, their release review and compute credits: who sees which job, what of it they
see, and whose credits they may read.  Nothing here writes (``compute.actions`` does).

Who sees what: a job's page and status are for its project's members, the stewards of the
datasets it used and operators.  Its outputs and log are held, for jobs on restricted or
secure data, until the release review lets them out; reviewers and operators read them to
review (``decide_outputs`` at the decision point says who).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.accounts.queries import get_organization
from bitgoeul.compute.models import (
    CreditAccount,
    CreditEntry,
    Job,
    OutputRelease,
    ReleaseDecision,
    ReleaseStatus,
    ReviewVerdict,
)
from bitgoeul.compute.schemas import (
    JobPublic,
    ReleaseDecisionPublic,
    ReleasePublic,
)
from bitgoeul.errors import AccessDenied, NotFound
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.decision import JobOutputs, OutputAction, decide_outputs
from bitgoeul.governance.models import ProjectMember
from bitgoeul.messages import msg

# A release status in words, for a sentence ("Job 4's outputs are {status}").
RELEASE_WORDS = {
    ReleaseStatus.not_required: msg("free to download, without review"),
    ReleaseStatus.held: msg("held until a release is requested"),
    ReleaseStatus.in_review: msg("in review"),
    ReleaseStatus.returned: msg("returned to the requester"),
    ReleaseStatus.released: msg("already released"),
    ReleaseStatus.rejected: msg("rejected, and will not leave the hub"),
}


def _involved_publishers(job: Job) -> set[int]:
    return {int(d["publisher_id"]) for d in job.datasets if d.get("publisher_id") is not None}


def job_outputs(job: Job) -> JobOutputs:
    """What the decision point needs to know about the job's outputs."""
    held = job.release_status not in (ReleaseStatus.not_required, ReleaseStatus.released)
    return JobOutputs(held=held, publisher_ids=frozenset(_involved_publishers(job)))


def may_review(actor: Actor, job: Job) -> bool:
    """Whether the actor reviews the job's release (``decide_outputs`` says who)."""
    return decide_outputs(actor, OutputAction.review, job_outputs(job)).allowed


def may_see(session: Session, actor: Actor, job: Job) -> bool:
    """Who sees a job at all, in a list or on its own: operators, its project's members and
    its release reviewers.  (A testbed model submission runs in the task's own project, so the
    participant who sent it sees its score, not the job.)"""
    if actor.is_operator or may_review(actor, job):
        return True
    project = governance_queries.get_project(session, job.project_id)
    return governance_queries.member_role(project, actor) is not None


def get_job(session: Session, *, actor: Actor, job_id: int) -> Job:
    """A job, for those ``may_see`` lets see it (others: not found)."""
    governance_queries.require_signed_in(actor)
    job = session.get(Job, job_id)
    if job is None or not may_see(session, actor, job):
        raise NotFound(
            msg(
                "There is no job {job} that you may see; your jobs are listed on the jobs page.",
                job=job_id,
            )
        )
    return job


def list_jobs(
    session: Session, *, actor: Actor, project_id: int | None = None, limit: int = 100
) -> list[Job]:
    """The jobs ``get_job`` would show the actor, newest first: the same rule."""
    governance_queries.require_signed_in(actor)
    query = select(Job).order_by(Job.id.desc())
    if not actor.is_operator:
        mine = select(ProjectMember.project_id).where(ProjectMember.user_id == actor.user_id)
        candidates: list[ColumnElement[bool]] = [Job.project_id.in_(mine)]
        if actor.role == Role.steward:
            # Jobs whose outputs a steward may review; may_see narrows them to their data.
            candidates.append(Job.release_status != ReleaseStatus.not_required)
        query = query.where(or_(*candidates))
    if project_id is not None:
        query = query.where(Job.project_id == project_id)
    found: list[Job] = []
    for job in session.scalars(query):
        if may_see(session, actor, job):
            found.append(job)
            if len(found) >= limit:
                break
    return found


HELD_REASON = msg(
    "finished; how it ended, its log and the names, sizes and checksums of its outputs are "
    "held until the release review lets them out"
)


def job_public(session: Session, job: Job, *, actor: Actor) -> JobPublic:
    """The job as ``actor`` may see it.  While its outputs are held, the requester sees
    neither their names, sizes and checksums nor the exit code, the reason in words or the
    checks' findings: a file name or an exit code could carry values from the inputs."""
    user = session.get(User, job.submitted_by_id) if job.submitted_by_id is not None else None
    organization = session.get(Organization, job.organization_id)
    shown = JobPublic.of(
        job,
        submitted_by=user.username if user else None,
        organization=organization.slug if organization else "",
    )
    if outputs_visible(actor, job):
        return shown
    ran = job.exit_code is not None or bool(job.outputs)
    return shown.model_copy(
        update={
            "outputs": [],
            "outputs_held": True,
            "exit_code": None,
            # A job that never ran says why (the decision refused it, it was cancelled).
            "reason": HELD_REASON if ran else shown.reason,
            "checks": {},
        }
    )


def outputs_visible(actor: Actor, job: Job) -> bool:
    """Whether the actor may read the job's log and outputs now (``decide_outputs``)."""
    return decide_outputs(actor, OutputAction.read, job_outputs(job)).allowed


def held_message(job: Job) -> str:
    return msg(
        "Job {job} used restricted or secure data: its log and outputs are held until the "
        "release review lets them out. Once the job has finished, request the release on its "
        "page; you are told when the stewards decide.",
        job=job.id,
    )


# The requester's text is kept under this key of ``OutputRelease.file_context`` (rounds asked
# for before outputs were hidden from requesters hold one text per file name).
CONTEXT_KEY = "*"


@dataclass(frozen=True)
class Round:
    release: OutputRelease
    decisions: list[ReleaseDecision]


def involved_publishers(job: Job) -> list[int]:
    return sorted({int(d["publisher_id"]) for d in job.datasets if d.get("review_outputs")})


def blocked_files(job: Job) -> list[str]:
    files = job.checks.get("files", []) if job.checks else []
    blocked = [
        str(f["path"])
        for f in files
        if any(finding.get("severity") == "block" for finding in f.get("findings", []))
    ]
    if job.checks.get("error"):
        blocked.append("(the automatic checks did not run)")
    return blocked


def current_round(session: Session, job: Job) -> Round | None:
    release = session.scalars(
        select(OutputRelease)
        .where(OutputRelease.job_id == job.id)
        .order_by(OutputRelease.round.desc())
        .limit(1)
    ).first()
    if release is None:
        return None
    decisions = list(
        session.scalars(
            select(ReleaseDecision)
            .where(ReleaseDecision.release_id == release.id)
            .order_by(ReleaseDecision.id)
        )
    )
    return Round(release, decisions)


def review_queue(session: Session, *, actor: Actor) -> list[Job]:
    """Jobs in review that wait for the actor's organization's decision (operators: all)."""
    governance_queries.require_signed_in(actor)
    in_review = session.scalars(
        select(Job).where(Job.release_status == ReleaseStatus.in_review).order_by(Job.id)
    )
    waiting = []
    for job in in_review:
        if not may_review(actor, job):
            continue
        round_ = current_round(session, job)
        decided = {d.organization_id for d in round_.decisions} if round_ else set()
        if actor.is_operator or actor.organization_id not in decided:
            waiting.append(job)
    return waiting


def _context_text(stored: dict[str, str]) -> str:
    if CONTEXT_KEY in stored:
        return stored[CONTEXT_KEY]
    return "\n".join(f"{name}: {text}" for name, text in stored.items())


def release_public(session: Session, job: Job, *, actor: Actor) -> ReleasePublic:
    """The release's state: the current round, each decision, who must still decide.  The
    names of blocked files are for reviewers only while the outputs are held."""
    round_ = current_round(session, job)

    def username(user_id: int | None) -> str | None:
        user = session.get(User, user_id) if user_id is not None else None
        return user.username if user else None

    def slug(organization_id: int) -> str:
        organization = session.get(Organization, organization_id)
        return organization.slug if organization else str(organization_id)

    decisions = round_.decisions if round_ else []
    approved = {d.organization_id for d in decisions if d.verdict == ReviewVerdict.approve}
    waiting = (
        [slug(p) for p in involved_publishers(job) if p not in approved]
        if job.release_status == ReleaseStatus.in_review
        else []
    )
    return ReleasePublic(
        job=job.id,
        release_status=job.release_status,
        round=round_.release.round if round_ else None,
        requested_by=username(round_.release.requested_by_id) if round_ else None,
        context=_context_text(round_.release.file_context) if round_ else "",
        decisions=[
            ReleaseDecisionPublic(
                organization=slug(d.organization_id),
                reviewer=username(d.reviewer_id),
                verdict=d.verdict,
                comment=d.comment,
                created_at=d.created_at,
            )
            for d in decisions
        ],
        waiting_for=waiting,
        blocked_files=blocked_files(job) if outputs_visible(actor, job) else [],
    )


def balance(session: Session, organization_id: int) -> CreditAccount:
    account = session.get(CreditAccount, organization_id)
    return account or CreditAccount(
        organization_id=organization_id, cpu_hours=Decimal(0), gpu_hours=Decimal(0)
    )


def history(session: Session, organization_id: int, *, limit: int = 100) -> list[CreditEntry]:
    query = (
        select(CreditEntry)
        .where(CreditEntry.organization_id == organization_id)
        .order_by(CreditEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def organization_for(session: Session, *, actor: Actor, slug: str | None) -> Organization:
    """Whose credits the actor may see: their own organization's, or (operators only) the one
    named by ``slug``."""
    if not slug:
        if actor.organization_id is None:
            raise NotFound(
                msg(
                    "You belong to no organization, so there are no credits to show; ask the "
                    "hub's operators to add your account to your organization."
                )
            )
        own = session.get(Organization, actor.organization_id)
        assert own is not None  # noqa: S101 - a user's organization exists
        return own
    found = get_organization(session, slug)
    if found is None:
        raise NotFound(
            msg(
                "There is no organization '{organization}'; choose one from the list.",
                organization=slug,
            )
        )
    if found.id != actor.organization_id and not actor.is_operator:
        raise AccessDenied(
            msg(
                "Only operators see another organization's credits; your own are on the "
                "credits page."
            )
        )
    return found
