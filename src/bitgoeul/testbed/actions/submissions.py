"""Submitting to a testbed task: a predictions file, scored while the request waits (a million
rows take well under two seconds) through the ``testbed_score`` door (the scorer reads the
labels, keys them by the participants' pseudonyms and lets nothing but a number out), or a model
bundle, which becomes a job of the task's own project, which only the organizer belongs to.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bitgoeul import __version__
from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import get_version
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.models import ComputeAudit, Job
from bitgoeul.compute.schemas import JobSpec
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.engine import locked as engine
from bitgoeul.errors import (
    AccessDenied,
    BitgoeulError,
    Conflict,
    RateLimited,
    ValidationFailed,
)
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import WRITE_LIMITS, Door, Passage, Request
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256
from bitgoeul.testbed import scoring
from bitgoeul.testbed.access import (
    get_task,
    phase_at,
    team_id_of,
    testbed_context,
)
from bitgoeul.testbed.actions.tasks import _audit, _public_mask
from bitgoeul.testbed.actions.teams import _refuse_label_holders
from bitgoeul.testbed.models import (
    Phase,
    SubmissionKind,
    SubmissionStatus,
    TestbedAudit,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
)
from bitgoeul.testbed.queries import _day_start, submissions_today
from bitgoeul.testbed.schemas import ModelSpec


@dataclass(frozen=True)
class _Entry:
    task: TestbedTask
    team: TestbedTeam
    phase: Phase


def _open_entry(session: Session, *, actor: Actor, task_slug: str, kind: SubmissionKind) -> _Entry:
    """The actor's team, with its row locked, if the task takes this submission now."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    if kind == SubmissionKind.predictions and not task.accepts_predictions:
        raise ValidationFailed(
            msg(
                "Task '{task}' takes model bundles only: submit code that writes predictions.",
                task=task.slug,
            )
        )
    if kind == SubmissionKind.model and not task.accepts_models:
        raise ValidationFailed(
            msg(
                "Task '{task}' takes predictions files only: upload a predictions file.",
                task=task.slug,
            )
        )
    team_id = team_id_of(session, task, actor)
    if team_id is None:
        raise AccessDenied(
            msg(
                "Join task '{task}' first: create a team on the task's page (or bitgoeul "
                "testbed join {task} --team NAME), or ask a team to invite you.",
                task=task.slug,
            )
        )
    now = utcnow()
    # Take the team's row lock before counting, so two submissions at once cannot both pass
    # the daily limit (PostgreSQL: FOR UPDATE; SQLite: this UPDATE takes the write lock).
    session.execute(
        update(TestbedTeam).where(TestbedTeam.id == team_id).values(last_submission_at=now)
    )
    team = session.scalars(
        select(TestbedTeam).where(TestbedTeam.id == team_id).with_for_update()
    ).one()
    phase = phase_at(task, now)
    if not team.is_organizer:
        _refuse_label_holders(actor, task)
        if phase == Phase.upcoming:
            raise Conflict(
                msg(
                    "Task '{task}' opens at {opens}; submit from then on.",
                    task=task.slug,
                    opens=task.opens_at.isoformat(),
                )
            )
        if phase == Phase.closed:
            raise Conflict(
                msg(
                    "Task '{task}' closed at its deadline ({deadline}); no more submissions. "
                    "Its leaderboards stay on its page.",
                    task=task.slug,
                    deadline=task.deadline.isoformat(),
                )
            )
        used = submissions_today(session, team_id=team.id, now=now)
        if used >= task.daily_limit:
            tomorrow = _day_start(now) + timedelta(days=1)
            raise RateLimited(
                msg(
                    "Team '{team}' has used its {limit} submissions for today (UTC); the next "
                    "is possible from {tomorrow}.",
                    team=team.name,
                    limit=task.daily_limit,
                    tomorrow=tomorrow.isoformat(),
                ),
                retry_after=max(1, int((tomorrow - now).total_seconds())),
            )
    return _Entry(task, team, phase)


def _submission_key(submission: TestbedSubmission) -> str:
    """Where a predictions file is kept in the object store, as uploaded, for re-runs."""
    return f"testbed/submissions/{submission.id}/{submission.filename}"


