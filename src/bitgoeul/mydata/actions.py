"""Everything that changes My Data: previews and donations, consents and their receipts,
withdrawal, expiry and deletion after retention, campaigns, and telling donors of new uses.

A resident's own records are read from the agency's dataset through the door
(``dataset.mydata_transmit_decision``, audited under the agency): only the source's items, only
the rows of their verified identity.  A donation keeps those rows (less the items and rows the
resident dropped), keyed by a per-source donor key, as a Parquet object, and rebuilds the
source's pool dataset (a new version, published as the pool's steward) from every active
donation.  Each consent event raises the source's consent epoch, appends a ``ConsentEvent``
with the notice shown, signs a receipt and anchors it in the audit chain, in one transaction:
the decision point reads the epoch at every use (``mydata.coverage``).
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.config import Settings
from bitgoeul.dp import actions as dp_actions
from bitgoeul.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from bitgoeul.governance import donor_copies, notifications
from bitgoeul.governance.decision import DataAction, DecisionContext, MyDataTerms
from bitgoeul.governance.doors import Door, Request
from bitgoeul.governance.models import Project
from bitgoeul.governance.odrl import DPV_PURPOSES
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import Message, msg, translate
from bitgoeul.mydata import receipts
from bitgoeul.mydata.coverage import Grant, covers
from bitgoeul.mydata.models import (
    DONOR_COLUMN,
    Campaign,
    Consent,
    ConsentEvent,
    ConsentStatus,
    Donation,
    DonationStatus,
    EventKind,
    MyDataAudit,
    MyDataIdentity,
    MyDataSource,
    ProjectUse,
    Receipt,
    Tier,
)
from bitgoeul.mydata.schemas import CampaignCreate, ConsentIn, Preview
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore

TRANSMIT_DECISION = MyDataAudit.dataset_mydata_transmit_decision
# The doors whose uses of a pool a donor sees (``mydata.queries.uses``).
USE_EVENTS = {
    "dataset.query_decision": "query",
    "dataset.job_decision": "job",
    "dataset.preview_decision": "preview",
    "dataset.download_decision": "download",
    "dataset.dp_release_decision": "dp",
}


# --- sources and identities -------------------------------------------------------------------


def get_source(session: Session, slug: str) -> MyDataSource:
    source = session.scalars(select(MyDataSource).where(MyDataSource.slug == slug)).one_or_none()
    if source is None:
        raise NotFound(
            msg(
                "There is no My Data source '{slug}'. The sources are listed on /my-data.",
                slug=slug,
            )
        )
    return source


def donor_key(settings: Settings, *, source_id: int, user_id: int) -> str:
    """The donor's key in one source's pool: keyed, so neither the user nor another pool's key
    can be read from it."""
    digest = hmac.new(
        settings.secret().encode(), f"mydata:{source_id}:{user_id}".encode(), hashlib.sha256
    )
    return "d" + digest.hexdigest()[:23]


def create_source(
    session: Session,
    *,
    actor: Actor,
    slug: str,
    title: str,
    title_ko: str,
    pool_slug: str,
    items: list[str],
    item_fields: list[dict[str, Any]],
    agency_slug: str | None = None,
    identity_column: str = "",
    description: str = "",
    description_ko: str = "",
) -> MyDataSource:
    """An operator names a source: the agency dataset holding residents' records (if any),
    the items offered, and the pool dataset (already created, no version yet) it feeds."""
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators define My Data sources."))
    pool = _dataset(session, pool_slug)
    agency = _dataset(session, agency_slug) if agency_slug else None
    names = {str(f.get("name")) for f in item_fields}
    missing = [item for item in items if item not in names]
    if missing or not items:
        raise ValidationFailed(
            msg(
                "Every item needs a field in item_fields; missing: {missing}.",
                missing=", ".join(missing) or "(no items)",
            )
        )
    source = MyDataSource(
        slug=slug,
        title=title,
        title_ko=title_ko,
        description=description,
        description_ko=description_ko,
        agency_dataset_id=agency.id if agency else None,
        identity_column=identity_column,
        items=list(items),
        item_fields=[f for f in item_fields if f.get("name") in items],
        pool_dataset_id=pool.id,
    )
    session.add(source)
    session.flush()
    record_event(
        session,
        action=MyDataAudit.source_created,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="mydata_source",
        resource_id=slug,
        organization_id=pool.publisher_id,
        detail={"pool": pool.slug, "agency_dataset": agency.slug if agency else None},
    )
    session.commit()
    return source


def verify_identity(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    source_slug: str,
    subject: str,
    verified_by: str,
) -> MyDataIdentity:
    """An operator records a resident's verified identity at a source (in the demo, from the
    synthetic population; in production, from the identity provider's check)."""
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators record verified identities."))
    source = get_source(session, source_slug)
    identity = session.scalars(
        select(MyDataIdentity).where(
            MyDataIdentity.user_id == user_id, MyDataIdentity.source_id == source.id
        )
    ).one_or_none()
    if identity is None:
        identity = MyDataIdentity(user_id=user_id, source_id=source.id, subject=subject)
        session.add(identity)
    identity.subject = subject
    identity.verified_by = verified_by
    identity.verified_at = datetime.now(UTC)
    session.flush()
    record_event(
        session,
        action=MyDataAudit.identity_verified,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="user",
        resource_id=user_id,
        detail={"source": source.slug, "verified_by": verified_by},
    )
    session.commit()
    return identity


