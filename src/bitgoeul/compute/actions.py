"""Every write of compute: submitting and cancelling jobs, reading a job's log and outputs
(each read audited, a refused one too), the release review, and credit movements.

``submit_job`` checks the project membership, the environment and the resources, asks the
decision point about every dataset (action ``use_in_job``, audited under each publisher),
unpacks the bundle into the job's folder, reserves the worst-case credits and queues the job,
all or nothing: a refusal leaves no job, no folder and no debit.  The runner
(``compute.runner``) starts queued jobs and records their end here (``record_job_end``); this
module never runs user code.

The airlock: a job that used restricted or secure data finishes with its outputs (log
included) ``held``: until they are released, the requester sees neither their names, sizes and
checksums nor the job's exit code.  The requester asks for release saying what the job writes
and why it is safe; a steward of every publisher whose data the job used then approves,
rejects, or returns it with comments; a returned release can be asked for again (a new round).
Nobody reviews a release of their own project, an operator may reject or return but approval
belongs to the data's stewards, and a file the automatic checks blocked cannot be approved.

Credits: every change locks the organization's ``CreditAccount`` row first (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite serialises writers with a no-op write that takes its database
lock), checks, then writes the new balance and a ledger entry in the same transaction, so two
concurrent reservations see each other's debit and a balance never goes below zero.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.accounts.queries import get_organization
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.catalog.references import parse_reference
from bitgoeul.compute import bundle, credits, inputs
from bitgoeul.compute.credits import MAX_GRANT_HOURS, Cost, InsufficientCredits, hours
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.folders import LOG_NAME, job_paths, log_key, output_key
from bitgoeul.compute.models import (
    FINISHED,
    ComputeAudit,
    CreditAccount,
    CreditEntry,
    CreditKind,
    Job,
    JobStatus,
    OutputRelease,
    ReleaseDecision,
    ReleaseStatus,
    ReviewVerdict,
)
from bitgoeul.compute.queries import (
    CONTEXT_KEY,
    RELEASE_WORDS,
    blocked_files,
    current_round,
    get_job,
    held_message,
    involved_publishers,
    job_outputs,
    may_review,
    may_see,
)
from bitgoeul.compute.sandbox import Outcome
from bitgoeul.compute.schemas import JobLog, JobSpec
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, BitgoeulError, Conflict, NotFound, ValidationFailed
from bitgoeul.governance import notifications
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.decision import Decision, OutputAction, decide_outputs
from bitgoeul.governance.doors import Door, failure_reason
from bitgoeul.messages import Message, joined, msg
from bitgoeul.storage.base import ObjectStore

MAX_LOG_CHUNK = 256 * 1024


def _check_resources(settings: Settings, spec: JobSpec) -> None:
    wanted = spec.resources
    problems = []
    # The hub's share of its executor (this machine, or the Ray cluster): a job asking for
    # more could never start.
    if wanted.cpus > settings.job_cpus:
        problems.append(
            msg("cpus: this hub runs jobs on at most {cpus} cores", cpus=settings.job_cpus)
        )
    if wanted.gpus > settings.job_gpus:
        problems.append(
            msg("gpus: this hub has {gpus} GPU(s) for jobs", gpus=settings.job_gpus)
            if settings.job_gpus
            else msg("gpus: this hub has no GPU for jobs; ask for gpus: 0")
        )
    if wanted.memory_mb > settings.job_max_memory_mb:
        problems.append(
            msg("memory_mb: at most {memory} MB per job", memory=settings.job_max_memory_mb)
        )
    if wanted.time_limit_s > settings.job_max_time_limit_s:
        problems.append(
            msg("time_limit_s: at most {seconds} s per job", seconds=settings.job_max_time_limit_s)
        )
    if problems:
        raise ValidationFailed(
            msg(
                "The job asks for more than this hub allows: {problems}. Ask for less and "
                "submit it again.",
                problems=joined(problems, "; "),
            )
        )


def _python(settings: Settings, environment: str) -> Path:
    environments = settings.environments()
    if environment not in environments:
        raise ValidationFailed(
            msg(
                "There is no job environment '{environment}'; choose one this hub has: "
                "{environments}.",
                environment=environment,
                environments=", ".join(sorted(environments)),
            )
        )
    return environments[environment]


def submit_job(
    session: Session,
    *,
    settings: Settings,
    executor: Executor,
    actor: Actor,
    spec: JobSpec,
    bundle_path: Path,
) -> Job:
    """Queue a job (audited), or refuse it saying why, leaving nothing behind; commits."""
    governance_queries.require_signed_in(actor)
    project = governance_queries.get_project(session, spec.project)
    if governance_queries.member_role(project, actor) is None:
        raise AccessDenied(
            msg(
                "You are not a member of project {project}; only its members run jobs. Ask "
                "the project's owner to add you, or choose one of your own projects.",
                project=project.id,
            )
        )
    door = job_door(session, actor=actor, project_id=spec.project, datasets=spec.datasets)
    with door:
        job = queue_job(
            session,
            door,
            settings=settings,
            executor=executor,
            actor=actor,
            spec=spec,
            bundle_path=bundle_path,
        )
        session.commit()
    return job


def job_door(session: Session, *, actor: Actor, project_id: int, datasets: list[str]) -> Door:
    """The door a job's submission goes through: each dataset's decision is audited under its
    publisher (``dataset.job_decision``); a refusal also as ``job.refused``."""

    def on_failure(session: Session, error: BaseException, entries: list[dict[str, Any]]) -> None:
        record_event(
            session,
            action=ComputeAudit.job_refused,
            outcome="denied" if isinstance(error, BitgoeulError) else "failed",
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type="project",
            resource_id=str(project_id),
            organization_id=actor.organization_id,
            detail={"datasets": datasets, "reason": failure_reason(error)},
        )

    return Door(
        session,
        actor=actor,
        event=ComputeAudit.dataset_job_decision,
        detail={"project": project_id, "job": None},
        on_failure=on_failure,
        failure_detail={"job": None},
    )


def queue_job(
    session: Session,
    door: Door,
    *,
    settings: Settings,
    executor: Executor,
    actor: Actor,
    spec: JobSpec,
    bundle_path: Path,
    testbed_task: str | None = None,
    test_set_context: inputs.TestSetContext | None = None,
    pay_from: int | None = None,
) -> Job:
    """Check, decide (through ``door``), unpack and reserve credits for a job of
    ``spec.project``; the caller has checked who may run jobs there, and commits (or rolls back:
    the job's folder is already gone when this raises).  ``testbed_task``: a testbed model
    submission, whose test set is decided as the task's inputs (``compute.inputs``).
    ``pay_from``: the organization whose credits pay, when not the actor's (a testbed re-run
    is the organizer's)."""
    paying = pay_from if pay_from is not None else actor.organization_id
    if paying is None:
        raise AccessDenied(
            msg(
                "Jobs are paid from an organization's credits and you belong to none; ask the "
                "hub's operators to add your account to your organization."
            )
        )
    organization = session.get(Organization, paying)
    assert organization is not None  # noqa: S101 - a user's organization exists
    _python(settings, spec.environment)
    _check_resources(settings, spec)
    support = executor.support()
    if spec.priority > 0 and not actor.is_operator:
        raise AccessDenied(msg("Only operators raise a job's priority; use 0 or lower."))

    job = Job(
        project_id=spec.project,
        submitted_by_id=actor.user_id,
        organization_id=organization.id,
        name=spec.name.strip(),
        status=JobStatus.queued,
        priority=spec.priority,
        executor=executor.name,
        environment=spec.environment,
        entrypoint=spec.entrypoint,
        arguments=spec.arguments,
        cpus=spec.resources.cpus,
        memory_mb=spec.resources.memory_mb,
        gpus=spec.resources.gpus,
        time_limit_s=spec.resources.time_limit_s,
        code_sha256="",
        release_status=ReleaseStatus.not_required,
    )
    session.add(job)
    session.flush()
    paths = job_paths(settings, job.id)
    try:
        references = [parse_reference(r) for r in spec.datasets]
        door.detail["job"] = job.id
        granted = inputs.decide_inputs(
            session,
            door,
            actor=actor,
            project_id=spec.project,
            references=references,
            testbed_task=testbed_task,
            test_set_context=test_set_context,
        )
        if not support.available and inputs.touches(granted, AccessLevel.secure):
            raise AccessDenied(
                msg(
                    "Secure data is only used in a sandbox, and this hub's executor cannot "
                    "sandbox jobs here ({problem}). Ask the hub operator.",
                    problem=support.reason,
                )
            )
        if not support.available:
            raise ValidationFailed(
                msg(
                    "This hub cannot run jobs right now: {problem}. Ask the hub operator.",
                    problem=support.reason,
                )
            )
        paths.root.mkdir(parents=True, exist_ok=False)
        info = bundle.unpack_bundle(
            bundle_path, paths.code, max_bytes=settings.job_max_bundle_bytes
        )
        bundle.check_entrypoint(paths.code, spec.entrypoint)
        job.code_sha256 = info.sha256
        job.datasets = [g.describe() for g in granted]
        if inputs.needs_review(granted):
            job.release_status = ReleaseStatus.held
        cost = credits.worst_case(cpus=job.cpus, gpus=job.gpus, time_limit_s=job.time_limit_s)
        reserve_credits(
            session,
            organization_id=organization.id,
            cost=cost,
            job_id=job.id,
            organization_name=organization.name,
        )
        job.reserved_cpu_hours = cost.cpu_hours
        job.reserved_gpu_hours = cost.gpu_hours
        record_event(
            session,
            action=ComputeAudit.job_submitted,
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type="job",
            resource_id=str(job.id),
            organization_id=organization.id,
            detail={
                "project": spec.project,
                "datasets": job.datasets,
                "code_sha256": job.code_sha256,
                "environment": job.environment,
                "resources": spec.resources.model_dump(),
                "reserved_cpu_hours": str(cost.cpu_hours),
                "reserved_gpu_hours": str(cost.gpu_hours),
                **({"testbed_task": testbed_task} if testbed_task else {}),
            },
        )
    except BaseException:
        shutil.rmtree(paths.root, ignore_errors=True)
        raise
    return job


def _record_read(
    session: Session,
    *,
    actor: Actor,
    job: Job,
    action: ComputeAudit,
    decision: Decision,
    detail: dict[str, Any],
) -> None:
    """Every read of a job's log or outputs is audited, a refused one too, and committed."""
    record_event(
        session,
        action=action,
        outcome="ok" if decision.allowed else "denied",
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="job",
        resource_id=str(job.id),
        organization_id=job.organization_id,
        detail={**detail, "reason": decision.reason},
    )
    session.commit()


def _may_read_log(session: Session, actor: Actor, job: Job) -> None:
    """Refuse (audited) an actor who may not read the job's log now."""
    decision = decide_outputs(actor, OutputAction.read, job_outputs(job))
    if not decision.allowed:
        _record_read(
            session,
            actor=actor,
            job=job,
            action=ComputeAudit.job_log_read,
            decision=decision,
            detail={},
        )
        raise AccessDenied(held_message(job))


def _open_kept(
    store: ObjectStore, settings: Settings, job: Job, name: str
) -> tuple[BinaryIO, int] | None:
    """A job's log (``name`` is ``log.txt``) or output, open for reading, and its size: from
    the object store once the runner has kept it there, else from the job's folder (a running
    job's log, or a job of an earlier hub); ``None`` when there is none."""
    key = log_key(job.id) if name == LOG_NAME else output_key(job.id, name)
    if store.exists(key):
        return store.open(key), store.size(key)
    paths = job_paths(settings, job.id)
    path = (paths.log if name == LOG_NAME else paths.output / name).resolve()
    if not path.is_relative_to(paths.root.resolve()) or not path.is_file():
        return None
    return path.open("rb"), path.stat().st_size


def open_log(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, job_id: int
) -> tuple[BinaryIO, int] | None:
    """The whole log to read or download, open, and its size, under the same rule as
    :func:`read_log` (audited); ``None`` while the job has written nothing.  The caller
    closes it."""
    job = get_job(session, actor=actor, job_id=job_id)
    _may_read_log(session, actor, job)
    opened = _open_kept(store, settings, job, LOG_NAME)
    if opened is None:
        return None
    _record_read(
        session,
        actor=actor,
        job=job,
        action=ComputeAudit.job_log_read,
        decision=Decision(True, "the whole log"),
        detail={"bytes": opened[1], "whole": True},
    )
    return opened


def read_log(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    job_id: int,
    offset: int = 0,
) -> JobLog:
    """A chunk of the job's log from ``offset`` (bytes), for following it live."""
    job = get_job(session, actor=actor, job_id=job_id)
    _may_read_log(session, actor, job)
    text, next_offset = "", offset
    opened = _open_kept(store, settings, job, LOG_NAME)
    if opened is not None:
        with opened[0] as handle:
            handle.seek(max(0, offset))
            chunk = handle.read(MAX_LOG_CHUNK)
        # Never split a UTF-8 character: stop before an incomplete trailing sequence.
        cut = len(chunk)
        while cut > 0 and cut > len(chunk) - 4 and (chunk[cut - 1] & 0xC0) == 0x80:
            cut -= 1
        if cut > 0 and chunk[cut - 1] >= 0xC0:
            cut -= 1
        if cut == 0 and chunk:
            cut = len(chunk)
        text = chunk[:cut].decode("utf-8", errors="replace")
        next_offset = max(0, offset) + cut
    if next_offset > offset:  # a poll that found nothing new read nothing
        _record_read(
            session,
            actor=actor,
            job=job,
            action=ComputeAudit.job_log_read,
            decision=Decision(True, "a part of the log"),
            detail={"offset": offset, "bytes": next_offset - offset},
        )
    return JobLog(
        text=text,
        offset=offset,
        next_offset=next_offset,
        finished=job.status in FINISHED,
    )


def open_output(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    job_id: int,
    name: str,
) -> tuple[BinaryIO, int]:
    """One file of a job's outputs to download, open, and its size, where the actor may have
    it (audited, a refusal too).  The caller closes it."""
    job = get_job(session, actor=actor, job_id=job_id)
    decision = decide_outputs(actor, OutputAction.read, job_outputs(job))
    if not decision.allowed:
        _record_read(
            session,
            actor=actor,
            job=job,
            action=ComputeAudit.job_output_read,
            decision=decision,
            detail={"output": name},
        )
        raise AccessDenied(held_message(job))
    listed = {o["path"] for o in job.outputs}
    opened = _open_kept(store, settings, job, name) if name in listed else None
    if opened is None:
        raise NotFound(
            msg(
                "Job {job} has no output '{name}'; its page lists the files it wrote.",
                job=job.id,
                name=name,
            )
        )
    _record_read(
        session,
        actor=actor,
        job=job,
        action=ComputeAudit.job_output_read,
        decision=decision,
        detail={"output": name, "bytes": opened[1]},
    )
    return opened


def cancel_job(session: Session, *, actor: Actor, job_id: int) -> Job:
    """Cancel a queued job at once (credits refunded); ask the runner to stop a running one."""
    job = get_job(session, actor=actor, job_id=job_id)
    if job.submitted_by_id != actor.user_id and not actor.is_operator:
        project = governance_queries.get_project(session, job.project_id)
        if governance_queries.member_role(project, actor) is None:
            raise AccessDenied(
                msg(
                    "Only the job's project members and operators cancel it; ask a member "
                    "of its project."
                )
            )
    if job.status in FINISHED:
        raise Conflict(
            msg(
                "Job {job} has already finished; there is nothing to cancel.",
                job=job.id,
            )
        )
    if job.status == JobStatus.queued:
        job.status = JobStatus.cancelled
        job.reason = msg("cancelled by {user} before it started", user=actor.username)
        job.finished_at = utcnow()
        reserved = Cost(job.reserved_cpu_hours, job.reserved_gpu_hours)
        settle_credits(
            session,
            organization_id=job.organization_id,
            reserved=reserved,
            used=Cost(Decimal(0), Decimal(0)),
            job_id=job.id,
        )
        job.used_cpu_hours = Decimal(0)
        job.used_gpu_hours = Decimal(0)
    else:
        job.cancel_requested = True
    record_event(
        session,
        action=ComputeAudit.job_cancel,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="job",
        resource_id=str(job.id),
        organization_id=job.organization_id,
        detail={"status": job.status.value},
    )
    session.commit()
    return job


MAX_CONTEXT_CHARS = 5000


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


def _locked_account(session: Session, organization_id: int) -> CreditAccount:
    """The organization's account, created when missing, locked for this transaction."""
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock now, so the read below is not overtaken by another writer.
        session.execute(
            update(CreditAccount)
            .where(CreditAccount.organization_id == organization_id)
            .values(updated_at=CreditAccount.updated_at)
        )
    account = session.scalars(
        select(CreditAccount)
        .where(CreditAccount.organization_id == organization_id)
        .with_for_update()
    ).one_or_none()
    if account is None:  # the first grant: the new row is this transaction's own until commit
        account = CreditAccount(
            organization_id=organization_id, cpu_hours=Decimal(0), gpu_hours=Decimal(0)
        )
        session.add(account)
        session.flush()
    return account


def _move(
    session: Session,
    account: CreditAccount,
    kind: CreditKind,
    amount: Decimal,
    *,
    reason: str,
    note: str = "",
    job_id: int | None = None,
    actor_id: int | None = None,
) -> None:
    if amount == 0:
        return
    if kind == CreditKind.cpu:
        account.cpu_hours = hours(account.cpu_hours + amount)
        after = account.cpu_hours
    else:
        account.gpu_hours = hours(account.gpu_hours + amount)
        after = account.gpu_hours
    account.updated_at = utcnow()
    session.add(
        CreditEntry(
            organization_id=account.organization_id,
            kind=kind,
            hours=amount,
            balance_after=after,
            reason=reason,
            note=note,
            job_id=job_id,
            actor_id=actor_id,
        )
    )


def grant_credits(
    session: Session,
    *,
    actor: Actor,
    organization_slug: str,
    cpu_hours: Decimal = Decimal(0),
    gpu_hours: Decimal = Decimal(0),
    note: str = "",
) -> CreditAccount:
    """An operator adds (or, with a negative amount, withdraws unused) credits; commits."""
    if not actor.is_operator:
        raise AccessDenied(
            msg(
                "Only the hub's operators grant compute credits; ask them for credits for "
                "your organization."
            )
        )
    organization = get_organization(session, organization_slug)
    if organization is None:
        raise NotFound(
            msg(
                "There is no organization '{organization}'; choose one from the list.",
                organization=organization_slug,
            )
        )
    if cpu_hours == 0 and gpu_hours == 0:
        raise ValidationFailed(msg("Grant some CPU-hours or GPU-hours (both are zero)."))
    if abs(cpu_hours) > MAX_GRANT_HOURS or abs(gpu_hours) > MAX_GRANT_HOURS:
        raise ValidationFailed(
            msg("One grant may move at most {hours} hours.", hours=MAX_GRANT_HOURS)
        )
    account = _locked_account(session, organization.id)
    for kind, amount, balance in (
        (CreditKind.cpu, cpu_hours, account.cpu_hours),
        (CreditKind.gpu, gpu_hours, account.gpu_hours),
    ):
        if balance + amount < 0:
            session.rollback()
            raise ValidationFailed(
                msg(
                    "{organization} has {balance} {kind}-hours left; a withdrawal of {amount} "
                    "would take the balance below zero.",
                    organization=organization_slug,
                    balance=balance,
                    kind=kind.value.upper(),
                    amount=-amount,
                )
            )
        _move(
            session,
            account,
            kind,
            hours(amount),
            reason="grant",
            note=note,
            actor_id=actor.user_id,
        )
    record_event(
        session,
        action=ComputeAudit.credits_grant,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="organization",
        resource_id=organization_slug,
        organization_id=organization.id,
        detail={"cpu_hours": str(cpu_hours), "gpu_hours": str(gpu_hours), "note": note},
    )
    session.commit()
    return account


def reserve_credits(
    session: Session, *, organization_id: int, cost: Cost, job_id: int, organization_name: str
) -> None:
    """Debit a job's worst case, or refuse it; the caller commits with the job."""
    account = _locked_account(session, organization_id)
    short = []
    if cost.cpu_hours > account.cpu_hours:
        short.append(
            msg(
                "{hours} CPU-hours (it has {balance})",
                hours=cost.cpu_hours,
                balance=account.cpu_hours,
            )
        )
    if cost.gpu_hours > account.gpu_hours:
        short.append(
            msg(
                "{hours} GPU-hours (it has {balance})",
                hours=cost.gpu_hours,
                balance=account.gpu_hours,
            )
        )
    if short:
        raise InsufficientCredits(
            msg(
                "{organization} does not have the credits for this job: it may use up to "
                "{needed}. Ask for fewer resources or a shorter time limit, or ask the hub "
                "operator for credits.",
                organization=organization_name,
                needed=joined(short, " + "),
            )
        )
    _move(
        session, account, CreditKind.cpu, -cost.cpu_hours, reason="job_reservation", job_id=job_id
    )
    _move(
        session, account, CreditKind.gpu, -cost.gpu_hours, reason="job_reservation", job_id=job_id
    )


def settle_credits(
    session: Session, *, organization_id: int, reserved: Cost, used: Cost, job_id: int
) -> None:
    """Give back what a finished job reserved but did not use; the caller commits."""
    account = _locked_account(session, organization_id)
    _move(
        session,
        account,
        CreditKind.cpu,
        max(Decimal(0), reserved.cpu_hours - used.cpu_hours),
        reason="job_refund",
        job_id=job_id,
    )
    _move(
        session,
        account,
        CreditKind.gpu,
        max(Decimal(0), reserved.gpu_hours - used.gpu_hours),
        reason="job_refund",
        job_id=job_id,
    )


# The runner's records ------------------------------------------------------------------------

_REASON_STATUS = {
    "exited": JobStatus.succeeded,
    "failed": JobStatus.failed,
    "timed_out": JobStatus.timed_out,
    "cancelled": JobStatus.cancelled,
    "memory_exceeded": JobStatus.failed,
    "killed": JobStatus.failed,
}


def _finished_message(job: Job, status: JobStatus) -> Message:
    """What the submitter is told when their job ends."""
    finished = {
        JobStatus.succeeded: msg("Job {job} succeeded.", job=job.id),
        JobStatus.cancelled: msg("Job {job} was cancelled.", job=job.id),
        JobStatus.timed_out: msg("Job {job} timed out.", job=job.id),
    }.get(status, msg("Job {job} failed.", job=job.id))
    if job.release_status == ReleaseStatus.held:
        return msg(
            "{finished} Its outputs are held until you request their release.",
            finished=finished,
        )
    return finished


def record_job_started(session: Session, *, job: Job, executor: str) -> None:
    """The runner started ``job`` (claimed by it already); audited, commits."""
    record_event(
        session,
        action=ComputeAudit.job_started,
        resource_type="job",
        resource_id=str(job.id),
        organization_id=job.organization_id,
        detail={"executor": executor},
    )
    session.commit()


def record_job_end(
    session: Session,
    *,
    job: Job,
    outcome: Outcome,
    outputs: list[dict[str, Any]],
    checks: dict[str, Any] | None,
) -> None:
    """How a job ended, as the runner saw it: its status, the CPU time and credits it used
    (the rest of its reservation refunded), the manifest of what it wrote and, for held
    outputs, the automatic checks' findings; audited (a held job's file names stay off the
    entry), the submitter told; commits."""
    status = _REASON_STATUS.get(outcome.reason, JobStatus.failed)
    if outcome.reason == "exited" and outcome.exit_code not in (0, None):
        status = JobStatus.failed
    job.status = status
    job.exit_code = outcome.exit_code
    job.reason = outcome.message
    job.finished_at = utcnow()
    job.cpu_seconds = round(outcome.cpu_seconds, 3)
    used = credits.actual(
        cpu_seconds=outcome.cpu_seconds, gpus=job.gpus, wall_seconds=outcome.wall_seconds
    )
    reserved = Cost(job.reserved_cpu_hours, job.reserved_gpu_hours)
    used = Cost(min(used.cpu_hours, reserved.cpu_hours), min(used.gpu_hours, reserved.gpu_hours))
    job.used_cpu_hours = used.cpu_hours
    job.used_gpu_hours = used.gpu_hours
    job.outputs = outputs
    if checks is not None:
        job.checks = checks
    settle_credits(
        session,
        organization_id=job.organization_id,
        reserved=reserved,
        used=used,
        job_id=job.id,
    )
    record_event(
        session,
        action=ComputeAudit.job_finished,
        outcome="ok" if status == JobStatus.succeeded else "failed",
        resource_type="job",
        resource_id=str(job.id),
        organization_id=job.organization_id,
        detail={
            "status": status.value,
            **(
                {}
                if job.release_status == ReleaseStatus.held
                else {"exit_code": outcome.exit_code, "reason": outcome.message[:500]}
            ),
            "wall_seconds": round(outcome.wall_seconds, 3),
            "cpu_seconds": round(outcome.cpu_seconds, 3),
            "used_cpu_hours": str(used.cpu_hours),
            "used_gpu_hours": str(used.gpu_hours),
            # Held outputs' names stay off the log the requester's organization reads.
            "outputs": (
                {"files": len(job.outputs)}
                if job.release_status == ReleaseStatus.held
                else job.outputs
            ),
        },
    )
    submitter = session.get(User, job.submitted_by_id) if job.submitted_by_id else None
    # A testbed model submission's job is the task's, not the participant's: they hear
    # of its score from the scorer, with a link to the submission they can open.
    if submitter is not None and may_see(session, Actor.for_user(submitter, via="cli"), job):
        notifications.notify(
            session,
            {submitter.id},
            kind="job.finished",
            text=_finished_message(job, status),
            link=f"/jobs/{job.id}",
        )
    session.commit()
