"""Reads for the programmes: applications (an organization sees its own, operators all), the
academy's courses (public), enrolments (their trainee's and the operators'), and the two
figures the control tower counts: supported startups and trainees."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, User
from bitgoeul.catalog.models import Dataset
from bitgoeul.errors import AccessDenied, NotAuthenticated, NotFound
from bitgoeul.messages import msg
from bitgoeul.programmes.models import (
    ApplicationStatus,
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    Lab,
    LabJob,
    LabKind,
    LabResult,
    SupportApplication,
)
from bitgoeul.programmes.schemas import (
    ApplicationPublic,
    CohortPublic,
    CoursePublic,
    EnrolmentPublic,
    LabJobPublic,
    LabPublic,
    LabResultPublic,
)
from bitgoeul.testbed.models import TestbedTask
from bitgoeul.testbed.scoring import metric_named

TAKING_PLACES = (EnrolmentStatus.enrolled, EnrolmentStatus.completed)


def require_signed_in(actor: Actor) -> None:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to see the programmes' applications and enrolments."))


# Applications ----------------------------------------------------------------------------


def list_applications(
    session: Session, *, actor: Actor, status: ApplicationStatus | None = None
) -> list[SupportApplication]:
    """Operators see every application; a startup's people see their organization's."""
    require_signed_in(actor)
    query = select(SupportApplication)
    if not actor.is_operator:
        if actor.organization_id is None:
            return []
        query = query.where(SupportApplication.organization_id == actor.organization_id)
    if status is not None:
        query = query.where(SupportApplication.status == status)
    return list(session.scalars(query.order_by(SupportApplication.id.desc())))


def application_for(session: Session, *, actor: Actor, application_id: int) -> SupportApplication:
    require_signed_in(actor)
    found = session.get(SupportApplication, application_id)
    if found is None or not (actor.is_operator or found.organization_id == actor.organization_id):
        # Another organization's application is as absent as one that does not exist.
        raise NotFound(
            msg(
                "There is no application {id} of yours; the programmes page lists them.",
                id=application_id,
            )
        )
    return found


def application_public(session: Session, application: SupportApplication) -> ApplicationPublic:
    organization = session.get(Organization, application.organization_id)
    assert organization is not None  # noqa: S101 - RESTRICT keeps it
    names = _usernames(session, {application.applicant_id, application.reviewer_id})
    return ApplicationPublic(
        id=application.id,
        organization=organization.slug,
        organization_name=organization.name,
        applicant=names.get(application.applicant_id),
        summary=application.summary,
        employees=application.employees,
        cpu_hours=application.cpu_hours,
        gpu_hours=application.gpu_hours,
        data_access_help=application.data_access_help,
        testbed_sponsorship=application.testbed_sponsorship,
        status=application.status,
        granted_cpu_hours=application.granted_cpu_hours,
        granted_gpu_hours=application.granted_gpu_hours,
        reviewer=names.get(application.reviewer_id),
        review_note=application.review_note,
        created_at=application.created_at,
        decided_at=application.decided_at,
    )


def _usernames(session: Session, ids: set[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def supported_startups(session: Session) -> dict[int, int]:
    """Each organization with an approved application → the employees its latest approved
    application reported (the tower's startups and jobs indicators)."""
    latest = (
        select(
            SupportApplication.organization_id,
            func.max(SupportApplication.id).label("latest"),
        )
        .where(SupportApplication.status == ApplicationStatus.approved)
        .group_by(SupportApplication.organization_id)
        .subquery()
    )
    rows = session.execute(
        select(SupportApplication.organization_id, SupportApplication.employees).join(
            latest, latest.c.latest == SupportApplication.id
        )
    )
    return {int(org): int(employees) for org, employees in rows}


def trainee_count(session: Session) -> int:
    """People who completed at least one course (the tower's trainee indicator)."""
    return int(
        session.scalar(
            select(func.count(distinct(Enrolment.user_id))).where(
                Enrolment.status == EnrolmentStatus.completed
            )
        )
        or 0
    )


# The academy -----------------------------------------------------------------------------


def list_courses(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).order_by(Course.title)))


def get_course(session: Session, slug: str) -> Course:
    course = session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        raise NotFound(
            msg("There is no course '{course}'; the academy page lists them.", course=slug)
        )
    return course


def get_cohort(session: Session, cohort_id: int) -> Cohort:
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound(
            msg(
                "There is no cohort {id}; a course's page lists its cohorts.",
                id=cohort_id,
            )
        )
    return cohort


def labs_of(session: Session, course_id: int) -> list[Lab]:
    return list(session.scalars(select(Lab).where(Lab.course_id == course_id).order_by(Lab.id)))


def get_lab(session: Session, course_id: int, slug: str) -> Lab:
    lab = session.scalar(select(Lab).where(Lab.course_id == course_id, Lab.slug == slug))
    if lab is None:
        raise NotFound(msg("This course has no lab '{lab}'.", lab=slug))
    return lab


def places_taken(session: Session, cohort_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.cohort_id == cohort_id, Enrolment.status.in_(TAKING_PLACES))
        )
        or 0
    )


