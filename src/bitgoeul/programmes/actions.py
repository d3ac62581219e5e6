"""Every change to the programmes: apply, review, withdraw; courses, cohorts, labs; enrol,
grade a lab, withdraw an enrolment.

Each action checks who may do it, moves its row through the state machine of
:mod:`bitgoeul.programmes.states`, appends an audit entry and notifies, in one transaction.  An
approved application's credits are granted through ``compute.actions.grant_credits`` (the
credits ledger's own action, which audits ``credits.grant`` and commits the whole transaction): the
programmes never write the ledger's tables.  A lab is graded from the trainee's best public
score on the lab's testbed task, or (a job lab) from the answer the trainee's compute job
wrote, compared with the value the platform computes from the dataset (``programmes.grading``),
when the job ends (``academy_grader``, a ``JobRunner`` finish hook); no grade is typed by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, latest_version, version_of
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.models import FINISHED, Job, JobStatus
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    AccessDenied,
    BitgoeulError,
    Conflict,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Request
from bitgoeul.governance.notifications import notify
from bitgoeul.governance.queries import decision_context
from bitgoeul.messages import msg
from bitgoeul.privacy.views import column_classes, schema_fields
from bitgoeul.programmes import grading, queries
from bitgoeul.programmes.models import (
    ApplicationStatus,
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    Lab,
    LabJob,
    LabJobStatus,
    LabKind,
    LabResult,
    ProgrammesAudit,
    SupportApplication,
)
from bitgoeul.programmes.schemas import (
    ApplicationCreate,
    ApplicationReview,
    CohortCreate,
    CourseCreate,
    LabCreate,
)
from bitgoeul.programmes.states import (
    ApplicationEvent,
    EnrolmentEvent,
    application_next,
    enrolment_next,
)
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed.access import get_task
from bitgoeul.testbed.models import (
    SubmissionStatus,
    TestbedSubmission,
    TestbedTask,
    TestbedTeamMember,
)
from bitgoeul.testbed.scoring import metric_named


def _audit(
    session: Session,
    actor: Actor,
    action: ProgrammesAudit,
    resource_type: str,
    resource_id: str | int,
    *,
    organization_id: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    record_event(
        session,
        action=action,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type=resource_type,
        resource_id=resource_id,
        organization_id=organization_id,
        detail=detail or {},
    )


def _require_operator(actor: Actor, doing: str) -> None:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in as an operator to {doing}.", doing=doing))
    if not actor.is_operator:
        raise AccessDenied(msg("Only the hub's operators {doing}.", doing=doing))


def _operator_ids(session: Session) -> list[int]:
    return list(session.scalars(select(User.id).where(User.role == Role.operator, User.is_active)))


# Startup support -------------------------------------------------------------------------


def apply_for_support(
    session: Session, *, actor: Actor, data: ApplicationCreate
) -> SupportApplication:
    """A startup's member asks for support; the operators are told.  Commits."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to apply for support."))
    organization = (
        session.get(Organization, actor.organization_id) if actor.organization_id else None
    )
    if organization is None or organization.kind != OrganizationKind.company:
        raise AccessDenied(
            msg(
                "Only people of a startup (an organization of kind 'company') apply for "
                "support; ask the hub's operators to add your account to your company."
            )
        )
    application = SupportApplication(
        organization_id=organization.id,
        applicant_id=actor.user_id,
        summary=data.summary.strip(),
        employees=data.employees,
        cpu_hours=data.cpu_hours,
        gpu_hours=data.gpu_hours,
        data_access_help=data.data_access_help,
        testbed_sponsorship=data.testbed_sponsorship,
        status=ApplicationStatus.submitted,
    )
    session.add(application)
    session.flush()
    _audit(
        session,
        actor,
        ProgrammesAudit.application_submitted,
        "programme_application",
        application.id,
        organization_id=organization.id,
        detail={
            "cpu_hours": str(data.cpu_hours),
            "gpu_hours": str(data.gpu_hours),
            "data_access_help": data.data_access_help,
            "testbed_sponsorship": data.testbed_sponsorship,
            "employees": data.employees,
        },
    )
    notify(
        session,
        _operator_ids(session),
        kind="programme.application_submitted",
        text=msg(
            "{organization} applied for support (application {id}).",
            organization=organization.name,
            id=application.id,
        ),
        link=f"/programmes/applications/{application.id}",
    )
    session.commit()
    return application


