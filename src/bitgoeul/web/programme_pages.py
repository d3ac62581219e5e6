"""The programmes' pages: startup support (``/programmes``: apply, follow, review, withdraw)
and the academy (``/academy``: courses, cohorts, enrolment, grading a lab).

Every change is a ``programmes.actions`` call, as the API makes it; a form that is refused is
shown again with what was typed and the reason (nothing typed is lost).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    StoreDep,
)
from bitgoeul.accounts.models import Organization, OrganizationKind
from bitgoeul.errors import BitgoeulError, ValidationFailed
from bitgoeul.messages import msg, validation_problems
from bitgoeul.programmes import actions, queries
from bitgoeul.programmes.models import Course, EnrolmentStatus
from bitgoeul.programmes.schemas import ApplicationCreate, ApplicationReview
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)


def _is_startup(session: Session, actor: Actor) -> bool:
    if actor.organization_id is None:
        return False
    organization = session.get(Organization, actor.organization_id)
    return organization is not None and organization.kind == OrganizationKind.company


def _programmes_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    applications = [
        queries.application_public(session, a)
        for a in queries.list_applications(session, actor=actor)
    ]
    return page(
        request,
        "programmes.html",
        status_code=status_code,
        applications=applications,
        may_apply=_is_startup(session, actor),
        values=values or {},
        error=error,
    )


@router.get("/programmes", response_class=HTMLResponse)
def programmes(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _programmes_page(request, session, actor)


@router.post("/programmes/applications", response_class=HTMLResponse)
def apply(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    summary: Annotated[str, Form(max_length=5000)] = "",
    employees: Annotated[str, Form(max_length=10)] = "0",
    cpu_hours: Annotated[str, Form(max_length=20)] = "0",
    gpu_hours: Annotated[str, Form(max_length=20)] = "0",
    data_access_help: Annotated[str, Form(max_length=5)] = "",
    testbed_sponsorship: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    values = {
        "summary": summary,
        "employees": employees,
        "cpu_hours": cpu_hours,
        "gpu_hours": gpu_hours,
        "data_access_help": data_access_help,
        "testbed_sponsorship": testbed_sponsorship,
    }
    try:
        data = ApplicationCreate.model_validate(
            {
                "summary": summary,
                "employees": employees.strip() or "0",
                "cpu_hours": cpu_hours.strip() or "0",
                "gpu_hours": gpu_hours.strip() or "0",
                "data_access_help": bool(data_access_help),
                "testbed_sponsorship": bool(testbed_sponsorship),
            }
        )
        created = actions.apply_for_support(session, actor=actor, data=data)
    except ValidationError as exc:
        return _programmes_page(
            request,
            session,
            actor,
            values=values,
            error="; ".join(validation_problems(exc)),
            status_code=422,
        )
    except BitgoeulError as refused:
        session.rollback()
        return _programmes_page(
            request,
            session,
            actor,
            values=values,
            error=refused.message,
            status_code=refused.status_code,
        )
    return redirect_to(f"/programmes/applications/{created.id}")


def _application_page(
    request: Request,
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    found = queries.application_for(session, actor=actor, application_id=application_id)
    return page(
        request,
        "programme_application.html",
        status_code=status_code,
        application=queries.application_public(session, found),
        may_withdraw=found.organization_id == actor.organization_id,
        error=error,
    )


@router.get("/programmes/applications/{application_id}", response_class=HTMLResponse)
def application(
    request: Request, session: SessionDep, actor: SignedInActor, application_id: int
) -> Response:
    return _application_page(request, session, actor, application_id)


@router.post("/programmes/applications/{application_id}/review", response_class=HTMLResponse)
def review(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    application_id: int,
    decision: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=5000)] = "",
    cpu_hours: Annotated[str, Form(max_length=20)] = "",
    gpu_hours: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        data = ApplicationReview.model_validate(
            {
                "decision": decision,
                "note": note,
                "cpu_hours": cpu_hours.strip() or None,
                "gpu_hours": gpu_hours.strip() or None,
            }
        )
    except ValidationError as exc:
        error = "; ".join(validation_problems(exc))
        return _application_page(
            request, session, actor, application_id, error=error, status_code=422
        )
    actions.review_application(session, actor=actor, application_id=application_id, review=data)
    return redirect_to(f"/programmes/applications/{application_id}")


@router.post("/programmes/applications/{application_id}/withdraw")
def withdraw(session: SessionDep, actor: CsrfChecked, application_id: int) -> Response:
    actions.withdraw_application(session, actor=actor, application_id=application_id)
    return redirect_to(f"/programmes/applications/{application_id}")


# The academy -----------------------------------------------------------------------------


@router.get("/academy", response_class=HTMLResponse)
def academy(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    courses = [queries.course_public(session, c) for c in queries.list_courses(session)]
    mine = (
        []
        if actor.is_anonymous
        else [
            queries.enrolment_public(session, e)
            for e in queries.my_enrolments(session, actor=actor)
        ]
    )
    return page(request, "academy.html", courses=courses, enrolments=mine)


def _course_page(
    request: Request,
    session: Session,
    actor: Actor,
    slug: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    course = queries.course_public(session, queries.get_course(session, slug))
    cohorts = {c.id for c in course.cohorts}
    mine = (
        []
        if actor.is_anonymous
        else [
            queries.enrolment_public(session, e)
            for e in queries.my_enrolments(session, actor=actor)
            if e.cohort_id in cohorts
        ]
    )
    active = next((e for e in mine if e.status == EnrolmentStatus.enrolled), None)
    return page(
        request,
        "academy_course.html",
        status_code=status_code,
        course=course,
        enrolments=mine,
        active=active,
        enrolled_cohorts={e.cohort_id for e in mine},
        results={r.lab: r for r in (active.results if active else [])},
        lab_jobs=active.lab_jobs if active else [],
        error=error,
    )


@router.get("/academy/courses/{slug}", response_class=HTMLResponse)
def course(request: Request, session: SessionDep, actor: CurrentActor, slug: str) -> Response:
    return _course_page(request, session, actor, slug)


@router.post("/academy/cohorts/{cohort_id}/enrol", response_class=HTMLResponse)
def enrol(request: Request, session: SessionDep, actor: CsrfChecked, cohort_id: int) -> Response:
    cohort = queries.get_cohort(session, cohort_id)
    slug = _course_slug(session, cohort.course_id)
    try:
        actions.enrol(session, actor=actor, cohort_id=cohort_id)
    except BitgoeulError as refused:
        session.rollback()
        return _course_page(
            request, session, actor, slug, error=refused.message, status_code=refused.status_code
        )
    return redirect_to(f"/academy/courses/{slug}")


@router.post(
    "/academy/enrolments/{enrolment_id}/labs/{lab_slug}/grade", response_class=HTMLResponse
)
def grade(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    enrolment_id: int,
    lab_slug: str,
) -> Response:
    enrolment = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    slug = _course_slug(session, queries.get_cohort(session, enrolment.cohort_id).course_id)
    try:
        actions.grade_lab(
            session,
            actor=actor,
            enrolment_id=enrolment_id,
            lab_slug=lab_slug,
            settings=settings,
            store=store,
        )
    except BitgoeulError as refused:
        session.rollback()
        return _course_page(
            request, session, actor, slug, error=refused.message, status_code=refused.status_code
        )
    return redirect_to(f"/academy/courses/{slug}")


@router.post("/academy/enrolments/{enrolment_id}/labs/{lab_slug}/jobs", response_class=HTMLResponse)
def attach_job(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    enrolment_id: int,
    lab_slug: str,
    job: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Attach a job the trainee submitted to a job lab; graded when it ends."""
    enrolment = queries.enrolment_for(session, actor=actor, enrolment_id=enrolment_id)
    slug = _course_slug(session, queries.get_cohort(session, enrolment.cohort_id).course_id)
    try:
        if not job.strip().isdigit():
            raise ValidationFailed(msg("Give the number of the job you submitted for this lab."))
        actions.attach_lab_job(
            session,
            settings=settings,
            store=store,
            actor=actor,
            enrolment_id=enrolment_id,
            lab_slug=lab_slug,
            job_id=int(job.strip()),
        )
    except BitgoeulError as refused:
        session.rollback()
        return _course_page(
            request, session, actor, slug, error=refused.message, status_code=refused.status_code
        )
    return redirect_to(f"/academy/courses/{slug}#lab-{lab_slug}")


@router.post("/academy/enrolments/{enrolment_id}/withdraw")
def withdraw_enrolment(session: SessionDep, actor: CsrfChecked, enrolment_id: int) -> Response:
    enrolment = actions.withdraw_enrolment(session, actor=actor, enrolment_id=enrolment_id)
    slug = _course_slug(session, queries.get_cohort(session, enrolment.cohort_id).course_id)
    return redirect_to(f"/academy/courses/{slug}")


def _course_slug(session: Session, course_id: int) -> str:
    found = session.get(Course, course_id)
    assert found is not None  # noqa: S101 - a cohort's course exists (CASCADE)
    return found.slug