def _dataset(session: Session, slug: str) -> Dataset:
    dataset = session.scalars(select(Dataset).where(Dataset.slug == slug)).one_or_none()
    if dataset is None:
        raise NotFound(msg("There is no dataset '{slug}'.", slug=slug))
    return dataset


def _latest(session: Session, dataset: Dataset) -> DatasetVersion:
    version = catalog_queries.latest_version(session, dataset)
    if version is None:
        raise NotFound(msg("Dataset '{slug}' has no version yet.", slug=dataset.slug))
    return version


# --- reading a resident's own records ---------------------------------------------------------


def _own_records(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, source: MyDataSource
) -> pa.Table:
    """The resident's rows at the source, through the door (audited under the agency)."""
    require_signed_in(actor)
    if source.agency_dataset_id is None:
        raise ValidationFailed(
            msg(
                "Source '{source}' holds no records of yours at an agency; upload a file instead.",
                source=source.slug,
            )
        )
    identity = session.scalars(
        select(MyDataIdentity).where(
            MyDataIdentity.user_id == actor.user_id, MyDataIdentity.source_id == source.id
        )
    ).one_or_none()
    if identity is None:
        raise NotFound(
            msg(
                "Your identity is not verified at source '{source}', so no records of yours "
                "can be found there; ask the hub's operator to verify it, or upload a file.",
                source=source.slug,
            )
        )
    dataset = session.get(Dataset, source.agency_dataset_id)
    assert dataset is not None  # noqa: S101 (a foreign key)
    version = _latest(session, dataset)
    context = DecisionContext(
        column_classes=views.column_classes(views.schema_fields(version.table_schema)),
        mydata=MyDataTerms(
            user_id=identity.user_id,
            source=source.slug,
            identity_column=source.identity_column,
            subject=identity.subject,
            items=list(source.items),
        ),
    )
    door = Door(session, actor=actor, event=TRANSMIT_DECISION, detail={"source": source.slug})
    with door, tempfile.TemporaryDirectory(prefix="mydata-") as folder:
        passage = door.admit([Request(DataAction.mydata_transmit, dataset, version, context)])[0]
        target = Path(folder) / "own.parquet"
        door.write(store, passage, secret=settings.secret(), target=target, file_format="parquet")
        table = pq.read_table(target)
        session.commit()
    return table.select([item for item in source.items if item in table.column_names])


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def preview(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, source_slug: str
) -> Preview:
    """Exactly what a donation from the source would hold (before dropping anything)."""
    source = get_source(session, source_slug)
    table = _own_records(session, settings=settings, store=store, actor=actor, source=source)
    columns = table.column_names
    rows = [[_jsonable(row[c]) for c in columns] for row in table.to_pylist()]
    return Preview(source=source.slug, columns=columns, rows=rows)


# --- donating ---------------------------------------------------------------------------------


def _active_donation(session: Session, *, user_id: int, source_id: int) -> Donation | None:
    return session.scalars(
        select(Donation).where(
            Donation.user_id == user_id,
            Donation.source_id == source_id,
            Donation.status == DonationStatus.active,
        )
    ).first()


