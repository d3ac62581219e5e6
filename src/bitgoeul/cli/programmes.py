"""``bitgoeul programme`` and ``bitgoeul academy``: startup support and the academy.

The same steps as ``/api/v1/programmes`` and ``/api/v1/academy``: every command calls
``programmes.actions`` or ``programmes.queries`` as ``programmes/api.py`` does, as the user
named by ``--as``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape

from bitgoeul.cli.context import console, hub_of, invalid_options
from bitgoeul.programmes import actions, queries
from bitgoeul.programmes.models import ApplicationStatus
from bitgoeul.programmes.schemas import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationReview,
    CohortCreate,
    CourseCreate,
    LabCreate,
)
from bitgoeul.storage import make_store

programme_app = typer.Typer(help="Startup support: applications and their review.")
academy_app = typer.Typer(help="The academy: courses, cohorts, labs, enrolments.")

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]


def _validated(model: Any, values: dict[str, Any], options: dict[str, str] | None = None) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise invalid_options(exc, options) from None


def _line(a: ApplicationPublic) -> str:
    asked = f"{a.cpu_hours:g} CPU-h, {a.gpu_hours:g} GPU-h"
    return f"[bold]{a.id}[/] {escape(a.organization)} {a.status.value} ({asked})"


@programme_app.command("apply")
def programme_apply(
    ctx: typer.Context,
    acting: AsUser,
    summary: Annotated[str, typer.Option("--summary", help="What the startup does.")],
    employees: Annotated[int, typer.Option("--employees", help="People it employs.")] = 0,
    cpu_hours: Annotated[str, typer.Option("--cpu-hours", help="CPU-hours asked for.")] = "0",
    gpu_hours: Annotated[str, typer.Option("--gpu-hours", help="GPU-hours asked for.")] = "0",
    data_access_help: Annotated[
        bool, typer.Option("--data-access-help", help="Ask for help with data access.")
    ] = False,
    testbed_sponsorship: Annotated[
        bool, typer.Option("--testbed-sponsorship", help="Ask for testbed sponsorship.")
    ] = False,
) -> None:
    """Apply for support for your startup; the operators are told."""
    data = _validated(
        ApplicationCreate,
        {
            "summary": summary,
            "employees": employees,
            "cpu_hours": cpu_hours,
            "gpu_hours": gpu_hours,
            "data_access_help": data_access_help,
            "testbed_sponsorship": testbed_sponsorship,
        },
    )
    hub = hub_of(ctx)
    with hub.session() as session:
        made = actions.apply_for_support(session, actor=hub.actor(session, acting), data=data)
        shown = queries.application_public(session, made)
    console.print(f"Submitted application {shown.id} for {escape(shown.organization)}.")


@programme_app.command("list")
def programme_list(
    ctx: typer.Context,
    acting: AsUser,
    status: Annotated[
        ApplicationStatus | None, typer.Option("--status", help="Only this status.")
    ] = None,
) -> None:
    """List applications: your organization's, or (operators) all."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.list_applications(session, actor=hub.actor(session, acting), status=status)
        shown = [queries.application_public(session, a) for a in found]
    for application in shown:
        console.print(_line(application))
    if not shown:
        console.print("No applications.")


@programme_app.command("review")
def programme_review(
    ctx: typer.Context,
    application_id: Annotated[int, typer.Argument(help="The application's number.")],
    acting: AsUser,
    decision: Annotated[str, typer.Option("--decision", help="approve or reject.")],
    note: Annotated[str, typer.Option("--note", help="To the startup (required to reject).")] = "",
    cpu_hours: Annotated[
        str | None, typer.Option("--cpu-hours", help="CPU-hours to grant (default: asked).")
    ] = None,
    gpu_hours: Annotated[
        str | None, typer.Option("--gpu-hours", help="GPU-hours to grant (default: asked).")
    ] = None,
) -> None:
    """Approve (credits granted into the ledger) or reject an application (operators)."""
    review = _validated(
        ApplicationReview,
        {"decision": decision, "note": note, "cpu_hours": cpu_hours, "gpu_hours": gpu_hours},
    )
    hub = hub_of(ctx)
    with hub.session() as session:
        done = actions.review_application(
            session, actor=hub.actor(session, acting), application_id=application_id, review=review
        )
        shown = queries.application_public(session, done)
    if shown.status == ApplicationStatus.approved:
        console.print(
            f"Approved application {shown.id}: {shown.granted_cpu_hours:g} CPU-hours and "
            f"{shown.granted_gpu_hours:g} GPU-hours granted to {escape(shown.organization)}."
        )
    else:
        console.print(f"Rejected application {shown.id}.")


