"""REST routes for jobs, their logs and outputs, and compute credits."""

from __future__ import annotations

import json
import mimetypes
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError as PydanticValidationError

from bitgoeul.accounts.deps import (
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    StoreDep,
)
from bitgoeul.compute import actions, queries
from bitgoeul.compute.executors import Executor
from bitgoeul.compute.schemas import (
    CreditBalance,
    CreditEntryPublic,
    CreditGrant,
    JobLog,
    JobPublic,
    JobSpec,
    ReleasePublic,
    ReleaseRequest,
    ReviewBody,
)
from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import (
    SOURCE_LANGUAGE,
    joined,
    msg,
    preferred_language,
    said,
    validation_problems,
)
from bitgoeul.uploads import save_upload

router = APIRouter(tags=["jobs"])
_SEND_BLOCK = 1024 * 1024


def _executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


def _in_language(request: Request, shown: JobPublic) -> JobPublic:
    """The job's stored reason and check findings (English in the database) said in the
    language of the request's ``Accept-Language``."""
    lang = preferred_language(request.headers.get("accept-language"))
    if lang == SOURCE_LANGUAGE:
        return shown
    checks = dict(shown.checks)
    if checks.get("error"):
        checks["error"] = said(checks["error"], lang)
    if isinstance(checks.get("files"), list):
        checks["files"] = [
            {
                **entry,
                "findings": [
                    {**finding, "message": said(finding.get("message"), lang)}
                    for finding in entry.get("findings", [])
                ],
            }
            for entry in checks["files"]
        ]
    return shown.model_copy(update={"reason": said(shown.reason, lang), "checks": checks})


def _parse_spec(text: str) -> JobSpec:
    try:
        return JobSpec.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            msg(
                "spec: not valid JSON (line {line}, column {column}: {problem}); fix it and "
                "submit again.",
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            )
        ) from None
    except PydanticValidationError as exc:
        problems = joined(validation_problems(exc, prefix="spec.", whole=""))
        raise ValidationFailed(
            msg("The job spec is invalid: {problems}. Fix it and submit again.", problems=problems)
        ) from None


def save_bundle(upload: UploadFile, folder: Path, *, limit: int) -> Path:
    """The uploaded bundle on disk, refused once it passes ``limit`` bytes."""
    name = Path(upload.filename or "bundle.zip").name.lower()
    suffix = ".tar.gz" if name.endswith((".tar.gz", ".tgz")) else Path(name).suffix or ".zip"
    return save_upload(
        upload,
        folder / f"bundle{suffix}",
        limit=limit,
        too_large=msg(
            "The bundle is larger than this hub accepts ({limit} bytes); leave data and model "
            "weights out of it (inputs arrive in BITGOEUL_INPUT_DIR).",
            limit=limit,
        ),
    )