def review_application(
    session: Session, *, actor: Actor, application_id: int, review: ApplicationReview
) -> SupportApplication:
    """An operator approves (granting credits into the ledger) or rejects; commits."""
    _require_operator(actor, msg("review support applications"))
    application = queries.application_for(session, actor=actor, application_id=application_id)
    event = ApplicationEvent(review.decision)
    application.status = application_next(application.status, event)
    application.reviewer_id = actor.user_id
    application.review_note = review.note.strip()
    application.decided_at = utcnow()
    organization = session.get(Organization, application.organization_id)
    assert organization is not None  # noqa: S101 - RESTRICT keeps it
    if event == ApplicationEvent.approve:
        cpu = application.cpu_hours if review.cpu_hours is None else review.cpu_hours
        gpu = application.gpu_hours if review.gpu_hours is None else review.gpu_hours
        application.granted_cpu_hours = cpu
        application.granted_gpu_hours = gpu
    _audit(
        session,
        actor,
        ProgrammesAudit(f"programme.application_{application.status.value}"),
        "programme_application",
        application.id,
        organization_id=organization.id,
        detail={
            "granted_cpu_hours": str(application.granted_cpu_hours),
            "granted_gpu_hours": str(application.granted_gpu_hours),
            "note": application.review_note,
        },
    )
    told = (
        msg(
            "Your support application {id} was approved: {cpu} CPU-hours and {gpu} GPU-hours "
            "were added to {organization}'s credits.",
            id=application.id,
            cpu=application.granted_cpu_hours,
            gpu=application.granted_gpu_hours,
            organization=organization.name,
        )
        if event == ApplicationEvent.approve
        else msg(
            "Your support application {id} was not approved: {note}",
            id=application.id,
            note=application.review_note,
        )
    )
    if application.applicant_id is not None:
        notify(
            session,
            [application.applicant_id],
            kind=f"programme.application_{application.status.value}",
            text=told,
            link=f"/programmes/applications/{application.id}",
        )
    granted = application.granted_cpu_hours or application.granted_gpu_hours
    if event == ApplicationEvent.approve and granted:
        try:
            # The ledger's own action: it locks the account, writes the entries, audits
            # ``credits.grant`` and commits this whole transaction.
            compute_actions.grant_credits(
                session,
                actor=actor,
                organization_slug=organization.slug,
                cpu_hours=Decimal(application.granted_cpu_hours),
                gpu_hours=Decimal(application.granted_gpu_hours),
                note=f"programme application {application.id}",
            )
        except Exception:
            session.rollback()
            raise
    else:
        session.commit()
    return application


def withdraw_application(
    session: Session, *, actor: Actor, application_id: int
) -> SupportApplication:
    """Someone of the applying startup takes a submitted application back; commits."""
    application = queries.application_for(session, actor=actor, application_id=application_id)
    if application.organization_id != actor.organization_id:
        raise AccessDenied(msg("Only the applying startup's people withdraw its application."))
    application.status = application_next(application.status, ApplicationEvent.withdraw)
    application.decided_at = utcnow()
    _audit(
        session,
        actor,
        ProgrammesAudit.application_withdrawn,
        "programme_application",
        application.id,
        organization_id=application.organization_id,
    )
    session.commit()
    return application


# The academy -----------------------------------------------------------------------------


def create_course(session: Session, *, actor: Actor, data: CourseCreate) -> Course:
    _require_operator(actor, msg("create courses"))
    if session.scalar(select(Course.id).where(Course.slug == data.slug)) is not None:
        raise Conflict(
            msg("A course '{course}' exists already; choose another slug.", course=data.slug)
        )
    course = Course(**data.model_dump(), created_by_id=actor.user_id)
    session.add(course)
    session.flush()
    _audit(session, actor, ProgrammesAudit.course_created, "course", course.slug)
    session.commit()
    return course


def add_cohort(session: Session, *, actor: Actor, course_slug: str, data: CohortCreate) -> Cohort:
    _require_operator(actor, msg("open cohorts"))
    course = queries.get_course(session, course_slug)
    cohort = Cohort(course_id=course.id, **data.model_dump())
    session.add(cohort)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            msg(
                "The course already has a cohort named '{name}'; name this one differently.",
                name=data.name,
            )
        ) from None
    _audit(
        session,
        actor,
        ProgrammesAudit.cohort_opened,
        "cohort",
        cohort.id,
        detail={"course": course.slug, "name": cohort.name, "capacity": cohort.capacity},
    )
    session.commit()
    return cohort


