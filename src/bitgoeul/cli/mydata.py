"""``bitgoeul mydata ...``: residents' donations, consents and receipts from the command line.

Calls ``mydata.actions`` and ``mydata.queries`` as the ``/api/v1/mydata`` routes do.
``verify-receipt`` needs no hub at all: it checks a receipt file offline.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.cli.context import console, fail, hub_of, invalid_options, say
from bitgoeul.governance.models import Purpose
from bitgoeul.messages import msg
from bitgoeul.mydata import actions, queries, receipts
from bitgoeul.mydata.models import Tier
from bitgoeul.mydata.schemas import CampaignCreate, ConsentIn
from bitgoeul.storage import make_store

mydata_app = typer.Typer(help="My Data: residents donate their own records, consent and withdraw.")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


Acting = Annotated[str, typer.Option("--as", help="The user acting.")]
Format = Annotated[OutputFormat, typer.Option("--format", help="How to print.")]


def _consent(
    purposes: list[str] | None, tier: Tier, days: int, retention_days: int, projects: list[int]
) -> ConsentIn | None:
    if not purposes:
        return None
    try:
        return ConsentIn.model_validate(
            {
                "purposes": purposes,
                "tier": tier,
                "days": days,
                "retention_days": retention_days,
                "projects": projects,
            }
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"purposes": "--purpose", "projects": "--project"}) from None


PurposeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--purpose",
        help="A purpose the data may serve ("
        + ", ".join(p.value for p in Purpose)
        + "); repeat for more.",
    ),
]
TierOption = Annotated[Tier, typer.Option("--tier", help="How projects may use it.")]
DaysOption = Annotated[int, typer.Option("--days", help="How long the consent lasts.")]
RetentionOption = Annotated[
    int, typer.Option("--retention-days", help="How long raw rows are kept after it ends.")
]
ProjectOption = Annotated[
    list[int] | None, typer.Option("--project", help="Only this project; repeat for more.")
]


@mydata_app.command("sources")
def sources(ctx: typer.Context, acting: Acting, output_format: Format = OutputFormat.table) -> None:
    """The records residents can donate, and whether your identity is verified at each."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.list_sources(session, actor=hub.actor(session, acting))
    if output_format == OutputFormat.json:
        typer.echo(json.dumps([s.model_dump() for s in found], ensure_ascii=False, indent=2))
        return
    table = Table("source", "title", "items", "pool", "connected")
    for s in found:
        table.add_row(s.slug, s.title, ", ".join(s.items), s.pool, "yes" if s.connected else "no")
    console.print(table)


