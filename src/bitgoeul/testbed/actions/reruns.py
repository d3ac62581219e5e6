"""Re-running a testbed submission (the organizer's, when a test set or the scorer changes): a
predictions file is scored again at once, a model's bundle runs again as a job paid by the
organizer; the new score is kept beside the old one.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User
from bitgoeul.compute import folders as compute_folders
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.models import Job
from bitgoeul.compute.schemas import Resources
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    AccessDenied,
    BitgoeulError,
    Conflict,
    NotFound,
)
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256
from bitgoeul.testbed.actions.submissions import (
    _queue_model_job,
    _score_door,
    _score_file,
    _Scores,
    _submission_key,
    scorer_environment,
)
from bitgoeul.testbed.actions.tasks import _audit
from bitgoeul.testbed.models import (
    SubmissionKind,
    SubmissionStatus,
    TestbedAudit,
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
)
from bitgoeul.testbed.schemas import ModelSpec


def _finish_rerun(
    rerun: TestbedRerun, original: TestbedSubmission, scores: _Scores | None, error: str
) -> None:
    rerun.finished_at = utcnow()
    if scores is None:
        rerun.status = SubmissionStatus.failed
        rerun.error = error[:4000]
        rerun.matches = False
        return
    rerun.status = SubmissionStatus.scored
    rerun.public_score = scores.public
    rerun.private_score = scores.private
    rerun.matches = (
        original.status == SubmissionStatus.scored
        and scores.public == original.public_score
        and scores.private == original.private_score
    )


def rerun_submission(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    executor: Executor,
    actor: Actor,
    submission_id: int,
) -> TestbedRerun:
    """An operator scores a submission again from what was kept: the same file against the
    same test-set version, or the same code in the same environment as a new job."""
    require_signed_in(actor)
    if not actor.is_operator:
        raise AccessDenied(
            msg("Only operators re-run testbed submissions; ask one to re-run this one.")
        )
    submission = session.get(TestbedSubmission, submission_id)
    if submission is None:
        raise NotFound(
            msg("There is no testbed submission {submission}.", submission=submission_id)
        )
    task = session.get(TestbedTask, submission.task_id)
    assert task is not None  # noqa: S101
    try:
        rerun = _start_rerun(
            session,
            settings=settings,
            store=store,
            executor=executor,
            actor=actor,
            task=task,
            submission=submission,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return rerun


def _start_rerun(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    executor: Executor,
    actor: Actor,
    task: TestbedTask,
    submission: TestbedSubmission,
) -> TestbedRerun:
    rerun = TestbedRerun(
        submission_id=submission.id,
        requested_by_id=actor.user_id,
        status=SubmissionStatus.running,
        environment=scorer_environment(),
    )
    session.add(rerun)
    session.flush()
    submitter = _submitter(session, submission)
    if submission.kind == SubmissionKind.predictions:
        with tempfile.TemporaryDirectory(prefix="bitgoeul-rerun-") as scratch:
            kept = _kept_file(store, submission, Path(scratch))
            try:
                scores: _Scores | None = _score_file(
                    session,
                    _score_door(session, actor=submitter, task=task, submission_id=submission.id),
                    settings=settings,
                    store=store,
                    actor=submitter,
                    task=task,
                    path=kept,
                    test_version=submission.test_version,
                )
                error = ""
            except BitgoeulError as failure:
                scores, error = None, failure.message
        _finish_rerun(rerun, submission, scores, error)
    else:
        rerun.job_id = _rerun_model(
            session,
            settings=settings,
            executor=executor,
            submitter=submitter,
            task=task,
            submission=submission,
        )
        rerun.environment = {**submission.environment, **scorer_environment()}
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_rerun,
        task=task,
        resource_type="testbed_submission",
        resource_id=submission.id,
        detail={"rerun": rerun.id, "job": rerun.job_id, "matches": rerun.matches},
    )
    return rerun


def _kept_file(store: ObjectStore, submission: TestbedSubmission, scratch: Path) -> Path:
    """The predictions file as it was uploaded, copied out of the object store under its own
    name; ``Conflict`` when it is gone or its SHA-256 is no longer the submission's."""
    kept = scratch / submission.filename
    key = _submission_key(submission)
    if store.exists(key):
        with store.open(key) as source, kept.open("wb") as copy:
            shutil.copyfileobj(source, copy)
    if not kept.is_file() or file_sha256(kept) != submission.content_sha256:
        raise Conflict(
            msg(
                "Submission {submission}'s file is missing or changed in storage; it cannot "
                "be scored again.",
                submission=submission.id,
            )
        )
    return kept


def _submitter(session: Session, submission: TestbedSubmission) -> Actor:
    """Scoring and re-runs act for the submission's author: the same decision as theirs."""
    user = session.get(User, submission.submitted_by_id) if submission.submitted_by_id else None
    if user is None:
        raise Conflict(
            msg(
                "The account that made submission {submission} is gone; it cannot be scored "
                "or re-run on its behalf.",
                submission=submission.id,
            )
        )
    return Actor.for_user(user, via="testbed")


def _rerun_model(
    session: Session,
    *,
    settings: Settings,
    executor: Executor,
    submitter: Actor,
    task: TestbedTask,
    submission: TestbedSubmission,
) -> int:
    """A new job from the original job's code, with its entrypoint, arguments, environment and
    resources, run on the submitter's behalf (the same decision) and paid by the organizer."""
    original = session.get(Job, submission.job_id) if submission.job_id else None
    if original is None:
        raise Conflict(
            msg(
                "Submission {submission}'s job is gone; it cannot be re-run.",
                submission=submission.id,
            )
        )
    code = compute_folders.job_paths(settings, original.id).code
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    archive_base = work / f"rerun-{submission.id}-{secrets.token_hex(4)}"
    archive = Path(shutil.make_archive(str(archive_base), "zip", root_dir=code))
    try:
        job = _queue_model_job(
            session,
            settings=settings,
            executor=executor,
            actor=submitter,
            task=task,
            spec=ModelSpec(
                entrypoint=original.entrypoint,
                arguments=list(original.arguments),
                environment=original.environment,
                resources=Resources(
                    cpus=original.cpus,
                    memory_mb=original.memory_mb,
                    gpus=original.gpus,
                    time_limit_s=original.time_limit_s,
                ),
            ),
            bundle_path=archive,
            name=f"testbed {task.slug} re-run of submission {submission.id}",
            test_version=submission.test_version,
            pay_from=task.organization_id,
        )
    finally:
        archive.unlink(missing_ok=True)
    if job.code_sha256 != submission.content_sha256:
        raise Conflict(
            msg(
                "Submission {submission}'s code changed on disk (sha256 {found} instead of "
                "{kept}); it cannot be re-run.",
                submission=submission.id,
                found=job.code_sha256,
                kept=submission.content_sha256,
            )
        )
    return job.id
