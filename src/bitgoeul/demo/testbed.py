"""The demo city's AI+ testbed: four tasks, each organizer's baseline, and one startup's entry.

Each task of ``demo.testbed_data.DEMO_TASKS`` is set up through the real action by a steward
of its publisher, on the hidden test set the build published.  The baseline really runs: it is
fitted on the training dataset and predicts the test inputs, which the organizer reads through
the same door a participant uses (``testbed_inputs``: never the label), and is submitted and
scored like any entry.  Every task has terms (``DEMO_TERMS``).  The demo startup's researcher
accepts them in joining two tasks and submits a simple forecast built from the test inputs
alone (the same hour or weekday a week before), so the leaderboards show a participant beside
the baseline, and sends a model bundle to the flow task (``demo/jobs/testbed_flow_model``),
queued as a job and scored when the hub serves.  Each organizer gets a few CPU-hours for
re-running model submissions.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.executors import make_executor
from bitgoeul.compute.schemas import Resources
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.demo.compute import JOBS_DIR, pack
from bitgoeul.demo.institutions import INSTITUTIONS
from bitgoeul.demo.sharing import RESEARCHER, demo_actor
from bitgoeul.demo.testbed_baselines import BASELINE_DESCRIPTIONS, baseline_predictions
from bitgoeul.demo.testbed_data import DEMO_TASKS, ELECTRICITY, FLOW, DemoTask
from bitgoeul.errors import BitgoeulError, ValidationFailed
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import actions, queries
from bitgoeul.testbed.models import TestbedSubmission, TestbedTask
from bitgoeul.testbed.schemas import ModelSpec, TaskCreate

DEVELOPMENT_DAYS = 30
RERUN_CPU_HOURS = 5
FLOW_MODEL = "testbed_flow_model"
FINAL_DAYS = 14
STARTUP_TEAM = "Bitgoeul Labs"
# What a participant accepts when joining a demo task (three of the four test sets are
# restricted, whose participants need accepted terms).
DEMO_TERMS = (
    "You use the test inputs of this task only to predict its labels for the hub's scorer. "
    "You do not try to re-identify anyone in them, link them with other data about the same "
    "people or places, or share them outside your team, and you delete your copies at the "
    "deadline. Your organization answers for its members' use of the data."
)
# The startup's entry: a column of the test inputs, used as the prediction.
STARTUP_ENTRIES = {
    ELECTRICITY: ("kwh_same_weekday_last_week", "Same weekday a week before."),
    FLOW: ("population_previous_week", "Same hour a week before."),
}


def _steward_of(session: Session, publisher: str) -> Actor:
    for institution in INSTITUTIONS:
        if institution.slug == publisher and institution.role == Role.steward:
            return demo_actor(session, institution.username)
    raise LookupError(f"the demo has no steward of {publisher!r}")


def has_demo_testbed(session: Session) -> bool:
    """The testbed pass finished: its last task (population flow, which any city size can
    score) has its baseline.  A tiny city may have skipped a task it could not score."""
    last = DEMO_TASKS[-1].slug
    found = session.scalar(
        select(TestbedSubmission.id)
        .join(TestbedTask, TestbedSubmission.task_id == TestbedTask.id)
        .where(TestbedTask.slug == last, TestbedSubmission.is_baseline.is_(True))
    )
    return found is not None


def ensure_demo_testbed(
    session: Session, settings: Settings, store: ObjectStore, *, seed: int
) -> str:
    """Set up every demo task with its baseline (and the startup's entries), once, in order."""
    made: list[str] = []
    skipped: list[str] = []
    notes: list[str] = []
    funded: set[int | None] = set()
    for demo in DEMO_TASKS:
        organizer = _steward_of(session, demo.publisher)
        task = session.scalars(select(TestbedTask).where(TestbedTask.slug == demo.slug)).first()
        if task is None:
            task = _create(session, settings, store, organizer, demo, seed)
            if task is None:
                skipped.append(demo.slug)
                continue
            made.append(demo.slug)
        has_baseline = session.scalar(
            select(TestbedSubmission.id).where(
                TestbedSubmission.task_id == task.id, TestbedSubmission.is_baseline.is_(True)
            )
        )
        if has_baseline is None:
            _submit_baseline(session, settings, store, organizer, demo)
            if demo.slug in STARTUP_ENTRIES:
                _submit_startup_entry(session, settings, store, demo)
            if demo.slug == FLOW:
                made_model = _submit_startup_model(session, settings, demo)
                notes.append(made_model)
            if organizer.organization_id not in funded:
                _fund_reruns(session, organizer)
                funded.add(organizer.organization_id)
    said = f"testbed tasks set up: {', '.join(made)}" if made else "testbed already set up"
    if skipped:
        said += f" (skipped, the city is too small to score them: {', '.join(skipped)})"
    return "; ".join([said, *notes])


SPLIT_ATTEMPTS = 20


def _create(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    organizer: Actor,
    demo: DemoTask,
    seed: int,
) -> TestbedTask | None:
    """The task, with a split seed derived from the city's seed (a rebuilt demo splits alike).

    A small city's test set may put only one class in a part for some seeds (AUROC cannot
    score it): the next derived seed is tried; None when none works.
    """
    for attempt in range(SPLIT_ATTEMPTS):
        try:
            return _create_with(
                session,
                settings,
                store,
                organizer,
                demo,
                split_seed=f"demo/{seed}/{demo.slug}/{attempt}",
            )
        except ValidationFailed:
            session.rollback()
    return None


def _create_with(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    organizer: Actor,
    demo: DemoTask,
    *,
    split_seed: str,
) -> TestbedTask:
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    return actions.create_task(
        session,
        settings=settings,
        store=store,
        actor=organizer,
        split_seed=split_seed,
        data=TaskCreate(
            slug=demo.slug,
            title=demo.title,
            title_ko=demo.title_ko,
            sector=demo.sector,
            problem=demo.problem,
            problem_ko=demo.problem_ko,
            metric=demo.metric,
            test_dataset=demo.test.slug,
            id_column=demo.id_column,
            label_column=demo.label_column,
            training_datasets=[demo.training.slug],
            daily_limit=5,
            terms=DEMO_TERMS,
            opens_at=now - timedelta(days=1),
            final_phase_at=now + timedelta(days=DEVELOPMENT_DAYS),
            deadline=now + timedelta(days=DEVELOPMENT_DAYS + FINAL_DAYS),
        ),
    )


def _test_inputs(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    demo: DemoTask,
    work: Path,
) -> pa.Table:
    path = actions.write_test_inputs(
        session,
        settings=settings,
        store=store,
        actor=actor,
        task_slug=demo.slug,
        dest=work,
        file_format="parquet",
    )
    return pq.read_table(path)


def _submit(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    demo: DemoTask,
    predictions: pa.Table,
    work: Path,
    description: str,
) -> None:
    path = work / "predictions.csv"
    pacsv.write_csv(predictions, path)
    actions.submit_predictions(
        session,
        settings=settings,
        store=store,
        actor=actor,
        task_slug=demo.slug,
        upload=path,
        filename=path.name,
        description=description,
    )


def _submit_baseline(
    session: Session, settings: Settings, store: ObjectStore, organizer: Actor, demo: DemoTask
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        # The organizer reads its training data through the download door, like anyone.
        download = catalog_actions.download_version(
            session,
            store=store,
            actor=organizer,
            slug=demo.training.slug,
            secret=settings.secret(),
        )
        training_path = work / "training.parquet"
        with training_path.open("wb") as sink:
            for chunk in download.chunks:
                sink.write(chunk)
        inputs = _test_inputs(session, settings, store, organizer, demo, work)
        predictions = baseline_predictions(demo.slug, pq.read_table(training_path), inputs)
        _submit(
            session,
            settings,
            store,
            organizer,
            demo,
            predictions,
            work,
            f"Organizer baseline: {BASELINE_DESCRIPTIONS[demo.slug]}",
        )


def _fund_reruns(session: Session, organizer: Actor) -> None:
    """An organizer pays for re-running a model submission: some CPU-hours to do so."""
    organization = session.get(Organization, organizer.organization_id)
    if organization is None:
        return
    compute_actions.grant_credits(
        session,
        actor=demo_actor(session, "operator"),
        organization_slug=organization.slug,
        cpu_hours=Decimal(RERUN_CPU_HOURS),
        note="testbed re-runs (demo)",
    )


def _submit_startup_model(session: Session, settings: Settings, demo: DemoTask) -> str:
    """The startup's model bundle for the flow task, queued as a job; scored when it runs."""
    researcher = demo_actor(session, RESEARCHER)
    with tempfile.TemporaryDirectory() as folder:
        bundle = pack(JOBS_DIR / FLOW_MODEL, Path(folder) / f"{FLOW_MODEL}.zip")
        try:
            submission = actions.submit_model(
                session,
                settings=settings,
                executor=make_executor(settings),
                actor=researcher,
                task_slug=demo.slug,
                bundle_path=bundle,
                spec=ModelSpec(
                    entrypoint="predict.py",
                    resources=Resources(cpus=1, memory_mb=1024, time_limit_s=300),
                    description="Mean of the same hour the day before and a week before.",
                ),
            )
        except BitgoeulError as error:
            return f"startup model not submitted: {error.message}"
    return f"startup model submission {submission.id} queued (scored when the hub serves)"


def _submit_startup_entry(
    session: Session, settings: Settings, store: ObjectStore, demo: DemoTask
) -> None:
    researcher = demo_actor(session, RESEARCHER)
    task = session.scalars(select(TestbedTask).where(TestbedTask.slug == demo.slug)).one()
    if queries.my_team(session, actor=researcher, task=task) is None:
        actions.create_team(
            session, actor=researcher, task_slug=demo.slug, name=STARTUP_TEAM, accept_terms=True
        )
    column, description = STARTUP_ENTRIES[demo.slug]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        inputs = _test_inputs(session, settings, store, researcher, demo, work)
        predictions = pa.table(
            {demo.id_column: inputs[demo.id_column], "prediction": inputs[column]}
        )
        _submit(session, settings, store, researcher, demo, predictions, work, description)