@programme_app.command("withdraw")
def programme_withdraw(
    ctx: typer.Context,
    application_id: Annotated[int, typer.Argument(help="The application's number.")],
    acting: AsUser,
) -> None:
    """Withdraw your startup's submitted application."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.withdraw_application(
            session, actor=hub.actor(session, acting), application_id=application_id
        )
    console.print(f"Withdrew application {application_id}.")


@academy_app.command("courses")
def academy_courses(ctx: typer.Context) -> None:
    """List the courses with their cohorts and labs."""
    hub = hub_of(ctx)
    with hub.session() as session:
        shown = [queries.course_public(session, c) for c in queries.list_courses(session)]
    for course in shown:
        console.print(f"[bold]{escape(course.slug)}[/] {escape(course.title)}")
        for cohort in course.cohorts:
            console.print(
                f"  cohort {cohort.id} {escape(cohort.name)}: {cohort.starts_on} to "
                f"{cohort.ends_on}, {cohort.enrolled}/{cohort.capacity} places taken"
            )
        for lab in course.labs:
            direction = ">=" if lab.higher_is_better else "<="
            console.print(
                f"  lab {escape(lab.slug)}: task {escape(lab.task)}, pass {lab.metric} "
                f"{direction} {lab.pass_mark:g}"
            )
    if not shown:
        console.print("No courses.")


@academy_app.command("create-course")
def academy_create_course(
    ctx: typer.Context,
    acting: AsUser,
    slug: Annotated[str, typer.Option("--slug", help="The course's slug.")],
    title: Annotated[str, typer.Option("--title", help="Its title in English.")],
    title_ko: Annotated[str, typer.Option("--title-ko", help="Its title in Korean.")] = "",
    description: Annotated[str, typer.Option("--description", help="What it teaches.")] = "",
) -> None:
    """Create a course (operators)."""
    data = _validated(
        CourseCreate,
        {"slug": slug, "title": title, "title_ko": title_ko, "description": description},
    )
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.create_course(session, actor=hub.actor(session, acting), data=data)
    console.print(f"Created course {escape(slug)}.")


@academy_app.command("add-cohort")
def academy_add_cohort(
    ctx: typer.Context,
    course: Annotated[str, typer.Argument(help="The course's slug.")],
    acting: AsUser,
    name: Annotated[str, typer.Option("--name", help="The cohort's name.")],
    starts: Annotated[str, typer.Option("--starts", help="First day, YYYY-MM-DD.")],
    ends: Annotated[str, typer.Option("--ends", help="Last day, YYYY-MM-DD.")],
    capacity: Annotated[int, typer.Option("--capacity", help="Places.")] = 30,
) -> None:
    """Open a cohort of a course (operators)."""
    data = _validated(
        CohortCreate,
        {"name": name, "starts_on": starts, "ends_on": ends, "capacity": capacity},
        {"starts_on": "--starts", "ends_on": "--ends"},
    )
    hub = hub_of(ctx)
    with hub.session() as session:
        cohort = actions.add_cohort(
            session, actor=hub.actor(session, acting), course_slug=course, data=data
        )
        cohort_id = cohort.id
    console.print(f"Opened cohort {cohort_id} ({escape(name)}) of {escape(course)}.")


@academy_app.command("add-lab")
def academy_add_lab(
    ctx: typer.Context,
    course: Annotated[str, typer.Argument(help="The course's slug.")],
    acting: AsUser,
    slug: Annotated[str, typer.Option("--slug", help="The lab's slug.")],
    title: Annotated[str, typer.Option("--title", help="Its title.")],
    task: Annotated[str, typer.Option("--task", help="A task lab: the testbed task.")] = "",
    pass_mark: Annotated[
        float, typer.Option("--pass-mark", help="A task lab: the score that passes.")
    ] = 0.0,
    dataset: Annotated[
        str, typer.Option("--dataset", help="A job lab: the open dataset its job uses.")
    ] = "",
    aggregate: Annotated[
        str,
        typer.Option(
            "--aggregate",
            help="A job lab: the right answer (row_count, sum, mean, min, max, distinct_count).",
        ),
    ] = "",
    column: Annotated[str, typer.Option("--column", help="A job lab: the column.")] = "",
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="A job lab: how far the answer may be off.")
    ] = 0.0,
) -> None:
    """Add a lab to a course (operators): on a testbed task (--task, --pass-mark) or a compute
    job on an open dataset graded from its answer.json (--dataset, --aggregate, --column)."""
    job = bool(dataset)
    data = _validated(
        LabCreate,
        {
            "slug": slug,
            "title": title,
            "kind": "job" if job else "task",
            "task": task,
            "pass_mark": pass_mark,
            "dataset": dataset,
            "aggregate": aggregate or None,
            "column": column,
            "tolerance": tolerance,
        },
    )
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.add_lab(session, actor=hub.actor(session, acting), course_slug=course, data=data)
    on = f"job on {escape(dataset)}" if job else f"task {escape(task)}"
    console.print(f"Added lab {escape(slug)} ({on}) to {escape(course)}.")


@academy_app.command("enrol")
def academy_enrol(
    ctx: typer.Context,
    cohort_id: Annotated[int, typer.Argument(help="The cohort's number.")],
    acting: AsUser,
) -> None:
    """Enrol yourself in a cohort."""
    hub = hub_of(ctx)
    with hub.session() as session:
        enrolment = actions.enrol(session, actor=hub.actor(session, acting), cohort_id=cohort_id)
        enrolment_id = enrolment.id
    console.print(f"Enrolled: enrolment {enrolment_id} in cohort {cohort_id}.")


@academy_app.command("grade")
def academy_grade(
    ctx: typer.Context,
    enrolment_id: Annotated[int, typer.Argument(help="Your enrolment's number.")],
    lab: Annotated[str, typer.Argument(help="The lab's slug.")],
    acting: AsUser,
) -> None:
    """Grade a lab: from your best score on its testbed task, or (a job lab) from your latest
    finished lab job, graded again."""
    hub = hub_of(ctx)
    with hub.session() as session:
        result = actions.grade_lab(
            session,
            actor=hub.actor(session, acting),
            enrolment_id=enrolment_id,
            lab_slug=lab,
            settings=hub.settings,
            store=make_store(hub.settings),
        )
        passed, score = result.passed, result.score
        status = queries.enrolment_for(
            session, actor=hub.actor(session, acting), enrolment_id=enrolment_id
        ).status
    verdict = "passed" if passed else "not passed yet"
    shown = "none" if score is None else f"{score:g}"
    console.print(f"Lab {escape(lab)}: {verdict} (score {shown}); enrolment {status.value}.")


@academy_app.command("attach-job")
def academy_attach_job(
    ctx: typer.Context,
    enrolment_id: Annotated[int, typer.Argument(help="Your enrolment's number.")],
    lab: Annotated[str, typer.Argument(help="The job lab's slug.")],
    acting: AsUser,
    job: Annotated[int, typer.Option("--job", help="The job you submitted for the lab.")],
) -> None:
    """Attach a job you submitted on the lab's dataset to a job lab; it is graded when it
    ends (at once if it has ended)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        lab_job = actions.attach_lab_job(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            enrolment_id=enrolment_id,
            lab_slug=lab,
            job_id=job,
        )
        shown = queries.lab_job_public(lab_job, lab)
    said = f": {escape(shown.problem)}" if shown.problem else ""
    console.print(f"Job {job} attached to lab {escape(lab)}: {shown.status.value}{said}.")


@academy_app.command("enrolments")
def academy_enrolments(ctx: typer.Context, acting: AsUser) -> None:
    """List your enrolments and their lab results."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        shown = [
            queries.enrolment_public(session, e)
            for e in queries.my_enrolments(session, actor=actor)
        ]
    for e in shown:
        labs = ", ".join(f"{r.lab} {'passed' if r.passed else 'not passed'}" for r in e.results)
        console.print(
            f"[bold]{e.id}[/] {escape(e.course)} / {escape(e.cohort)}: {e.status.value}"
            + (f" ({escape(labs)})" if labs else "")
        )
    if not shown:
        console.print("No enrolments.")