def _chosen(source: MyDataSource, items: list[str] | None) -> list[str]:
    if items is None:
        return list(source.items)
    unknown = [item for item in items if item not in source.items]
    if unknown:
        raise ValidationFailed(
            msg(
                "Source '{source}' offers no item {items}; it offers: {offered}.",
                source=source.slug,
                items=", ".join(repr(i) for i in unknown),
                offered=", ".join(source.items),
            )
        )
    if not items:
        raise ValidationFailed(msg("Choose at least one item to donate."))
    return [item for item in source.items if item in items]


def donate(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    source_slug: str,
    items: list[str] | None = None,
    drop_rows: list[int] | None = None,
    consent: ConsentIn | None = None,
) -> Donation:
    """Donate one's own records at a source: the chosen items, less the dropped rows."""
    require_signed_in(actor)
    source = get_source(session, source_slug)
    assert actor.user_id is not None  # noqa: S101 (signed in)
    _refuse_second(session, actor.user_id, source)
    chosen = _chosen(source, items)
    table = _own_records(session, settings=settings, store=store, actor=actor, source=source)
    drops = sorted(set(drop_rows or []))
    outside = [n for n in drops if not 0 <= n < table.num_rows]
    if outside:
        raise ValidationFailed(
            msg(
                "Row {row} is not in the preview (rows are numbered 0 to {last}); preview "
                "again and choose the rows to drop.",
                row=outside[0],
                last=table.num_rows - 1,
            )
        )
    keep = [n for n in range(table.num_rows) if n not in set(drops)]
    kept = table.take(pa.array(keep, type=pa.int64())).select(chosen)
    return _keep(
        session,
        settings=settings,
        store=store,
        actor=actor,
        source=source,
        table=kept,
        origin="source",
        dropped=len(drops),
        consent=consent,
    )


def donate_upload(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    source_slug: str,
    path: Path,
    filename: str,
    consent: ConsentIn | None = None,
) -> Donation:
    """Donate a file (CSV or JSON from a device or app), checked by the same ingest as any
    upload against the source's items' Table Schema."""
    from bitgoeul.ingest.pipeline import ingest_file

    require_signed_in(actor)
    source = get_source(session, source_slug)
    assert actor.user_id is not None  # noqa: S101
    _refuse_second(session, actor.user_id, source)
    work_root = settings.ensure_data_dir() / "work"
    work_root.mkdir(exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="mydata-", dir=work_root))
    try:
        result = ingest_file(
            path,
            filename=filename,
            work_dir=work_dir,
            declared_schema={"fields": list(source.item_fields)},
            error_limit=settings.ingest_error_limit,
            max_bytes=settings.max_upload_bytes,
        )
        table = pq.read_table(result.parquet_path)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if table.num_rows == 0:
        raise ValidationFailed(msg("{file} holds no rows to donate.", file=filename))
    return _keep(
        session,
        settings=settings,
        store=store,
        actor=actor,
        source=source,
        table=table.select([i for i in source.items if i in table.column_names]),
        origin="upload",
        dropped=0,
        consent=consent,
    )


def _refuse_second(session: Session, user_id: int, source: MyDataSource) -> None:
    if _active_donation(session, user_id=user_id, source_id=source.id) is not None:
        raise Conflict(
            msg(
                "You already donate from source '{source}'; change its consents on /my-data "
                "(a new consent, or a withdrawal) instead of donating again.",
                source=source.slug,
            )
        )


def _keep(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    source: MyDataSource,
    table: pa.Table,
    origin: str,
    dropped: int,
    consent: ConsentIn | None,
) -> Donation:
    if table.num_rows == 0:
        raise ValidationFailed(
            msg("Nothing is left to donate: every row was dropped or none was found.")
        )
    assert actor.user_id is not None  # noqa: S101
    key = donor_key(settings, source_id=source.id, user_id=actor.user_id)
    table = table.add_column(0, DONOR_COLUMN, pa.array([key] * table.num_rows, pa.string()))
    with tempfile.TemporaryDirectory(prefix="mydata-") as folder:
        target = Path(folder) / "donation.parquet"
        pq.write_table(table, target)
        sha = hashlib.sha256(target.read_bytes()).hexdigest()
        object_key = f"mydata/donations/{sha}.parquet"
        if not store.exists(object_key):
            store.put_file(object_key, target)
    donation = Donation(
        user_id=actor.user_id,
        source_id=source.id,
        donor_key=key,
        origin=origin,
        items=[c for c in table.column_names if c != DONOR_COLUMN],
        dropped_rows=dropped,
        row_count=table.num_rows,
        object_key=object_key,
        sha256=sha,
    )
    session.add(donation)
    session.flush()
    pool = session.get(Dataset, source.pool_dataset_id)
    record_event(
        session,
        action=MyDataAudit.donated,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="mydata_donation",
        resource_id=donation.id,
        organization_id=pool.publisher_id if pool else None,
        detail={
            "source": source.slug,
            "origin": origin,
            "rows": table.num_rows,
            "dropped_rows": dropped,
            "items": donation.items,
        },
    )
    session.commit()
    republish_pool(session, settings=settings, store=store, source=source)
    if consent is not None:
        give_consent(
            session, settings=settings, actor=actor, donation_id=donation.id, consent=consent
        )
    return donation