@mydata_app.command("preview")
def preview(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source's slug.")],
    acting: Acting,
    output_format: Format = OutputFormat.table,
) -> None:
    """Exactly what a donation from SOURCE would hold: your own rows, numbered."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = actions.preview(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            source_slug=source,
        )
    if output_format == OutputFormat.json:
        typer.echo(found.model_dump_json(indent=2))
        return
    table = Table("row", *found.columns)
    for number, row in enumerate(found.rows):
        table.add_row(str(number), *(escape(str(v)) for v in row))
    console.print(table)


@mydata_app.command("donate")
def donate(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="The source's slug.")],
    acting: Acting,
    item: Annotated[
        list[str] | None, typer.Option("--item", help="An item to donate (default: all).")
    ] = None,
    drop_row: Annotated[
        list[int] | None, typer.Option("--drop-row", help="A preview row to leave out.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Donate this CSV or JSON file instead of agency records."),
    ] = None,
    purpose: PurposeOption = None,
    tier: TierOption = Tier.aggregates,
    days: DaysOption = 365,
    retention_days: RetentionOption = 30,
    project: ProjectOption = None,
) -> None:
    """Donate your records at SOURCE (or a file), with a first consent if --purpose is given."""
    terms = _consent(purpose, tier, days, retention_days, project or [])
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        store = make_store(hub.settings)
        if file is not None:
            if not file.is_file():
                raise fail(msg("--file {path}: there is no such file.", path=str(file)))
            donation = actions.donate_upload(
                session,
                settings=hub.settings,
                store=store,
                actor=actor,
                source_slug=source,
                path=file,
                filename=file.name,
                consent=terms,
            )
        else:
            donation = actions.donate(
                session,
                settings=hub.settings,
                store=store,
                actor=actor,
                source_slug=source,
                items=item,
                drop_rows=drop_row,
                consent=terms,
            )
        console.print(
            say(
                msg(
                    "Donation {id}: {rows} rows of {items}.",
                    id=donation.id,
                    rows=donation.row_count,
                    items=", ".join(donation.items),
                )
            )
        )


@mydata_app.command("donations")
def donations(
    ctx: typer.Context, acting: Acting, output_format: Format = OutputFormat.table
) -> None:
    """Your donations with every consent and its events."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.my_donations(session, actor=hub.actor(session, acting))
    if output_format == OutputFormat.json:
        typer.echo(
            json.dumps([d.model_dump(mode="json") for d in found], ensure_ascii=False, indent=2)
        )
        return
    table = Table(
        "donation", "source", "rows", "status", "consent", "purposes", "tier", "until", "state"
    )
    for d in found:
        for c in d.consents or [None]:  # type: ignore[list-item]
            table.add_row(
                str(d.id),
                d.source,
                str(d.row_count),
                d.status.value,
                str(c.id) if c else "-",
                ", ".join(c.purposes) if c else "-",
                c.tier.value if c else "-",
                c.ends_at.date().isoformat() if c else "-",
                c.status.value if c else "-",
            )
    console.print(table)


@mydata_app.command("consent")
def consent(
    ctx: typer.Context,
    donation: Annotated[int, typer.Argument(help="Your donation's id.")],
    acting: Acting,
    purpose: PurposeOption = None,
    tier: TierOption = Tier.aggregates,
    days: DaysOption = 365,
    retention_days: RetentionOption = 30,
    project: ProjectOption = None,
) -> None:
    """Give a consent on one of your donations."""
    terms = _consent(purpose, tier, days, retention_days, project or [])
    if terms is None:
        raise fail(msg("Name at least one --purpose."))
    hub = hub_of(ctx)
    with hub.session() as session:
        given = actions.give_consent(
            session,
            settings=hub.settings,
            actor=hub.actor(session, acting),
            donation_id=donation,
            consent=terms,
        )
        console.print(say(msg("Consent {id} given; its receipt is signed.", id=given.id)))


@mydata_app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    consent_id: Annotated[int, typer.Argument(help="The consent's id.")],
    acting: Acting,
) -> None:
    """Withdraw a consent: from the next use on, your rows are left out."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.withdraw_consent(
            session, settings=hub.settings, actor=hub.actor(session, acting), consent_id=consent_id
        )
    console.print(say(msg("Consent {id} withdrawn.", id=consent_id)))


@mydata_app.command("uses")
def uses(ctx: typer.Context, acting: Acting, output_format: Format = OutputFormat.table) -> None:
    """Every use of your donated data (project, purpose, door, organization, when)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.uses(session, actor=hub.actor(session, acting))
    if output_format == OutputFormat.json:
        typer.echo(
            json.dumps([u.model_dump(mode="json") for u in found], ensure_ascii=False, indent=2)
        )
        return
    table = Table("when", "source", "project", "purpose", "organization", "door", "tier")
    for u in found:
        table.add_row(
            u.at.isoformat(timespec="seconds"),
            u.source,
            f"{u.project} {escape(u.project_title)}",
            u.purpose,
            escape(u.organization),
            u.door,
            u.tier,
        )
    console.print(table)


