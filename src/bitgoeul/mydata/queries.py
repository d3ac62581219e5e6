"""Reads for My Data: the sources a resident can donate from, their donations with every
consent, event and receipt, every use of their data (from the audit log), campaigns with their
progress, and the counts the control tower shows.  Nothing here writes; ``mydata.actions``
does."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import Dataset
from bitgoeul.errors import NotFound
from bitgoeul.governance.decision import TIERS
from bitgoeul.governance.models import Project
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.mydata.actions import USE_EVENTS
from bitgoeul.mydata.coverage import Grant, covers
from bitgoeul.mydata.models import (
    Campaign,
    Consent,
    ConsentEvent,
    ConsentStatus,
    Donation,
    DonationStatus,
    MyDataIdentity,
    MyDataSource,
    Receipt,
)
from bitgoeul.mydata.schemas import (
    NOT_RECALLED,
    NOT_RECALLED_KO,
    CampaignPublic,
    ConsentPublic,
    DonationPublic,
    DonorCounts,
    EventPublic,
    ReceiptPublic,
    SourcePublic,
    UsePublic,
)

USES_SCANNED = 5000  # the latest decisions on a donor's pools read for the use list


def _slugs(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Dataset.id, Dataset.slug).where(Dataset.id.in_(ids))).all())


def list_sources(session: Session, *, actor: Actor) -> list[SourcePublic]:
    sources = session.scalars(select(MyDataSource).order_by(MyDataSource.id)).all()
    connected: set[int] = set()
    if actor.user_id is not None:
        connected = set(
            session.scalars(
                select(MyDataIdentity.source_id).where(MyDataIdentity.user_id == actor.user_id)
            )
        )
    slugs = _slugs(
        session,
        {s.pool_dataset_id for s in sources}
        | {s.agency_dataset_id for s in sources if s.agency_dataset_id is not None},
    )
    agencies = dict(
        session.execute(
            select(Dataset.id, Organization.slug)
            .join(Organization, Organization.id == Dataset.publisher_id)
            .where(Dataset.id.in_([s.agency_dataset_id for s in sources if s.agency_dataset_id]))
        ).all()
    )
    return [
        SourcePublic(
            slug=s.slug,
            title=s.title,
            title_ko=s.title_ko,
            description=s.description,
            description_ko=s.description_ko,
            items=list(s.items),
            pool=slugs.get(s.pool_dataset_id, ""),
            connected=s.id in connected,
            agency=agencies.get(s.agency_dataset_id) if s.agency_dataset_id else None,
        )
        for s in sources
    ]


def _events(session: Session, consent_ids: list[int]) -> dict[int, list[EventPublic]]:
    found: dict[int, list[EventPublic]] = {c: [] for c in consent_ids}
    if not consent_ids:
        return found
    receipts = dict(
        session.execute(
            select(Receipt.event_id, Receipt.id).where(Receipt.consent_id.in_(consent_ids))
        ).all()
    )
    for event in session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.consent_id.in_(consent_ids))
        .order_by(ConsentEvent.id)
    ):
        found[event.consent_id].append(
            EventPublic(
                id=event.id,
                kind=event.kind,
                at=event.at,
                text_en=event.text_en,
                text_ko=event.text_ko,
                epoch=event.epoch,
                receipt=receipts.get(event.id),
            )
        )
    return found


def my_donations(session: Session, *, actor: Actor) -> list[DonationPublic]:
    """The asker's donations, newest first, each with its consents and their events."""
    require_signed_in(actor)
    donations = session.scalars(
        select(Donation).where(Donation.user_id == actor.user_id).order_by(Donation.id.desc())
    ).all()
    sources = {s.id: s for s in session.scalars(select(MyDataSource))}
    pools = _slugs(session, {s.pool_dataset_id for s in sources.values()})
    consents = session.scalars(
        select(Consent)
        .where(Consent.donation_id.in_([d.id for d in donations]))
        .order_by(Consent.id)
    ).all()
    events = _events(session, [c.id for c in consents])
    result = []
    for donation in donations:
        source = sources[donation.source_id]
        result.append(
            DonationPublic(
                id=donation.id,
                source=source.slug,
                pool=pools.get(source.pool_dataset_id, ""),
                origin=donation.origin,
                items=list(donation.items),
                row_count=donation.row_count,
                dropped_rows=donation.dropped_rows,
                status=donation.status,
                created_at=donation.created_at,
                deleted_at=donation.deleted_at,
                consents=[
                    ConsentPublic(
                        id=c.id,
                        donation=c.donation_id,
                        source=source.slug,
                        purposes=list(c.purposes),
                        projects=[int(p) for p in c.projects],
                        tier=c.tier,
                        starts_at=c.starts_at,
                        ends_at=c.ends_at,
                        retention_days=c.retention_days,
                        status=c.status,
                        ended_at=c.ended_at,
                        events=events[c.id],
                        not_recalled=(NOT_RECALLED if c.status == ConsentStatus.withdrawn else ""),
                        not_recalled_ko=(
                            NOT_RECALLED_KO if c.status == ConsentStatus.withdrawn else ""
                        ),
                    )
                    for c in consents
                    if c.donation_id == donation.id
                ],
            )
        )
    return result


def receipt(session: Session, *, actor: Actor, receipt_id: int) -> ReceiptPublic:
    """One of the asker's receipts, as signed."""
    require_signed_in(actor)
    row = session.get(Receipt, receipt_id)
    consent = session.get(Consent, row.consent_id) if row is not None else None
    if row is None or consent is None or consent.user_id != actor.user_id:
        raise NotFound(
            msg("You have no receipt {id}; your receipts are listed on /my-data.", id=receipt_id)
        )
    return ReceiptPublic(
        id=row.id,
        consent=row.consent_id,
        sha256=row.sha256,
        audit_hash=row.audit_hash,
        document=row.document,
    )