# --- the pool ---------------------------------------------------------------------------------


def pool_actor(pool: Dataset) -> Actor:
    """The platform publishing a pool's versions, as a steward of the pool's publisher."""
    return Actor(
        user_id=None,
        username="mydata-pool",
        role=Role.steward,
        organization_id=pool.publisher_id,
        via="mydata",
    )


def _arrow_type(field_type: str) -> pa.DataType:
    from bitgoeul.ingest.table_schema import arrow_type_for

    return arrow_type_for(field_type)


def republish_pool(
    session: Session, *, settings: Settings, store: ObjectStore, source: MyDataSource
) -> DatasetVersion | None:
    """The pool's next version: every active donation's rows (items a donor dropped are
    empty).  None when nothing changed.  Older versions of the pool are never read again (the
    decision point reads a pool's latest version only) and their files are removed, so a
    deleted donation's rows are gone from the store."""
    pool = session.get(Dataset, source.pool_dataset_id)
    assert pool is not None  # noqa: S101
    types = {str(f["name"]): _arrow_type(str(f.get("type", "string"))) for f in source.item_fields}
    schema = pa.schema(
        [pa.field(DONOR_COLUMN, pa.string())]
        + [pa.field(item, types.get(item, pa.string())) for item in source.items]
    )
    donations = session.scalars(
        select(Donation)
        .where(Donation.source_id == source.id, Donation.status == DonationStatus.active)
        .order_by(Donation.id)
    ).all()
    tables = []
    for donation in donations:
        with store.open(donation.object_key) as handle:
            table = pq.read_table(handle)
        columns = [
            table[name].cast(field.type)
            if name in table.column_names
            else pa.nulls(table.num_rows, field.type)
            for name, field in zip(schema.names, schema, strict=True)
        ]
        tables.append(pa.Table.from_arrays(columns, schema=schema))
    combined = pa.concat_tables(tables) if tables else schema.empty_table()
    classes = {DONOR_COLUMN: "direct_identifier"}
    for f in source.item_fields:
        if f.get("classification"):
            classes[str(f["name"])] = str(f["classification"])
    before = [v.object_key for v in pool.versions]
    with tempfile.TemporaryDirectory(prefix="mydata-pool-") as folder:
        target = Path(folder) / f"{pool.slug}.parquet"
        pq.write_table(combined, target)
        try:
            version = catalog_actions.publish_version(
                session,
                settings=settings,
                store=store,
                actor=pool_actor(pool),
                slug=pool.slug,
                source=target,
                filename=target.name,
                column_classes=classes,
                note=f"{len(donations)} donations",
                accept_text=True,
            )
        except catalog_actions.AlreadyPublished:
            return None
        except ValidationFailed:
            if combined.num_rows:
                raise
            return None  # an empty pool: its last version stays, every donor filtered out
    for key in set(before) - {version.object_key}:
        if store.exists(key):
            store.delete(key)
    # DP bounded copies of the older versions hold the same rows: they go too.
    older = [v.id for v in pool.versions if v.object_key != version.object_key]
    dp_actions.forget_bounded_copies(session, store=store, version_ids=older)
    donor_copies.forget(
        session, store, version_ids=older, reason="the pool was published again without them"
    )
    return version


# --- consents ---------------------------------------------------------------------------------


