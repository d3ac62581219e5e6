"""``bitgoeul job|credits``: jobs next to the data, their release review, compute credits.

The same steps a researcher, a steward and an operator take through ``compute/api.py``: submit
a bundle of code (``compute.actions.submit_job``), follow its log, cancel it, ask for held
outputs to be released and review that release, grant credits (``compute.actions``) and read
them (``compute.queries``).  The checks, audit entries, notifications and credit movements are
theirs; these commands only parse, call and print.

Jobs are run by the scheduler that ``bitgoeul serve`` starts.  ``job submit --wait`` runs the
same scheduler (``compute.runner.JobRunner``) in this process instead, until the hub's queue is
empty: for a hub whose server is not running, a workstation or a script.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.app import make_job_runner
from bitgoeul.cli.context import Hub, console, fail, hub_of, invalid_options
from bitgoeul.client._bundle import bundle_for
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import queries as compute_queries
from bitgoeul.compute.executors import Executor, make_executor
from bitgoeul.compute.models import FINISHED, ReleaseStatus, ReviewVerdict
from bitgoeul.compute.schemas import (
    CreditBalance,
    CreditEntryPublic,
    CreditGrant,
    JobPublic,
    JobSpec,
    ReleasePublic,
    Resources,
)
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.storage import make_store

job_app = typer.Typer(help="Jobs: your code, run in a sandbox next to the data.")
credits_app = typer.Typer(help="Compute credits: the CPU-hours and GPU-hours jobs are paid from.")

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]
JobId = Annotated[int, typer.Argument(help="The job's number.")]
FOLLOW_POLL_SECONDS = 0.5


# Submitting ------------------------------------------------------------------------------


@job_app.command("submit")
def job_submit(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Argument(help="The folder of code, or a .zip or .tar.gz archive of it.")
    ],
    acting: AsUser,
    project: Annotated[int, typer.Option("--project", help="The project the job is for.")],
    entrypoint: Annotated[
        str, typer.Option("--entrypoint", help="The Python file to run, relative to the code.")
    ],
    dataset: Annotated[
        list[str] | None,
        typer.Option("--dataset", help="A dataset the job reads (slug, or slug@version); repeat."),
    ] = None,
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", help="An argument for the entry point; repeat, in order."),
    ] = None,
    environment: Annotated[
        str, typer.Option("--environment", help="The Python environment to run in.")
    ] = "default",
    cpus: Annotated[int, typer.Option("--cpus", help="CPU cores.")] = 1,
    memory_mb: Annotated[int, typer.Option("--memory-mb", help="Memory, in MB.")] = 2048,
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs.")] = 0,
    time_limit: Annotated[
        int, typer.Option("--time-limit", help="Seconds the job may run before it is stopped.")
    ] = 3600,
    name: Annotated[str, typer.Option("--name", help="What the job is called.")] = "",
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Run the hub's queued jobs in this process until done."),
    ] = False,
) -> None:
    """Submit a job: the hub checks it, reserves its credits and queues it."""
    try:
        resources = Resources(cpus=cpus, memory_mb=memory_mb, gpus=gpus, time_limit_s=time_limit)
    except ValidationError as exc:
        raise invalid_options(exc, {"time_limit_s": "--time-limit"}) from None
    try:
        spec = JobSpec(
            project=project,
            datasets=dataset or [],
            entrypoint=entrypoint,
            arguments=arg or [],
            environment=environment,
            resources=resources,
            name=name,
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"datasets": "--dataset", "arguments": "--arg"}) from None
    hub = hub_of(ctx)
    executor = make_executor(hub.settings)
    with tempfile.TemporaryDirectory(prefix="bitgoeul-bundle-") as folder:
        try:
            bundle = bundle_for(source, Path(folder))
        except ValueError as exc:
            raise fail(str(exc)) from None
        with hub.session() as session:
            actor = hub.actor(session, acting)
            job = compute_actions.submit_job(
                session,
                settings=hub.settings,
                executor=executor,
                actor=actor,
                spec=spec,
                bundle_path=bundle,
            )
            shown = compute_queries.job_public(session, job, actor=actor)
    console.print(
        f"Submitted job [bold]{shown.id}[/] ({shown.status.value}) for project {shown.project}"
        f"{_datasets_phrase(shown)}; it reserved {_hours(shown.reserved_cpu_hours)} CPU-hours"
        + (f" and {_hours(shown.reserved_gpu_hours)} GPU-hours" if shown.reserved_gpu_hours else "")
        + "."
    )
    if shown.release_status == ReleaseStatus.held:
        console.print(
            "It uses restricted or secure data: its outputs, log included, are held until you "
            f"ask for their release (bitgoeul job release {shown.id}) and the stewards approve."
        )
    if not wait:
        console.print(
            f"It runs when 'bitgoeul serve' runs the hub's jobs; follow it with: "
            f"bitgoeul job logs {shown.id} --follow --as {escape(acting)}"
        )
        return
    final = _run_until_finished(hub, executor, shown.id, acting)
    console.print(_outcome_line(final))
    if final.outputs:
        console.print(_outputs_table(final))


def _run_until_finished(hub: Hub, executor: Executor, job_id: int, acting: str) -> JobPublic:
    """Run the scheduler here until nothing is queued or running, then the job as it ended."""
    engine = make_engine(hub.settings)
    try:
        store = make_store(hub.settings)
        runner = make_job_runner(hub.settings, make_sessionmaker(engine), store, executor)
        try:
            runner.run_until_idle(timeout=math.inf)
        except KeyboardInterrupt:
            runner.stop()  # the jobs it started are stopped and recorded as cancelled
            raise fail(
                f"Interrupted: job {job_id} and any other job this command was running were "
                "stopped."
            ) from None
    finally:
        engine.dispose()
    # A server's scheduler may have claimed the job instead: wait for it to end there.
    while True:
        with hub.session() as session:
            actor = hub.actor(session, acting)
            shown = compute_queries.job_public(
                session, compute_queries.get_job(session, actor=actor, job_id=job_id), actor=actor
            )
        if shown.status in FINISHED:
            return shown
        time.sleep(FOLLOW_POLL_SECONDS)


def _outcome_line(job: JobPublic) -> str:
    status = job.status.value.replace("_", " ")
    code = "" if job.exit_code is None else f" (exit code {job.exit_code})"
    reason = f": {escape(job.reason)}" if job.reason else ""
    line = f"Job {job.id} [bold]{status}[/]{code}{reason}."
    if job.used_cpu_hours is not None:
        line += f" It used {_hours(job.used_cpu_hours)} CPU-hours"
        if job.used_gpu_hours:
            line += f" and {_hours(job.used_gpu_hours)} GPU-hours"
        line += "; the rest of its reservation was refunded."
    if job.release_status == ReleaseStatus.held:
        line += f" Its outputs are held: ask for their release with bitgoeul job release {job.id}."
    return line


# Reading ---------------------------------------------------------------------------------


@job_app.command("list")
def job_list(
    ctx: typer.Context,
    acting: AsUser,
    project: Annotated[
        int | None, typer.Option("--project", help="Only this project's jobs.")
    ] = None,
) -> None:
    """List your projects' jobs, newest first (an operator sees every job)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        found = compute_queries.list_jobs(session, actor=actor, project_id=project)
        shown = [compute_queries.job_public(session, job, actor=actor) for job in found]
    table = Table(title=f"{len(shown)} {'job' if len(shown) == 1 else 'jobs'}")
    table.add_column("id", justify="right")
    for column in ("name", "project", "status", "datasets", "submitted by", "created (UTC)"):
        table.add_column(column)
    table.add_column("outputs")
    for job in shown:
        table.add_row(
            str(job.id),
            escape(job.name),
            str(job.project),
            job.status.value,
            escape(_datasets(job)),
            escape(job.submitted_by or ""),
            job.created_at.strftime("%Y-%m-%d %H:%M"),
            _release_word(job.release_status),
        )
    console.print(table)


