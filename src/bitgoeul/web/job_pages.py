"""Pages for jobs next to the data: the job list and submit form, a job's page (live log,
outputs, checks, the release review), the steward's release queue and compute credits.

Like the other pages these are a peer of ``compute.api``: they read and write only through
``compute.actions`` and ``compute.queries``, so who may see a job, when its
log and outputs are held and who may approve their release are the rules the API enforces.
A refused form is shown again with the reason and the values typed; ``static/job-log.js``
follows a running job's log, and without JavaScript the page refreshes itself instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul import messages
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, SessionDep, SettingsDep, SignedInActor, StoreDep
from bitgoeul.accounts.models import Organization, Role
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.references import reference_slug
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import queries as compute_queries
from bitgoeul.compute.api import kept_file_response, save_bundle
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.models import FINISHED, Job, ReleaseStatus, ReviewVerdict
from bitgoeul.compute.schemas import JobSpec
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, BitgoeulError, NotFound, ValidationFailed
from bitgoeul.governance import queries as governance_queries
from bitgoeul.messages import msg
from bitgoeul.web.governance_pages import form_errors
from bitgoeul.web.i18n import request_language
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

JOBS_SHOWN = 100
LEDGER_SHOWN = 100
_SPEC_FIELDS = ("project", "entrypoint", "arguments", "datasets_text", "environment", "name")
_RESOURCE_FIELDS = ("cpus", "memory_mb", "gpus", "time_limit_s")


def stored_words(request: Request) -> Callable[[Any], str]:
    """``said(text)`` for templates: a message, or English stored before as text (a job's
    reason, a check's finding, a scoring error), in the page's language."""
    lang = request_language(request)

    def said(text: Any) -> str:
        return messages.said(text, lang)

    return said


def hours_text(value: Decimal | None) -> str:
    """Credit hours as a person reads them: ``1.5``, ``0.000278``, ``0``; a dash for none."""
    if value is None:
        return "—"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _project_titles(session: Session, actor: Actor) -> dict[int, str]:
    return {p.id: p.title for p in governance_queries.list_projects(session, actor=actor)}


def _member_projects(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The projects the actor may submit jobs to: those they are a member of."""
    return [
        (p.id, p.title)
        for p in governance_queries.list_projects(session, actor=actor)
        if governance_queries.member_role(p, actor) is not None
    ]


# The job list and the submit form ---------------------------------------------------------


def _jobs_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    found = compute_queries.list_jobs(session, actor=actor, limit=JOBS_SHOWN)
    datasets = catalog_queries.search_datasets(session, limit=catalog_queries.MAX_PAGE).items
    return page(
        request,
        "jobs.html",
        status_code=status_code,
        jobs=[compute_queries.job_public(session, job, actor=actor) for job in found],
        project_titles=_project_titles(session, actor),
        projects=_member_projects(session, actor),
        datasets=datasets,
        environments=sorted(settings.environments()),
        values=values or {"environment": "default", "cpus": "1", "memory_mb": "2048"},
        error=error,
    )


@router.get("/jobs", response_class=HTMLResponse)
def jobs_list(
    request: Request, session: SessionDep, settings: SettingsDep, actor: SignedInActor
) -> Response:
    return _jobs_page(request, session, settings, actor)


def _dataset_references(selected: list[str], typed: str) -> list[str]:
    """Typed references (``slug`` or ``slug@2``) first, then the selected slugs not typed."""
    references = [r.strip() for r in typed.replace("\n", ",").split(",") if r.strip()]
    named = {reference_slug(r) for r in references}
    return references + [s for s in selected if s and s not in named]


def _spec_from_form(values: dict[str, Any]) -> JobSpec:
    project = str(values["project"]).strip()
    if not project.isdigit():
        raise ValidationFailed(msg("project: choose one of your projects."))
    resources = {f: str(values[f]).strip() for f in _RESOURCE_FIELDS if str(values[f]).strip()}
    try:
        return JobSpec.model_validate(
            {
                "project": int(project),
                "datasets": _dataset_references(values["datasets"], values["datasets_text"]),
                "entrypoint": str(values["entrypoint"]).strip(),
                "arguments": [
                    a.strip() for a in str(values["arguments"]).splitlines() if a.strip()
                ],
                "environment": str(values["environment"]).strip() or "default",
                "resources": resources,
                "name": str(values["name"]).strip(),
            }
        )
    except ValidationError as exc:
        raise ValidationFailed(
            msg("The job is not valid: {problems}", problems=form_errors(exc))
        ) from None


@router.post("/jobs", response_class=HTMLResponse)
def submit_job(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    bundle: Annotated[UploadFile | None, File()] = None,
    project: Annotated[str, Form(max_length=20)] = "",
    entrypoint: Annotated[str, Form(max_length=500)] = "",
    arguments: Annotated[str, Form(max_length=100_000)] = "",
    datasets: Annotated[list[str] | None, Form()] = None,
    datasets_text: Annotated[str, Form(max_length=5000)] = "",
    environment: Annotated[str, Form(max_length=80)] = "",
    cpus: Annotated[str, Form(max_length=10)] = "",
    memory_mb: Annotated[str, Form(max_length=10)] = "",
    gpus: Annotated[str, Form(max_length=10)] = "",
    time_limit_s: Annotated[str, Form(max_length=10)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if actor.is_anonymous:
        raise AccessDenied(msg("Sign in to submit a job."))
    values: dict[str, Any] = {
        "project": project,
        "entrypoint": entrypoint,
        "arguments": arguments,
        "datasets": datasets or [],
        "datasets_text": datasets_text,
        "environment": environment,
        "cpus": cpus,
        "memory_mb": memory_mb,
        "gpus": gpus,
        "time_limit_s": time_limit_s,
        "name": name,
    }
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=work))
    try:
        spec = _spec_from_form(values)
        if bundle is None or not bundle.filename:
            raise ValidationFailed(msg("bundle: choose the job's code, a .zip or .tar.gz archive."))
        path = save_bundle(bundle, folder, limit=settings.job_max_bundle_bytes)
        executor: Executor = request.app.state.executor
        job = compute_actions.submit_job(
            session, settings=settings, executor=executor, actor=actor, spec=spec, bundle_path=path
        )
    except BitgoeulError as exc:
        return _jobs_page(
            request,
            session,
            settings,
            actor,
            values=values,
            error=exc.message,
            status_code=exc.status_code,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return redirect_to(f"/jobs/{job.id}")


# A job's page ------------------------------------------------------------------------------


def _job_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    job_id: int,
    *,
    error: str = "",
    context_value: str = "",
    comment: str = "",
    status_code: int = 200,
) -> Response:
    job = compute_queries.get_job(session, actor=actor, job_id=job_id)
    project = governance_queries.get_project(session, job.project_id)
    is_member = governance_queries.member_role(project, actor) is not None
    visible = compute_queries.outputs_visible(actor, job)
    finished = job.status in FINISHED
    log = (
        compute_actions.read_log(
            session,
            settings=settings,
            store=request.app.state.store,
            actor=actor,
            job_id=job.id,
        )
        if visible
        else None
    )
    release = compute_queries.release_public(session, job, actor=actor)
    decided = {d.organization for d in release.decisions}
    organization = (
        session.get(Organization, actor.organization_id) if actor.organization_id else None
    )
    reviewer = compute_queries.may_review(actor, job) and not is_member
    return page(
        request,
        "job.html",
        status_code=status_code,
        job=compute_queries.job_public(session, job, actor=actor),
        project_title=project.title,
        is_member=is_member,
        visible=visible,
        finished=finished,
        log=log,
        release=release,
        may_cancel=not finished and (is_member or actor.is_operator),
        may_request_release=(
            is_member
            and finished
            and job.release_status in (ReleaseStatus.held, ReleaseStatus.returned)
        ),
        may_review=(
            reviewer
            and job.release_status == ReleaseStatus.in_review
            and (actor.is_operator or organization is None or organization.slug not in decided)
        ),
        may_approve=any(actor.is_steward_of(p) for p in compute_queries.involved_publishers(job)),
        context_value=context_value,
        comment=comment,
        error=error,
        hours=hours_text,
        said=stored_words(request),
    )


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_detail(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SignedInActor,
    job_id: int,
) -> Response:
    return _job_page(request, session, settings, actor, job_id)


@router.get("/jobs/{job_id}/log")
def job_log(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: SignedInActor,
    job_id: int,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The job's log as text, to read or save; ``static/job-log.js`` asks for JSON chunks
    from ``offset`` here.  Who may read it is ``compute.actions``' rule, as for the API."""
    if "application/json" in request.headers.get("accept", ""):
        chunk = compute_actions.read_log(
            session, settings=settings, store=store, actor=actor, job_id=job_id, offset=offset
        )
        return JSONResponse(chunk.model_dump())
    opened = compute_actions.open_log(
        session, settings=settings, store=store, actor=actor, job_id=job_id
    )
    if opened is None:
        return PlainTextResponse("")
    return kept_file_response(
        opened,
        media_type="text/plain; charset=utf-8",
        filename=f"job-{job_id}-log.txt",
        inline=True,
    )


@router.get("/jobs/{job_id}/outputs/{name:path}")
def job_output(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: SignedInActor,
    job_id: int,
    name: str,
) -> Response:
    """One output file, downloaded from the job's page: the API's rule and code path
    (``compute.actions.open_output``), so a held output is refused here too."""
    opened = compute_actions.open_output(
        session, settings=settings, store=store, actor=actor, job_id=job_id, name=name
    )
    return kept_file_response(opened, filename=Path(name).name)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(session: SessionDep, actor: CsrfChecked, job_id: int) -> Response:
    compute_actions.cancel_job(session, actor=actor, job_id=job_id)
    return redirect_to(f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/release", response_class=HTMLResponse)
def request_release(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    job_id: int,
    context: Annotated[str, Form()] = "",
) -> Response:
    try:
        compute_actions.request_release(session, actor=actor, job_id=job_id, context=context)
    except BitgoeulError as exc:
        return _job_page(
            request,
            session,
            settings,
            actor,
            job_id,
            error=exc.message,
            context_value=context,
            status_code=exc.status_code,
        )
    return redirect_to(f"/jobs/{job_id}#release")


@router.post("/jobs/{job_id}/review", response_class=HTMLResponse)
def review_release(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    job_id: int,
    verdict: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    try:
        if verdict not in {v.value for v in ReviewVerdict}:
            raise ValidationFailed(msg("verdict: approve, reject or return the release."))
        compute_actions.review_release(
            session, actor=actor, job_id=job_id, verdict=ReviewVerdict(verdict), comment=comment
        )
    except BitgoeulError as exc:
        return _job_page(
            request,
            session,
            settings,
            actor,
            job_id,
            error=exc.message,
            comment=comment,
            status_code=exc.status_code,
        )
    return redirect_to(f"/jobs/{job_id}#release")


# The steward's release queue ---------------------------------------------------------------


@router.get("/reviews", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    if actor.role not in (Role.steward, Role.operator):
        raise AccessDenied(
            msg(
                "The release queue is for the stewards of publishing organizations and "
                "operators; your own jobs are on the jobs page."
            )
        )
    waiting: list[Job] = compute_queries.review_queue(session, actor=actor)
    return page(
        request,
        "reviews.html",
        jobs=[
            {
                "job": compute_queries.job_public(session, job, actor=actor),
                "project": governance_queries.get_project(session, job.project_id).title,
                "release": compute_queries.release_public(session, job, actor=actor),
            }
            for job in waiting
        ],
    )


# Credits -----------------------------------------------------------------------------------


def _credit_organization(session: Session, actor: Actor, slug: str) -> Organization | None:
    """The organization whose credits the page shows: the one asked for (operators, or one's
    own), else one's own, else (operators without one) the first."""
    if actor.is_operator and not slug and actor.organization_id is None:
        return next(iter(account_queries.list_organizations(session)), None)
    return compute_queries.organization_for(session, actor=actor, slug=slug or None)


def _credits_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    organization_slug: str = "",
    values: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    organization = _credit_organization(session, actor, organization_slug)
    account = compute_queries.balance(session, organization.id) if organization else None
    return page(
        request,
        "credits.html",
        status_code=status_code,
        organization=organization,
        account=account,
        ledger=compute_queries.history(session, organization.id, limit=LEDGER_SHOWN)
        if organization
        else [],
        organizations=account_queries.list_organizations(session) if actor.is_operator else [],
        values=values or {},
        error=error,
        hours=hours_text,
    )


@router.get("/credits", response_class=HTMLResponse)
def credits_page(
    request: Request, session: SessionDep, actor: SignedInActor, organization: str = ""
) -> Response:
    return _credits_page(request, session, actor, organization_slug=organization.strip())


def _hours(text: str, field: str) -> Decimal:
    try:
        return Decimal(text.strip() or "0")
    except InvalidOperation:
        raise ValidationFailed(
            msg("{field}: write a number of hours, e.g. 10 or 0.5.", field=field)
        ) from None


@router.post("/credits/grants", response_class=HTMLResponse)
def grant_credits(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    organization: Annotated[str, Form(max_length=100)] = "",
    cpu_hours: Annotated[str, Form(max_length=30)] = "",
    gpu_hours: Annotated[str, Form(max_length=30)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not actor.is_operator:
        raise AccessDenied(
            msg(
                "Only the hub's operators grant compute credits; ask them for credits for "
                "your organization."
            )
        )
    values = {
        "organization": organization,
        "cpu_hours": cpu_hours,
        "gpu_hours": gpu_hours,
        "note": note,
    }
    try:
        compute_actions.grant_credits(
            session,
            actor=actor,
            organization_slug=organization.strip(),
            cpu_hours=_hours(cpu_hours, "cpu_hours"),
            gpu_hours=_hours(gpu_hours, "gpu_hours"),
            note=note.strip(),
        )
    except (ValidationFailed, NotFound) as exc:
        return _credits_page(
            request,
            session,
            actor,
            organization_slug=organization.strip()
            if account_queries.get_organization(session, organization.strip())
            else "",
            values=values,
            error=exc.message,
            status_code=422,
        )
    return redirect_to("/credits?" + urlencode({"organization": organization.strip()}))