def course_public(session: Session, course: Course) -> CoursePublic:
    cohorts = list(
        session.scalars(
            select(Cohort).where(Cohort.course_id == course.id).order_by(Cohort.starts_on)
        )
    )
    taken = dict(
        session.execute(
            select(Enrolment.cohort_id, func.count())
            .where(
                Enrolment.cohort_id.in_([c.id for c in cohorts]),
                Enrolment.status.in_(TAKING_PLACES),
            )
            .group_by(Enrolment.cohort_id)
        ).all()
    )
    completed = int(
        session.scalar(
            select(func.count())
            .select_from(Enrolment)
            .join(Cohort, Cohort.id == Enrolment.cohort_id)
            .where(Cohort.course_id == course.id, Enrolment.status == EnrolmentStatus.completed)
        )
        or 0
    )
    return CoursePublic(
        slug=course.slug,
        title=course.title,
        title_ko=course.title_ko,
        description=course.description,
        description_ko=course.description_ko,
        cohorts=[
            CohortPublic(
                id=c.id,
                name=c.name,
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                capacity=c.capacity,
                enrolled=int(taken.get(c.id, 0)),
            )
            for c in cohorts
        ],
        labs=[lab_public(session, lab) for lab in labs_of(session, course.id)],
        completed=completed,
    )


def course_slug(session: Session, course_id: int) -> str:
    course = session.get(Course, course_id)
    assert course is not None  # noqa: S101 - CASCADE
    return course.slug


def lab_dataset_slug(session: Session, lab: Lab) -> str:
    """The slug of a job lab's dataset."""
    dataset = session.get(Dataset, lab.dataset_id) if lab.dataset_id is not None else None
    assert dataset is not None  # noqa: S101 - RESTRICT keeps a job lab's dataset
    return dataset.slug


def lab_public(session: Session, lab: Lab) -> LabPublic:
    if lab.kind == LabKind.job:
        return LabPublic(
            slug=lab.slug,
            title=lab.title,
            title_ko=lab.title_ko,
            kind=lab.kind,
            dataset=lab_dataset_slug(session, lab),
            aggregate=lab.aggregate,
            column=lab.column,
            tolerance=lab.tolerance,
        )
    task = session.get(TestbedTask, lab.task_id)
    assert task is not None  # noqa: S101 - RESTRICT keeps it
    return LabPublic(
        slug=lab.slug,
        title=lab.title,
        title_ko=lab.title_ko,
        kind=lab.kind,
        task=task.slug,
        metric=task.metric,
        higher_is_better=metric_named(task.metric).higher_is_better,
        pass_mark=lab.pass_mark,
    )


def enrolment_for(session: Session, *, actor: Actor, enrolment_id: int) -> Enrolment:
    require_signed_in(actor)
    found = session.get(Enrolment, enrolment_id)
    if found is None or not (actor.is_operator or found.user_id == actor.user_id):
        raise NotFound(
            msg(
                "There is no enrolment {id} of yours; the academy page lists yours.",
                id=enrolment_id,
            )
        )
    return found


def my_enrolments(session: Session, *, actor: Actor) -> list[Enrolment]:
    require_signed_in(actor)
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.user_id == actor.user_id).order_by(Enrolment.id)
        )
    )


def cohort_enrolments(session: Session, *, actor: Actor, cohort_id: int) -> list[Enrolment]:
    """A cohort's trainees, for operators."""
    require_signed_in(actor)
    if not actor.is_operator:
        raise AccessDenied(msg("Only the hub's operators see who is enrolled in a cohort."))
    get_cohort(session, cohort_id)
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.cohort_id == cohort_id).order_by(Enrolment.id)
        )
    )


def enrolment_public(session: Session, enrolment: Enrolment) -> EnrolmentPublic:
    cohort = session.get(Cohort, enrolment.cohort_id)
    assert cohort is not None  # noqa: S101 - CASCADE
    course = session.get(Course, cohort.course_id)
    assert course is not None  # noqa: S101 - CASCADE
    user = session.get(User, enrolment.user_id)
    labs = {lab.id: lab.slug for lab in labs_of(session, course.id)}
    results = session.scalars(
        select(LabResult).where(LabResult.enrolment_id == enrolment.id).order_by(LabResult.lab_id)
    )
    lab_jobs = session.scalars(
        select(LabJob).where(LabJob.enrolment_id == enrolment.id).order_by(LabJob.id.desc())
    )
    return EnrolmentPublic(
        id=enrolment.id,
        course=course.slug,
        cohort=cohort.name,
        cohort_id=cohort.id,
        user=user.username if user else "",
        status=enrolment.status,
        enrolled_at=enrolment.enrolled_at,
        completed_at=enrolment.completed_at,
        results=[
            LabResultPublic(
                lab=labs.get(r.lab_id, ""),
                score=r.score,
                passed=r.passed,
                graded_at=r.graded_at,
                job=r.job_id,
            )
            for r in results
        ],
        lab_jobs=[lab_job_public(j, labs.get(j.lab_id, "")) for j in lab_jobs],
    )


def lab_job_public(lab_job: LabJob, lab_slug: str) -> LabJobPublic:
    """A lab job as its trainee sees it: never the expected value."""
    return LabJobPublic(
        id=lab_job.id,
        lab=lab_slug,
        job=lab_job.job_id,
        status=lab_job.status,
        answer=lab_job.answer,
        problem=lab_job.problem,
        created_at=lab_job.created_at,
        graded_at=lab_job.graded_at,
    )
