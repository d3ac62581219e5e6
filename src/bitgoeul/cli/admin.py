"""Running the hub: ``bitgoeul db upgrade``, ``bitgoeul config``, ``bitgoeul audit verify|list``.

``audit list`` reads through ``accounts.queries.list_audit_events``, as ``GET /api/v1/audit``
does, so each user sees exactly the entries the API shows them.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bitgoeul.accounts.queries import list_audit_events
from bitgoeul.audit.queries import verify_chain
from bitgoeul.audit.schemas import AuditEventPublic
from bitgoeul.cli.context import console, fail, hub_of
from bitgoeul.db import upgrade

db_app = typer.Typer(help="The hub's database (SQLite in the data dir, or PostgreSQL).")
audit_app = typer.Typer(help="The append-only, hash-chained audit log.")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply every pending migration (safe to run again; ``serve`` runs it too)."""
    settings = hub_of(ctx).settings
    upgrade(settings)
    console.print(f"Database [bold]{escape(settings.masked()['database'])}[/] is up to date.")


def config(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = (
        False
    ),
) -> None:
    """Show the settings in effect, with secrets and database passwords masked."""
    shown = hub_of(ctx).settings.masked()
    if as_json:
        console.print_json(json.dumps(shown, default=str))
        return
    table = Table(title="Bitgoeul settings (BITGOEUL_* environment variables)")
    table.add_column("setting", style="bold")
    table.add_column("environment variable")
    table.add_column("value")
    for name, value in shown.items():
        env = f"BITGOEUL_{name.upper()}" if name != "database" else "(resolved database_url)"
        table.add_row(name, env, escape(str(value)))
    console.print(table)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the audit log and check every entry's hash link; exit 1 at the first break."""
    with hub_of(ctx).session() as session:
        report = verify_chain(session)
    if not report.ok:
        raise fail(
            f"The audit log is broken at entry {report.first_broken_seq}: {report.reason} "
            f"({report.checked} entries before it are intact). Restore the database from a "
            "backup and compare."
        )
    console.print(f"The audit log is intact: {report.checked} entries checked.")


@audit_app.command("list")
def audit_list(
    ctx: typer.Context,
    acting: Annotated[str, typer.Option("--as", help="The user reading the log.")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Only entries about this dataset (slug).")
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help="Only this action, or a family of them ('query')."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=500, help="Show at most this many.")
    ] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many newest.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = (
        False
    ),
) -> None:
    """List the audit entries you may read, newest first: stewards see every use of their
    organization's data, operators everything, everyone else their own actions."""
    hub = hub_of(ctx)
    with hub.session() as session:
        events = [
            AuditEventPublic.model_validate(event)
            for event in list_audit_events(
                session,
                actor=hub.actor(session, acting),
                dataset=dataset,
                action=action,
                limit=limit,
                offset=offset,
            )
        ]
    if as_json:
        typer.echo(
            json.dumps([e.model_dump(mode="json") for e in events], indent=2, ensure_ascii=False)
        )
        return
    table = Table(
        title=f"{len(events)} audit {'entry' if len(events) == 1 else 'entries'}, newest first"
    )
    table.add_column("seq", justify="right")
    table.add_column("at (UTC)", no_wrap=True)
    table.add_column("actor", no_wrap=True)
    table.add_column("action", no_wrap=True)
    table.add_column("outcome")
    table.add_column("resource", overflow="fold")
    table.add_column("detail", overflow="fold", ratio=1, min_width=24)
    for event in events:
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M"),
            escape(event.actor_name),
            escape(event.action),
            event.outcome,
            escape(f"{event.resource_type} {event.resource_id}".strip()),
            escape(", ".join(f"{k}={_short(v)}" for k, v in event.detail.items())),
        )
    console.print(table)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 24 else text[:23] + "…"
