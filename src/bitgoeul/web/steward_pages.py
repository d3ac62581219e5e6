"""Steward pages: adding a dataset, uploading versions, following an ingest run.

Publishing is asked of the decision point (``publish_version``) exactly as the API does, and
every upload goes through ``catalog.actions.publish_version``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    StoreDep,
)
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.licences import LICENCE_IDS, LICENCES
from bitgoeul.catalog.models import AccessLevel, Dataset, IngestRun, IngestStatus, Sector
from bitgoeul.catalog.schemas import DatasetCreate, DatasetUpdate, UpdateFrequency
from bitgoeul.errors import (
    AccessDenied,
    Conflict,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from bitgoeul.governance.decision import ColumnClass, DataAction, decide
from bitgoeul.messages import Message, msg, validation_problems
from bitgoeul.uploads import save_upload
from bitgoeul.web.views import (
    may_create_datasets,
    page,
    redirect_to,
    refuse,
)

router = APIRouter(include_in_schema=False)


# Adding a dataset ----------------------------------------------------------------------


@router.get("/datasets/new", response_class=HTMLResponse)
def new_dataset_form(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    return _dataset_form(request, session, actor, values={}, errors=[])


def _dataset_form(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    values: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> Response:
    if not may_create_datasets(actor):
        raise AccessDenied(
            msg("Only the stewards of a publishing organization and operators may add datasets.")
        )
    return page(
        request,
        "dataset_new.html",
        status_code=status_code,
        values=values,
        errors=errors,
        sectors=[s.value for s in Sector],
        access_levels=[a.value for a in AccessLevel],
        frequencies=[f.value for f in UpdateFrequency],
        organizations=account_queries.list_organizations(session),
    )


_DATASET_FIELDS = (
    "slug",
    "title",
    "title_ko",
    "description",
    "description_ko",
    "publisher",
    "sector",
    "keywords",
    "licence",
    "access_level",
    "temporal_start",
    "temporal_end",
    "spatial",
    "update_frequency",
    "contact_name",
    "contact_email",
)


@router.post("/datasets/new", response_class=HTMLResponse)
async def create_dataset(request: Request, session: SessionDep, actor: CsrfChecked) -> Response:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in as a steward to add a dataset."))
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in _DATASET_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v}
    if "keywords" in data:
        data["keywords"] = [k.strip() for k in data["keywords"].split(",") if k.strip()]
    try:
        metadata = DatasetCreate.model_validate(data)
    except ValidationError as exc:
        errors = validation_problems(exc)
        return _dataset_form(request, session, actor, values=values, errors=errors, status_code=422)
    try:
        dataset = catalog_actions.create_dataset(session, actor=actor, data=metadata)
    except (ValidationFailed, Conflict) as exc:
        return _dataset_form(
            request, session, actor, values=values, errors=[exc.message], status_code=422
        )
    return redirect_to(f"/datasets/{dataset.slug}/upload")


# Uploads ---------------------------------------------------------------------------------


def _publishable(session: Session, actor: Actor, slug: str) -> Dataset:
    dataset = catalog_queries.get_dataset(session, slug)
    decision = decide(actor, DataAction.publish_version, dataset)
    if not decision.allowed:
        refuse(actor, decision.reason)
    return dataset


def _upload_form(
    request: Request,
    session: Session,
    dataset: Dataset,
    *,
    values: dict[str, str],
    error: str = "",
    report: dict[str, Any] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "upload.html",
        status_code=status_code,
        dataset=dataset,
        values=values,
        error=error,
        report=report,
        notice=notice,
        ingest_runs=catalog_queries.list_ingest_runs(session, slug=dataset.slug, limit=10),
    )


@router.get("/datasets/{slug}/upload", response_class=HTMLResponse)
def upload_form(request: Request, session: SessionDep, actor: CurrentActor, slug: str) -> Response:
    dataset = _publishable(session, actor, slug)
    return _upload_form(request, session, dataset, values={})


def _json_field(text: str, what: Message) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            msg(
                "The {what} is not valid JSON (line {lineno}, column {colno}).",
                what=what,
                lineno=exc.lineno,
                colno=exc.colno,
            )
        ) from exc
    if not isinstance(value, dict):
        raise ValidationFailed(msg("The {what} must be a JSON object.", what=what))
    return value


def _column_classes(text: str) -> dict[str, str] | None:
    """``{"col": "class"}`` as JSON, or one ``column = class`` per line."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        value = _json_field(text, msg("column classes"))
        return {str(k): str(v) for k, v in (value or {}).items()}
    classes: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        column, sep, name = line.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise ValidationFailed(
                msg(
                    "Column classes, line {number}: write 'column = class', "
                    "e.g. 'phone = direct_identifier'.",
                    number=number,
                )
            )
        classes[column.strip()] = name.strip()
    return classes


def _save_upload(upload: UploadFile, folder: Path, *, limit: int) -> Path:
    return save_upload(
        upload,
        folder / "upload",
        limit=limit,
        too_large=f"The file is larger than this hub accepts ({limit} bytes); split it or ask "
        "an operator to raise BITGOEUL_MAX_UPLOAD_BYTES.",
    )