def _job_lab_dataset(session: Session, data: LabCreate) -> Dataset:
    """A job lab's dataset: open (any trainee's job may use it, and its view is the whole
    version, so the platform's expected value is computed on what the job reads), published,
    with the rule's column, which is no direct identifier (those arrive pseudonymised)."""
    dataset = get_dataset(session, data.dataset)
    if dataset.access_level != AccessLevel.open:
        raise ValidationFailed(
            msg(
                "A job lab runs on open data; '{dataset}' is {level}. Choose an open dataset.",
                dataset=dataset.slug,
                level=dataset.access_level.value,
            )
        )
    version = latest_version(session, dataset)
    if version is None:
        raise ValidationFailed(msg("Dataset '{dataset}' has no version yet.", dataset=dataset.slug))
    if data.column:
        classes = column_classes(schema_fields(version.table_schema))
        if data.column not in classes:
            raise ValidationFailed(
                msg(
                    "Dataset '{dataset}' has no column '{column}'; its columns: {columns}.",
                    dataset=dataset.slug,
                    column=data.column,
                    columns=", ".join(sorted(classes)),
                )
            )
        if classes[data.column] == "direct_identifier":
            raise ValidationFailed(
                msg(
                    "Column '{column}' is a direct identifier (jobs see it pseudonymised); "
                    "grade on another column.",
                    column=data.column,
                )
            )
    return dataset


def add_lab(session: Session, *, actor: Actor, course_slug: str, data: LabCreate) -> Lab:
    """A lab on a testbed task (the pass mark read in the task's metric's direction), or a job
    lab on an open dataset with its grading rule."""
    _require_operator(actor, msg("add labs"))
    course = queries.get_course(session, course_slug)
    if session.scalar(select(Lab.id).where(Lab.course_id == course.id, Lab.slug == data.slug)):
        raise Conflict(
            msg("The course already has a lab '{lab}'; choose another slug.", lab=data.slug)
        )
    lab = Lab(course_id=course.id, slug=data.slug, title=data.title, title_ko=data.title_ko)
    if data.kind == LabKind.task:
        task = get_task(session, data.task)
        lab.kind, lab.task_id, lab.pass_mark = LabKind.task, task.id, data.pass_mark
        detail: dict[str, object] = {"task": task.slug, "pass": lab.pass_mark}
    else:
        dataset = _job_lab_dataset(session, data)
        lab.kind, lab.dataset_id, lab.aggregate = LabKind.job, dataset.id, data.aggregate
        lab.column, lab.tolerance = data.column, data.tolerance
        detail = {
            "dataset": dataset.slug,
            "aggregate": str(data.aggregate),
            "column": data.column,
            "tolerance": data.tolerance,
        }
    session.add(lab)
    session.flush()
    _audit(
        session,
        actor,
        ProgrammesAudit.lab_added,
        "lab",
        lab.id,
        detail={"course": course.slug, "lab": lab.slug, "kind": lab.kind.value, **detail},
    )
    session.commit()
    return lab


def enrol(session: Session, *, actor: Actor, cohort_id: int) -> Enrolment:
    """A signed-in person joins a cohort that has not ended and has a place left; commits."""
    if actor.is_anonymous or actor.user_id is None:
        raise NotAuthenticated(msg("Sign in to enrol in a course."))
    cohort = queries.get_cohort(session, cohort_id)
    if cohort.ends_on < utcnow().date():
        raise Conflict(
            msg(
                "This cohort ended on {day}; enrol in a later cohort of the course.",
                day=cohort.ends_on.isoformat(),
            )
        )
    existing = session.scalar(
        select(Enrolment).where(
            Enrolment.cohort_id == cohort.id, Enrolment.user_id == actor.user_id
        )
    )
    if existing is not None:
        raise Conflict(
            msg(
                "You are enrolled in this cohort already (enrolment {id}).",
                id=existing.id,
            )
        )
    if queries.places_taken(session, cohort.id) >= cohort.capacity:
        raise Conflict(
            msg(
                "This cohort is full ({capacity} places); enrol in another cohort.",
                capacity=cohort.capacity,
            )
        )
    enrolment = Enrolment(
        cohort_id=cohort.id, user_id=actor.user_id, status=EnrolmentStatus.enrolled
    )
    session.add(enrolment)
    try:
        session.flush()
    except IntegrityError:  # enrolled from another tab at the same moment
        session.rollback()
        raise Conflict(msg("You are enrolled in this cohort already.")) from None
    _audit(
        session,
        actor,
        ProgrammesAudit.enrolled,
        "enrolment",
        enrolment.id,
        detail={"cohort": cohort.id},
    )
    session.commit()
    return enrolment


