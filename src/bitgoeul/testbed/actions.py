"""What organizers and participants do in the testbed: set up tasks, form teams, submit, re-run.

Every write here checks who may do it, changes the tables, appends to the audit log and
commits, in one transaction.  A team grows by invitation: a member invites a user, who joins
only by accepting (a pending invitation binds no one, so nobody can be kept out of a task by
being invited).  A task's terms are accepted when joining and kept on the membership.

The hidden test set is reached through the decision point only: ``testbed_inputs`` for what a
participant or a model sees (never the label, direct identifiers pseudonymised per task),
``testbed_score`` for the scorer, which reads the labels, keys them by the same pseudonyms and
lets nothing but a number out.  Each reading is an audit entry under the test set's publisher.

A predictions file is scored while the request waits (a million rows take well under two
seconds).  A model bundle becomes a job of the task's own project, which only the organizer
belongs to: the participant sees the job's status, the score and, when the task shows logs,
the end of the log, and never the job's outputs.  ``job_finished`` (a ``JobRunner`` finish
hook) scores it when the job ends.
"""

from __future__ import annotations

import hashlib
import platform
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bitgoeul import __version__
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, get_version
from bitgoeul.catalog.references import parse_reference
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import folders as compute_folders
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.models import ComputeAudit, Job, JobStatus
from bitgoeul.compute.schemas import JobSpec, Resources
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.engine import locked as engine
from bitgoeul.errors import (
    AccessDenied,
    BitgoeulError,
    Conflict,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from bitgoeul.governance import notifications
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import WRITE_LIMITS, Door, Passage, Request
from bitgoeul.governance.models import Project, ProjectMember, ProjectRole, Purpose
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg, reread
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256
from bitgoeul.testbed import scoring
from bitgoeul.testbed.access import (
    get_task,
    membership,
    team_id_of,
    terms_sha256,
    testbed_context,
)
from bitgoeul.testbed.models import (
    InvitationStatus,
    Phase,
    SubmissionKind,
    SubmissionStatus,
    TestbedAudit,
    TestbedInvitation,
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)
from bitgoeul.testbed.schemas import ModelSpec, TaskCreate, TaskUpdate

PREDICTION_FILES = ("predictions.csv", "predictions.parquet")
LOG_EXCERPT_CHARS = 4000
ORGANIZER_TEAM = "Organizer baseline"
# Invitations of one team waiting for an answer: enough for any real team, too few to spam.
MAX_PENDING_INVITATIONS = 20
# Test sets whose participants need an organization and the task's accepted terms.
ACCOUNTABLE_LEVELS = (AccessLevel.restricted, AccessLevel.secure)


# --- Phases and who governs a task ----------------------------------------------------------


def phase_at(task: TestbedTask, now: datetime) -> Phase:
    if now < task.opens_at:
        return Phase.upcoming
    if now < task.final_phase_at:
        return Phase.development
    if now < task.deadline:
        return Phase.final
    return Phase.closed


def governs_task(actor: Actor, task: TestbedTask) -> bool:
    """Operators and the stewards of the organizing organization (who hold the labels)."""
    return actor.is_operator or actor.is_steward_of(task.organization_id)


def _audit(
    session: Session,
    *,
    actor: Actor,
    action: TestbedAudit,
    task: TestbedTask | None,
    resource_type: str = "testbed_task",
    resource_id: str | int = "",
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
        resource_id=resource_id or (task.slug if task else ""),
        organization_id=task.organization_id if task else actor.organization_id,
        detail=detail,
    )


# --- The test set -----------------------------------------------------------------------------


def _pinned(session: Session, reference: str) -> tuple[Dataset, DatasetVersion]:
    slug, number = parse_reference(reference)
    dataset = get_dataset(session, slug)
    return dataset, get_version(session, slug, number)


def _split_path(settings: Settings, task: TestbedTask, version: int) -> Path:
    seed_key = hashlib.sha256(task.split_seed.encode()).hexdigest()[:16]
    name = f"{task.id}-v{version}-{seed_key}.npy"
    return settings.ensure_data_dir() / "testbed" / "splits" / name


def _keep_split(path: Path, mask: np.typing.NDArray[np.bool_]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npy")
    np.save(partial, mask, allow_pickle=False)
    partial.replace(path)


def _public_mask(
    settings: Settings, task: TestbedTask, version: int, truth: pa.Table
) -> np.typing.NDArray[np.bool_]:
    """Which test rows are public, kept on the hub's disk from the task's set-up on: hashing a
    million ids takes ~1.7 s, which a participant should not wait for at every submission.  It
    reveals the split, so it lives with the hub's private files; a copy that does not fit the
    test set is made again."""
    path = _split_path(settings, task, version)
    if path.is_file():
        kept: np.typing.NDArray[np.bool_] = np.load(path, allow_pickle=False)
        if kept.dtype == np.bool_ and kept.shape == (truth.num_rows,):
            return kept
    ids = truth[task.id_column].cast(pa.string()).to_pylist()
    mask = scoring.split_public_private(
        ids, seed=task.split_seed, public_fraction=task.public_fraction
    )
    _keep_split(path, mask)
    return mask


def _check_test_set(
    metric: scoring.Metric,
    truth: pa.Table,
    *,
    id_column: str,
    label_column: str,
    seed: str,
    public_fraction: float,
) -> np.typing.NDArray[np.bool_]:
    """Refuse a test set the metric cannot score, on either part; its public rows."""
    if truth.num_rows == 0:
        raise ValidationFailed(msg("The test set has no rows; publish a version that has some."))
    ids = truth[id_column]
    if ids.null_count:
        raise ValidationFailed(
            msg(
                "The test set has {rows} rows without an id; give every row one and publish "
                "it again.",
                rows=format(ids.null_count, ","),
            )
        )
    text_ids = ids.cast(pa.string())
    if len(set(text_ids.to_pylist())) != truth.num_rows:
        raise ValidationFailed(
            msg(
                "The test set's '{column}' column repeats ids; ids must be unique.",
                column=id_column,
            )
        )
    labels = truth[label_column]
    if labels.null_count:
        raise ValidationFailed(
            msg(
                "The test set has {rows} rows without a label; give every row one and publish "
                "it again.",
                rows=format(labels.null_count, ","),
            )
        )
    values = np.asarray(labels.to_numpy())
    public = scoring.split_public_private(
        text_ids.to_pylist(), seed=seed, public_fraction=public_fraction
    )
    for name, part in ((msg("public"), public), (msg("private"), ~public)):
        if not part.any():
            raise ValidationFailed(
                msg(
                    "The {part} part of the test set would be empty; change public_fraction.",
                    part=name,
                )
            )
        try:
            metric.check_test_set(values[part])
        except ValidationFailed as error:
            raise ValidationFailed(
                msg(
                    "The {part} part of the test set cannot be scored with {metric}: {reason}",
                    part=name,
                    metric=metric.name,
                    reason=error.message,
                )
            ) from None
    return public


def create_task(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    data: TaskCreate,
    split_seed: str | None = None,
) -> TestbedTask:
    """An operator, or a steward of the test set's publisher, sets up a benchmark task.

    The public/private split's seed is a fresh secret; ``split_seed`` fixes it instead (the demo
    city, so that a rebuilt demo splits the same way).
    """
    require_signed_in(actor)
    if session.scalar(select(TestbedTask.id).where(TestbedTask.slug == data.slug)) is not None:
        raise Conflict(
            msg("There is already a testbed task '{task}'; choose another slug.", task=data.slug)
        )
    metric = scoring.metric_named(data.metric)
    dataset, version = _pinned(session, data.test_dataset)
    if not (actor.is_operator or actor.is_steward_of(dataset.publisher_id)):
        raise AccessDenied(
            msg(
                "Only operators and stewards of the publisher of '{dataset}' set up a task on "
                "it: the organizer must be allowed to hold its labels. Ask one of them.",
                dataset=dataset.slug,
            )
        )
    if not dataset.holdout:
        raise ValidationFailed(
            msg(
                "Dataset '{dataset}' is not a hidden test set: mark it holdout first (PATCH "
                "/api/v1/datasets/{dataset} with holdout: true), so no participant can read it.",
                dataset=dataset.slug,
            )
        )
    columns = [str(f["name"]) for f in views.schema_fields(version.table_schema)]
    for field_name, column in (("id_column", data.id_column), ("label_column", data.label_column)):
        if column not in columns:
            raise ValidationFailed(
                msg(
                    "{field}: the test set has no column '{column}'; it has {columns}.",
                    field=field_name,
                    column=column,
                    columns=", ".join(columns),
                )
            )
    if data.id_column == data.label_column:
        raise ValidationFailed(msg("id_column and label_column must be different columns."))
    inputs = data.input_columns or [c for c in columns if c != data.label_column]
    unknown = [c for c in inputs if c not in columns]
    if unknown:
        raise ValidationFailed(
            msg(
                "input_columns: the test set has no column {unknown}; it has {columns}.",
                unknown=", ".join(unknown),
                columns=", ".join(columns),
            )
        )
    if data.label_column in inputs:
        raise ValidationFailed(
            msg("input_columns: the label column is never an input; leave it out.")
        )
    if data.id_column not in inputs:
        inputs = [data.id_column, *inputs]
    for slug in data.training_datasets:
        training = get_dataset(session, slug)
        if training.holdout:
            raise ValidationFailed(
                msg(
                    "training_datasets: '{dataset}' is a hidden test set; participants could "
                    "not use it.",
                    dataset=slug,
                )
            )
    _require_terms(dataset, data.terms)
    seed = split_seed or secrets.token_hex(16)
    # The organizer's own reading of the labels, to check the test set can be scored: a door
    # like any other (audited under the publisher, the file's integrity verified).
    door = Door(
        session, actor=actor, event=TestbedAudit.dataset_testbed_setup, detail={"task": data.slug}
    )
    with door:
        passage = door.admit([Request(DataAction.download, dataset, version)])[0]
        truth = pq.read_table(
            door.read_path(store, passage), columns=[data.id_column, data.label_column]
        )
    public = _check_test_set(
        metric,
        truth,
        id_column=data.id_column,
        label_column=data.label_column,
        seed=seed,
        public_fraction=data.public_fraction,
    )
    organization_id = dataset.publisher_id
    project = Project(
        title=f"Testbed: {data.title}"[:300],
        purpose=Purpose.service_evaluation,
        justification=(
            f"Runs the model submissions of testbed task '{data.slug}' against its hidden test "
            "inputs; only scores leave."
        ),
        lead_organization_id=organization_id,
        created_by_id=actor.user_id,
    )
    session.add(project)
    session.flush()
    assert actor.user_id is not None  # noqa: S101 - signed in
    session.add(ProjectMember(project_id=project.id, user_id=actor.user_id, role=ProjectRole.lead))
    task = TestbedTask(
        slug=data.slug,
        title=data.title,
        title_ko=data.title_ko,
        sector=data.sector,
        problem=data.problem,
        problem_ko=data.problem_ko,
        organization_id=organization_id,
        created_by_id=actor.user_id,
        project_id=project.id,
        metric=metric.name,
        test_dataset_id=dataset.id,
        test_version=version.number,
        test_rows=truth.num_rows,
        id_column=data.id_column,
        label_column=data.label_column,
        input_columns=inputs,
        training_datasets=list(data.training_datasets),
        accepts_predictions=data.accepts_predictions,
        accepts_models=data.accepts_models,
        public_fraction=data.public_fraction,
        split_seed=seed,
        daily_limit=data.daily_limit,
        show_logs=data.show_logs,
        terms=data.terms.strip(),
        opens_at=data.opens_at,
        final_phase_at=data.final_phase_at,
        deadline=data.deadline,
    )
    session.add(task)
    session.flush()
    team = TestbedTeam(
        task_id=task.id, name=ORGANIZER_TEAM, is_organizer=True, created_by_id=actor.user_id
    )
    session.add(team)
    session.flush()
    # The organizer wrote the terms: they hold as accepted by them.
    session.add(_member(task, team, actor.user_id, accepted=terms_sha256(task)))
    _keep_split(_split_path(settings, task, version.number), public)
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_task_created,
        task=task,
        detail={
            "test_dataset": dataset.slug,
            "test_version": version.number,
            "metric": metric.name,
            "training_datasets": task.training_datasets,
            "deadline": task.deadline.isoformat(),
            "terms_sha256": terms_sha256(task),
        },
    )
    session.commit()
    return task


def _require_terms(dataset: Dataset, terms: str) -> None:
    """A restricted or secure test set's participants must accept terms: the task needs some."""
    if dataset.access_level in ACCOUNTABLE_LEVELS and not terms.strip():
        raise ValidationFailed(
            msg(
                "terms: the test set '{dataset}' is {level}; write the terms participants "
                "accept when joining (what they may do with the test inputs, and what they "
                "must not), so that its inputs can be given to them.",
                dataset=dataset.slug,
                level=dataset.access_level.value,
            )
        )


def _member(
    task: TestbedTask, team: TestbedTeam, user_id: int, *, accepted: str
) -> TestbedTeamMember:
    """A team member, with the SHA-256 of the terms they accepted ("" none)."""
    return TestbedTeamMember(
        task_id=task.id,
        team_id=team.id,
        user_id=user_id,
        terms_sha256=accepted,
        terms_accepted_at=utcnow() if accepted else None,
    )


_DATES = ("opens_at", "final_phase_at", "deadline")


def update_task(session: Session, *, actor: Actor, task_slug: str, data: TaskUpdate) -> TestbedTask:
    """The organizer changes a task's texts, terms, limits or calendar; participants hear of a
    new calendar and of new terms (which each of them accepts again before using the test set,
    where its access level needs terms).  A closed task keeps its dates: its private leaderboard
    is already out."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    if not governs_task(actor, task):
        raise AccessDenied(
            msg(
                "Only the organizer's stewards and operators change a task; ask them for the "
                "change."
            )
        )
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise ValidationFailed(
                msg("{field}: give a value, or leave it out to keep it.", field=name)
            )
    now = utcnow()
    moving = {name: changes[name] for name in _DATES if name in changes}
    if moving and phase_at(task, now) == Phase.closed:
        raise Conflict(
            msg(
                "Task '{task}' closed at {deadline} and its private leaderboard is out; its "
                "dates no longer change.",
                task=task.slug,
                deadline=task.deadline.isoformat(),
            )
        )
    dates = {name: moving.get(name, getattr(task, name)) for name in _DATES}
    if not dates["opens_at"] < dates["final_phase_at"] < dates["deadline"]:
        raise ValidationFailed(
            msg("opens_at, final_phase_at and deadline must come in that order.")
        )
    if "deadline" in moving and dates["deadline"] <= now:
        raise ValidationFailed(msg("deadline: a new deadline must lie in the future."))
    for slug in changes.get("training_datasets", []):
        if get_dataset(session, slug).holdout:
            raise ValidationFailed(
                msg(
                    "training_datasets: '{dataset}' is a hidden test set; participants could "
                    "not use it.",
                    dataset=slug,
                )
            )
    accepts = (
        changes.get("accepts_predictions", task.accepts_predictions),
        changes.get("accepts_models", task.accepts_models),
    )
    if not any(accepts):
        raise ValidationFailed(msg("accept predictions files, model bundles, or both."))
    if "terms" in changes:
        changes["terms"] = changes["terms"].strip()
        dataset = session.get(Dataset, task.test_dataset_id)
        assert dataset is not None  # noqa: S101 - RESTRICT keeps it
        _require_terms(dataset, changes["terms"])
    new_terms = "terms" in changes and changes["terms"] != task.terms
    for name, value in changes.items():
        setattr(task, name, value)
    participants = set(
        session.scalars(
            select(TestbedTeamMember.user_id).where(TestbedTeamMember.task_id == task.id)
        )
    ) - {actor.user_id}
    if moving:
        notifications.notify(
            session,
            participants,
            kind="testbed.calendar",
            text=msg(
                "The calendar of testbed task '{task}' changed: final phase from {final_phase}, "
                "deadline {deadline}.",
                task=task.title,
                final_phase=task.final_phase_at.isoformat(),
                deadline=task.deadline.isoformat(),
            ),
            link=f"/testbed/{task.slug}",
        )
    if new_terms:
        notifications.notify(
            session,
            participants,
            kind="testbed.terms",
            text=msg(
                "The terms of testbed task '{task}' changed; read them and accept them on the "
                "task's page.",
                task=task.title,
            ),
            link=f"/testbed/{task.slug}#terms",
        )
    detail = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in changes.items()
        if name != "terms"
    }
    if "terms" in changes:
        detail["terms_sha256"] = terms_sha256(task)
    _audit(session, actor=actor, action=TestbedAudit.testbed_task_updated, task=task, detail=detail)
    session.commit()
    return task


# --- Teams ----------------------------------------------------------------------------------


def _refuse_label_holders(actor: Actor, task: TestbedTask) -> None:
    if governs_task(actor, task):
        raise AccessDenied(
            msg(
                "You can read this task's hidden labels (an operator, or a steward of the "
                "organizer), so you cannot compete; submit a baseline instead."
            )
        )


def _accepted_terms(task: TestbedTask, accept_terms: bool) -> str:
    """The SHA-256 of the terms the actor accepts in joining ("" when the task has none)."""
    current = terms_sha256(task)
    if current and not accept_terms:
        raise ValidationFailed(
            msg(
                "Task '{task}' has terms: read them (on the task's page, or bitgoeul testbed "
                "show {task}) and accept them to join (tick the box, or accept_terms).",
                task=task.slug,
            )
        )
    return current


def _refuse_closed(task: TestbedTask, doing: str) -> None:
    if phase_at(task, utcnow()) == Phase.closed:
        raise Conflict(
            msg(
                "Task '{task}' closed at its deadline; {doing}. Its leaderboards stay on its page.",
                task=task.slug,
                doing=doing,
            )
        )


def _lapse_invitations(session: Session, task: TestbedTask, user_id: int) -> None:
    """Someone who joined a team has no use for the other teams' invitations."""
    session.execute(
        update(TestbedInvitation)
        .where(
            TestbedInvitation.task_id == task.id,
            TestbedInvitation.user_id == user_id,
            TestbedInvitation.status == InvitationStatus.pending,
        )
        .values(status=InvitationStatus.lapsed, answered_at=utcnow())
    )


def create_team(
    session: Session, *, actor: Actor, task_slug: str, name: str, accept_terms: bool = False
) -> TestbedTeam:
    """A signed-in user opens a team on a task and becomes its first member, accepting the
    task's terms when it has some.  Invitations waiting for them lapse."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    _refuse_label_holders(actor, task)
    _refuse_closed(task, msg("no new teams"))
    if team_id_of(session, task, actor) is not None:
        raise Conflict(
            msg(
                "You are already on a team of task '{task}'; your team is on the task's page.",
                task=task.slug,
            )
        )
    if name.casefold() == ORGANIZER_TEAM.casefold() or session.scalar(
        select(TestbedTeam.id).where(
            TestbedTeam.task_id == task.id, func.lower(TestbedTeam.name) == name.lower()
        )
    ):
        raise Conflict(
            msg(
                "Task '{task}' already has a team named '{name}'; choose another name.",
                task=task.slug,
                name=name,
            )
        )
    accepted = _accepted_terms(task, accept_terms)
    team = TestbedTeam(task_id=task.id, name=name, created_by_id=actor.user_id)
    session.add(team)
    session.flush()
    assert actor.user_id is not None  # noqa: S101 - signed in
    session.add(_member(task, team, actor.user_id, accepted=accepted))
    _lapse_invitations(session, task, actor.user_id)
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_team_created,
        task=task,
        detail={"team": name, "terms_sha256": accepted},
    )
    session.commit()
    return team


def invite_to_team(
    session: Session, *, actor: Actor, task_slug: str, team_id: int, username: str
) -> TestbedInvitation:
    """A team member invites another user, who is told and joins only by accepting.

    A pending invitation stops the invitee from nothing (they may open or join another team),
    so inviting many people keeps no one out of the task; a team has at most
    ``MAX_PENDING_INVITATIONS`` waiting, and does not invite again someone who declined."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    team = session.get(TestbedTeam, team_id)
    if team is None or team.task_id != task.id:
        raise NotFound(msg("Task '{slug}' has no team {team_id}.", slug=task.slug, team_id=team_id))
    if team_id_of(session, task, actor) != team.id:
        raise AccessDenied(
            msg("Only the team's members invite others to it; ask one of them to invite you.")
        )
    _refuse_closed(task, msg("no more invitations"))
    user = account_queries.get_user(session, username)
    if user is None or not user.is_active:
        raise NotFound(
            msg(
                "There is no active user '{username}'; check the user name with the person "
                "you invite.",
                username=username,
            )
        )
    invitee = Actor.for_user(user, via="testbed")
    if not team.is_organizer and governs_task(invitee, task):
        raise Conflict(
            msg(
                "'{username}' can read this task's hidden labels (an operator, or a steward of "
                "the organizer), so they cannot compete on a team.",
                username=username,
            )
        )
    if team_id_of(session, task, invitee) is not None:
        raise Conflict(
            msg(
                "'{username}' is already on a team of task '{task}'.",
                username=username,
                task=task.slug,
            )
        )
    earlier = session.scalars(
        select(TestbedInvitation).where(
            TestbedInvitation.team_id == team.id, TestbedInvitation.user_id == user.id
        )
    ).one_or_none()
    if earlier is not None:
        raise Conflict(
            msg(
                "'{username}' declined your team's invitation; it is not sent again.",
                username=username,
            )
            if earlier.status == InvitationStatus.declined
            else msg(
                "'{username}' has been invited to your team already.",
                username=username,
            )
        )
    waiting = session.scalar(
        select(func.count(TestbedInvitation.id)).where(
            TestbedInvitation.team_id == team.id,
            TestbedInvitation.status == InvitationStatus.pending,
        )
    )
    if (waiting or 0) >= MAX_PENDING_INVITATIONS:
        raise Conflict(
            msg(
                "Team '{team}' has {count} invitations waiting for an answer; wait for some "
                "to be answered before inviting more.",
                team=team.name,
                count=MAX_PENDING_INVITATIONS,
            )
        )
    invitation = TestbedInvitation(
        task_id=task.id,
        team_id=team.id,
        user_id=user.id,
        invited_by_id=actor.user_id,
        status=InvitationStatus.pending,
    )
    session.add(invitation)
    session.flush()
    notifications.notify(
        session,
        {user.id},
        kind="testbed.invitation",
        text=msg(
            "{username} invites you to team '{team}' of testbed task '{task}'. Accept or "
            "decline it on your invitations page.",
            username=actor.username,
            team=team.name,
            task=task.title,
        ),
        link="/testbed/invitations",
    )
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_sent,
        task=task,
        detail={"team": team.name, "username": username, "invitation": invitation.id},
    )
    session.commit()
    return invitation


