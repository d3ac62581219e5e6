"""My Data's routes: sources, previews, donations, consents, withdrawal, uses, receipts,
campaigns and the control tower's counts.  Thin: each route parses and calls one action or
query."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile, status
from pydantic import BaseModel, Field, ValidationError

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.errors import AccessDenied, ValidationFailed
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.mydata import actions, queries, receipts
from bitgoeul.mydata.schemas import (
    CampaignCreate,
    CampaignPublic,
    ConsentCreate,
    ConsentIn,
    ConsentPublic,
    DonationCreate,
    DonationPublic,
    DonorCounts,
    Preview,
    ReceiptPublic,
    SourcePublic,
    UsePublic,
)
from bitgoeul.uploads import save_upload

router = APIRouter(prefix="/mydata", tags=["mydata"])


class RenewIn(BaseModel):
    days: int = Field(ge=1, le=3650)


class VerifyIn(BaseModel):
    document: dict[str, Any]
    public_key: str | None = Field(default=None, max_length=200)


class VerifyOut(BaseModel):
    valid: bool
    reason: str
    key: str
    sha256: str


class ReceiptKey(BaseModel):
    key_id: str
    public_key: str  # base64 of the raw 32-byte Ed25519 key


def _donation(session: SessionDep, actor: CurrentActor, donation_id: int) -> DonationPublic:
    return next(d for d in queries.my_donations(session, actor=actor) if d.id == donation_id)


def _consent(session: SessionDep, actor: CurrentActor, consent_id: int) -> ConsentPublic:
    return next(
        c
        for d in queries.my_donations(session, actor=actor)
        for c in d.consents
        if c.id == consent_id
    )


@router.get("/sources", response_model=list[SourcePublic])
def list_sources(session: SessionDep, actor: CurrentActor) -> list[SourcePublic]:
    """The records a resident can donate, and whether their identity is verified at each."""
    return queries.list_sources(session, actor=actor)


@router.get("/sources/{slug}/preview", response_model=Preview)
def preview(
    slug: str, session: SessionDep, settings: SettingsDep, store: StoreDep, actor: CurrentActor
) -> Preview:
    """Exactly what a donation from the source would hold: your own rows of its items."""
    return actions.preview(session, settings=settings, store=store, actor=actor, source_slug=slug)


@router.post("/donations", response_model=DonationPublic, status_code=status.HTTP_201_CREATED)
def donate(
    body: DonationCreate,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> DonationPublic:
    """Donate your records at a source (less dropped items and rows), with a first consent."""
    donation = actions.donate(
        session,
        settings=settings,
        store=store,
        actor=actor,
        source_slug=body.source,
        items=body.items,
        drop_rows=body.drop_rows,
        consent=body.consent,
    )
    return _donation(session, actor, donation.id)


@router.post(
    "/donations/upload", response_model=DonationPublic, status_code=status.HTTP_201_CREATED
)
def donate_upload(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    source: Annotated[str, Form(max_length=100)],
    file: Annotated[UploadFile, File()],
    consent: Annotated[str | None, Form(max_length=5000)] = None,
) -> DonationPublic:
    """Donate a CSV or JSON file (from a device or app), checked like any upload."""
    terms = None
    if consent:
        try:
            terms = ConsentIn.model_validate(json.loads(consent))
        except (ValueError, ValidationError) as error:
            raise ValidationFailed(
                msg(
                    "The 'consent' field is not a valid consent: {problem}",
                    problem=str(error)[:300],
                )
            ) from None
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="mydata-upload-", dir=work))
    try:
        path = save_upload(
            file,
            folder / "upload",
            limit=settings.max_upload_bytes,
            too_large=msg(
                "The file is larger than this hub accepts ({limit} bytes).",
                limit=settings.max_upload_bytes,
            ),
        )
        donation = actions.donate_upload(
            session,
            settings=settings,
            store=store,
            actor=actor,
            source_slug=source,
            path=path,
            filename=file.filename or "upload.csv",
            consent=terms,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _donation(session, actor, donation.id)


@router.get("/donations", response_model=list[DonationPublic])
def my_donations(session: SessionDep, actor: CurrentActor) -> list[DonationPublic]:
    """Your donations, each with every consent and its events (receipts named by id)."""
    return queries.my_donations(session, actor=actor)


@router.post("/consents", response_model=ConsentPublic, status_code=status.HTTP_201_CREATED)
def give_consent(
    body: ConsentCreate, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ConsentPublic:
    """A consent on one of your donations: purposes, optional projects, tier, period, retention."""
    consent = actions.give_consent(
        session,
        settings=settings,
        actor=actor,
        donation_id=body.donation,
        consent=ConsentIn.model_validate(body.model_dump(exclude={"donation"})),
    )
    return _consent(session, actor, consent.id)


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentPublic)
def withdraw(
    consent_id: int, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ConsentPublic:
    """Withdraw a consent: from the next use on, your rows are left out."""
    actions.withdraw_consent(session, settings=settings, actor=actor, consent_id=consent_id)
    return _consent(session, actor, consent_id)


@router.post("/consents/{consent_id}/renew", response_model=ConsentPublic)
def renew(
    consent_id: int,
    body: RenewIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ConsentPublic:
    actions.renew_consent(
        session, settings=settings, actor=actor, consent_id=consent_id, days=body.days
    )
    return _consent(session, actor, consent_id)


@router.get("/uses", response_model=list[UsePublic])
def uses(session: SessionDep, actor: CurrentActor) -> list[UsePublic]:
    """Every use of your donated data: project, purpose, door, organization, when."""
    return queries.uses(session, actor=actor)


@router.get("/receipts/{receipt_id}", response_model=ReceiptPublic)
def get_receipt(receipt_id: int, session: SessionDep, actor: CurrentActor) -> ReceiptPublic:
    """One of your consent receipts, as signed (``document`` is the receipt file)."""
    return queries.receipt(session, actor=actor, receipt_id=receipt_id)


@router.get("/receipt-key", response_model=ReceiptKey)
def receipt_key(settings: SettingsDep) -> ReceiptKey:
    """The hub's public key receipts are signed with (to pin when verifying offline)."""
    public = receipts.signing_key(settings.ensure_data_dir()).public_key()
    return ReceiptKey(key_id=receipts.key_id(public), public_key=receipts.public_key_text(public))


@router.post("/receipts/verify", response_model=VerifyOut)
def verify_receipt(body: VerifyIn) -> VerifyOut:
    """Check a receipt: anyone may, no account needed."""
    result = receipts.verify(body.document, trusted_key=body.public_key)
    return VerifyOut(valid=result.valid, reason=result.reason, key=result.key, sha256=result.sha256)


@router.get("/campaigns", response_model=list[CampaignPublic])
def campaigns(session: SessionDep) -> list[CampaignPublic]:
    """Donation campaigns, with their progress (public)."""
    return queries.list_campaigns(session)


@router.post("/campaigns", response_model=CampaignPublic, status_code=status.HTTP_201_CREATED)
def create_campaign(
    body: CampaignCreate, session: SessionDep, actor: CsrfChecked
) -> CampaignPublic:
    """An operator starts a donation campaign."""
    campaign = actions.create_campaign(session, actor=actor, data=body)
    return next(c for c in queries.list_campaigns(session) if c.slug == campaign.slug)


@router.get("/counts", response_model=DonorCounts)
def counts(session: SessionDep, actor: CurrentActor) -> DonorCounts:
    """Donors and active consents, for the control tower (operators)."""
    require_signed_in(actor)
    if not actor.is_operator:
        raise AccessDenied(msg("Only the hub's operators see My Data's counts."))
    return queries.donor_counts(session)