def _best_submission(session: Session, task: TestbedTask, user_id: int) -> TestbedSubmission | None:
    """The best scored submission of the trainee's team on the task (public score)."""
    team_id = session.scalar(
        select(TestbedTeamMember.team_id).where(
            TestbedTeamMember.task_id == task.id, TestbedTeamMember.user_id == user_id
        )
    )
    if team_id is None:
        return None
    higher = metric_named(task.metric).higher_is_better
    order = TestbedSubmission.public_score.desc() if higher else TestbedSubmission.public_score
    return session.scalar(
        select(TestbedSubmission)
        .where(
            TestbedSubmission.team_id == team_id,
            TestbedSubmission.status == SubmissionStatus.scored,
            TestbedSubmission.public_score.is_not(None),
            TestbedSubmission.is_baseline.is_(False),
        )
        .order_by(order, TestbedSubmission.id)
        .limit(1)
    )


def _record_result(
    session: Session,
    *,
    actor: Actor,
    enrolment: Enrolment,
    lab: Lab,
    score: float | None,
    passed: bool,
    submission_id: int | None = None,
    job_id: int | None = None,
) -> LabResult:
    """Write the lab's grade (audited) and complete the enrolment when every lab of the course
    is passed (the trainee indicator counts it).  The caller commits."""
    result = session.scalar(
        select(LabResult).where(LabResult.enrolment_id == enrolment.id, LabResult.lab_id == lab.id)
    )
    if result is None:
        result = LabResult(enrolment_id=enrolment.id, lab_id=lab.id)
        session.add(result)
    elif result.passed and not passed:
        # A later failed attempt never takes a pass away.
        return result
    result.submission_id = submission_id
    result.job_id = job_id
    result.score = score
    result.passed = passed
    result.graded_at = utcnow()
    session.flush()
    _audit(
        session,
        actor,
        ProgrammesAudit.lab_graded,
        "enrolment",
        enrolment.id,
        detail={
            "lab": lab.slug,
            "submission": submission_id,
            "job": job_id,
            "score": score,
            "passed": passed,
        },
    )
    cohort = queries.get_cohort(session, enrolment.cohort_id)
    labs = {lab.id for lab in queries.labs_of(session, cohort.course_id)}
    passed_labs = set(
        session.scalars(
            select(LabResult.lab_id).where(
                LabResult.enrolment_id == enrolment.id, LabResult.passed.is_(True)
            )
        )
    )
    if enrolment.status == EnrolmentStatus.enrolled and labs and labs <= passed_labs:
        enrolment.status = enrolment_next(enrolment.status, EnrolmentEvent.complete)
        enrolment.completed_at = utcnow()
        _audit(
            session,
            actor,
            ProgrammesAudit.course_completed,
            "enrolment",
            enrolment.id,
            detail={"cohort": cohort.id},
        )
        course = session.get(Course, cohort.course_id)
        assert course is not None  # noqa: S101 - CASCADE
        notify(
            session,
            [enrolment.user_id],
            kind="academy.course_completed",
            text=msg("You completed the course '{course}'.", course=course.title),
            link=f"/academy/courses/{course.slug}",
        )
    return result


def _require_in_progress(enrolment: Enrolment) -> None:
    if enrolment.status != EnrolmentStatus.enrolled:
        raise Conflict(
            msg(
                "This enrolment is {state}; only an enrolment in progress is graded.",
                state=enrolment.status.value,
            )
        )