def scorer_environment() -> dict[str, Any]:
    return {
        "scorer": f"bitgoeul {__version__}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }


@dataclass(frozen=True)
class _Scores:
    public: float
    private: float
    rows: int


def _score_door(session: Session, *, actor: Actor, task: TestbedTask, submission_id: int) -> Door:
    return Door(
        session,
        actor=actor,
        event=TestbedAudit.dataset_testbed_score,
        detail={"task": task.slug, "submission": submission_id},
        failure_detail={"submission": None},
    )


def _score_file(
    session: Session,
    door: Door,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    task: TestbedTask,
    path: Path,
    test_version: int,
) -> _Scores:
    """Ask for the labels (``testbed_score``, through ``door``) and score the file on both
    parts.  The decision's entry stays in the caller's transaction: a caller that rolls back
    uses ``with door:`` so that it is written again."""
    dataset = session.get(Dataset, task.test_dataset_id)
    assert dataset is not None  # noqa: S101 - RESTRICT keeps it
    version = get_version(session, dataset.slug, test_version)
    context = testbed_context(
        session, actor=actor, dataset=dataset, version=version, task_slug=task.slug
    )
    passage = door.admit([Request(DataAction.testbed_score, dataset, version, context)])[0]
    metric = scoring.metric_named(task.metric)
    predictions = scoring.read_predictions(
        path, id_column=task.id_column, max_rows=task.test_rows + 1, kind=metric.kind
    )
    truth = pq.read_table(
        door.source(store, passage)[0], columns=[task.id_column, task.label_column]
    )
    # The split is made on the stored ids, so it never depends on the pseudonyms' key.
    public_rows = _public_mask(store, task, test_version, truth)
    public, private = scoring.score_parts(
        metric,
        predictions,
        _keyed_as_participants_see(door, store, passage, truth, task, secret=settings.secret()),
        public=public_rows,
        id_column=task.id_column,
        label_column=task.label_column,
    )
    return _Scores(public.value, private.value, public.rows + private.rows)


def _keyed_as_participants_see(
    door: Door,
    store: ObjectStore,
    passage: Passage,
    truth: pa.Table,
    task: TestbedTask,
    *,
    secret: str,
) -> pa.Table:
    """The labels keyed by the ids participants received: when the decision pseudonymises the
    id column (a direct identifier), it is read through the decision's view on the locked
    engine, the same SQL and key as the test inputs, in the stored file's row order."""
    if task.id_column not in passage.decision.obligations.pseudonymise_columns:
        return truth
    view, _hidden = door.view(store, passage, secret=secret, name="__bg_truth")
    with engine.read_view(view, limits=WRITE_LIMITS) as reader:
        keyed = reader.read_all()
    if keyed.num_rows != truth.num_rows:
        raise ValidationFailed(msg("The test set's ids could not be read in full; submit again."))
    index = truth.schema.get_field_index(task.id_column)
    return truth.set_column(index, task.id_column, keyed[task.id_column])


def _new_submission(
    entry: _Entry, *, actor: Actor, kind: SubmissionKind, description: str
) -> TestbedSubmission:
    dataset_id = entry.task.test_dataset_id
    return TestbedSubmission(
        task_id=entry.task.id,
        team_id=entry.team.id,
        submitted_by_id=actor.user_id,
        kind=kind,
        phase=entry.phase,
        is_baseline=entry.team.is_organizer,
        description=description.strip()[:2000],
        status=SubmissionStatus.running,
        content_sha256="",
        test_dataset_id=dataset_id,
        test_version=entry.task.test_version,
        metric=entry.task.metric,
    )


def submit_predictions(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    task_slug: str,
    upload: Path,
    filename: str,
    description: str = "",
) -> TestbedSubmission:
    """Score a predictions file now; a file that cannot be scored is refused and not counted."""
    entry = _open_entry(session, actor=actor, task_slug=task_slug, kind=SubmissionKind.predictions)
    submission = _new_submission(
        entry, actor=actor, kind=SubmissionKind.predictions, description=description
    )
    submission.filename = _safe_name(filename)
    submission.content_sha256 = file_sha256(upload)
    session.add(submission)
    session.flush()
    key = _submission_key(submission)
    door = _score_door(session, actor=actor, task=entry.task, submission_id=submission.id)
    try:
        with door, tempfile.TemporaryDirectory(prefix="bitgoeul-submission-") as scratch:
            # Scored under the user's file name, so errors name it; kept in the object store
            # as uploaded, so the operator can score it again.
            kept = Path(scratch) / submission.filename
            shutil.copyfile(upload, kept)
            store.put_file(key, kept)
            scores = _score_file(
                session,
                door,
                settings=settings,
                store=store,
                actor=actor,
                task=entry.task,
                path=kept,
                test_version=submission.test_version,
            )
            _record_scores(submission, scores, scorer_environment())
            _audit_submitted(session, actor=actor, entry=entry, submission=submission)
            session.commit()
    except BitgoeulError as error:
        store.delete(key)
        session.rollback()
        _audit_refusal(session, actor=actor, task_slug=task_slug, error=error)
        raise
    except BaseException:
        store.delete(key)
        session.rollback()
        raise
    return submission


def _audit_submitted(
    session: Session, *, actor: Actor, entry: _Entry, submission: TestbedSubmission
) -> None:
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_submitted,
        task=entry.task,
        resource_type="testbed_submission",
        resource_id=submission.id,
        detail={
            "kind": submission.kind.value,
            "team": entry.team.name,
            "sha256": submission.content_sha256,
            "job": submission.job_id,
            "test_version": submission.test_version,
            "phase": submission.phase.value,
        },
    )


