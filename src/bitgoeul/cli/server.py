"""``bitgoeul serve`` and ``bitgoeul demo``: migrate, (for the demo) build the city, serve.

:func:`make_server` is the one way the hub is put behind uvicorn; the SDK tests run the server
it builds in a thread, so the path ``serve`` takes is the path the tests exercise.
"""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bitgoeul.app import create_app
from bitgoeul.cli.context import console, hub_of
from bitgoeul.config import Settings
from bitgoeul.db import upgrade
from bitgoeul.demo import DemoAccount, build_demo_city
from bitgoeul.demo.build import DEFAULT_PEOPLE, DEFAULT_SEED, demo_settings
from bitgoeul.demo.institutions import DEMO_PASSWORD

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

HostOption = Annotated[
    str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
]
PortOption = Annotated[int, typer.Option("--port", help="TCP port to listen on.")]


def make_server(
    settings: Settings, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Server:
    """Migrate the database, build the app for ``settings``, and wrap it in a uvicorn server.

    ``proxy_headers`` trusts ``X-Forwarded-*`` from the local reverse proxy only (uvicorn's
    default ``forwarded_allow_ips``), so client addresses in login throttling are real.
    """
    upgrade(settings)
    app = create_app(settings, migrate=False, run_jobs=True)
    config = uvicorn.Config(app, host=host, port=port, proxy_headers=True, log_level=log_level)
    return uvicorn.Server(config)


def serve(
    ctx: typer.Context, host: HostOption = DEFAULT_HOST, port: PortOption = DEFAULT_PORT
) -> None:
    """Run database migrations, then serve the web pages and the REST API."""
    hub = hub_of(ctx)
    server = make_server(hub.settings, host=host, port=port)
    console.print(f"Bitgoeul is serving at [bold]http://{host}:{port}/[/]  (Ctrl+C stops it)")
    server.run()


def demo(
    ctx: typer.Context,
    host: HostOption = DEFAULT_HOST,
    port: PortOption = DEFAULT_PORT,
    people: Annotated[
        int, typer.Option("--people", min=10, help="Synthetic residents of Gwangju to generate.")
    ] = DEFAULT_PEOPLE,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed: the same seed, the same city.")
    ] = DEFAULT_SEED,
    no_serve: Annotated[
        bool,
        typer.Option("--no-serve", help="Build the demo city, print the accounts, and exit."),
    ] = False,
) -> None:
    """Build the synthetic Gwangju demo city in the data directory, then serve it."""
    settings = demo_settings(hub_of(ctx).settings)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("Building the demo city", total=None)

        def report(step: str) -> None:
            progress.update(task, description=f"Building the demo city: {escape(step)}")

        summary = build_demo_city(settings, people=people, seed=seed, progress=report)
    if not summary.created:
        console.print(
            f"The demo city in {settings.resolved_data_dir} was already built "
            f"({summary.people:,} people, seed {summary.seed}); delete that directory to "
            "build another."
        )
    console.print(
        f"{len(summary.organizations)} organizations, {len(summary.datasets)} datasets. "
        f"The demo city is ready at [bold]http://{host}:{port}/[/]"
    )
    console.print(accounts_table(summary.accounts))
    console.print(f"Every demo account's password is [bold]{DEMO_PASSWORD}[/].")
    if no_serve:
        return
    make_server(settings, host=host, port=port).run()


def accounts_table(accounts: list[DemoAccount]) -> Table:
    table = Table(title="Demo accounts")
    table.add_column("username", style="bold", no_wrap=True)
    table.add_column("role")
    table.add_column("organization")
    for account in accounts:
        table.add_row(account.username, account.role, account.organization or "")
    return table