def _own_pending_invitation(
    session: Session, actor: Actor, invitation_id: int
) -> tuple[TestbedInvitation, TestbedTask, TestbedTeam]:
    """The invitation, when it is the actor's own and not answered yet; others' are not found."""
    require_signed_in(actor)
    invitation = session.get(TestbedInvitation, invitation_id)
    if invitation is None or invitation.user_id != actor.user_id:
        raise NotFound(
            msg(
                "There is no testbed invitation {invitation} for you; your invitations page "
                "lists those waiting.",
                invitation=invitation_id,
            )
        )
    if invitation.status != InvitationStatus.pending:
        raise Conflict(
            msg(
                "Invitation {invitation} was answered already; it cannot be answered again.",
                invitation=invitation_id,
            )
        )
    task = session.get(TestbedTask, invitation.task_id)
    team = session.get(TestbedTeam, invitation.team_id)
    assert task is not None  # noqa: S101 - CASCADE keeps them together
    assert team is not None  # noqa: S101
    return invitation, task, team


def accept_invitation(
    session: Session, *, actor: Actor, invitation_id: int, accept_terms: bool = False
) -> TestbedTeam:
    """The invitee joins the team, accepting the task's terms when it has some; their other
    invitations to the task lapse and the inviter hears of it.  Only the invitee may."""
    invitation, task, team = _own_pending_invitation(session, actor, invitation_id)
    _refuse_closed(task, msg("no one joins a team any more"))
    if not team.is_organizer:
        _refuse_label_holders(actor, task)
    if team_id_of(session, task, actor) is not None:
        raise Conflict(
            msg(
                "You are already on a team of task '{task}'; your team is on the task's page.",
                task=task.slug,
            )
        )
    accepted = _accepted_terms(task, accept_terms)
    assert actor.user_id is not None  # noqa: S101 - signed in
    session.add(_member(task, team, actor.user_id, accepted=accepted))
    _lapse_invitations(session, task, actor.user_id)
    invitation.status = InvitationStatus.accepted
    invitation.answered_at = utcnow()
    if invitation.invited_by_id is not None:
        notifications.notify(
            session,
            {invitation.invited_by_id},
            kind="testbed.team",
            text=msg(
                "{username} accepted your invitation and joined team '{team}' of testbed task "
                "'{task}'.",
                username=actor.username,
                team=team.name,
                task=task.title,
            ),
            link=f"/testbed/{task.slug}#team",
        )
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_accepted,
        task=task,
        detail={"team": team.name, "invitation": invitation.id, "terms_sha256": accepted},
    )
    session.commit()
    return team


