"""Writes for the catalog: create and edit datasets, publish versions, preview and download.

Each action passes a door (``governance.doors``) first: the decision point is asked about the
version the action will read or the dataset it will change, the decision is audited under the
publisher, and a refusal is committed before ``AccessDenied`` is raised.  Preview and download
change no catalog rows but are doors into data, so they are actions: the decision and its audit
entry come with every use, and both read the verified file through the decision's view.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import pyarrow.parquet as pq
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog import search_text
from bitgoeul.catalog.models import CatalogAudit, Dataset, DatasetVersion, IngestRun, IngestStatus
from bitgoeul.catalog.queries import (
    applied_obligations,
    get_dataset,
    latest_version,
    version_of,
)
from bitgoeul.catalog.schemas import DatasetCreate, DatasetUpdate, Preview, UpdateFrequency
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.engine import locked as engine
from bitgoeul.errors import BitgoeulError, Conflict, NotFound, ValidationFailed
from bitgoeul.governance.decision import DataAction, DecisionContext
from bitgoeul.governance.doors import Door, Passage, Request
from bitgoeul.governance.models import GovernanceAudit
from bitgoeul.governance.queries import decision_context
from bitgoeul.ingest.profile import json_value
from bitgoeul.ingest.report import stored as stored_report
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256

Progress = Callable[[int, int, int], None]

# How often an upload's progress is written to its IngestRun row, at most.
PROGRESS_INTERVAL_SECONDS = 0.5
# Concurrent publishers racing for the same version number retry this many times.
PUBLISH_ATTEMPTS = 5
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


def refresh_search_fields(dataset: Dataset, publisher: Organization) -> None:
    """Recompute what the full-text index reads; call after any metadata change."""
    # Column defaults apply only at INSERT, so unset fields of a new object read as None.
    dataset.search_title = search_text.index_text(dataset.title or "", dataset.title_ko or "")
    dataset.search_document = search_text.index_text(
        dataset.description or "",
        dataset.description_ko or "",
        " ".join(dataset.keywords or []),
        publisher.slug,
        publisher.name,
        publisher.name_ko or "",
        dataset.sector.value.replace("-", " "),
        dataset.spatial or "",
    )


def require(
    session: Session,
    *,
    actor: Actor,
    action: DataAction,
    dataset: Dataset,
    context: DecisionContext | None = None,
) -> None:
    """A steward's change to a dataset goes through the decision point like every door: the
    decision is audited (``dataset.<action>``), a refusal committed, then ``AccessDenied``."""
    door = Door(session, actor=actor, event=GovernanceAudit(f"dataset.{action.value}"))
    with door:
        door.admit([Request(action, dataset, None, context)])


def _taken(slug: str) -> str:
    return msg("A dataset named '{slug}' exists already; choose another slug.", slug=slug)


def _slug_from_title(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80].strip("-")
    return slug or f"dataset-{secrets.token_hex(4)}"


def create_dataset(session: Session, *, actor: Actor, data: DatasetCreate) -> Dataset:
    """A steward (or operator) describes a new dataset; versions are uploaded afterwards."""
    publisher_slug = data.publisher
    if publisher_slug is None:
        if actor.organization_id is None:
            raise ValidationFailed(
                msg(
                    "Name the publishing organization in 'publisher' (its slug); "
                    "you belong to no organization."
                )
            )
        publisher = session.get(Organization, actor.organization_id)
    else:
        publisher = session.scalar(select(Organization).where(Organization.slug == publisher_slug))
    if publisher is None:
        raise ValidationFailed(
            msg(
                "There is no organization '{organization}'. Use the slug of an existing "
                "organization in 'publisher'.",
                organization=publisher_slug,
            )
        )
    slug = data.slug or _slug_from_title(data.title)
    fields = data.model_dump(exclude={"slug", "publisher"})
    dataset = Dataset(slug=slug, publisher_id=publisher.id, created_by_id=actor.user_id, **fields)
    require(session, actor=actor, action=DataAction.create_dataset, dataset=dataset)
    if session.scalar(select(Dataset.id).where(Dataset.slug == slug)) is not None:
        raise Conflict(_taken(slug))
    dataset.publisher = publisher
    refresh_search_fields(dataset, publisher)
    session.add(dataset)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(_taken(slug)) from exc
    record_event(
        session,
        action=CatalogAudit.dataset_created,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=slug,
        organization_id=publisher.id,
        detail={"title": dataset.title, "access_level": dataset.access_level.value},
    )
    session.commit()
    return dataset


def update_dataset(session: Session, *, actor: Actor, slug: str, data: DatasetUpdate) -> Dataset:
    """A steward edits a dataset's metadata.  Versions are untouched."""
    dataset = get_dataset(session, slug)
    require(session, actor=actor, action=DataAction.edit_metadata, dataset=dataset)
    changes = data.model_dump(exclude_unset=True)
    for name in (
        "title",
        "sector",
        "access_level",
        "licence",
        "keywords",
        "min_group_size",
        "dominance_n",
        "dominance_k",
        "holdout",
    ):
        # These columns cannot be empty; an explicit null means "leave as is".
        if name in changes and changes[name] is None:
            del changes[name]
    for name in ("title_ko", "description", "description_ko", "spatial"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    for name in ("contact_name", "contact_email"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if "update_frequency" in changes and changes["update_frequency"] is None:
        changes["update_frequency"] = UpdateFrequency.unknown
    start = changes.get("temporal_start", dataset.temporal_start)
    end = changes.get("temporal_end", dataset.temporal_end)
    if start is not None and end is not None and start > end:
        raise ValidationFailed(msg("temporal_start must not be after temporal_end."))
    before = {name: getattr(dataset, name) for name in changes}
    for name, value in changes.items():
        setattr(dataset, name, value)
    refresh_search_fields(dataset, dataset.publisher)
    dataset.updated_at = utcnow()
    changed = sorted(name for name in changes if before[name] != getattr(dataset, name))
    record_event(
        session,
        action=CatalogAudit.dataset_updated,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=slug,
        organization_id=dataset.publisher_id,
        detail={"fields": changed},
    )
    session.commit()
    return dataset


class _ProgressRecorder:
    """Writes an upload's progress to its IngestRun row, at most every half second."""

    def __init__(self, session: Session, run_id: int, forward: Progress | None) -> None:
        self.session = session
        self.run_id = run_id
        self.forward = forward
        self.last = 0.0

    def __call__(self, bytes_done: int, bytes_total: int, rows_done: int) -> None:
        if self.forward is not None:
            self.forward(bytes_done, bytes_total, rows_done)
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_SECONDS:
            return
        self.last = now
        self.session.execute(
            update(IngestRun)
            .where(IngestRun.id == self.run_id)
            .values(bytes_done=bytes_done, bytes_total=bytes_total, rows_done=rows_done)
        )
        self.session.commit()


def _finish_failed(
    session: Session, *, actor: Actor, dataset: Dataset, run_id: int, error: BaseException
) -> None:
    session.rollback()
    if isinstance(error, BitgoeulError):
        report = error.detail if isinstance(error.detail, dict) else {"message": error.message}
    else:
        report = {"message": "The upload failed because of an internal error; try again."}
    report = stored_report(report)
    session.execute(
        update(IngestRun)
        .where(IngestRun.id == run_id)
        .values(status=IngestStatus.failed, error_report=report, finished_at=utcnow())
    )
    record_event(
        session,
        action=CatalogAudit.dataset_version_failed,
        outcome="failed",
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail={"ingest_run": run_id, "error": type(error).__name__},
    )
    session.commit()


def publish_version(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    slug: str,
    source: Path,
    filename: str,
    declared_schema: dict[str, Any] | None = None,
    column_classes: dict[str, str] | None = None,
    note: str = "",
    progress: Progress | None = None,
    accept_text: bool = False,
) -> DatasetVersion:
    """Turn an uploaded file into the dataset's next immutable version.

    The IngestRun is committed first so a page can poll it.  Ingest failures mark the run
    failed with the error report and re-raise; earlier versions are never touched, and nothing
    is left in the store or the work directory.

    A file identical to the latest version raises ``AlreadyPublished`` before any run starts.
    A file whose columns fell back to text because of a few cells is held (``UploadHeld``):
    the run waits for ``publish_held`` or ``discard_held``, unless ``accept_text`` says to
    publish such columns as text at once.
    """
    from bitgoeul.ingest.pipeline import ingest_file

    dataset = get_dataset(session, slug)
    require(session, actor=actor, action=DataAction.publish_version, dataset=dataset)
    run = IngestRun(
        dataset_id=dataset.id,
        status=IngestStatus.running,
        source_filename=filename,
        bytes_total=source.stat().st_size,
        created_by_id=actor.user_id,
    )
    session.add(run)
    session.commit()
    run_id = run.id

    work_root = settings.ensure_data_dir() / "work"
    work_root.mkdir(exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="ingest-", dir=work_root))
    stored_key: str | None = None
    try:
        result = ingest_file(
            source,
            filename=filename,
            work_dir=work_dir,
            declared_schema=declared_schema,
            column_classes=column_classes,
            error_limit=settings.ingest_error_limit,
            max_bytes=settings.max_upload_bytes,
            progress=_ProgressRecorder(session, run_id, progress),
        )
        _refuse_identical(session, dataset, result=result, filename=filename)
        if result.text_fallbacks and not accept_text:
            _hold(
                session,
                store,
                actor=actor,
                dataset=dataset,
                run_id=run_id,
                result=result,
                note=note,
            )
            raise UploadHeld(run_id, result.text_fallbacks)
        key = f"parquet/{result.parquet_sha256}.parquet"
        if not store.exists(key):
            store.put_file(key, result.parquet_path)
            stored_key = key
        version = _insert_version(
            session,
            actor=actor,
            slug=slug,
            run_id=run_id,
            key=key,
            result=result,
            filename=filename,
            note=note,
            text_fallbacks=result.text_fallbacks,
        )
    except UploadHeld:
        raise
    except BaseException as error:
        if stored_key is not None and not _object_in_use(session, stored_key):
            store.delete(stored_key)
        _finish_failed(session, actor=actor, dataset=dataset, run_id=run_id, error=error)
        raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return version


def _object_in_use(session: Session, key: str) -> bool:
    session.rollback()
    return (
        session.scalar(select(DatasetVersion.id).where(DatasetVersion.object_key == key))
        is not None
    )


def _insert_version(
    session: Session,
    *,
    actor: Actor,
    slug: str,
    run_id: int,
    key: str,
    result: Any,
    filename: str,
    note: str,
    text_fallbacks: list[dict[str, Any]] | None = None,
) -> DatasetVersion:
    """Number = previous + 1; a concurrent publisher taking it first makes us try the next."""
    for _attempt in range(PUBLISH_ATTEMPTS):
        dataset = get_dataset(session, slug)
        latest = latest_version(session, dataset)
        number = 1 + (latest.number if latest is not None else 0)
        version = DatasetVersion(
            dataset_id=dataset.id,
            number=number,
            source_filename=filename,
            source_format=result.source_format,
            source_encoding=result.source_encoding or "",
            source_sha256=result.source_sha256,
            source_bytes=result.source_bytes,
            object_key=key,
            parquet_sha256=result.parquet_sha256,
            parquet_bytes=result.parquet_bytes,
            row_count=result.row_count,
            table_schema=result.table_schema,
            profile=result.profile,
            note=note,
            created_by_id=actor.user_id,
        )
        session.add(version)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            continue
        session.execute(
            update(IngestRun)
            .where(IngestRun.id == run_id)
            .values(
                status=IngestStatus.succeeded,
                version_id=version.id,
                rows_done=result.row_count,
                bytes_done=result.source_bytes,
                finished_at=utcnow(),
            )
        )
        dataset.updated_at = utcnow()
        record_event(
            session,
            action=CatalogAudit.dataset_version_published,
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type="dataset",
            resource_id=slug,
            organization_id=dataset.publisher_id,
            detail={
                "version": number,
                "rows": result.row_count,
                "parquet_sha256": result.parquet_sha256,
                "ingest_run": run_id,
                **(
                    {"text_columns": [column["field"] for column in text_fallbacks]}
                    if text_fallbacks
                    else {}
                ),
            },
        )
        session.commit()
        return version
    raise Conflict(
        msg(
            "Could not number the new version of '{slug}': other uploads kept taking the next "
            "number. Try again.",
            slug=slug,
        )
    )


def _admitted(
    session: Session,
    door: Door,
    *,
    actor: Actor,
    action: DataAction,
    slug: str,
    number: int | None,
    project_id: int | None,
) -> Passage:
    """A preview's or a download's passage through ``door``: the version it will read,
    decided in the project's context."""
    dataset = get_dataset(session, slug)
    version = version_of(session, dataset, number)
    context = decision_context(
        session, actor=actor, dataset=dataset, version=version, project_id=project_id
    )
    return door.admit([Request(action, dataset, version, context)])[0]


class _RemovedOnClose(io.FileIO):
    """A temporary file deleted with its folder once the download stream closes it."""

    def close(self) -> None:
        super().close()
        shutil.rmtree(Path(str(self.name)).parent, ignore_errors=True)


PREVIEW_LIMITS = engine.Limits(timeout_s=30)
MAX_PREVIEW_ROWS = 100


def preview_version(
    session: Session,
    *,
    store: ObjectStore,
    actor: Actor,
    slug: str,
    number: int | None = None,
    limit: int = 20,
    project_id: int | None = None,
    secret: str = "",
) -> Preview:
    """The first rows of a version, when the decision allows a preview (audited).

    With ``project_id``, a project member's agreement may allow restricted data: the rows are
    then the agreement's columns and rows, identifiers pseudonymised (``privacy.views``), read
    on the locked engine like every door's.
    """
    door = Door(
        session,
        actor=actor,
        event=CatalogAudit.dataset_preview_decision,
        detail={"project": project_id},
    )
    with door:
        passage = _admitted(
            session,
            door,
            actor=actor,
            action=DataAction.preview,
            slug=slug,
            number=number,
            project_id=project_id,
        )
        view, _hidden = door.view(store, passage, secret=secret)
        rows_wanted = max(1, min(limit, MAX_PREVIEW_ROWS))
        with engine.read_view(view, limits=PREVIEW_LIMITS, limit=rows_wanted) as reader:
            table = reader.read_all()
        session.commit()
    rows = [
        [json_value(record[name]) for name in table.column_names] for record in table.to_pylist()
    ]
    return Preview(
        dataset=slug,
        version=passage.version.number,
        columns=table.column_names,
        rows=rows,
        applied=applied_obligations(
            passage.decision.obligations, passage.version, project_id=project_id
        ),
    )


DownloadFormat = Literal["parquet", "csv"]


@dataclass(frozen=True)
class Download:
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def _raw_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(DOWNLOAD_CHUNK_BYTES):
            yield chunk


def _csv_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        parquet = pq.ParquetFile(handle)
        yield from engine.csv_chunks(parquet.schema_arrow, parquet.iter_batches(batch_size=50_000))


def download_version(
    session: Session,
    *,
    store: ObjectStore,
    actor: Actor,
    slug: str,
    number: int | None = None,
    file_format: DownloadFormat = "parquet",
    project_id: int | None = None,
    secret: str = "",
) -> Download:
    """A version's rows as a stream of bytes, when the decision allows a download (audited).

    When the decision obliges nothing, the verified stored file is sent as it is (converted to
    CSV on the way when asked).  Under a project agreement the file holds the agreement's
    columns and rows only, with identifiers pseudonymised, written from the decision's view on
    the locked engine to a temporary file first (``Door.write``).
    """
    door = Door(
        session,
        actor=actor,
        event=CatalogAudit.dataset_download_decision,
        detail={"project": project_id, "format": file_format},
    )
    with door:
        passage = _admitted(
            session,
            door,
            actor=actor,
            action=DataAction.download,
            slug=slug,
            number=number,
            project_id=project_id,
        )
        governed = passage.decision.obligations.changes_rows
        if governed:
            handle = _governed_download(door, store, passage, secret, file_format)
        else:
            handle = door.read_path(store, passage).open("rb")
        session.commit()
    stem = f"{slug}-v{passage.version.number}"
    if file_format == "csv":
        # A governed file is written as CSV already; a stored version is Parquet.
        chunks = _raw_chunks(handle) if governed else _csv_chunks(handle)
        return Download(f"{stem}.csv", "text/csv; charset=utf-8", chunks)
    return Download(f"{stem}.parquet", "application/vnd.apache.parquet", _raw_chunks(handle))


def _governed_download(
    door: Door, store: ObjectStore, passage: Passage, secret: str, file_format: str
) -> BinaryIO:
    work = Path(tempfile.mkdtemp(prefix="download-"))
    try:
        target = work / f"governed.{file_format}"
        door.write(store, passage, secret=secret, target=target, file_format=file_format)
        return _RemovedOnClose(target, "rb")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


# Identical uploads and held uploads --------------------------------------------------------


class AlreadyPublished(Conflict):
    """The uploaded file is byte for byte the dataset's latest version: no new version."""

    def __init__(self, *, filename: str, slug: str, number: int) -> None:
        message = msg(
            "{file} is identical to version {number} of '{slug}' (the same bytes), so no new "
            "version was made. Upload a changed file to publish a new version.",
            file=filename,
            number=number,
            slug=slug,
        )
        super().__init__(message, detail={"message": message, "version": number})
        self.number = number


class UploadHeld(BitgoeulError):
    """The upload was read, but some columns fell back to text because of a few cells: the
    ingest run ``run_id`` waits for the steward to publish it as text or discard it."""

    status_code = 202

    def __init__(self, run_id: int, columns: list[dict[str, Any]]) -> None:
        message = msg(
            "Some columns were read as text because of a few cells that do not fit the type "
            "most of their cells have. Publish the file as text, or discard it and upload a "
            "fixed file (ingest run {run}).",
            run=run_id,
        )
        super().__init__(message, detail={"message": message, "ingest_run": run_id})
        self.run_id = run_id
        self.columns = columns


def _refuse_identical(session: Session, dataset: Dataset, *, result: Any, filename: str) -> None:
    """The same bytes read to the same schema (types and column classes) as the latest
    version would make a version identical to it: say so instead."""
    latest = latest_version(session, dataset)
    if (
        latest is not None
        and latest.source_sha256 == result.source_sha256
        and latest.table_schema == result.table_schema
    ):
        raise AlreadyPublished(filename=filename, slug=dataset.slug, number=latest.number)


def _held_key(staged_name: str) -> str:
    return f"held/{staged_name}"


def _hold(
    session: Session,
    store: ObjectStore,
    *,
    actor: Actor,
    dataset: Dataset,
    run_id: int,
    result: Any,
    note: str,
) -> None:
    """Keep the staged Parquet in the object store (``held/``) and mark the run awaiting a
    choice."""
    staged_name = f"run-{run_id}.parquet"
    store.put_file(_held_key(staged_name), result.parquet_path)
    staged = {
        "parquet": staged_name,
        "note": note,
        "result": {
            name: getattr(result, name)
            for name in (
                "parquet_sha256",
                "parquet_bytes",
                "source_sha256",
                "source_bytes",
                "source_format",
                "source_encoding",
                "row_count",
                "table_schema",
                "profile",
            )
        },
    }
    run = session.get(IngestRun, run_id)
    if run is None:
        raise NotFound(msg("There is no ingest run {run}.", run=run_id))
    run.status = IngestStatus.awaiting_choice
    run.text_fallbacks = {"columns": result.text_fallbacks}
    run.staged = staged
    run.rows_done = result.row_count
    run.bytes_done = result.source_bytes
    record_event(
        session,
        action=CatalogAudit.dataset_version_held,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail={
            "ingest_run": run_id,
            "text_columns": [column["field"] for column in result.text_fallbacks],
        },
    )
    session.commit()


def _awaiting(session: Session, *, actor: Actor, run_id: int) -> tuple[IngestRun, Dataset]:
    from bitgoeul.catalog.queries import get_ingest_run

    run = get_ingest_run(session, run_id)
    dataset = session.get(Dataset, run.dataset_id)
    if dataset is None:
        raise NotFound(msg("There is no ingest run {run}.", run=run_id))
    require(session, actor=actor, action=DataAction.publish_version, dataset=dataset)
    if run.status != IngestStatus.awaiting_choice or run.staged is None:
        raise Conflict(
            msg(
                "Ingest run {run} is not waiting for a choice (its status is {status}); "
                "upload the file again to choose anew.",
                run=run_id,
                status=run.status.value,
            )
        )
    return run, dataset


def publish_held(
    session: Session, *, store: ObjectStore, actor: Actor, run_id: int
) -> DatasetVersion:
    """The steward's choice for a held upload: publish it, the fallen-back columns as text.
    The staged file is copied out of the store and checked against its SHA-256 first."""
    run, dataset = _awaiting(session, actor=actor, run_id=run_id)
    staged = dict(run.staged or {})
    held_key = _held_key(str(staged["parquet"]))
    with tempfile.TemporaryDirectory(prefix="bitgoeul-held-") as scratch:
        path = Path(scratch) / str(staged["parquet"])
        if store.exists(held_key):
            with store.open(held_key) as source, path.open("wb") as copy:
                shutil.copyfileobj(source, copy)
        if not path.is_file() or file_sha256(path) != staged["result"]["parquet_sha256"]:
            raise Conflict(
                msg(
                    "The staged file of ingest run {run} is gone; upload the file again.",
                    run=run_id,
                )
            )
        version = _publish_staged(
            session, store=store, actor=actor, run=run, dataset=dataset, path=path
        )
    store.delete(held_key)
    return version


def _publish_staged(
    session: Session,
    *,
    store: ObjectStore,
    actor: Actor,
    run: IngestRun,
    dataset: Dataset,
    path: Path,
) -> DatasetVersion:
    from bitgoeul.ingest.pipeline import IngestResult

    run_id = run.id
    staged = dict(run.staged or {})
    columns = list((run.text_fallbacks or {}).get("columns", []))
    result = IngestResult(parquet_path=path, text_fallbacks=columns, **staged["result"])
    _refuse_identical(session, dataset, result=result, filename=run.source_filename)
    key = f"parquet/{result.parquet_sha256}.parquet"
    stored_key: str | None = None
    try:
        if not store.exists(key):
            store.put_file(key, path)
            stored_key = key
        run.staged = None
        version = _insert_version(
            session,
            actor=actor,
            slug=dataset.slug,
            run_id=run_id,
            key=key,
            result=result,
            filename=run.source_filename,
            note=str(staged.get("note", "")),
            text_fallbacks=columns,
        )
    except BaseException:
        if stored_key is not None and not _object_in_use(session, stored_key):
            store.delete(stored_key)
        session.rollback()
        raise
    return version


def discard_held(session: Session, *, store: ObjectStore, actor: Actor, run_id: int) -> IngestRun:
    """The steward's other choice: drop the staged file; no version is made."""
    run, dataset = _awaiting(session, actor=actor, run_id=run_id)
    staged_name = str((run.staged or {}).get("parquet", ""))
    run.status = IngestStatus.discarded
    run.staged = None
    run.finished_at = utcnow()
    record_event(
        session,
        action=CatalogAudit.dataset_version_discarded,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail={"ingest_run": run_id},
    )
    session.commit()
    if staged_name:
        store.delete(_held_key(staged_name))
    return run


# Column classes, set after the columns are known -------------------------------------------

_CLASS_KEYS = ("classification", "suggested_classification", "classification_reason")


def reclassify_columns(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    slug: str,
    classes: dict[str, str],
) -> DatasetVersion | None:
    """A steward changes the latest version's column classes: the next version holds the same
    rows under the new classes (a version never changes), published by ``publish_version``
    from the verified stored file with the latest version's schema.  None when nothing changes.
    """
    dataset = get_dataset(session, slug)
    latest = version_of(session, dataset, None)
    fields = list(latest.table_schema.get("fields", []))
    current = {str(f["name"]): str(f.get("classification") or "other") for f in fields}
    wanted = {**current, **classes}
    door = Door(session, actor=actor, event=GovernanceAudit.dataset_publish_version)
    with door:
        passage = door.admit([Request(DataAction.publish_version, dataset, latest, None)])[0]
        unknown = sorted(set(classes) - set(current))
        if unknown:
            raise ValidationFailed(
                msg(
                    "Version {number} of '{slug}' has no column named {columns}.",
                    number=latest.number,
                    slug=slug,
                    columns=", ".join(repr(name) for name in unknown),
                )
            )
        if wanted == current:
            session.commit()
            return None
        stored_path = door.read_path(store, passage)
        session.commit()
    declared = {
        "fields": [{k: v for k, v in f.items() if k not in _CLASS_KEYS} for f in fields],
    }
    changed = sorted(name for name in wanted if wanted[name] != current[name])
    return publish_version(
        session,
        settings=settings,
        store=store,
        actor=actor,
        slug=slug,
        source=stored_path,
        filename=f"{slug}-v{latest.number}.parquet",
        declared_schema=declared,
        column_classes=wanted,
        note=msg(
            "Column classes changed from version {number}: {columns}.",
            number=latest.number,
            columns=", ".join(f"{name} → {wanted[name]}" for name in changed),
        ),
    )