@router.post("/jobs", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
def submit_job(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    bundle: Annotated[UploadFile, File(description="The code: a .zip or .tar.gz")],
    spec: Annotated[str, Form(description="JSON: project, datasets, entrypoint, resources")],
) -> JobPublic:
    parsed = _parse_spec(spec)
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bundle-", dir=work))
    try:
        path = save_bundle(bundle, folder, limit=settings.job_max_bundle_bytes)
        job = actions.submit_job(
            session,
            settings=settings,
            executor=_executor(request),
            actor=actor,
            spec=parsed,
            bundle_path=path,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    request.app.state.job_runner.wake()
    return _in_language(request, queries.job_public(session, job, actor=actor))


@router.get("/jobs", response_model=list[JobPublic])
def list_jobs(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    project: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[JobPublic]:
    found = queries.list_jobs(session, actor=actor, project_id=project, limit=limit)
    return [_in_language(request, queries.job_public(session, job, actor=actor)) for job in found]


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(request: Request, job_id: int, session: SessionDep, actor: CurrentActor) -> JobPublic:
    job = queries.get_job(session, actor=actor, job_id=job_id)
    return _in_language(request, queries.job_public(session, job, actor=actor))


@router.get("/jobs/{job_id}/logs", response_model=JobLog)
def job_logs(
    job_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> JobLog:
    """The log from ``offset`` (bytes); poll with ``next_offset`` until ``finished``."""
    return actions.read_log(
        session, settings=settings, store=store, actor=actor, job_id=job_id, offset=offset
    )


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(request: Request, job_id: int, session: SessionDep, actor: CsrfChecked) -> JobPublic:
    job = actions.cancel_job(session, actor=actor, job_id=job_id)
    request.app.state.job_runner.wake()
    return _in_language(request, queries.job_public(session, job, actor=actor))


def kept_file_response(
    opened: tuple[BinaryIO, int],
    *,
    filename: str,
    media_type: str | None = None,
    inline: bool = False,
) -> StreamingResponse:
    """A job's log or output streamed from where it is kept (the object store, or the job's
    folder), closed when sent; the file name said as RFC 6266 asks (``filename*`` when it is
    not ASCII)."""
    handle, size = opened
    kind = "inline" if inline else "attachment"
    quoted = quote(filename)
    disposition = (
        f"{kind}; filename*=utf-8''{quoted}"
        if quoted != filename
        else f'{kind}; filename="{filename}"'
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while block := handle.read(_SEND_BLOCK):
                yield block

    return StreamingResponse(
        chunks(),
        media_type=media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
        headers={"Content-Disposition": disposition, "Content-Length": str(size)},
    )


@router.get("/jobs/{job_id}/outputs/{name:path}", response_class=StreamingResponse)
def job_output(
    job_id: int,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
) -> StreamingResponse:
    opened = actions.open_output(
        session, settings=settings, store=store, actor=actor, job_id=job_id, name=name
    )
    return kept_file_response(opened, filename=Path(name).name)


@router.post("/jobs/{job_id}/release", response_model=ReleasePublic)
def request_release(
    job_id: int, body: ReleaseRequest, session: SessionDep, actor: CsrfChecked
) -> ReleasePublic:
    """Ask for a held job's outputs to be released, with context for every file."""
    actions.request_release(session, actor=actor, job_id=job_id, context=body.context)
    return queries.release_public(
        session, queries.get_job(session, actor=actor, job_id=job_id), actor=actor
    )


@router.get("/jobs/{job_id}/release", response_model=ReleasePublic)
def release_state(job_id: int, session: SessionDep, actor: CurrentActor) -> ReleasePublic:
    return queries.release_public(
        session, queries.get_job(session, actor=actor, job_id=job_id), actor=actor
    )


@router.post("/jobs/{job_id}/review", response_model=ReleasePublic)
def review_release(
    job_id: int, body: ReviewBody, session: SessionDep, actor: CsrfChecked
) -> ReleasePublic:
    """A steward of the data the job used approves, rejects or returns the release."""
    job = actions.review_release(
        session, actor=actor, job_id=job_id, verdict=body.verdict, comment=body.comment
    )
    return queries.release_public(session, job, actor=actor)


@router.get("/reviews", response_model=list[JobPublic])
def review_queue(request: Request, session: SessionDep, actor: CurrentActor) -> list[JobPublic]:
    """Releases waiting for your organization's decision (operators: every one in review)."""
    return [
        _in_language(request, queries.job_public(session, job, actor=actor))
        for job in queries.review_queue(session, actor=actor)
    ]


@router.get("/environments", response_model=list[str])
def environments(settings: SettingsDep) -> list[str]:
    """The job environments this hub has installed."""
    return sorted(settings.environments())


@router.get("/credits", response_model=CreditBalance)
def credit_balance(
    session: SessionDep, actor: SignedInActor, organization: str | None = None
) -> CreditBalance:
    """Your organization's balance and history; operators may name any organization."""
    org = queries.organization_for(session, actor=actor, slug=organization)
    account = queries.balance(session, org.id)
    return CreditBalance(
        organization=org.slug,
        cpu_hours=account.cpu_hours,
        gpu_hours=account.gpu_hours,
        history=[CreditEntryPublic.of(e) for e in queries.history(session, org.id)],
    )


@router.post("/credits/grants", response_model=CreditBalance)
def grant_credits(body: CreditGrant, session: SessionDep, actor: CsrfChecked) -> CreditBalance:
    """An operator grants (or withdraws, with negative hours) an organization's credits."""
    account = actions.grant_credits(
        session,
        actor=actor,
        organization_slug=body.organization,
        cpu_hours=body.cpu_hours,
        gpu_hours=body.gpu_hours,
        note=body.note,
    )
    return CreditBalance(
        organization=body.organization,
        cpu_hours=account.cpu_hours,
        gpu_hours=account.gpu_hours,
        history=[
            CreditEntryPublic.of(e) for e in queries.history(session, account.organization_id)
        ],
    )