@job_app.command("show")
def job_show(ctx: typer.Context, job_id: JobId, acting: AsUser) -> None:
    """Show a job: how it ended, what it used, its provenance, outputs, checks and release."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        job = compute_queries.get_job(session, actor=actor, job_id=job_id)
        shown = compute_queries.job_public(session, job, actor=actor)
        release = compute_queries.release_public(session, job, actor=actor)
    table = Table(title=f"Job {shown.id}" + (f": {escape(shown.name)}" if shown.name else ""))
    table.show_header = False
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    resources = shown.resources
    used = (
        "not yet settled"
        if shown.used_cpu_hours is None
        else f"{_hours(shown.used_cpu_hours)} CPU-hours, {_hours(shown.used_gpu_hours)} GPU-hours"
    )
    for field, value in (
        ("status", shown.status.value),
        ("reason", shown.reason or ""),
        ("exit code", "" if shown.exit_code is None else str(shown.exit_code)),
        ("project", str(shown.project)),
        ("submitted by", f"{shown.submitted_by or 'a former user'} ({shown.organization})"),
        ("entry point", " ".join([shown.entrypoint, *shown.arguments])),
        ("environment", f"{shown.environment} on the {shown.executor} executor"),
        (
            "resources",
            f"{resources.cpus} CPU(s), {resources.memory_mb} MB, {resources.gpus} GPU(s), "
            f"{resources.time_limit_s} s time limit",
        ),
        ("datasets", _datasets(shown) or "none"),
        ("code sha256", shown.code_sha256),
        (
            "credits reserved",
            f"{_hours(shown.reserved_cpu_hours)} CPU-hours, "
            f"{_hours(shown.reserved_gpu_hours)} GPU-hours",
        ),
        ("credits used", used),
        ("cpu time", "" if shown.cpu_seconds is None else f"{shown.cpu_seconds:.1f} s"),
        ("created", _when(shown.created_at)),
        ("started", _when(shown.started_at)),
        ("finished", _when(shown.finished_at)),
        ("outputs", _release_word(shown.release_status)),
    ):
        table.add_row(field, escape(value))
    console.print(table)
    if shown.outputs:
        console.print(_outputs_table(shown))
    findings = _findings(shown.checks)
    if findings:
        console.print(_findings_table(findings, blocked=bool(shown.checks.get("blocked"))))
    elif shown.checks:
        console.print("Automatic checks: nothing found, nothing blocked.")
    if shown.release_status != ReleaseStatus.not_required:
        _print_release(release)


def _findings(checks: dict[str, Any]) -> list[dict[str, Any]]:
    found = [f for file in checks.get("files", []) for f in file.get("findings", [])]
    if checks.get("error"):
        found.append(
            {"file": "", "check": "error", "severity": "block", "message": checks["error"]}
        )
    return found


def _findings_table(findings: list[dict[str, Any]], *, blocked: bool) -> Table:
    verdict = "some outputs are blocked" if blocked else "nothing blocked"
    table = Table(title=f"Automatic checks: {verdict} ({len(findings)} findings)")
    for column in ("file", "check", "severity", "finding"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        table.add_row(
            escape(str(finding.get("file", ""))),
            escape(str(finding.get("check", ""))),
            escape(str(finding.get("severity", ""))),
            escape(str(finding.get("message", ""))),
        )
    return table


def _print_release(release: ReleasePublic) -> None:
    status = release.release_status.value.replace("_", " ")
    line = f"Release: {status}"
    if release.round is not None:
        line += f", round {release.round} asked by {release.requested_by or 'a former user'}"
    if release.waiting_for:
        line += f"; waiting for {', '.join(release.waiting_for)}"
    console.print(escape(line) + ".")
    if release.blocked_files:
        console.print(
            escape(
                "Blocked by the automatic checks (cannot be approved): "
                + ", ".join(release.blocked_files)
            )
        )
    if release.context:
        console.print(escape(f"The requester's context: {release.context}"))
    if release.decisions:
        decisions = Table(title="Decisions this round")
        for column in ("organization", "reviewer", "verdict", "comment"):
            decisions.add_column(column, overflow="fold")
        for decision in release.decisions:
            decisions.add_row(
                escape(decision.organization),
                escape(decision.reviewer or ""),
                decision.verdict.value,
                escape(decision.comment),
            )
        console.print(decisions)


@job_app.command("logs")
def job_logs(
    ctx: typer.Context,
    job_id: JobId,
    acting: AsUser,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job has finished.")
    ] = False,
) -> None:
    """Print a job's log (what it printed); with --follow, as it runs."""
    hub = hub_of(ctx)
    offset = 0
    store = make_store(hub.settings)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        while True:
            log = compute_actions.read_log(
                session,
                settings=hub.settings,
                store=store,
                actor=actor,
                job_id=job_id,
                offset=offset,
            )
            session.rollback()  # end the read, so the next one sees the runner's writes
            if log.text:
                typer.echo(log.text, nl=False)
            offset = log.next_offset
            if log.text and log.next_offset > log.offset:
                continue  # more may be waiting beyond this chunk
            if log.finished or not follow:
                return
            time.sleep(FOLLOW_POLL_SECONDS)


