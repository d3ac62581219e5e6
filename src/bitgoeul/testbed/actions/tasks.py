"""Setting up a testbed task: its hidden test set (decided through ``testbed_setup``, split into
a public and a private part), its terms, phases and limits; changing them later.

Every write checks who may do it, changes the tables, appends to the audit log and commits, in
one transaction (``_audit`` is the one way the testbed's actions write an audit entry).
"""

from __future__ import annotations

import hashlib
import io
import secrets
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, get_version
from bitgoeul.catalog.references import parse_reference
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    AccessDenied,
    Conflict,
    ValidationFailed,
)
from bitgoeul.governance import notifications
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Request
from bitgoeul.governance.models import Project, ProjectMember, ProjectRole, Purpose
from bitgoeul.governance.queries import decision_context, require_signed_in
from bitgoeul.messages import msg
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import scoring
from bitgoeul.testbed.access import (
    get_task,
    governs_task,
    phase_at,
    terms_sha256,
)
from bitgoeul.testbed.models import (
    Phase,
    TestbedAudit,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)
from bitgoeul.testbed.schemas import TaskCreate, TaskUpdate

# Test sets whose participants need an organization and the task's accepted terms.
ACCOUNTABLE_LEVELS = (AccessLevel.restricted, AccessLevel.secure)
# The team that holds the organizer's own baseline submissions.
ORGANIZER_TEAM = "Organizer baseline"


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


def _pinned(session: Session, reference: str) -> tuple[Dataset, DatasetVersion]:
    slug, number = parse_reference(reference)
    dataset = get_dataset(session, slug)
    return dataset, get_version(session, slug, number)


def _split_key(task: TestbedTask, version: int) -> str:
    seed_key = hashlib.sha256(task.split_seed.encode()).hexdigest()[:16]
    return f"testbed/splits/{task.id}-v{version}-{seed_key}.npy"


def _keep_split(store: ObjectStore, key: str, mask: np.typing.NDArray[np.bool_]) -> None:
    with tempfile.TemporaryDirectory(prefix="bitgoeul-split-") as scratch:
        path = Path(scratch) / "split.npy"
        np.save(path, mask, allow_pickle=False)
        store.put_file(key, path)


def _public_mask(
    store: ObjectStore, task: TestbedTask, version: int, truth: pa.Table
) -> np.typing.NDArray[np.bool_]:
    """Which test rows are public, kept in the object store from the task's set-up on: hashing
    a million ids takes ~1.7 s, which a participant should not wait for at every submission.
    It reveals the split, so it lives with the hub's private objects (never behind a door); a
    copy that does not fit the test set, or cannot be read, is made again."""
    key = _split_key(task, version)
    if store.exists(key):
        with store.open(key) as handle:
            raw = handle.read()
        try:
            kept: np.typing.NDArray[np.bool_] = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError):  # not an array: made again below
            kept = np.zeros(0, dtype=np.bool_)
        if kept.dtype == np.bool_ and kept.shape == (truth.num_rows,):
            return kept
    ids = truth[task.id_column].cast(pa.string()).to_pylist()
    mask = scoring.split_public_private(
        ids, seed=task.split_seed, public_fraction=task.public_fraction
    )
    _keep_split(store, key, mask)
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
    # With the dataset's decision context, so a donated-data pool is decided as one (the
    # decision point refuses pools as test sets) and any donor filter applies to what is read.
    context = decision_context(
        session, actor=actor, dataset=dataset, version=version, project_id=None
    )
    with door:
        passage = door.admit([Request(DataAction.download, dataset, version, context)])[0]
        truth = pq.read_table(
            door.source(store, passage)[0], columns=[data.id_column, data.label_column]
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
    _keep_split(store, _split_key(task, version.number), public)
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