def _own_donation(session: Session, actor: Actor, donation_id: int) -> Donation:
    require_signed_in(actor)
    donation = session.get(Donation, donation_id)
    if donation is None or donation.user_id != actor.user_id:
        raise NotFound(
            msg(
                "You have no donation {id}; your donations are listed on /my-data.",
                id=donation_id,
            )
        )
    return donation


def _own_consent(session: Session, actor: Actor, consent_id: int) -> Consent:
    require_signed_in(actor)
    consent = session.get(Consent, consent_id)
    if consent is None or consent.user_id != actor.user_id:
        raise NotFound(
            msg("You have no consent {id}; your consents are listed on /my-data.", id=consent_id)
        )
    return consent


def notice(source: MyDataSource, consent: Consent, kind: EventKind, items: list[str]) -> Message:
    """The plain-language text a person is shown for a consent event (stored word for word)."""
    purposes = ", ".join(consent.purposes)
    projects = ", ".join(str(p) for p in consent.projects) if consent.projects else "any"
    if kind == EventKind.withdrawn:
        return msg(
            "I withdraw my consent {id} to the use of my donated data from '{source}'. From "
            "the next use on, no query, job or test reads my rows; results already released "
            "are not recalled. My raw rows are deleted {days} days after today unless another "
            "consent of mine still covers them.",
            id=consent.id,
            source=source.title,
            days=consent.retention_days,
        )
    if kind == EventKind.expired:
        return msg(
            "Consent {id} to the use of donated data from '{source}' ended on {end}; it no "
            "longer covers any use.",
            id=consent.id,
            source=source.title,
            end=consent.ends_at.date().isoformat(),
        )
    return msg(
        "I donate my data from '{source}' (items: {items}) for these purposes: {purposes}; "
        "projects: {projects}; use allowed: {tier}; from {start} to {end}. My raw rows are kept "
        "{days} days after this consent ends, then deleted. I can withdraw at any time on "
        "/my-data; results already released are not recalled.",
        source=source.title,
        items=", ".join(items),
        purposes=purposes,
        projects=projects,
        tier=consent.tier.value,
        start=consent.starts_at.date().isoformat(),
        end=consent.ends_at.date().isoformat(),
        days=consent.retention_days,
    )


def _bump_epoch(session: Session, source_id: int) -> int:
    session.execute(
        update(MyDataSource)
        .where(MyDataSource.id == source_id)
        .values(consent_epoch=MyDataSource.consent_epoch + 1)
    )
    epoch = session.scalar(select(MyDataSource.consent_epoch).where(MyDataSource.id == source_id))
    return int(epoch or 0)


def receipt_record(
    *,
    settings: Settings,
    source: MyDataSource,
    donation: Donation,
    consent: Consent,
    event: ConsentEvent,
    controller: str,
) -> dict[str, Any]:
    """The ISO/IEC TS 27560 consent record of one event, in DPV JSON-LD (unsigned)."""
    base = settings.base_url.rstrip("/")
    return {
        "@context": receipts.CONTEXT,
        "@id": f"urn:bitgoeul:mydata:receipt:{consent.id}:{event.id}",
        "@type": "dpv:ConsentRecord",
        "schema_version": receipts.SCHEMA,
        "record_id": f"urn:bitgoeul:mydata:consent:{consent.id}",
        "event": {
            "@id": f"urn:bitgoeul:mydata:event:{event.id}",
            "type": event.kind.value,
            "dpv:hasConsentStatus": {"@id": receipts.STATUS[event.kind.value]},
            "at": event.at.isoformat(),
            "consent_epoch": event.epoch,
        },
        "dpv:hasDataSubject": {"@id": f"urn:bitgoeul:donor:{donation.donor_key}"},
        "dpv:hasDataController": {"@id": base, "name": controller},
        "dpv:hasPurpose": [
            {"@id": DPV_PURPOSES.get(p, "dpv:Purpose"), "bitgoeul:purpose": p}  # type: ignore[call-overload]
            for p in consent.purposes
        ],
        "bitgoeul:projects": list(consent.projects),
        "bitgoeul:tier": consent.tier.value,
        "dpv:hasPersonalData": [
            {"@id": f"{base}/my-data/sources/{source.slug}#{item}", "name": item}
            for item in donation.items
        ],
        "bitgoeul:source": source.slug,
        "bitgoeul:donation": {"id": donation.id, "sha256": donation.sha256},
        "dpv:hasDuration": {
            "start": consent.starts_at.isoformat(),
            "end": consent.ends_at.isoformat(),
        },
        "bitgoeul:retentionDays": consent.retention_days,
        "notice": {
            "en": event.text_en,
            "ko": event.text_ko,
            "sha256": hashlib.sha256(f"{event.text_en}\n{event.text_ko}".encode()).hexdigest(),
        },
    }