@job_app.command("cancel")
def job_cancel(ctx: typer.Context, job_id: JobId, acting: AsUser) -> None:
    """Cancel a queued job (refunded in full), or stop a running one."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        job = compute_actions.cancel_job(session, actor=actor, job_id=job_id)
        shown = compute_queries.job_public(session, job, actor=actor)
    if shown.status in FINISHED:
        console.print(
            f"Cancelled job {shown.id} before it started; its "
            f"{_hours(shown.reserved_cpu_hours)} reserved CPU-hours were refunded."
        )
    else:
        console.print(
            f"Asked the scheduler to stop job {shown.id}; it stops within a second while "
            "'bitgoeul serve' runs the jobs, and is charged only for the time it ran."
        )


@job_app.command("outputs")
def job_outputs(
    ctx: typer.Context,
    job_id: JobId,
    acting: AsUser,
    download: Annotated[
        Path | None,
        typer.Option("--download", file_okay=False, help="Copy every output into this folder."),
    ] = None,
) -> None:
    """List a job's outputs (the SHA-256 manifest); with --download, copy them out."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        job = compute_queries.get_job(session, actor=actor, job_id=job_id)
        shown = compute_queries.job_public(session, job, actor=actor)
        if download is not None and shown.outputs_held:
            raise fail(compute_queries.held_message(job))
        console.print(_outputs_table(shown))
        if download is None:
            return
        store = make_store(hub.settings)
        written = []
        for output in shown.outputs:
            opened = compute_actions.open_output(
                session,
                settings=hub.settings,
                store=store,
                actor=actor,
                job_id=job_id,
                name=output.path,
            )
            with opened[0] as source:
                written.append(_copy_out(source, download, output.path))
    console.print(f"Copied {len(written)} file(s) into {escape(str(download))}.")


