"""The airlock: releasing a held job's outputs after the automatic checks and a human review.

A job that used restricted or secure data finishes with its outputs (log included) ``held``:
until they are released, the requester sees neither their names, sizes and checksums nor the
job's exit code (a name or a code could carry values from the inputs).  The requester asks for
release saying what the job writes and why it is safe; the reviewers see every file.  A
steward of every publisher whose data the job used then approves, rejects, or returns it with
comments; a returned release can be asked for again (a new round).  Only when every involved
publisher has approved the same round are the outputs ``released`` and downloadable.

Rules: nobody reviews a release of their own project (requesters and project members cannot
approve), an operator may reject or return but approval belongs to the data's stewards, and a
file the automatic checks blocked cannot be approved: the requester must change the job and
run it again.  Every step is audited and notified.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.compute.jobs import RELEASE_WORDS, get_job, may_review, outputs_visible
from bitgoeul.compute.models import (
    FINISHED,
    ComputeAudit,
    Job,
    OutputRelease,
    ReleaseDecision,
    ReleaseStatus,
    ReviewVerdict,
)
from bitgoeul.compute.schemas import ReleaseDecisionPublic, ReleasePublic
from bitgoeul.errors import AccessDenied, Conflict, ValidationFailed
from bitgoeul.governance import notifications
from bitgoeul.governance import queries as governance_queries
from bitgoeul.messages import Message, msg

MAX_CONTEXT_CHARS = 5000
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


def _notify(session: Session, user_ids: set[int], *, text: Message, job: Job) -> None:
    notifications.notify(session, user_ids, kind="job.release", text=text, link=f"/jobs/{job.id}")


def _stewards(session: Session, organization_ids: list[int]) -> set[int]:
    return set(
        session.scalars(
            select(User.id).where(
                User.organization_id.in_(organization_ids),
                User.role == Role.steward,
                User.is_active.is_(True),
            )
        )
    )


def _project_members(session: Session, job: Job) -> set[int]:
    project = governance_queries.get_project(session, job.project_id)
    return {m.user_id for m in project.members}


def request_release(session: Session, *, actor: Actor, job_id: int, context: str) -> OutputRelease:
    """The requester asks for the outputs to be released, saying what the job writes and why
    it is safe to let out (one text: the requester does not see the files' names); commits."""
    job = get_job(session, actor=actor, job_id=job_id)
    project = governance_queries.get_project(session, job.project_id)
    if governance_queries.member_role(project, actor) is None:
        raise AccessDenied(
            msg(
                "Only the job's project members ask for its outputs to be released; ask a "
                "member of its project."
            )
        )
    if job.status not in FINISHED:
        raise Conflict(
            msg(
                "Job {job} has not finished yet; ask for the release once it has (its page "
                "shows when).",
                job=job.id,
            )
        )
    if job.release_status not in (ReleaseStatus.held, ReleaseStatus.returned):
        raise Conflict(
            msg(
                "Job {job}'s outputs are {status}: there is nothing to ask for.",
                job=job.id,
                status=RELEASE_WORDS[job.release_status],
            )
        )
    files = [o["path"] for o in job.outputs]
    text = context.strip()
    if not text:
        raise ValidationFailed(
            msg(
                "context: say what the job writes (each kind of file) and why it is safe to "
                "release."
            )
        )
    if len(text) > MAX_CONTEXT_CHARS:
        raise ValidationFailed(
            msg("context: at most {limit} characters; shorten it.", limit=MAX_CONTEXT_CHARS)
        )
    previous = current_round(session, job)
    release = OutputRelease(
        job_id=job.id,
        round=1 if previous is None else previous.release.round + 1,
        requested_by_id=actor.user_id,
        file_context={CONTEXT_KEY: text},
    )
    session.add(release)
    job.release_status = ReleaseStatus.in_review
    publishers = involved_publishers(job)
    _notify(
        session,
        _stewards(session, publishers),
        text=msg(
            "Job {job} of project '{project}' asks to release its outputs, made from your "
            "organization's data: please review.",
            job=job.id,
            project=project.title,
        ),
        job=job,
    )
    record_event(
        session,
        action=ComputeAudit.job_release_requested,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="job",
        resource_id=str(job.id),
        organization_id=job.organization_id,
        detail={"round": release.round, "files": len(files), "publishers": publishers},
    )
    session.commit()
    return release


def review_release(
    session: Session,
    *,
    actor: Actor,
    job_id: int,
    verdict: ReviewVerdict,
    comment: str = "",
) -> Job:
    """A steward of an involved publisher decides this round for their organization; commits."""
    job = get_job(session, actor=actor, job_id=job_id)
    if not may_review(actor, job):
        raise AccessDenied(
            msg(
                "Only stewards of the data the job used and operators review it; the release "
                "queue lists the jobs waiting for you."
            )
        )
    if actor.user_id in _project_members(session, job):
        raise AccessDenied(
            msg(
                "You are a member of this job's project: nobody reviews their own release. "
                "Ask another steward of your organization."
            )
        )
    if job.release_status != ReleaseStatus.in_review:
        raise Conflict(
            msg(
                "Job {job}'s outputs are {status}, not in review; there is nothing to decide.",
                job=job.id,
                status=RELEASE_WORDS[job.release_status],
            )
        )
    round_ = current_round(session, job)
    assert round_ is not None  # noqa: S101 - in review means a release was asked for
    comment = comment.strip()
    if verdict != ReviewVerdict.approve and not comment:
        raise ValidationFailed(msg("comment: say what the requester must change, or why not."))
    publishers = involved_publishers(job)
    if verdict == ReviewVerdict.approve:
        if not any(actor.is_steward_of(p) for p in publishers):
            raise AccessDenied(
                msg(
                    "Approval belongs to the stewards of the data the job used; operators may "
                    "reject or return."
                )
            )
        blocked = blocked_files(job)
        if blocked:
            raise Conflict(
                msg(
                    "The automatic checks blocked {files}: these outputs cannot be released. "
                    "Return the request so the job is changed and run again.",
                    files=", ".join(blocked),
                )
            )
    organization_id = actor.organization_id  # a publisher's, or the operators' organization
    if organization_id is None:
        raise AccessDenied(
            msg(
                "Your account belongs to no organization, and reviews are decided for one; "
                "ask the hub's operators to add you to yours."
            )
        )
    if any(d.organization_id == organization_id for d in round_.decisions):
        raise Conflict(
            msg(
                "Round {round} already has your organization's decision; the job's page shows it.",
                round=round_.release.round,
            )
        )
    session.add(
        ReleaseDecision(
            release_id=round_.release.id,
            organization_id=organization_id,
            reviewer_id=actor.user_id,
            verdict=verdict,
            comment=comment,
        )
    )
    session.flush()
    approved = {d.organization_id for d in round_.decisions if d.verdict == ReviewVerdict.approve}
    if verdict == ReviewVerdict.approve:
        approved.add(organization_id)
    if verdict == ReviewVerdict.reject:
        job.release_status = ReleaseStatus.rejected
    elif verdict == ReviewVerdict.return_:
        job.release_status = ReleaseStatus.returned
    elif set(publishers) <= approved:
        job.release_status = ReleaseStatus.released
    organization = session.get(Organization, organization_id)
    who = organization.name if organization else msg("a reviewer")
    if job.release_status == ReleaseStatus.released:
        told = msg("The outputs of job {job} were released: download them.", job=job.id)
    elif job.release_status == ReleaseStatus.rejected:
        told = msg(
            "The release of job {job}'s outputs was rejected by {who}: {comment}",
            job=job.id,
            who=who,
            comment=comment,
        )
    elif job.release_status == ReleaseStatus.returned:
        told = msg(
            "The release of job {job}'s outputs was returned by {who} with comments: {comment}",
            job=job.id,
            who=who,
            comment=comment,
        )
    else:
        told = msg(
            "The release of job {job}'s outputs was approved by {who}; waiting for the other "
            "publishers.",
            job=job.id,
            who=who,
        )
    _notify(session, _project_members(session, job), text=told, job=job)
    record_event(
        session,
        action=ComputeAudit.job_release_reviewed,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="job",
        resource_id=str(job.id),
        organization_id=organization_id,
        detail={
            "round": round_.release.round,
            "verdict": verdict.value,
            "comment": comment,
            "release_status": job.release_status.value,
        },
    )
    session.commit()
    return job


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
