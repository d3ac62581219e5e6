"""My Data's pages (``/my-data``): what a resident donated, every consent and receipt, every use
of their data, a one-click withdrawal; a source's preview and donation form; the campaigns, and
the operator's form to start one.

Every form posts to a route here that calls ``mydata.actions``, as the API, the CLI and the SDK
do; a refusal is shown above the page with its reason (and the status the API would answer).
Templates live with the other pages (``web/templates/mydata*.html``), their strings in
``web/locales/<lang>/mydata.json``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.models import Purpose
from bitgoeul.messages import joined, validation_problems
from bitgoeul.mydata import actions, queries
from bitgoeul.mydata.api import donate_upload as api_donate_upload
from bitgoeul.mydata.models import Tier
from bitgoeul.mydata.schemas import CampaignCreate, ConsentIn, Preview
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

NOTICES = ("donated", "consented", "withdrawn", "campaign")


def _signed_out(actor: Any, here: str) -> Response | None:
    if actor.is_anonymous:
        return redirect_to(f"/login?next={here}")
    return None


def _consent_from_form(form: dict[str, Any]) -> ConsentIn:
    return ConsentIn.model_validate(
        {
            "purposes": form.get("purposes") or [],
            "tier": form.get("tier") or Tier.aggregates.value,
            "days": form.get("days") or 365,
            "retention_days": form.get("retention_days") or 30,
            "campaign": form.get("campaign") or None,
        }
    )


def _problem(error: Exception) -> tuple[str, int]:
    if isinstance(error, ValidationError):
        return joined(validation_problems(error)), 422
    assert isinstance(error, BitgoeulError)  # noqa: S101
    return error.message, error.status_code


@router.get("/my-data", response_class=HTMLResponse)
def my_data(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    notice: Annotated[str, Query(max_length=20)] = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    if (away := _signed_out(actor, "/my-data")) is not None:
        return away
    return page(
        request,
        "mydata.html",
        status_code=status_code,
        sources=queries.list_sources(session, actor=actor),
        donations=queries.my_donations(session, actor=actor),
        uses=queries.uses(session, actor=actor),
        campaigns=queries.list_campaigns(session),
        purposes=[p.value for p in Purpose],
        tiers=[t.value for t in Tier],
        notice=notice if notice in NOTICES else "",
        error=error,
        no_store=True,
    )


def _source_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    slug: str,
    *,
    campaign: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    source = actions.get_source(session, slug)
    preview: Preview | None = None
    preview_error = ""
    try:
        preview = actions.preview(
            session, settings=settings, store=store, actor=actor, source_slug=slug
        )
    except BitgoeulError as refused:
        preview_error = refused.message
    return page(
        request,
        "mydata_source.html",
        status_code=status_code,
        source=source,
        preview=preview,
        preview_error=preview_error,
        purposes=[p.value for p in Purpose],
        tiers=[t.value for t in Tier],
        campaign=campaign,
        error=error,
        no_store=True,
    )


@router.get("/my-data/sources/{slug}", response_class=HTMLResponse)
def source_page(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    campaign: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if (away := _signed_out(actor, f"/my-data/sources/{slug}")) is not None:
        return away
    return _source_page(request, session, settings, store, actor, slug, campaign=campaign)


@router.post("/my-data/sources/{slug}/donate", response_class=HTMLResponse)
def donate(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    items: Annotated[list[str] | None, Form(max_length=200)] = None,
    drop: Annotated[list[int] | None, Form()] = None,
    purposes: Annotated[list[str] | None, Form(max_length=100)] = None,
    tier: Annotated[str, Form(max_length=20)] = "aggregates",
    days: Annotated[int, Form()] = 365,
    retention_days: Annotated[int, Form()] = 30,
    campaign: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    form = {
        "purposes": purposes,
        "tier": tier,
        "days": days,
        "retention_days": retention_days,
        "campaign": campaign,
    }
    try:
        consent = _consent_from_form(form)
        actions.donate(
            session,
            settings=settings,
            store=store,
            actor=actor,
            source_slug=slug,
            items=items or [],
            drop_rows=drop or [],
            consent=consent,
        )
    except (BitgoeulError, ValidationError) as refused:
        message, code = _problem(refused)
        return _source_page(
            request, session, settings, store, actor, slug, campaign=campaign,
            error=message, status_code=code,
        )  # fmt: skip
    return redirect_to("/my-data?notice=donated")


@router.post("/my-data/sources/{slug}/upload", response_class=HTMLResponse)
def upload(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    file: Annotated[UploadFile, File()],
    purposes: Annotated[list[str] | None, Form(max_length=100)] = None,
    tier: Annotated[str, Form(max_length=20)] = "aggregates",
    days: Annotated[int, Form()] = 365,
    retention_days: Annotated[int, Form()] = 30,
) -> Response:
    try:
        consent = _consent_from_form(
            {"purposes": purposes, "tier": tier, "days": days, "retention_days": retention_days}
        )
        api_donate_upload(
            session, settings, store, actor, source=slug, file=file,
            consent=consent.model_dump_json(),
        )  # fmt: skip
    except (BitgoeulError, ValidationError) as refused:
        message, code = _problem(refused)
        return _source_page(
            request, session, settings, store, actor, slug, error=message, status_code=code
        )
    return redirect_to("/my-data?notice=donated")


@router.post("/my-data/donations/{donation_id}/consents", response_class=HTMLResponse)
def add_consent(
    request: Request,
    donation_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    purposes: Annotated[list[str] | None, Form(max_length=100)] = None,
    tier: Annotated[str, Form(max_length=20)] = "aggregates",
    days: Annotated[int, Form()] = 365,
    retention_days: Annotated[int, Form()] = 30,
) -> Response:
    try:
        consent = _consent_from_form(
            {"purposes": purposes, "tier": tier, "days": days, "retention_days": retention_days}
        )
        actions.give_consent(
            session, settings=settings, actor=actor, donation_id=donation_id, consent=consent
        )
    except (BitgoeulError, ValidationError) as refused:
        message, code = _problem(refused)
        return my_data(request, session, actor, error=message, status_code=code)
    return redirect_to("/my-data?notice=consented")


@router.post("/my-data/consents/{consent_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request,
    consent_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> Response:
    try:
        actions.withdraw_consent(session, settings=settings, actor=actor, consent_id=consent_id)
    except BitgoeulError as refused:
        return my_data(
            request, session, actor, error=refused.message, status_code=refused.status_code
        )
    return redirect_to("/my-data?notice=withdrawn")


@router.get("/my-data/receipts/{receipt_id}")
def receipt_file(receipt_id: int, session: SessionDep, actor: CurrentActor) -> Response:
    """The signed receipt, as a file to keep (``bitgoeul mydata verify-receipt`` checks it)."""
    if (away := _signed_out(actor, "/my-data")) is not None:
        return away
    found = queries.receipt(session, actor=actor, receipt_id=receipt_id)
    return JSONResponse(
        found.document,
        media_type="application/ld+json",
        headers={
            "Content-Disposition": f'attachment; filename="receipt-{receipt_id}.jsonld"',
            "Cache-Control": "no-store",
        },
    )


def _campaigns_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    asked: dict[str, Any] | None = None,
    error: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "mydata_campaigns.html",
        status_code=status_code,
        campaigns=queries.list_campaigns(session),
        sources=queries.list_sources(session, actor=actor),
        purposes=[p.value for p in Purpose],
        asked=asked or {},
        error=error,
        notice=notice,
    )


@router.get("/my-data/campaigns", response_class=HTMLResponse)
def campaigns(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    notice: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return _campaigns_page(request, session, actor, notice=notice if notice in NOTICES else "")


@router.post("/my-data/campaigns", response_class=HTMLResponse)
def create_campaign(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: Annotated[str, Form(max_length=100)],
    source: Annotated[str, Form(max_length=100)],
    purpose: Annotated[str, Form(max_length=40)],
    target_donors: Annotated[int, Form()],
    title: Annotated[str, Form(max_length=300)],
    title_ko: Annotated[str, Form(max_length=300)],
    explanation: Annotated[str, Form(max_length=5000)],
    explanation_ko: Annotated[str, Form(max_length=5000)],
    starts_on: Annotated[date, Form()],
    ends_on: Annotated[date, Form()],
) -> Response:
    asked: dict[str, Any] = {
        "slug": slug,
        "source": source,
        "purpose": purpose,
        "target_donors": target_donors,
        "title": title,
        "title_ko": title_ko,
        "explanation": explanation,
        "explanation_ko": explanation_ko,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    try:
        actions.create_campaign(session, actor=actor, data=CampaignCreate.model_validate(asked))
    except (BitgoeulError, ValidationError) as refused:
        message, code = _problem(refused)
        return _campaigns_page(
            request, session, actor, asked=asked, error=message, status_code=code
        )
    return redirect_to("/my-data/campaigns?notice=campaign")
