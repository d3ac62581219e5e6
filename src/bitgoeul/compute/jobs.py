"""Submitting, cancelling and reading jobs.

``submit_job`` checks the project membership, the environment and the resources, asks the
decision point about every dataset (action ``use_in_job``, audited under each publisher),
unpacks the bundle into the job's folder, reserves the worst-case credits and queues the job,
all or nothing: a refusal leaves no job, no folder and no debit.  The runner
(``compute.runner``) starts queued jobs; this module never runs user code.

Who sees what: a job's page and status are for its project's members, the stewards of the
datasets it used and operators.  Its outputs and log are held, for jobs on restricted or
secure data, until the release review lets them out; reviewers and operators read them to
review.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.catalog.references import parse_reference
from bitgoeul.compute import bundle, credits, inputs
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.models import FINISHED, ComputeAudit, Job, JobStatus, ReleaseStatus
from bitgoeul.compute.schemas import JobLog, JobPublic, JobSpec
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, BitgoeulError, Conflict, NotFound, ValidationFailed
from bitgoeul.governance import queries as governance_queries
from bitgoeul.governance.decision import Decision, JobOutputs, OutputAction, decide_outputs
from bitgoeul.governance.doors import Door, failure_reason
from bitgoeul.governance.models import ProjectMember
from bitgoeul.messages import joined, msg

LOG_NAME = "log.txt"
MAX_LOG_CHUNK = 256 * 1024


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def log(self) -> Path:
        return self.root / LOG_NAME


def job_paths(settings: Settings, job_id: int) -> JobPaths:
    return JobPaths(settings.ensure_data_dir() / "jobs" / str(job_id))


# A release status in words, for a sentence ("Job 4's outputs are {status}").
RELEASE_WORDS = {
    ReleaseStatus.not_required: msg("free to download, without review"),
    ReleaseStatus.held: msg("held until a release is requested"),
    ReleaseStatus.in_review: msg("in review"),
    ReleaseStatus.returned: msg("returned to the requester"),
    ReleaseStatus.released: msg("already released"),
    ReleaseStatus.rejected: msg("rejected, and will not leave the hub"),
}


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
        credits.reserve(
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


def _involved_publishers(job: Job) -> set[int]:
    return {int(d["publisher_id"]) for d in job.datasets if d.get("publisher_id") is not None}


def _outputs(job: Job) -> JobOutputs:
    """What the decision point needs to know about the job's outputs."""
    held = job.release_status not in (ReleaseStatus.not_required, ReleaseStatus.released)
    return JobOutputs(held=held, publisher_ids=frozenset(_involved_publishers(job)))


def may_review(actor: Actor, job: Job) -> bool:
    """Whether the actor reviews the job's release (``decide_outputs`` says who)."""
    return decide_outputs(actor, OutputAction.review, _outputs(job)).allowed


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
    return decide_outputs(actor, OutputAction.read, _outputs(job)).allowed


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


def held_message(job: Job) -> str:
    return msg(
        "Job {job} used restricted or secure data: its log and outputs are held until the "
        "release review lets them out. Once the job has finished, request the release on its "
        "page; you are told when the stewards decide.",
        job=job.id,
    )


def _readable_log(session: Session, settings: Settings, actor: Actor, job: Job) -> Path:
    """The job's log file, where the actor may read it now (it may not exist yet); a refusal
    is audited."""
    decision = decide_outputs(actor, OutputAction.read, _outputs(job))
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
    return job_paths(settings, job.id).log


def log_file(session: Session, *, settings: Settings, actor: Actor, job_id: int) -> Path | None:
    """The whole log to read or download, under the same rule as :func:`read_log` (audited);
    ``None`` while the job has written nothing."""
    job = get_job(session, actor=actor, job_id=job_id)
    path = _readable_log(session, settings, actor, job)
    if not path.is_file():
        return None
    _record_read(
        session,
        actor=actor,
        job=job,
        action=ComputeAudit.job_log_read,
        decision=Decision(True, "the whole log"),
        detail={"bytes": path.stat().st_size, "whole": True},
    )
    return path


def read_log(
    session: Session, *, settings: Settings, actor: Actor, job_id: int, offset: int = 0
) -> JobLog:
    """A chunk of the job's log from ``offset`` (bytes), for following it live."""
    job = get_job(session, actor=actor, job_id=job_id)
    path = _readable_log(session, settings, actor, job)
    text, next_offset = "", offset
    if path.exists():
        with path.open("rb") as handle:
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


def output_path(
    session: Session, *, settings: Settings, actor: Actor, job_id: int, name: str
) -> Path:
    """The file of a job's outputs to download, where the actor may have it (audited, a
    refusal too)."""
    job = get_job(session, actor=actor, job_id=job_id)
    decision = decide_outputs(actor, OutputAction.read, _outputs(job))
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
    if name not in listed:
        raise NotFound(
            msg(
                "Job {job} has no output '{name}'; its page lists the files it wrote.",
                job=job.id,
                name=name,
            )
        )
    paths = job_paths(settings, job.id)
    path = paths.log if name == LOG_NAME else paths.output / name
    resolved = path.resolve()
    if not resolved.is_relative_to(paths.root.resolve()) or not resolved.is_file():
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
        detail={"output": name, "bytes": resolved.stat().st_size},
    )
    return resolved


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
        reserved = credits.Cost(job.reserved_cpu_hours, job.reserved_gpu_hours)
        credits.settle(
            session,
            organization_id=job.organization_id,
            reserved=reserved,
            used=credits.Cost(Decimal(0), Decimal(0)),
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