def decline_invitation(session: Session, *, actor: Actor, invitation_id: int) -> TestbedInvitation:
    """The invitee says no: they stay off the team, and the team does not invite them again."""
    invitation, task, team = _own_pending_invitation(session, actor, invitation_id)
    invitation.status = InvitationStatus.declined
    invitation.answered_at = utcnow()
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_declined,
        task=task,
        detail={"team": team.name, "invitation": invitation.id},
    )
    session.commit()
    return invitation


def accept_terms(
    session: Session, *, actor: Actor, task_slug: str, accept_terms: bool
) -> TestbedTeamMember:
    """A member accepts the task's current terms (new terms, or a team from before terms)."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    member = membership(session, task, actor)
    if member is None:
        raise AccessDenied(
            msg(
                "Join a team of task '{task}' first; you accept its terms in joining.",
                task=task.slug,
            )
        )
    current = terms_sha256(task)
    if not current:
        raise ValidationFailed(msg("Task '{task}' has no terms to accept.", task=task.slug))
    if not accept_terms:
        raise ValidationFailed(
            msg("accept_terms: tick the box (or send true) to accept the task's terms.")
        )
    member.terms_sha256 = current
    member.terms_accepted_at = utcnow()
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_terms_accepted,
        task=task,
        detail={"terms_sha256": current},
    )
    session.commit()
    return member


# --- Submitting -----------------------------------------------------------------------------


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


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def submissions_today(session: Session, *, team_id: int, now: datetime) -> int:
    """The team's submissions since 00:00 UTC (files refused on upload are never stored)."""
    count: int | None = session.scalar(
        select(func.count(TestbedSubmission.id)).where(
            TestbedSubmission.team_id == team_id,
            TestbedSubmission.created_at >= _day_start(now),
        )
    )
    return count or 0