def _record(
    session: Session,
    *,
    settings: Settings,
    actor: Actor | None,
    consent: Consent,
    kind: EventKind,
    now: datetime,
) -> ConsentEvent:
    """One consent event: the epoch raised, the notice kept, the receipt signed and anchored."""
    donation = session.get(Donation, consent.donation_id)
    assert donation is not None  # noqa: S101
    source = session.get(MyDataSource, donation.source_id)
    assert source is not None  # noqa: S101
    text = notice(source, consent, kind, list(donation.items))
    epoch = _bump_epoch(session, source.id)
    event = ConsentEvent(
        consent_id=consent.id,
        kind=kind,
        at=now,
        actor_id=actor.user_id if actor else None,
        text_en=str(text),
        text_ko=translate(text, "ko"),
        epoch=epoch,
    )
    session.add(event)
    session.flush()
    pool = session.get(Dataset, source.pool_dataset_id)
    controller = session.get(Organization, pool.publisher_id) if pool else None
    record = receipt_record(
        settings=settings,
        source=source,
        donation=donation,
        consent=consent,
        event=event,
        controller=controller.name if controller else "",
    )
    signed = receipts.sign(record, receipts.signing_key(settings.ensure_data_dir()))
    digest = receipts.digest(signed)
    receipt = Receipt(consent_id=consent.id, event_id=event.id, document=signed, sha256=digest)
    session.add(receipt)
    session.flush()
    anchor = record_event(
        session,
        action=MyDataAudit(f"mydata.consent_{kind.value}"),
        actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else "platform",
        resource_type="mydata_consent",
        resource_id=consent.id,
        organization_id=pool.publisher_id if pool else None,
        detail={
            "source": source.slug,
            "purposes": list(consent.purposes),
            "projects": list(consent.projects),
            "tier": consent.tier.value,
            "consent_epoch": epoch,
            "receipt": receipt.id,
            "receipt_sha256": digest,
        },
    )
    receipt.audit_hash = anchor.hash
    return event


def give_consent(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    donation_id: int,
    consent: ConsentIn,
    now: datetime | None = None,
) -> Consent:
    """A consent on one's donation: purposes, optional projects, tier, period, retention."""
    donation = _own_donation(session, actor, donation_id)
    if donation.status != DonationStatus.active:
        raise Conflict(
            msg("Donation {id} was deleted after its retention; donate again.", id=donation.id)
        )
    moment = now or datetime.now(UTC)
    for project_id in consent.projects:
        if session.get(Project, project_id) is None:
            raise NotFound(
                msg(
                    "There is no project {project}; name projects from the register on "
                    "/projects, or leave projects out to allow any project with the purposes.",
                    project=project_id,
                )
            )
    campaign_id = None
    if consent.campaign:
        campaign = session.scalars(
            select(Campaign).where(Campaign.slug == consent.campaign)
        ).one_or_none()
        if campaign is None:
            raise NotFound(msg("There is no campaign '{slug}'.", slug=consent.campaign))
        campaign_id = campaign.id
    row = Consent(
        donation_id=donation.id,
        user_id=donation.user_id,
        purposes=[p.value for p in consent.purposes],
        projects=list(dict.fromkeys(consent.projects)),
        tier=consent.tier,
        starts_at=moment,
        ends_at=moment + timedelta(days=consent.days),
        retention_days=consent.retention_days,
        status=ConsentStatus.active,
        campaign_id=campaign_id,
    )
    session.add(row)
    session.flush()
    _record(session, settings=settings, actor=actor, consent=row, kind=EventKind.given, now=moment)
    session.commit()
    return row


