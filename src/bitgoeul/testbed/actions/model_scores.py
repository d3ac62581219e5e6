"""Scoring a model submission when its job ends (``job_finished``, a ``JobRunner`` finish hook
made by ``testbed_scorer``): the predictions it wrote are scored like an uploaded file; the
participant sees the job's status, the score and, when the task shows logs, the end of the log,
and never the job's outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.compute import folders as compute_folders
from bitgoeul.compute.models import Job, JobStatus
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    BitgoeulError,
    ValidationFailed,
)
from bitgoeul.governance import notifications
from bitgoeul.messages import msg, reread
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed.actions.reruns import _finish_rerun, _submitter
from bitgoeul.testbed.actions.submissions import _record_scores, _score_door, _score_file, _Scores
from bitgoeul.testbed.actions.tasks import _audit
from bitgoeul.testbed.models import (
    SubmissionStatus,
    TestbedAudit,
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
)

PREDICTION_FILES = ("predictions.csv", "predictions.parquet")


LOG_EXCERPT_CHARS = 4000


def _job_predictions(settings: Settings, job: Job) -> Path:
    output = compute_folders.job_paths(settings, job.id).output
    for name in PREDICTION_FILES:
        candidate = output / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    raise ValidationFailed(
        msg(
            "The model wrote no predictions: write predictions.csv or predictions.parquet "
            "(columns: the id column and 'prediction') into BITGOEUL_OUTPUT_DIR."
        )
    )


def _log_excerpt(settings: Settings, task: TestbedTask, job: Job) -> str:
    if not task.show_logs:
        return ""
    log = compute_folders.job_paths(settings, job.id).log
    if not log.is_file():
        return ""
    size = log.stat().st_size
    with log.open("rb") as stream:
        stream.seek(max(0, size - LOG_EXCERPT_CHARS))
        return stream.read().decode("utf-8", errors="replace")


def _score_job(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    task: TestbedTask,
    job: Job,
    actor: Actor,
    test_version: int,
    submission_id: int,
) -> _Scores:
    if job.status != JobStatus.succeeded:
        raise ValidationFailed(
            msg("The model's job did not succeed: {reason}", reason=reread(job.reason))
        )
    return _score_file(
        session,
        _score_door(session, actor=actor, task=task, submission_id=submission_id),
        settings=settings,
        store=store,
        actor=actor,
        task=task,
        path=_job_predictions(settings, job),
        test_version=test_version,
    )


def job_finished(session: Session, job: Job, *, settings: Settings, store: ObjectStore) -> None:
    """Score the submission (or re-run) whose job just ended; a ``JobRunner`` finish hook."""
    submission = session.scalars(
        select(TestbedSubmission).where(TestbedSubmission.job_id == job.id)
    ).one_or_none()
    rerun = session.scalars(select(TestbedRerun).where(TestbedRerun.job_id == job.id)).one_or_none()
    if submission is None and rerun is None:
        return
    target = submission or session.get(TestbedSubmission, rerun.submission_id)  # type: ignore[union-attr]
    assert target is not None  # noqa: S101 - CASCADE keeps them together
    task = session.get(TestbedTask, target.task_id)
    assert task is not None  # noqa: S101
    try:
        scores = _score_job(
            session,
            settings=settings,
            store=store,
            task=task,
            job=job,
            actor=_submitter(session, target),
            test_version=target.test_version,
            submission_id=target.id,
        )
        error = ""
    except BitgoeulError as failure:
        scores, error = None, failure.message
    if rerun is not None:
        _finish_rerun(rerun, target, scores, error)
    else:
        target.log_excerpt = _log_excerpt(settings, task, job)
        if scores is not None:
            _record_scores(target, scores, target.environment)
        else:
            target.status = SubmissionStatus.failed
            target.error = error[:4000]
            target.scored_at = utcnow()
        if target.submitted_by_id is not None:
            notifications.notify(
                session,
                {target.submitted_by_id},
                kind="testbed.scored",
                text=(
                    msg(
                        "Your model submission {submission} to '{task}' was scored.",
                        submission=target.id,
                        task=task.title,
                    )
                    if scores is not None
                    else msg(
                        "Your model submission {submission} to '{task}' failed: see why.",
                        submission=target.id,
                        task=task.title,
                    )
                ),
                link=f"/testbed/{task.slug}/submissions/{target.id}",
            )
    _audit(
        session,
        actor=Actor(user_id=None, username="testbed-scorer", role=None, organization_id=None),
        action=(
            TestbedAudit.testbed_rerun_scored
            if rerun is not None
            else TestbedAudit.testbed_model_scored
        ),
        outcome="ok" if scores is not None else "failed",
        task=task,
        resource_type="testbed_submission",
        resource_id=target.id,
        detail={"job": job.id, "error": error[:500]},
    )
    session.commit()


def testbed_scorer(settings: Settings, store: ObjectStore) -> Callable[[Session, Job], None]:
    """The ``JobRunner`` finish hook that scores model submissions and re-runs."""

    def hook(session: Session, job: Job) -> None:
        job_finished(session, job, settings=settings, store=store)

    return hook