def _was_covered(
    consents: list[Consent], *, purpose: str, project_id: int, tier: str, at: datetime
) -> bool:
    """Whether one of the donor's consents covered that use when it happened."""
    for consent in consents:
        if consent.ended_at is not None and consent.ended_at <= at:
            continue
        grant = Grant(
            donor="",
            purposes=frozenset(consent.purposes),
            projects=frozenset(int(p) for p in consent.projects),
            tier=consent.tier.value,
            starts_at=consent.starts_at,
            ends_at=consent.ends_at,
        )
        if covers(grant, purpose=purpose, project_id=project_id, now=at) and TIERS.index(
            grant.tier
        ) >= TIERS.index(tier):
            return True
    return False


def uses(session: Session, *, actor: Actor, limit: int = 200) -> list[UsePublic]:
    """Every use of the asker's donated data, newest first: each decision that let a project
    read a pool while one of the asker's consents covered it (the audit entry's project, tier
    and time, against the consent's purposes, projects, tier and period)."""
    require_signed_in(actor)
    donations = session.scalars(select(Donation).where(Donation.user_id == actor.user_id)).all()
    if not donations:
        return []
    sources = {
        s.id: s
        for s in session.scalars(
            select(MyDataSource).where(MyDataSource.id.in_({d.source_id for d in donations}))
        )
    }
    pools = _slugs(session, {s.pool_dataset_id for s in sources.values()})
    source_of_pool = {pools[s.pool_dataset_id]: s for s in sources.values()}
    consents_by_source: dict[int, list[Consent]] = {}
    for consent, source_id in session.execute(
        select(Consent, Donation.source_id)
        .join(Donation, Donation.id == Consent.donation_id)
        .where(Donation.user_id == actor.user_id)
    ):
        consents_by_source.setdefault(source_id, []).append(consent)
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.resource_type == "dataset",
            AuditEvent.resource_id.in_(source_of_pool),
            AuditEvent.action.in_(USE_EVENTS),
            AuditEvent.outcome == "ok",
        )
        .order_by(AuditEvent.seq.desc())
        .limit(USES_SCANNED)
    ).all()
    projects: dict[int, Project | None] = {}
    organizations = dict(session.execute(select(Organization.id, Organization.name)).all())
    found: list[UsePublic] = []
    for event in events:
        detail = event.detail or {}
        project_id = detail.get("project")
        if detail.get("door_outcome") != "ok" or not isinstance(project_id, int):
            continue
        if project_id not in projects:
            projects[project_id] = session.get(Project, project_id)
        project = projects[project_id]
        if project is None:
            continue
        source = source_of_pool[event.resource_id]
        tier = str(detail.get("consent_tier") or "rows")
        if not _was_covered(
            consents_by_source.get(source.id, []),
            purpose=str(project.purpose),
            project_id=project.id,
            tier=tier,
            at=event.at,
        ):
            continue
        found.append(
            UsePublic(
                at=event.at,
                source=source.slug,
                pool=event.resource_id,
                project=project.id,
                project_title=project.title,
                purpose=str(project.purpose),
                organization=organizations.get(project.lead_organization_id, ""),
                door=USE_EVENTS.get(event.action, event.action),
                tier=tier,
                consent_epoch=detail.get("consent_epoch"),
                audit_seq=event.seq,
            )
        )
        if len(found) >= limit:
            break
    return found


def _active_donors(
    session: Session, source_id: int | None = None, purpose: str | None = None
) -> int:
    query = (
        select(Donation.user_id, Consent.purposes)
        .join(Consent, Consent.donation_id == Donation.id)
        .where(Donation.status == DonationStatus.active, Consent.status == ConsentStatus.active)
    )
    if source_id is not None:
        query = query.where(Donation.source_id == source_id)
    return len(
        {
            user
            for user, purposes in session.execute(query)
            if purpose is None or purpose in purposes
        }
    )


def list_campaigns(session: Session) -> list[CampaignPublic]:
    """Every campaign with its progress: donors with an active consent naming its purpose."""
    sources = {s.id: s.slug for s in session.scalars(select(MyDataSource))}
    return [
        CampaignPublic(
            slug=c.slug,
            source=sources.get(c.source_id, ""),
            purpose=c.purpose,
            target_donors=c.target_donors,
            donors=_active_donors(session, c.source_id, c.purpose),
            title=c.title,
            title_ko=c.title_ko,
            explanation=c.explanation,
            explanation_ko=c.explanation_ko,
            starts_on=c.starts_on,
            ends_on=c.ends_on,
        )
        for c in session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(), Campaign.id))
    ]


def donor_counts(session: Session) -> DonorCounts:
    """For the control tower: residents donating, active consents, per source."""
    donors = session.scalar(
        select(func.count(func.distinct(Donation.user_id))).where(
            Donation.status == DonationStatus.active
        )
    )
    consents = session.scalar(
        select(func.count()).select_from(Consent).where(Consent.status == ConsentStatus.active)
    )
    donations = session.scalar(
        select(func.count()).select_from(Donation).where(Donation.status == DonationStatus.active)
    )
    return DonorCounts(
        donors=int(donors or 0),
        active_consents=int(consents or 0),
        donations=int(donations or 0),
        by_source={
            s.slug: _active_donors(session, s.id)
            for s in session.scalars(select(MyDataSource).order_by(MyDataSource.id))
        },
    )