def _submission_dir(settings: Settings, submission_id: int) -> Path:
    return settings.ensure_data_dir() / "testbed" / "submissions" / str(submission_id)


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
        door.read_path(store, passage), columns=[task.id_column, task.label_column]
    )
    # The split is made on the stored ids, so it never depends on the pseudonyms' key.
    public_rows = _public_mask(settings, task, test_version, truth)
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
    folder = _submission_dir(settings, submission.id)
    door = _score_door(session, actor=actor, task=entry.task, submission_id=submission.id)
    try:
        with door:
            # Kept as uploaded, so the operator can score it again; errors name the user's file.
            folder.mkdir(parents=True, exist_ok=False)
            kept = folder / submission.filename
            shutil.copyfile(upload, kept)
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
        shutil.rmtree(folder, ignore_errors=True)
        session.rollback()
        _audit_refusal(session, actor=actor, task_slug=task_slug, error=error)
        raise
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
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


# --- Scoring a model when its job ends ------------------------------------------------------


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


# --- Re-runs --------------------------------------------------------------------------------


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
        kept = _submission_dir(settings, submission.id) / submission.filename
        if not kept.is_file() or file_sha256(kept) != submission.content_sha256:
            raise Conflict(
                msg(
                    "Submission {submission}'s file is missing or changed on disk; it cannot "
                    "be scored again.",
                    submission=submission.id,
                )
            )
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