def grade_lab(
    session: Session,
    *,
    actor: Actor,
    enrolment_id: int,
    lab_slug: str,
    settings: Settings | None = None,
    store: ObjectStore | None = None,
) -> LabResult:
    """Grade a lab: a task lab from the trainee's best score on its task; a job lab from the
    trainee's latest finished lab job, graded again (``settings`` and ``store`` needed).  When
    every lab of the course is passed, the enrolment is completed.  Commits."""
    enrolment = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    _require_in_progress(enrolment)
    cohort = queries.get_cohort(session, enrolment.cohort_id)
    lab = queries.get_lab(session, cohort.course_id, lab_slug)
    if lab.kind == LabKind.job:
        if settings is None or store is None:
            raise RuntimeError("grading a job lab needs the hub's settings and store")
        latest = session.scalar(
            select(LabJob)
            .join(Job, Job.id == LabJob.job_id)
            .where(
                LabJob.enrolment_id == enrolment.id,
                LabJob.lab_id == lab.id,
                Job.status.in_(FINISHED),
            )
            .order_by(LabJob.id.desc())
            .limit(1)
        )
        if latest is None:
            raise ValidationFailed(
                msg(
                    "There is no finished job for lab '{lab}' yet: submit a job on '{dataset}' "
                    "that writes answer.json, attach it to the lab, and it is graded when it "
                    "ends.",
                    lab=lab.slug,
                    dataset=queries.lab_dataset_slug(session, lab),
                )
            )
        _grade_lab_job(session, settings=settings, store=store, lab_job=latest, lab=lab)
        result = session.scalar(
            select(LabResult).where(
                LabResult.enrolment_id == enrolment.id, LabResult.lab_id == lab.id
            )
        )
        assert result is not None  # noqa: S101 - just written
        session.commit()
        return result
    assert lab.task_id is not None  # noqa: S101 - a task lab has its task
    task = session.get(TestbedTask, lab.task_id)
    assert task is not None  # noqa: S101 - RESTRICT keeps it
    best = _best_submission(session, task, enrolment.user_id)
    if best is None or best.public_score is None:
        raise ValidationFailed(
            msg(
                "There is no scored submission for testbed task '{task}' yet: join a team on "
                "the task, submit predictions, then grade the lab again.",
                task=task.slug,
            )
        )
    higher = metric_named(task.metric).higher_is_better
    score = float(best.public_score)
    passed = score >= lab.pass_mark if higher else score <= lab.pass_mark
    result = _record_result(
        session,
        actor=actor,
        enrolment=enrolment,
        lab=lab,
        score=score,
        passed=passed,
        submission_id=best.id,
    )
    session.commit()
    return result


# Job labs --------------------------------------------------------------------------------

GRADER = Actor(user_id=None, username="academy-grader", role=None, organization_id=None)


def attach_lab_job(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    enrolment_id: int,
    lab_slug: str,
    job_id: int,
) -> LabJob:
    """A trainee attaches a job they submitted (through compute's normal path) on the lab's
    dataset to a job lab of their enrolment; it is graded when it ends (at once when it has
    ended already).  Audited; commits."""
    enrolment = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    if enrolment.user_id != actor.user_id:
        raise AccessDenied(msg("Only the trainee attaches jobs to their own labs."))
    _require_in_progress(enrolment)
    cohort = queries.get_cohort(session, enrolment.cohort_id)
    lab = queries.get_lab(session, cohort.course_id, lab_slug)
    if lab.kind != LabKind.job:
        raise ValidationFailed(
            msg(
                "Lab '{lab}' is graded from a testbed task, not from a job: grade it instead.",
                lab=lab.slug,
            )
        )
    job = session.get(Job, job_id)
    if job is None or job.submitted_by_id != actor.user_id:
        raise NotFound(
            msg("There is no job {job} of yours; submit one, then attach it.", job=job_id)
        )
    slug = queries.lab_dataset_slug(session, lab)
    if slug not in {str(d.get("slug")) for d in job.datasets}:
        raise ValidationFailed(
            msg(
                "Job {job} did not use dataset '{dataset}', which lab '{lab}' is about; submit "
                "a job that names it in its datasets.",
                job=job.id,
                dataset=slug,
                lab=lab.slug,
            )
        )
    if session.scalar(select(LabJob.id).where(LabJob.job_id == job.id)) is not None:
        raise Conflict(msg("Job {job} is attached to a lab already.", job=job.id))
    lab_job = LabJob(
        enrolment_id=enrolment.id, lab_id=lab.id, job_id=job.id, status=LabJobStatus.waiting
    )
    session.add(lab_job)
    session.flush()
    _audit(
        session,
        actor,
        ProgrammesAudit.lab_job_attached,
        "enrolment",
        enrolment.id,
        detail={"lab": lab.slug, "job": job.id},
    )
    if job.status in FINISHED:
        _grade_lab_job(session, settings=settings, store=store, lab_job=lab_job, lab=lab)
    session.commit()
    return lab_job