def renew_consent(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    consent_id: int,
    days: int,
    now: datetime | None = None,
) -> Consent:
    """Extend an active consent by ``days`` from today (or from its end, if later)."""
    consent = _own_consent(session, actor, consent_id)
    if consent.status != ConsentStatus.active:
        raise Conflict(
            msg(
                "Consent {id} is {status}; give a new consent instead of renewing it.",
                id=consent.id,
                status=consent.status.value,
            )
        )
    if not 1 <= days <= 3650:
        raise ValidationFailed(msg("Renew for 1 to 3650 days."))
    moment = now or datetime.now(UTC)
    consent.ends_at = max(consent.ends_at, moment) + timedelta(days=days)
    _record(
        session, settings=settings, actor=actor, consent=consent, kind=EventKind.renewed, now=moment
    )
    session.commit()
    return consent


def withdraw_consent(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    consent_id: int,
    now: datetime | None = None,
) -> Consent:
    """Withdraw a consent: from the next use on, the donor's rows are left out."""
    consent = _own_consent(session, actor, consent_id)
    donation = session.get(Donation, consent.donation_id)
    assert donation is not None  # noqa: S101
    # One withdrawal at a time per source: the epoch row is locked until commit.
    session.execute(
        select(MyDataSource.id).where(MyDataSource.id == donation.source_id).with_for_update()
    )
    session.refresh(consent)
    if consent.status != ConsentStatus.active:
        raise Conflict(
            msg(
                "Consent {id} is already {status}.",
                id=consent.id,
                status=consent.status.value,
            )
        )
    moment = now or datetime.now(UTC)
    consent.status = ConsentStatus.withdrawn
    consent.ended_at = moment
    _record(
        session,
        settings=settings,
        actor=actor,
        consent=consent,
        kind=EventKind.withdrawn,
        now=moment,
    )
    session.commit()
    return consent


# --- expiry, deletion after retention, telling donors -----------------------------------------


@dataclass(frozen=True)
class SweepReport:
    expired: int
    deleted: int
    notified: int


def sweep(
    session: Session, *, settings: Settings, store: ObjectStore, now: datetime | None = None
) -> SweepReport:
    """Expire consents past their period, delete donations whose retention has run out (their
    stored rows and the pool's older versions), and tell donors of projects newly using their
    data.  Run by ``bitgoeul mydata sweep`` (e.g. hourly) and the pages; idempotent."""
    moment = now or datetime.now(UTC)
    expired = 0
    for consent in session.scalars(
        select(Consent).where(Consent.status == ConsentStatus.active, Consent.ends_at <= moment)
    ).all():
        consent.status = ConsentStatus.expired
        consent.ended_at = consent.ends_at
        _record(
            session,
            settings=settings,
            actor=None,
            consent=consent,
            kind=EventKind.expired,
            now=moment,
        )
        expired += 1
    session.commit()
    deleted_sources: set[int] = set()
    for donation in session.scalars(
        select(Donation).where(Donation.status == DonationStatus.active)
    ).all():
        consents = session.scalars(select(Consent).where(Consent.donation_id == donation.id)).all()
        if not consents or any(c.status == ConsentStatus.active for c in consents):
            continue
        keep_until = max(
            (c.ended_at or c.ends_at) + timedelta(days=c.retention_days) for c in consents
        )
        if keep_until > moment:
            continue
        _delete_donation(session, donation=donation, moment=moment)
        deleted_sources.add(donation.source_id)
    session.commit()
    for source_id in sorted(deleted_sources):
        source = session.get(MyDataSource, source_id)
        assert source is not None  # noqa: S101
        republish_pool(session, settings=settings, store=store, source=source)
        # Filtered copies written before the deletion may hold the deleted donors' rows.
        donor_copies.forget(
            session,
            store,
            version_ids=[
                v.id
                for v in session.scalars(
                    select(DatasetVersion).where(
                        DatasetVersion.dataset_id == source.pool_dataset_id
                    )
                )
            ],
            before_epoch=source.consent_epoch,
            reason="a donor's retention ended",
        )
        for donation in session.scalars(
            select(Donation).where(
                Donation.source_id == source_id,
                Donation.status == DonationStatus.deleted,
                Donation.object_key != "",
            )
        ).all():
            if store.exists(donation.object_key):
                store.delete(donation.object_key)
            donation.object_key = ""
        session.commit()
    notified = notify_new_uses(session)
    return SweepReport(expired=expired, deleted=len(deleted_sources), notified=notified)


