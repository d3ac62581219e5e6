"""REST routes for the catalog: search, metadata, versions, uploads, preview, download, DCAT.

Routes parse and answer; every change and every door into data is an action in
``catalog.actions``.  Domain errors become JSON ``{"detail": ...}`` in ``app.py``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    CSRF_HEADER,
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    SignedInActor,
    StoreDep,
    require_signed_in,
)
from bitgoeul.catalog import actions, queries
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.schemas import (
    ColumnClassesUpdate,
    DatasetCreate,
    DatasetKind,
    DatasetPublic,
    DatasetUpdate,
    FacetCount,
    IngestRunPublic,
    Preview,
    SearchResults,
    VersionPublic,
)
from bitgoeul.errors import AccessDenied, BitgoeulError, NotFound, TooLarge, ValidationFailed
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.messages import msg, preferred_language, translate_tree

router = APIRouter(tags=["catalog"])

# Form fields other than the file are small JSON documents.
_FIELD_LIMIT_BYTES = 1024 * 1024
_MULTIPART_OVERHEAD_BYTES = 4 * _FIELD_LIMIT_BYTES
_COPY_CHUNK_BYTES = 1024 * 1024

Text = Annotated[str, Query(max_length=200, description="Words in English or Korean.")]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/datasets", response_model=SearchResults)
def search(
    session: SessionDep,
    q: Text = "",
    sector: Sector | None = None,
    publisher: Annotated[str | None, Query(max_length=64)] = None,
    access_level: AccessLevel | None = None,
    licence: Annotated[str | None, Query(max_length=64)] = None,
    kind: Annotated[
        DatasetKind,
        Query(description="dataset (the default) or test_set: testbeds' hidden test sets."),
    ] = DatasetKind.dataset,
    limit: Limit = 20,
    offset: Offset = 0,
) -> SearchResults:
    """Search the catalog; facet counts are for the same query."""
    return queries.search_datasets(
        session,
        q=q,
        sector=sector,
        publisher=publisher,
        access_level=access_level,
        licence=licence,
        kind=kind.value,
        limit=limit,
        offset=offset,
    )


@router.get("/facets", response_model=dict[str, list[FacetCount]])
def facets(
    session: SessionDep,
    q: Text = "",
    sector: Sector | None = None,
    publisher: Annotated[str | None, Query(max_length=64)] = None,
    access_level: AccessLevel | None = None,
    licence: Annotated[str | None, Query(max_length=64)] = None,
    kind: DatasetKind = DatasetKind.dataset,
) -> dict[str, list[FacetCount]]:
    """Only the facet counts of a search (for filter menus)."""
    return queries.search_datasets(
        session,
        q=q,
        sector=sector,
        publisher=publisher,
        access_level=access_level,
        licence=licence,
        kind=kind.value,
        limit=1,
    ).facets


# Writes answer 401 to anonymous callers first, then check the CSRF token of a browser session.
_SIGNED_IN = [Depends(require_signed_in)]


@router.post(
    "/datasets",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_SIGNED_IN,
)
def create(data: DatasetCreate, session: SessionDep, actor: CsrfChecked) -> DatasetPublic:
    dataset = actions.create_dataset(session, actor=actor, data=data)
    return queries.dataset_public(session, actor=actor, slug=dataset.slug)


@router.get("/datasets/{slug}", response_model=DatasetPublic)
def read(slug: str, session: SessionDep, actor: CurrentActor) -> DatasetPublic:
    return queries.dataset_public(session, actor=actor, slug=slug)


@router.patch("/datasets/{slug}", response_model=DatasetPublic, dependencies=_SIGNED_IN)
def edit(slug: str, data: DatasetUpdate, session: SessionDep, actor: CsrfChecked) -> DatasetPublic:
    actions.update_dataset(session, actor=actor, slug=slug, data=data)
    return queries.dataset_public(session, actor=actor, slug=slug)


def _json_field(form: dict[str, Any], name: str) -> Any:
    value = form.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationFailed(msg("Form field '{name}' must be JSON text, not a file.", name=name))
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            msg(
                "Form field '{name}' is not valid JSON (line {line}, column {column}): {problem}.",
                name=name,
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            )
        ) from exc
    if not isinstance(parsed, dict):
        raise ValidationFailed(msg("Form field '{name}' must be a JSON object.", name=name))
    return parsed


async def _limited_body(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise TooLarge(_too_large_message(limit - _MULTIPART_OVERHEAD_BYTES))
        yield chunk


def _too_large_message(limit: int) -> str:
    return msg(
        "The upload is larger than this hub accepts ({limit} bytes); split the file.",
        limit=limit,
    )


async def _save_upload(upload: UploadFile, target: Path, limit: int) -> None:
    written = 0
    with target.open("wb") as sink:
        while chunk := await upload.read(_COPY_CHUNK_BYTES):
            written += len(chunk)
            if written > limit:
                raise TooLarge(_too_large_message(limit))
            sink.write(chunk)


_UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "schema": {"type": "string", "description": "JSON Table Schema"},
                        "column_classes": {
                            "type": "string",
                            "description": "JSON object: column name → class",
                        },
                        "note": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _csrf_in_header(request: Request, actor: CurrentActor) -> None:
    """A browser session's upload carries its CSRF token in the ``X-CSRF-Token`` header.

    The upload route parses its own body, within the upload limit.  Were the token looked for
    in a form field, ``CsrfChecked`` would read the whole body first, with no limit, and leave
    nothing for the route to read.
    """
    if actor.via == "session" and not request.headers.get(CSRF_HEADER):
        raise AccessDenied(
            msg(
                "An upload through a browser session must carry the session's CSRF token in "
                "the '{header}' header; reload the page and send it again, or use an API "
                "token.",
                header=CSRF_HEADER,
            )
        )


@router.post(
    "/datasets/{slug}/versions",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_FORM,
    dependencies=[*_SIGNED_IN, Depends(_csrf_in_header)],
)
async def upload_version(
    slug: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> VersionPublic:
    """Upload one file (CSV, Parquet, JSON, XLSX) as the dataset's next version.

    The file is saved under a name of the hub's own; the name it was sent under says its
    format.  Validation failures answer 422 with the ingest error report as ``detail``.  A
    browser session sends its CSRF token in the ``X-CSRF-Token`` header.

    A file identical to the latest version answers 409 and makes no version.  A file whose
    columns fell back to text because of a few cells answers 202 with the ingest run
    (``awaiting_choice``, the cells in ``text_fallbacks``): publish it with ``POST
    /ingest-runs/{id}/publish`` or drop it with ``POST /ingest-runs/{id}/discard``.  Form field
    ``accept_text=true`` publishes such columns as text at once.
    """
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_OVERHEAD_BYTES:
        raise TooLarge(_too_large_message(limit))
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationFailed(msg("Send the file as multipart/form-data in a field named 'file'."))
    # Refuse before reading the body when the caller may not publish here.
    dataset = await run_in_threadpool(queries.get_dataset, session, slug)
    await run_in_threadpool(
        lambda: actions.require(
            session, actor=actor, action=DataAction.publish_version, dataset=dataset
        )
    )
    parser = MultiPartParser(
        request.headers,
        _limited_body(request, limit + _MULTIPART_OVERHEAD_BYTES),
        max_files=1,
        max_fields=10,
        max_part_size=_FIELD_LIMIT_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise BitgoeulError(
            msg("The upload is not readable multipart/form-data: {problem}", problem=exc.message)
        ) from exc
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed(msg("Attach the data file in a form field named 'file'."))
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        declared_schema = _json_field(fields, "schema")
        column_classes = _json_field(fields, "column_classes")
        if column_classes is not None and not all(
            isinstance(v, str) for v in column_classes.values()
        ):
            raise ValidationFailed(
                msg("Form field 'column_classes' maps column names to class names.")
            )
        note = fields.get("note", "")[:2000]
        accept_text = fields.get("accept_text", "").strip().lower() in {"1", "true", "yes"}
        filename = Path(upload.filename).name[:300]
        uploads = settings.ensure_data_dir() / "uploads"
        uploads.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="upload-", dir=uploads) as tmp:
            source = Path(tmp) / "source"
            await _save_upload(upload, source, limit)
            return await run_in_threadpool(
                lambda: _publish(
                    session,
                    settings=settings,
                    store=store,
                    actor=actor,
                    slug=slug,
                    source=source,
                    filename=filename,
                    declared_schema=declared_schema,
                    column_classes=column_classes,
                    note=note,
                    accept_text=accept_text,
                )
            )
    except actions.UploadHeld as held:
        run = await run_in_threadpool(queries.get_ingest_run, session, held.run_id)
        public = await run_in_threadpool(queries.ingest_run_public, session, run)
        return JSONResponse(  # type: ignore[return-value]
            public.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
        )
    finally:
        await form.close()


def _publish(session: Session, *, actor: Actor, slug: str, **upload: Any) -> VersionPublic:
    version = actions.publish_version(session, actor=actor, slug=slug, **upload)
    return queries.version_public(actor, queries.get_dataset(session, slug), version)


@router.post(
    "/ingest-runs/{run_id}/publish",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_SIGNED_IN,
)
def publish_ingest_run(
    run_id: int, session: SessionDep, store: StoreDep, actor: CsrfChecked
) -> VersionPublic:
    """Publish an upload held for a choice, its fallen-back columns as text (stewards of the
    publisher and operators).  409 when the run is not awaiting a choice."""
    version = actions.publish_held(session, store=store, actor=actor, run_id=run_id)
    return queries.version_public(actor, version.dataset, version)


@router.post(
    "/ingest-runs/{run_id}/discard", response_model=IngestRunPublic, dependencies=_SIGNED_IN
)
def discard_ingest_run(
    run_id: int, session: SessionDep, store: StoreDep, actor: CsrfChecked
) -> IngestRunPublic:
    """Drop an upload held for a choice; no version is made and earlier ones stay."""
    run = actions.discard_held(session, store=store, actor=actor, run_id=run_id)
    return queries.ingest_run_public(session, run)


@router.post(
    "/datasets/{slug}/column-classes",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=_SIGNED_IN,
)
def set_column_classes(
    slug: str,
    data: ColumnClassesUpdate,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> Any:
    """Change column classes of the latest version (stewards of the publisher, operators).

    A version never changes: the same rows are published as the next version under the new
    classes (201).  When every class is already as asked, nothing is published and the latest
    version is answered (200).
    """
    version = actions.reclassify_columns(
        session,
        settings=settings,
        store=store,
        actor=actor,
        slug=slug,
        classes={name: value.value for name, value in data.classes.items()},
    )
    dataset = queries.get_dataset(session, slug)
    if version is None:
        latest = queries.version_of(session, dataset, None)
        public = queries.version_public(actor, dataset, latest)
        return JSONResponse(public.model_dump(mode="json"), status_code=status.HTTP_200_OK)
    return queries.version_public(actor, dataset, version)


@router.get("/datasets/{slug}/versions/{number}", response_model=VersionPublic)
def read_version(slug: str, number: int, session: SessionDep, actor: CurrentActor) -> VersionPublic:
    dataset = queries.get_dataset(session, slug)
    version = queries.get_version(session, slug, number)
    return queries.version_public(actor, dataset, version)


@router.get("/datasets/{slug}/ingest-runs", response_model=list[IngestRunPublic])
def read_ingest_runs(
    slug: str, request: Request, session: SessionDep, actor: SignedInActor, limit: Limit = 20
) -> list[IngestRunPublic]:
    """A dataset's recent uploads (publisher's stewards and operators only); error reports in
    the language of ``Accept-Language``."""
    dataset = queries.get_dataset(session, slug)
    decision = decide(actor, DataAction.publish_version, dataset)
    if not decision.allowed:
        raise AccessDenied(decision.reason)
    runs = queries.list_ingest_runs(session, slug=slug, limit=limit)
    lang = preferred_language(request.headers.get("accept-language"))
    return [
        public.model_copy(update={"error_report": translate_tree(public.error_report, lang)})
        for public in (queries.ingest_run_public(session, run) for run in runs)
    ]


@router.get("/ingest-runs/{run_id}", response_model=IngestRunPublic)
def read_ingest_run(
    run_id: int, request: Request, session: SessionDep, actor: SignedInActor
) -> IngestRunPublic:
    """An upload's status and progress (what the upload page polls); its error report in the
    language of ``Accept-Language``."""
    run = queries.get_ingest_run(session, run_id)
    dataset = session.get(Dataset, run.dataset_id)
    if dataset is None or not decide(actor, DataAction.publish_version, dataset).allowed:
        # Same answer as a missing run: error reports may quote the uploaded data.
        raise NotFound(msg("There is no ingest run {run}.", run=run_id))
    public = queries.ingest_run_public(session, run)
    lang = preferred_language(request.headers.get("accept-language"))
    return public.model_copy(update={"error_report": translate_tree(public.error_report, lang)})


@router.get("/datasets/{slug}/preview", response_model=Preview)
def preview(
    slug: str,
    session: SessionDep,
    store: StoreDep,
    actor: CurrentActor,
    settings: SettingsDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    project: Annotated[
        int | None, Query(description="The project whose agreement applies.")
    ] = None,
) -> Preview:
    return actions.preview_version(
        session,
        store=store,
        actor=actor,
        slug=slug,
        number=version,
        limit=limit,
        project_id=project,
        secret=settings.secret(),
    )


@router.get("/datasets/{slug}/download", response_class=StreamingResponse)
def download(
    slug: str,
    session: SessionDep,
    store: StoreDep,
    actor: CurrentActor,
    settings: SettingsDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    format: Annotated[actions.DownloadFormat, Query()] = "parquet",
    project: Annotated[
        int | None, Query(description="The project whose agreement applies.")
    ] = None,
) -> StreamingResponse:
    found = actions.download_version(
        session,
        store=store,
        actor=actor,
        slug=slug,
        number=version,
        file_format=format,
        project_id=project,
        secret=settings.secret(),
    )
    return StreamingResponse(
        found.chunks,
        media_type=found.media_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )


@router.get("/catalog.jsonld", response_class=JSONResponse)
def catalog_jsonld(session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """The catalog as DCAT-AP 3 JSON-LD, for harvesters."""
    document = queries.dcat_catalog(session, base_url=settings.base_url)
    return JSONResponse(document, media_type="application/ld+json")
