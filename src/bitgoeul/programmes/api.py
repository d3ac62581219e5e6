"""REST routes of the programmes: ``/api/v1/programmes/applications`` (startup support) and
``/api/v1/academy/...`` (courses, cohorts, labs, enrolments).

Routes parse and answer; every change is a ``programmes.actions`` call.  Writes ride a bearer
token, or a session cookie with its CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep
from bitgoeul.programmes import actions, queries
from bitgoeul.programmes.models import ApplicationStatus
from bitgoeul.programmes.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationReview,
    CohortCreate,
    CourseCreate,
    CoursePublic,
    EnrolmentPublic,
    LabCreate,
    LabJobAttach,
    LabJobPublic,
    LabResultPublic,
)

router = APIRouter(prefix="/programmes", tags=["programmes"])
academy_router = APIRouter(prefix="/academy", tags=["academy"])


@router.get("/applications", response_model=list[ApplicationPublic])
def list_applications(
    session: SessionDep,
    actor: CurrentActor,
    status: Annotated[ApplicationStatus | None, Query()] = None,
) -> list[ApplicationPublic]:
    """Operators: every application; a startup's people: their organization's."""
    return [
        queries.application_public(session, a)
        for a in queries.list_applications(session, actor=actor, status=status)
    ]


@router.post("/applications", response_model=ApplicationPublic, status_code=status.HTTP_201_CREATED)
def apply_for_support(
    data: ApplicationCreate, session: SessionDep, actor: CsrfChecked
) -> ApplicationPublic:
    application = actions.apply_for_support(session, actor=actor, data=data)
    return queries.application_public(session, application)


@router.get("/applications/{application_id}", response_model=ApplicationPublic)
def get_application(
    application_id: int, session: SessionDep, actor: CurrentActor
) -> ApplicationPublic:
    found = queries.application_for(session, actor=actor, application_id=application_id)
    return queries.application_public(session, found)


@router.post("/applications/{application_id}/review", response_model=ApplicationPublic)
def review_application(
    application_id: int, review: ApplicationReview, session: SessionDep, actor: CsrfChecked
) -> ApplicationPublic:
    """An operator approves (credits flow into the organization's ledger) or rejects."""
    application = actions.review_application(
        session, actor=actor, application_id=application_id, review=review
    )
    return queries.application_public(session, application)


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationPublic)
def withdraw_application(
    application_id: int, session: SessionDep, actor: CsrfChecked
) -> ApplicationPublic:
    application = actions.withdraw_application(session, actor=actor, application_id=application_id)
    return queries.application_public(session, application)


@academy_router.get("/courses", response_model=list[CoursePublic])
def list_courses(session: SessionDep) -> list[CoursePublic]:
    """The academy's courses with their cohorts and labs (public)."""
    return [queries.course_public(session, c) for c in queries.list_courses(session)]


@academy_router.post("/courses", response_model=CoursePublic, status_code=status.HTTP_201_CREATED)
def create_course(data: CourseCreate, session: SessionDep, actor: CsrfChecked) -> CoursePublic:
    course = actions.create_course(session, actor=actor, data=data)
    return queries.course_public(session, course)


@academy_router.get("/courses/{slug}", response_model=CoursePublic)
def get_course(slug: str, session: SessionDep) -> CoursePublic:
    return queries.course_public(session, queries.get_course(session, slug))


@academy_router.post(
    "/courses/{slug}/cohorts", response_model=CoursePublic, status_code=status.HTTP_201_CREATED
)
def add_cohort(
    slug: str, data: CohortCreate, session: SessionDep, actor: CsrfChecked
) -> CoursePublic:
    actions.add_cohort(session, actor=actor, course_slug=slug, data=data)
    return queries.course_public(session, queries.get_course(session, slug))


@academy_router.post(
    "/courses/{slug}/labs", response_model=CoursePublic, status_code=status.HTTP_201_CREATED
)
def add_lab(slug: str, data: LabCreate, session: SessionDep, actor: CsrfChecked) -> CoursePublic:
    actions.add_lab(session, actor=actor, course_slug=slug, data=data)
    return queries.course_public(session, queries.get_course(session, slug))


@academy_router.get("/cohorts/{cohort_id}/enrolments", response_model=list[EnrolmentPublic])
def cohort_enrolments(
    cohort_id: int, session: SessionDep, actor: CurrentActor
) -> list[EnrolmentPublic]:
    """A cohort's trainees and their lab results (operators)."""
    return [
        queries.enrolment_public(session, e)
        for e in queries.cohort_enrolments(session, actor=actor, cohort_id=cohort_id)
    ]


@academy_router.post(
    "/cohorts/{cohort_id}/enrolments",
    response_model=EnrolmentPublic,
    status_code=status.HTTP_201_CREATED,
)
def enrol(cohort_id: int, session: SessionDep, actor: CsrfChecked) -> EnrolmentPublic:
    enrolment = actions.enrol(session, actor=actor, cohort_id=cohort_id)
    return queries.enrolment_public(session, enrolment)


@academy_router.get("/enrolments", response_model=list[EnrolmentPublic])
def my_enrolments(session: SessionDep, actor: CurrentActor) -> list[EnrolmentPublic]:
    return [
        queries.enrolment_public(session, e) for e in queries.my_enrolments(session, actor=actor)
    ]


@academy_router.get("/enrolments/{enrolment_id}", response_model=EnrolmentPublic)
def get_enrolment(enrolment_id: int, session: SessionDep, actor: CurrentActor) -> EnrolmentPublic:
    found = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    return queries.enrolment_public(session, found)


@academy_router.post(
    "/enrolments/{enrolment_id}/labs/{lab_slug}/grade", response_model=LabResultPublic
)
def grade_lab(
    request: Request,
    enrolment_id: int,
    lab_slug: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> LabResultPublic:
    """Grade a lab: from the trainee's best score on its testbed task, or (a job lab) from
    their latest finished lab job, graded again."""
    result = actions.grade_lab(
        session,
        actor=actor,
        enrolment_id=enrolment_id,
        lab_slug=lab_slug,
        settings=settings,
        store=request.app.state.store,
    )
    return LabResultPublic(
        lab=lab_slug,
        score=result.score,
        passed=result.passed,
        graded_at=result.graded_at,
        job=result.job_id,
    )


@academy_router.post(
    "/enrolments/{enrolment_id}/labs/{lab_slug}/jobs",
    response_model=LabJobPublic,
    status_code=status.HTTP_201_CREATED,
)
def attach_lab_job(
    request: Request,
    enrolment_id: int,
    lab_slug: str,
    data: LabJobAttach,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> LabJobPublic:
    """Attach a job you submitted (``POST /api/v1/jobs``) on the lab's dataset to a job lab;
    it is graded automatically when it ends."""
    lab_job = actions.attach_lab_job(
        session,
        settings=settings,
        store=request.app.state.store,
        actor=actor,
        enrolment_id=enrolment_id,
        lab_slug=lab_slug,
        job_id=data.job,
    )
    return queries.lab_job_public(lab_job, lab_slug)


@academy_router.post("/enrolments/{enrolment_id}/withdraw", response_model=EnrolmentPublic)
def withdraw_enrolment(
    enrolment_id: int, session: SessionDep, actor: CsrfChecked
) -> EnrolmentPublic:
    enrolment = actions.withdraw_enrolment(session, actor=actor, enrolment_id=enrolment_id)
    return queries.enrolment_public(session, enrolment)
