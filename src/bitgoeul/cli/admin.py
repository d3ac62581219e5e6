"""Running the hub: ``bitgoeul db upgrade``, ``bitgoeul config``, ``bitgoeul audit verify``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from bitgoeul.audit.queries import verify_chain
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