def _delete_donation(session: Session, *, donation: Donation, moment: datetime) -> None:
    donation.status = DonationStatus.deleted
    donation.deleted_at = moment
    epoch = _bump_epoch(session, donation.source_id)
    record_event(
        session,
        action=MyDataAudit.donation_deleted,
        actor_name="platform",
        resource_type="mydata_donation",
        resource_id=donation.id,
        detail={"reason": "retention ended", "consent_epoch": epoch, "rows": donation.row_count},
    )


def notify_new_uses(session: Session) -> int:
    """Tell donors once when a project starts using a pool their consent covers; how many
    (source, project) pairs were new."""
    from bitgoeul.audit.models import AuditEvent

    sources = {s.pool_dataset_id: s for s in session.scalars(select(MyDataSource)).all()}
    if not sources:
        return 0
    pools = {
        d.slug: sources[d.id]
        for d in session.scalars(select(Dataset).where(Dataset.id.in_(sources))).all()
    }
    seen = {(u.source_id, u.project_id) for u in session.scalars(select(ProjectUse)).all()}
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.resource_type == "dataset",
            AuditEvent.resource_id.in_(pools),
            AuditEvent.action.in_(USE_EVENTS),
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.seq)
    ).all()
    new = 0
    for event in events:
        detail = event.detail or {}
        project_id = detail.get("project")
        if detail.get("door_outcome") != "ok" or not isinstance(project_id, int):
            continue
        source = pools[event.resource_id]
        if (source.id, project_id) in seen:
            continue
        project = session.get(Project, project_id)
        if project is None:
            continue
        seen.add((source.id, project_id))
        session.add(ProjectUse(source_id=source.id, project_id=project_id, first_used_at=event.at))
        donors = _covered_users(session, source, project, event.at)
        notifications.notify(
            session,
            donors,
            kind="mydata.new_project",
            text=msg(
                "Project '{project}' ({purpose}) started using your donated data from "
                "'{source}'. See every use, or withdraw, on My data.",
                project=project.title,
                purpose=str(project.purpose),
                source=source.title,
            ),
            link="/my-data",
        )
        new += 1
    session.commit()
    return new


def _covered_users(
    session: Session, source: MyDataSource, project: Project, at: datetime
) -> list[int]:
    rows = session.execute(
        select(Consent, Donation.donor_key)
        .join(Donation, Donation.id == Consent.donation_id)
        .where(Donation.source_id == source.id, Consent.status == ConsentStatus.active)
    ).all()
    users = []
    for consent, key in rows:
        grant = Grant(
            donor=key,
            purposes=frozenset(consent.purposes),
            projects=frozenset(int(p) for p in consent.projects),
            tier=consent.tier.value,
            starts_at=consent.starts_at,
            ends_at=consent.ends_at,
        )
        if covers(grant, purpose=str(project.purpose), project_id=project.id, now=at):
            users.append(consent.user_id)
    return users


# --- campaigns --------------------------------------------------------------------------------


def create_campaign(session: Session, *, actor: Actor, data: CampaignCreate) -> Campaign:
    require_signed_in(actor)
    if not actor.is_operator:
        raise AccessDenied(msg("Only the hub's operators run donation campaigns."))
    if data.ends_on < data.starts_on:
        raise ValidationFailed(msg("A campaign ends on or after the day it starts."))
    source = get_source(session, data.source)
    if session.scalar(select(func.count()).where(Campaign.slug == data.slug)):
        raise Conflict(
            msg("A campaign '{slug}' exists already; choose another slug.", slug=data.slug)
        )
    campaign = Campaign(
        slug=data.slug,
        source_id=source.id,
        purpose=data.purpose.value,
        target_donors=data.target_donors,
        title=data.title,
        title_ko=data.title_ko,
        explanation=data.explanation,
        explanation_ko=data.explanation_ko,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by_id=actor.user_id,
    )
    session.add(campaign)
    session.flush()
    record_event(
        session,
        action=MyDataAudit.campaign_created,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="mydata_campaign",
        resource_id=data.slug,
        detail={"source": source.slug, "purpose": data.purpose.value, "target": data.target_donors},
    )
    session.commit()
    return campaign


__all__ = [
    "Tier",
    "create_campaign",
    "create_source",
    "donate",
    "donate_upload",
    "give_consent",
    "notify_new_uses",
    "preview",
    "renew_consent",
    "republish_pool",
    "sweep",
    "verify_identity",
    "withdraw_consent",
]