def _copy_out(source: BinaryIO, folder: Path, name: str) -> Path:
    target = folder / name
    if not target.resolve().is_relative_to(folder.resolve()):
        raise fail(f"The output {name!r} would land outside {folder}; nothing more was copied.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as copy:
            shutil.copyfileobj(source, copy)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise fail(f"Cannot write {target}: {exc.strerror}.") from None
    return target


def _outputs_table(job: JobPublic) -> Table:
    table = Table(
        title=f"Outputs of job {job.id} ({_release_word(job.release_status)})",
        caption=f"{len(job.outputs)} file(s)",
    )
    table.add_column("file", overflow="fold")
    table.add_column("bytes", justify="right")
    table.add_column("sha256", no_wrap=True)
    for output in job.outputs:
        table.add_row(escape(output.path), str(output.bytes), output.sha256)
    return table


# The release review ----------------------------------------------------------------------


@job_app.command("release")
def job_release(
    ctx: typer.Context,
    job_id: JobId,
    acting: AsUser,
    context: Annotated[
        str,
        typer.Option(
            "--context",
            help="What the job writes (each kind of file) and why it is safe to release.",
        ),
    ],
) -> None:
    """Ask for a held job's outputs to be released, saying what it writes and why it is safe
    (you see the outputs themselves only once they are released)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        compute_actions.request_release(session, actor=actor, job_id=job_id, context=context)
        job = compute_queries.get_job(session, actor=actor, job_id=job_id)
        release = compute_queries.release_public(session, job, actor=actor)
    console.print(
        f"Asked for the release of job {job_id}'s outputs (round {release.round}); waiting for "
        f"{escape(', '.join(release.waiting_for))}, whose stewards have been notified."
    )


@job_app.command("review")
def job_review(
    ctx: typer.Context,
    job_id: JobId,
    acting: AsUser,
    approve: Annotated[
        bool, typer.Option("--approve", help="Release the outputs, for your organization.")
    ] = False,
    reject: Annotated[
        bool, typer.Option("--reject", help="Refuse them for good (say why in --comment).")
    ] = False,
    return_: Annotated[
        bool,
        typer.Option("--return", help="Send them back with comments (say what in --comment)."),
    ] = False,
    comment: Annotated[
        str, typer.Option("--comment", help="For the requester: what to change, or why not.")
    ] = "",
) -> None:
    """Decide on a release for your organization: approve, reject or return it."""
    chosen = [
        verdict
        for verdict, given in (
            (ReviewVerdict.approve, approve),
            (ReviewVerdict.reject, reject),
            (ReviewVerdict.return_, return_),
        )
        if given
    ]
    if len(chosen) != 1:
        raise fail("Give exactly one of --approve, --reject and --return.")
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        job = compute_actions.review_release(
            session,
            actor=actor,
            job_id=job_id,
            verdict=chosen[0],
            comment=comment,
        )
        release = compute_queries.release_public(session, job, actor=actor)
    status = release.release_status.value.replace("_", " ")
    line = f"Recorded your organization's decision ({chosen[0].value}): job {job_id}'s outputs are "
    line += f"now {status}"
    if release.waiting_for:
        line += f", waiting for {', '.join(release.waiting_for)}"
    console.print(escape(line) + ". The project's members have been notified.")


@job_app.command("reviews")
def job_reviews(ctx: typer.Context, acting: AsUser) -> None:
    """List the releases waiting for your organization's decision (operators: all in review)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        waiting = compute_queries.review_queue(session, actor=actor)
        rows = [
            (
                compute_queries.job_public(session, job, actor=actor),
                compute_queries.release_public(session, job, actor=actor),
            )
            for job in waiting
        ]
    table = Table(title=f"Releases waiting for review ({len(rows)})", show_lines=True)
    table.add_column("job", justify="right")
    for column in ("project", "asked by", "datasets", "files", "context", "checks"):
        table.add_column(column, overflow="fold")
    for job, release in rows:
        files = "\n".join(f"{o.path} ({o.bytes} bytes)" for o in job.outputs)
        table.add_row(
            str(job.id),
            str(job.project),
            escape(release.requested_by or ""),
            escape(_datasets(job)),
            escape(files),
            escape(release.context),
            escape("blocked: " + ", ".join(release.blocked_files))
            if release.blocked_files
            else "nothing blocked",
        )
    console.print(table)
    if rows:
        console.print(
            "Read a file with: bitgoeul job outputs ID --download FOLDER --as "
            f"{escape(acting)}; then: bitgoeul job review ID --approve (or --reject, --return "
            "with --comment)."
        )


# Credits ---------------------------------------------------------------------------------


@credits_app.command("show")
def credits_show(
    ctx: typer.Context,
    acting: AsUser,
    organization: Annotated[
        str | None,
        typer.Option("--organization", help="Another organization (operators only), by slug."),
    ] = None,
) -> None:
    """Show your organization's balance and every movement of its credits."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        org = compute_queries.organization_for(session, actor=actor, slug=organization)
        account = compute_queries.balance(session, org.id)
        shown = CreditBalance(
            organization=org.slug,
            cpu_hours=account.cpu_hours,
            gpu_hours=account.gpu_hours,
            history=[CreditEntryPublic.of(e) for e in compute_queries.history(session, org.id)],
        )
    _print_balance(shown)


@credits_app.command("grant")
def credits_grant(
    ctx: typer.Context,
    organization: Annotated[str, typer.Argument(help="The organization receiving (its slug).")],
    acting: AsUser,
    cpu_hours: Annotated[
        str, typer.Option("--cpu-hours", help="CPU-hours to add (negative: withdraw unused).")
    ] = "0",
    gpu_hours: Annotated[
        str, typer.Option("--gpu-hours", help="GPU-hours to add (negative: withdraw unused).")
    ] = "0",
    note: Annotated[str, typer.Option("--note", help="Why, for the ledger.")] = "",
) -> None:
    """Grant (or withdraw) an organization's compute credits; operators only."""
    try:
        grant = CreditGrant.model_validate(
            {
                "organization": organization,
                "cpu_hours": cpu_hours.strip() or "0",
                "gpu_hours": gpu_hours.strip() or "0",
                "note": note,
            }
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"organization": "ORGANIZATION"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        account = compute_actions.grant_credits(
            session,
            actor=hub.actor(session, acting),
            organization_slug=grant.organization,
            cpu_hours=grant.cpu_hours,
            gpu_hours=grant.gpu_hours,
            note=grant.note,
        )
        balance = (account.cpu_hours, account.gpu_hours)
    console.print(
        f"Granted {escape(grant.organization)} {_hours(grant.cpu_hours)} CPU-hours and "
        f"{_hours(grant.gpu_hours)} GPU-hours; it now has {_hours(balance[0])} CPU-hours and "
        f"{_hours(balance[1])} GPU-hours."
    )


def _print_balance(shown: CreditBalance) -> None:
    console.print(
        f"[bold]{escape(shown.organization)}[/] has {_hours(shown.cpu_hours)} CPU-hours and "
        f"{_hours(shown.gpu_hours)} GPU-hours left."
    )
    table = Table(title=f"Credit history ({len(shown.history)}, newest first)")
    table.add_column("time (UTC)")
    table.add_column("kind")
    table.add_column("hours", justify="right")
    table.add_column("balance after", justify="right")
    table.add_column("reason")
    table.add_column("job", justify="right")
    table.add_column("note", overflow="fold")
    for entry in shown.history:
        table.add_row(
            _when(entry.created_at),
            entry.kind.value,
            _hours(entry.hours),
            _hours(entry.balance_after),
            entry.reason.replace("_", " "),
            "" if entry.job is None else str(entry.job),
            escape(entry.note),
        )
    console.print(table)


# Formatting ------------------------------------------------------------------------------


def _hours(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _when(value: Any) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def _datasets(job: JobPublic) -> str:
    return ", ".join(f"{d.get('slug')} v{d.get('version')}" for d in job.datasets)


def _datasets_phrase(job: JobPublic) -> str:
    text = _datasets(job)
    return f" on {escape(text)}" if text else ""


def _release_word(status: ReleaseStatus) -> str:
    return {
        ReleaseStatus.not_required: "yours",
        ReleaseStatus.held: "held",
        ReleaseStatus.in_review: "in review",
        ReleaseStatus.returned: "returned",
        ReleaseStatus.released: "released",
        ReleaseStatus.rejected: "rejected",
    }[status]