def _expected_answer(
    session: Session, *, store: ObjectStore, lab: Lab, dataset: Dataset, version: DatasetVersion
) -> float:
    """The platform's value for ``lab`` on the version the job used, read through the door like
    every other reading of a version (decided for the grader, audited under the publisher, the
    file checked against its SHA-256)."""
    door = Door(
        session,
        actor=GRADER,
        event=ProgrammesAudit.dataset_lab_grading_decision,
        detail={"lab": lab.slug},
    )
    context = decision_context(
        session, actor=GRADER, dataset=dataset, version=version, project_id=None
    )
    with door:
        passage = door.admit([Request(DataAction.download, dataset, version, context)])[0]
        return grading.expected_answer(lab, door.source(store, passage)[0])


def _grade_lab_job(
    session: Session, *, settings: Settings, store: ObjectStore, lab_job: LabJob, lab: Lab
) -> None:
    """Grade a finished lab job: its answer against the platform's value on the dataset
    version the job used.  The caller commits."""
    job = session.get(Job, lab_job.job_id)
    assert job is not None  # noqa: S101 - CASCADE
    enrolment = session.get(Enrolment, lab_job.enrolment_id)
    assert enrolment is not None  # noqa: S101 - CASCADE
    answer: float | None = None
    expected: float | None = None
    problem = ""
    try:
        if job.status != JobStatus.succeeded:
            raise ValidationFailed(
                msg("The job did not succeed ({status}).", status=job.status.value)
            )
        slug = queries.lab_dataset_slug(session, lab)
        used = next(d for d in job.datasets if str(d.get("slug")) == slug)
        dataset = get_dataset(session, slug)
        version = version_of(session, dataset, int(used["version"]))
        answer = grading.job_answer(settings, store, job)
        expected = _expected_answer(session, store=store, lab=lab, dataset=dataset, version=version)
        if not grading.is_right(answer, expected, lab.tolerance):
            problem = str(msg("The answer is not the right value; check your computation."))
    except BitgoeulError as failure:
        problem = str(failure.message)
    passed = not problem
    lab_job.status = LabJobStatus.passed if passed else LabJobStatus.failed
    lab_job.answer = answer
    lab_job.expected = expected
    lab_job.problem = problem[:2000]
    lab_job.graded_at = utcnow()
    if enrolment.status == EnrolmentStatus.enrolled:
        _record_result(
            session,
            actor=GRADER,
            enrolment=enrolment,
            lab=lab,
            score=answer,
            passed=passed,
            job_id=job.id,
        )
    notify(
        session,
        [enrolment.user_id],
        kind="academy.lab_graded",
        text=(
            msg("Your job {job} passed lab '{lab}'.", job=job.id, lab=lab.title)
            if passed
            else msg(
                "Your job {job} did not pass lab '{lab}': {problem}",
                job=job.id,
                lab=lab.title,
                problem=problem,
            )
        ),
        link=f"/academy/courses/{queries.course_slug(session, lab.course_id)}#lab-{lab.slug}",
    )


def lab_job_finished(session: Session, job: Job, *, settings: Settings, store: ObjectStore) -> None:
    """Grade the lab job of ``job`` that just ended, if it is one; a ``JobRunner`` finish
    hook.  Commits."""
    lab_job = session.scalar(select(LabJob).where(LabJob.job_id == job.id))
    if lab_job is None or lab_job.status != LabJobStatus.waiting:
        return
    lab = session.get(Lab, lab_job.lab_id)
    assert lab is not None  # noqa: S101 - CASCADE
    _grade_lab_job(session, settings=settings, store=store, lab_job=lab_job, lab=lab)
    session.commit()


def academy_grader(settings: Settings, store: ObjectStore) -> Callable[[Session, Job], None]:
    """The ``JobRunner`` finish hook that grades trainees' lab jobs."""

    def hook(session: Session, job: Job) -> None:
        lab_job_finished(session, job, settings=settings, store=store)

    return hook


def withdraw_enrolment(session: Session, *, actor: Actor, enrolment_id: int) -> Enrolment:
    enrolment = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    enrolment.status = enrolment_next(enrolment.status, EnrolmentEvent.withdraw)
    _audit(session, actor, ProgrammesAudit.enrolment_withdrawn, "enrolment", enrolment.id)
    session.commit()
    return enrolment