def testbed_scorer(settings: Settings, store: ObjectStore) -> Callable[[Session, Job], None]:
    """The ``JobRunner`` finish hook that scores model submissions and re-runs."""

    def hook(session: Session, job: Job) -> None:
        job_finished(session, job, settings=settings, store=store)

    return hook


# --- The test inputs (a participant's download: a door, audited) ---------------------------


def write_test_inputs(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    task_slug: str,
    dest: Path,
    file_format: str = "csv",
) -> Path:
    """Write the test set's inputs (never its label) for a participant; audited.

    The same decision (``testbed_inputs``) and the same view SQL as a model's job inputs.  CSV
    text cells that a spreadsheet would run as formulas are neutralised (``engine.csv_chunks``).
    """
    require_signed_in(actor)
    if file_format not in ("csv", "parquet"):
        raise ValidationFailed(msg("format: choose csv or parquet."))
    task = get_task(session, task_slug)
    if not task.accepts_predictions and not governs_task(actor, task):
        raise AccessDenied(
            msg(
                "Task '{task}' takes models only: its test inputs stay on the hub, and your "
                "model reads them inside its job. Submit a model bundle on the task's page.",
                task=task.slug,
            )
        )
    dataset = session.get(Dataset, task.test_dataset_id)
    assert dataset is not None  # noqa: S101 - RESTRICT keeps it
    version = get_version(session, dataset.slug, task.test_version)
    context = testbed_context(
        session, actor=actor, dataset=dataset, version=version, task_slug=task.slug
    )
    target = dest / f"{task.slug}-test-inputs.{file_format}"
    door = Door(
        session, actor=actor, event=TestbedAudit.dataset_testbed_inputs, detail={"task": task.slug}
    )
    with door:
        passage = door.admit([Request(DataAction.testbed_inputs, dataset, version, context)])[0]
        # Direct identifiers come out as the task's pseudonyms (the decision's obligations);
        # predictions are keyed by them, and the scorer keys the labels the same way.
        door.write(store, passage, secret=settings.secret(), target=target, file_format=file_format)
        session.commit()
    return target
