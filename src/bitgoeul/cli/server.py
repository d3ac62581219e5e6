"""``bitgoeul serve``, ``bitgoeul worker`` and ``bitgoeul demo``: migrate, (for the demo)
build the city, serve; and run jobs.

:func:`make_server` is the one way the hub is put behind uvicorn; the SDK tests run the server
it builds in a thread, so the path ``serve`` takes is the path the tests exercise.  The server
only queues jobs; ``bitgoeul worker`` processes run them (any number, on one machine or more,
sharing ``BITGOEUL_JOB_CPUS`` and ``BITGOEUL_JOB_GPUS``).  ``bitgoeul demo`` starts one worker
beside its server.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bitgoeul.app import create_app, make_job_runner
from bitgoeul.civic.actions import escalate_overdue
from bitgoeul.cli.context import console, fail, hub_of
from bitgoeul.compute.executors import make_executor
from bitgoeul.compute.runner import JobRunner
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade
from bitgoeul.demo import DemoAccount, build_demo_city
from bitgoeul.demo.build import DEFAULT_PEOPLE, DEFAULT_SEED, demo_settings
from bitgoeul.demo.institutions import DEMO_PASSWORD
from bitgoeul.errors import BitgoeulError
from bitgoeul.mydata import actions as mydata_actions
from bitgoeul.storage import make_store
from bitgoeul.tower import actions as tower_actions

CIVIC_ESCALATION_SECONDS = 300.0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

HostOption = Annotated[
    str, typer.Option("--host", help="Address to listen on; 0.0.0.0 for every interface.")
]
PortOption = Annotated[int, typer.Option("--port", help="TCP port to listen on.")]


def make_server(
    settings: Settings, *, host: str, port: int, log_level: str = "info", run_jobs: bool = False
) -> uvicorn.Server:
    """Migrate the database, build the app for ``settings``, and wrap it in a uvicorn server.
    ``run_jobs`` runs a worker in the server's own process (the tests' live hub).

    ``X-Forwarded-*`` is believed only from ``BITGOEUL_TRUSTED_PROXIES`` (none by default),
    the same rule the app applies, so client addresses in login throttling are real.
    """
    upgrade(settings)
    app = create_app(settings, migrate=False, run_jobs=run_jobs)
    proxies = list(settings.trusted_proxies)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        log_level=log_level,
    )
    return uvicorn.Server(config)


def serve(
    ctx: typer.Context, host: HostOption = DEFAULT_HOST, port: PortOption = DEFAULT_PORT
) -> None:
    """Run database migrations, then serve the web pages and the REST API (jobs are queued
    here and run by `bitgoeul worker`)."""
    hub = hub_of(ctx)
    server = make_server(hub.settings, host=host, port=port)
    console.print(f"Bitgoeul is serving at [bold]http://{host}:{port}/[/]  (Ctrl+C stops it)")
    console.print("Jobs are queued here; run `bitgoeul worker` (one or more) to run them.")
    server.run()


def _daily_snapshot(runner: JobRunner) -> None:
    """Take the tower's snapshot of the day unless it exists; a failure is logged, never
    stops the worker (the next check tries again)."""
    try:
        with runner.sessions() as session:
            tower_actions.snapshot_if_missing(session)
    except Exception:
        logging.getLogger(__name__).exception("the control tower's daily snapshot failed")


def escalate_overdue_triage(sessions: sessionmaker[Session]) -> None:
    """Tell operators of civic triage past its deadline (``civic.actions.escalate_overdue``);
    a database hiccup is printed and the worker carries on with its jobs."""
    try:
        with sessions() as session:
            escalated = [problem.id for problem in escalate_overdue(session)]
    except (SQLAlchemyError, BitgoeulError) as exc:
        console.print(f"Could not escalate overdue civic triage: {escape(str(exc))}")
        return
    for problem_id in escalated:
        console.print(f"Civic problem #{problem_id}: triage past its deadline, operators told.")


def sweep_my_data(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Expire consents past their period, delete donations past their retention and tell
    donors of new projects (``mydata.actions.sweep``); a failure is logged, never stops the
    worker (the next round tries again)."""
    try:
        with sessions() as session:
            report = mydata_actions.sweep(session, settings=settings, store=make_store(settings))
    except Exception:
        logging.getLogger(__name__).exception("the My Data sweep failed")
        return
    if report.expired or report.deleted:
        console.print(
            f"My Data: {report.expired} consents expired, donations deleted after their "
            f"retention from {report.deleted} sources."
        )


def worker(
    ctx: typer.Context,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between looks at the queue.")
    ] = 0.5,
) -> None:
    """Run queued jobs in the sandbox until stopped (Ctrl+C or SIGTERM cancels what runs).

    Every worker shares one limit, BITGOEUL_JOB_CPUS cores and BITGOEUL_JOB_GPUS GPUs among all
    running jobs; start as many workers as you have machines."""
    settings = hub_of(ctx).settings
    upgrade(settings)
    executor = make_executor(settings)
    support = executor.support()
    if not support.available:
        raise fail(f"This machine cannot run jobs: {support.reason}.")
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    runner = make_job_runner(settings, sessions, make_store(settings), executor)
    runner.poll_seconds = poll
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    runner.start()
    console.print(
        f"Worker {escape(runner.worker_id)} runs jobs on the {executor.name} executor "
        f"({settings.job_cpus} cores, {settings.job_gpus} GPUs among all workers). "
        "Ctrl+C stops it."
    )
    try:
        # Between jobs, the worker also tells operators of civic triage past its deadline,
        # sweeps My Data (expiry, deletion after retention, new uses) and takes the control
        # tower's daily snapshot when the day has none.
        while True:
            _daily_snapshot(runner)
            if stop.wait(CIVIC_ESCALATION_SECONDS):
                break
            escalate_overdue_triage(sessions)
            sweep_my_data(settings, sessions)
    finally:
        console.print("Stopping: running jobs are cancelled and recorded.")
        runner.stop()
        engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    server = make_server(settings, host=host, port=port)
    with _demo_worker(settings):
        server.run()


@contextmanager
def _demo_worker(settings: Settings) -> Iterator[None]:
    """A `bitgoeul worker` process beside the demo's server, for as long as it serves."""
    support = make_executor(settings).support()
    if not support.available:
        console.print(f"Jobs will not run in this demo: {escape(support.reason)}.")
        yield
        return
    env = {
        **os.environ,
        "BITGOEUL_DATA_DIR": str(settings.resolved_data_dir),
        "BITGOEUL_ENVIRONMENT": settings.environment.value,
    }
    if settings.database_url:
        env["BITGOEUL_DATABASE_URL"] = settings.database_url
    process = subprocess.Popen([sys.executable, "-m", "bitgoeul.cli", "worker"], env=env)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def accounts_table(accounts: list[DemoAccount]) -> Table:
    table = Table(title="Demo accounts")
    table.add_column("username", style="bold", no_wrap=True)
    table.add_column("role")
    table.add_column("organization")
    for account in accounts:
        table.add_row(account.username, account.role, account.organization or "")
    return table