def _safe_name(filename: str) -> str:
    """The uploaded file's own name when it is a plain one, else ``predictions.csv``."""
    name = Path(filename.replace("\\", "/")).name.strip()
    if not name or name.startswith(".") or len(name) > 200 or any(ord(c) < 32 for c in name):
        return "predictions.csv"
    return name


def _record_scores(
    submission: TestbedSubmission, scores: _Scores, environment: dict[str, Any]
) -> None:
    submission.public_score = scores.public
    submission.private_score = scores.private
    submission.rows = scores.rows
    submission.environment = environment
    submission.status = SubmissionStatus.scored
    submission.scored_at = utcnow()


def _audit_refusal(session: Session, *, actor: Actor, task_slug: str, error: BitgoeulError) -> None:
    task = session.scalars(select(TestbedTask).where(TestbedTask.slug == task_slug)).one_or_none()
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_submission_refused,
        outcome="denied",
        task=task,
        resource_id=task_slug,
        detail={"reason": error.message[:500]},
    )
    session.commit()


def submit_model(
    session: Session,
    *,
    settings: Settings,
    executor: Executor,
    actor: Actor,
    task_slug: str,
    bundle_path: Path,
    spec: ModelSpec,
) -> TestbedSubmission:
    """Queue a model bundle as a job on the test inputs; it is scored when the job ends."""
    entry = _open_entry(session, actor=actor, task_slug=task_slug, kind=SubmissionKind.model)
    submission = _new_submission(
        entry, actor=actor, kind=SubmissionKind.model, description=spec.description
    )
    submission.filename = bundle_path.name
    session.add(submission)
    session.flush()
    try:
        job = _queue_model_job(
            session,
            settings=settings,
            executor=executor,
            actor=actor,
            task=entry.task,
            spec=spec,
            bundle_path=bundle_path,
            name=f"testbed {entry.task.slug} submission {submission.id}",
            test_version=submission.test_version,
        )
        submission.job_id = job.id
        submission.content_sha256 = job.code_sha256
        submission.environment = _model_environment(settings, job)
        _audit_submitted(session, actor=actor, entry=entry, submission=submission)
        session.commit()
    except BitgoeulError as error:
        session.rollback()
        _audit_refusal(session, actor=actor, task_slug=task_slug, error=error)
        raise
    except BaseException:
        session.rollback()
        raise
    return submission


def _queue_model_job(
    session: Session,
    *,
    settings: Settings,
    executor: Executor,
    actor: Actor,
    task: TestbedTask,
    spec: ModelSpec,
    bundle_path: Path,
    name: str,
    test_version: int,
    pay_from: int | None = None,
) -> Job:
    dataset = session.get(Dataset, task.test_dataset_id)
    assert dataset is not None  # noqa: S101 - RESTRICT keeps it
    job_spec = JobSpec(
        project=task.project_id,
        datasets=[f"{dataset.slug}@{test_version}"],
        entrypoint=spec.entrypoint,
        arguments=spec.arguments,
        environment=spec.environment,
        resources=spec.resources,
        name=name,
    )
    # The decisions are audited even when the submission is refused (the door writes them
    # again after the caller's transaction is rolled back).
    door = Door(
        session,
        actor=actor,
        event=ComputeAudit.dataset_job_decision,
        detail={"project": task.project_id, "job": None, "testbed_task": task.slug},
        failure_detail={"job": None},
    )
    with door:
        return compute_actions.queue_job(
            session,
            door,
            settings=settings,
            executor=executor,
            actor=actor,
            spec=job_spec,
            bundle_path=bundle_path,
            testbed_task=task.slug,
            test_set_context=testbed_context,
            pay_from=pay_from,
        )


def _model_environment(settings: Settings, job: Job) -> dict[str, Any]:
    return {
        **scorer_environment(),
        "job_environment": job.environment,
        "job_python": str(settings.environments().get(job.environment, "")),
        "executor": job.executor,
        "entrypoint": job.entrypoint,
        "arguments": list(job.arguments),
        "code_sha256": job.code_sha256,
    }