@mydata_app.command("receipt")
def receipt(
    ctx: typer.Context,
    receipt_id: Annotated[int, typer.Argument(help="The receipt's id.")],
    acting: Acting,
    out: Annotated[Path | None, typer.Option("--out", help="Write the receipt here.")] = None,
) -> None:
    """One of your consent receipts (JSON-LD, signed), to keep or to verify."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.receipt(session, actor=hub.actor(session, acting), receipt_id=receipt_id)
    text = json.dumps(found.document, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")


@mydata_app.command("receipt-key")
def receipt_key(ctx: typer.Context) -> None:
    """The hub's public receipt key (base64), to pin with verify-receipt --public-key."""
    hub = hub_of(ctx)
    public = receipts.signing_key(hub.settings.ensure_data_dir()).public_key()
    typer.echo(receipts.public_key_text(public))


@mydata_app.command("verify-receipt")
def verify_receipt(
    file: Annotated[Path, typer.Argument(help="The receipt file (JSON).")],
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="The hub's key (bitgoeul mydata receipt-key)."),
    ] = None,
) -> None:
    """Check a receipt offline: exit 0 if intact, 1 if any field was changed."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise fail(
            msg("{path} is not a readable JSON file: {problem}", path=str(file), problem=str(error))
        ) from None
    result = receipts.verify(document, trusted_key=public_key)
    if not result.valid:
        raise fail(result.reason)
    console.print(say(result.reason))


@mydata_app.command("campaign")
def campaign(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The campaign's URL name.")],
    acting: Acting,
    source: Annotated[str, typer.Option("--source", help="The source donors give from.")],
    purpose: Annotated[Purpose, typer.Option("--purpose", help="The purpose asked for.")],
    target: Annotated[int, typer.Option("--target", help="How many donors are sought.")],
    title: Annotated[str, typer.Option("--title")],
    title_ko: Annotated[str, typer.Option("--title-ko")],
    explanation: Annotated[str, typer.Option("--explanation")],
    explanation_ko: Annotated[str, typer.Option("--explanation-ko")],
    start: Annotated[str, typer.Option("--start", help="YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--end", help="YYYY-MM-DD")],
) -> None:
    """Start a donation campaign (operators)."""
    try:
        data = CampaignCreate(
            slug=slug,
            source=source,
            purpose=purpose,
            target_donors=target,
            title=title,
            title_ko=title_ko,
            explanation=explanation,
            explanation_ko=explanation_ko,
            starts_on=date.fromisoformat(start),
            ends_on=date.fromisoformat(end),
        )
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise invalid_options(exc, {"target_donors": "--target"}) from None
        raise fail(msg("--start and --end are dates written YYYY-MM-DD.")) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.create_campaign(session, actor=hub.actor(session, acting), data=data)
    console.print(say(msg("Campaign '{slug}' started.", slug=slug)))


@mydata_app.command("campaigns")
def campaigns(ctx: typer.Context, output_format: Format = OutputFormat.table) -> None:
    """Donation campaigns and their progress."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.list_campaigns(session)
    if output_format == OutputFormat.json:
        typer.echo(
            json.dumps([c.model_dump(mode="json") for c in found], ensure_ascii=False, indent=2)
        )
        return
    table = Table("campaign", "source", "purpose", "donors", "target", "until")
    for c in found:
        table.add_row(
            c.slug, c.source, c.purpose, str(c.donors), str(c.target_donors), c.ends_on.isoformat()
        )
    console.print(table)


@mydata_app.command("sweep")
def sweep(ctx: typer.Context) -> None:
    """Expire consents past their period, delete donations past retention, tell donors of new
    projects using their data (run it hourly)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        report = actions.sweep(session, settings=hub.settings, store=make_store(hub.settings))
    console.print(
        say(
            msg(
                "{expired} consents expired, {deleted} pools rebuilt after deletions, {notified} "
                "new project uses told to donors.",
                expired=report.expired,
                deleted=report.deleted,
                notified=report.notified,
            )
        )
    )


@mydata_app.command("counts")
def counts(ctx: typer.Context, acting: Acting) -> None:
    """Donors and active consents (operators; the control tower shows the same)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        if not actor.is_operator:
            raise fail(msg("Only the hub's operators see My Data's counts."))
        found = queries.donor_counts(session)
    typer.echo(found.model_dump_json(indent=2))