def _run_that_made(session: Session, dataset: Dataset, version_id: int) -> IngestRun | None:
    runs = catalog_queries.list_ingest_runs(session, slug=dataset.slug, limit=5)
    return next((run for run in runs if run.version_id == version_id), None)


@router.post("/datasets/{slug}/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    slug: str,
    file: Annotated[UploadFile, File()],
    schema_text: Annotated[str, Form(alias="schema")] = "",
    column_classes: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    dataset = _publishable(session, actor, slug)
    values = {"schema": schema_text, "column_classes": column_classes, "note": note}
    filename = Path(file.filename or "upload").name
    try:
        declared = _json_field(schema_text, msg("schema"))
        classes = _column_classes(column_classes)
    except ValidationFailed as exc:
        return _upload_form(
            request, session, dataset, values=values, error=exc.message, status_code=422
        )
    work_root = settings.ensure_data_dir() / "work"
    work_root.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=work_root))
    try:
        source = _save_upload(file, folder, limit=settings.max_upload_bytes)
        version = catalog_actions.publish_version(
            session,
            settings=settings,
            store=store,
            actor=actor,
            slug=slug,
            source=source,
            filename=filename,
            declared_schema=declared,
            column_classes=classes,
            note=note,
        )
    except catalog_actions.UploadHeld as held:
        # Some columns fell back to text: the run's page names the cells and offers the choice.
        return redirect_to(f"/ingest-runs/{held.run_id}")
    except catalog_actions.AlreadyPublished as exc:
        return _upload_form(
            request, session, dataset, values=values, notice=exc.message, status_code=409
        )
    except ValidationFailed as exc:
        report = exc.detail if isinstance(exc.detail, dict) and "errors" in exc.detail else None
        return _upload_form(
            request,
            session,
            dataset,
            values=values,
            error=exc.message,
            report=report,
            status_code=422,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    run = _run_that_made(session, dataset, version.id)
    if run is not None:
        return redirect_to(f"/ingest-runs/{run.id}")
    return redirect_to(f"/datasets/{slug}?version={version.number}")


@router.get("/ingest-runs/{run_id}", response_class=HTMLResponse)
def ingest_run_page(
    request: Request, session: SessionDep, actor: CurrentActor, run_id: int
) -> Response:
    run = catalog_queries.get_ingest_run(session, run_id)
    dataset = session.get(Dataset, run.dataset_id)
    if dataset is None:
        raise NotFound(msg("There is no ingest run {run_id}.", run_id=run_id))
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to see the status of an upload."))
    if not decide(actor, DataAction.publish_version, dataset).allowed:
        # The API's answer too: error reports may quote the uploaded data.
        raise NotFound(msg("There is no ingest run {run_id}.", run_id=run_id))
    return _ingest_run_page(request, session, run, dataset)


def _ingest_run_page(
    request: Request,
    session: Session,
    run: IngestRun,
    dataset: Dataset,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    public = catalog_queries.ingest_run_public(session, run)
    return page(
        request,
        "ingest_run.html",
        status_code=status_code,
        run=public,
        # A dict, so the page's language applies to the stored report's messages.
        error_report=public.error_report,
        dataset=dataset,
        finished=run.status != IngestStatus.running and run.status != IngestStatus.pending,
        awaiting=run.status == IngestStatus.awaiting_choice,
        choice_error=error,
    )


def _held_run(session: Session, actor: Actor, run_id: int) -> tuple[IngestRun, Dataset]:
    """A run the actor may choose for; others get the same answer as a missing run."""
    run = catalog_queries.get_ingest_run(session, run_id)
    dataset = session.get(Dataset, run.dataset_id)
    if dataset is None or not decide(actor, DataAction.publish_version, dataset).allowed:
        raise NotFound(msg("There is no ingest run {run_id}.", run_id=run_id))
    return run, dataset


@router.post("/ingest-runs/{run_id}/publish", response_class=HTMLResponse)
def publish_held_run(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    run_id: int,
) -> Response:
    """The steward's choice on a held upload: publish, the fallen-back columns as text."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to see the status of an upload."))
    run, dataset = _held_run(session, actor, run_id)
    try:
        catalog_actions.publish_held(session, store=store, actor=actor, run_id=run_id)
    except Conflict as exc:
        session.refresh(run)
        return _ingest_run_page(request, session, run, dataset, error=exc.message, status_code=409)
    return redirect_to(f"/ingest-runs/{run_id}")


@router.post("/ingest-runs/{run_id}/discard", response_class=HTMLResponse)
def discard_held_run(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    actor: CsrfChecked,
    run_id: int,
) -> Response:
    """The steward's other choice: drop the held upload and go back to upload a fixed file."""
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to see the status of an upload."))
    run, dataset = _held_run(session, actor, run_id)
    try:
        catalog_actions.discard_held(session, store=store, actor=actor, run_id=run_id)
    except Conflict as exc:
        session.refresh(run)
        return _ingest_run_page(request, session, run, dataset, error=exc.message, status_code=409)
    return redirect_to(f"/ingest-runs/{run_id}")


# Editing a dataset ---------------------------------------------------------------------------

_EDIT_TEXT_FIELDS = ("title", "title_ko", "description", "description_ko", "licence")
_EDIT_NUMBER_FIELDS = ("min_group_size", "dominance_n", "dominance_k")
_CLASS_FIELD = "class:"


def _editable(session: Session, actor: Actor, slug: str) -> Dataset:
    dataset = catalog_queries.get_dataset(session, slug)
    decision = decide(actor, DataAction.edit_metadata, dataset)
    if not decision.allowed:
        refuse(actor, decision.reason)
    return dataset


def _latest_columns(dataset: Dataset) -> list[dict[str, Any]]:
    """The latest version's columns with their class and the ingest's suggestion."""
    if not dataset.versions:
        return []
    latest = max(dataset.versions, key=lambda version: version.number)
    return [
        {
            "name": str(f["name"]),
            "type": str(f.get("type", "string")),
            "classification": str(f.get("classification") or "other"),
            "suggested": str(f.get("suggested_classification") or ""),
            "reason": str(f.get("classification_reason") or ""),
        }
        for f in latest.table_schema.get("fields", [])
    ]


def _dataset_values(dataset: Dataset) -> dict[str, str]:
    values = {name: str(getattr(dataset, name) or "") for name in _EDIT_TEXT_FIELDS}
    values.update({name: str(getattr(dataset, name)) for name in _EDIT_NUMBER_FIELDS})
    values["keywords"] = ", ".join(dataset.keywords or [])
    values["access_level"] = dataset.access_level.value
    return values


def _edit_form(
    request: Request,
    dataset: Dataset,
    *,
    values: dict[str, str],
    classes: dict[str, str],
    errors: list[str],
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    columns = _latest_columns(dataset)
    for column in columns:
        column["chosen"] = classes.get(column["name"], column["classification"])
    return page(
        request,
        "dataset_edit.html",
        status_code=status_code,
        dataset=dataset,
        values=values,
        errors=errors,
        saved=saved,
        columns=columns,
        column_classes=[c.value for c in ColumnClass],
        access_levels=[a.value for a in AccessLevel],
        licences=LICENCES,
        current_licence_listed=dataset.licence in LICENCE_IDS,
    )


@router.get("/datasets/{slug}/edit", response_class=HTMLResponse)
def edit_dataset_form(
    request: Request, session: SessionDep, actor: CurrentActor, slug: str, saved: bool = False
) -> Response:
    dataset = _editable(session, actor, slug)
    return _edit_form(
        request, dataset, values=_dataset_values(dataset), classes={}, errors=[], saved=saved
    )


@router.post("/datasets/{slug}/edit", response_class=HTMLResponse)
async def edit_dataset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    slug: str,
) -> Response:
    """Metadata through ``update_dataset``; changed column classes through
    ``reclassify_columns`` (a new version with the same rows).  Both audited."""
    dataset = _editable(session, actor, slug)
    form = await request.form()
    values = {
        name: str(form.get(name, "")).strip()
        for name in (*_EDIT_TEXT_FIELDS, *_EDIT_NUMBER_FIELDS, "keywords", "access_level")
    }
    classes = {
        str(key)[len(_CLASS_FIELD) :]: str(value)
        for key, value in form.multi_items()
        if str(key).startswith(_CLASS_FIELD)
    }
    errors: list[str] = []
    if values["licence"] not in LICENCE_IDS and values["licence"] != dataset.licence:
        errors.append(msg("Choose the licence from the list."))
    known_classes = {c.value for c in ColumnClass}
    errors += [
        msg("Column '{column}': choose a class from the list.", column=name)
        for name, value in classes.items()
        if value not in known_classes
    ]
    data: dict[str, Any] = {name: values[name] for name in _EDIT_TEXT_FIELDS}
    data["keywords"] = [k.strip() for k in values["keywords"].split(",") if k.strip()]
    data["access_level"] = values["access_level"]
    data.update({name: values[name] or None for name in _EDIT_NUMBER_FIELDS})
    try:
        changes = DatasetUpdate.model_validate(data)
    except ValidationError as exc:
        errors += validation_problems(exc)
    if errors:
        return _edit_form(
            request, dataset, values=values, classes=classes, errors=errors, status_code=422
        )
    try:
        catalog_actions.update_dataset(session, actor=actor, slug=slug, data=changes)
        if classes and dataset.versions:
            await run_in_threadpool(
                lambda: catalog_actions.reclassify_columns(
                    session, settings=settings, store=store, actor=actor, slug=slug, classes=classes
                )
            )
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        dataset = catalog_queries.get_dataset(session, slug)
        return _edit_form(
            request, dataset, values=values, classes=classes, errors=[exc.message], status_code=422
        )
    return redirect_to(f"/datasets/{slug}/edit?saved=true")
