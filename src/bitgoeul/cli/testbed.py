"""``bitgoeul testbed``: the AI+ testbed's benchmark tasks from the shell.

The steps participants, organizers and operators take through ``testbed/api.py``: list and read
tasks, open a team and invite teammates (who accept or decline), accept a task's terms,
download the test inputs, submit predictions (scored at
once) or a model (run as a job, scored when it ends), read the leaderboards and a team's
history, set up a task, and re-run a submission.  The checks, audit entries and scoring are
``testbed.actions`` and ``testbed.queries``; these commands only parse, call and print.

``submit --wait`` and ``rerun --wait`` run the hub's scheduler (``compute.runner.JobRunner``,
with the testbed's scoring hook) in this process until the queue is empty, as ``job submit
--wait`` does.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.app import make_job_runner
from bitgoeul.cli.context import Hub, console, fail, hub_of, invalid_options
from bitgoeul.client._bundle import bundle_for, is_archive
from bitgoeul.compute.executors import Executor, make_executor
from bitgoeul.compute.schemas import Resources
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.errors import TooLarge
from bitgoeul.messages import validation_problems
from bitgoeul.storage import make_store
from bitgoeul.testbed import actions, queries
from bitgoeul.testbed.access import get_task
from bitgoeul.testbed.models import SubmissionStatus, TestbedRerun, TestbedTask
from bitgoeul.testbed.schemas import (
    InvitationPublic,
    Leaderboard,
    ModelSpec,
    RerunPublic,
    SubmissionPublic,
    TaskCreate,
    TaskUpdate,
)

testbed_app = typer.Typer(
    help="The AI+ testbed: benchmark tasks, teams, submissions, leaderboards."
)

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]
TaskSlug = Annotated[str, typer.Argument(help="The task's slug, e.g. next-day-demand.")]
SubmissionId = Annotated[int, typer.Argument(help="The submission's number.")]
InvitationId = Annotated[int, typer.Argument(help="The invitation's number.")]
AcceptTerms = Annotated[
    bool,
    typer.Option("--accept-terms", help="Accept the task's terms (read them with 'show')."),
]
POLL_SECONDS = 0.5


# Tasks -----------------------------------------------------------------------------------


@testbed_app.command("tasks")
def list_tasks(ctx: typer.Context) -> None:
    """List the benchmark tasks, newest deadline first."""
    hub = hub_of(ctx)
    with hub.session() as session:
        shown = [queries.task_public(session, task) for task in queries.list_tasks(session)]
    table = Table(title=f"{len(shown)} testbed {'task' if len(shown) == 1 else 'tasks'}")
    for column in ("task", "title", "organizer", "metric", "phase", "deadline (UTC)"):
        table.add_column(column, overflow="fold")
    table.add_column("teams", justify="right")
    table.add_column("submissions", justify="right")
    for task in shown:
        table.add_row(
            task.slug,
            escape(task.title),
            task.organizer,
            task.metric,
            task.phase.value,
            _when(task.deadline),
            str(task.teams),
            str(task.submissions),
        )
    console.print(table)


@testbed_app.command("show")
def show_task(ctx: typer.Context, task: TaskSlug) -> None:
    """Show a task: the problem, the metric, the test set's columns, phases, limits and teams."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = get_task(session, task)
        shown = queries.task_public(session, found)
        teams = queries.list_teams(session, found)
    table = Table(title=f"{escape(shown.title)} ({shown.slug})")
    table.show_header = False
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    submissions = ", ".join(
        kind
        for kind, taken in (
            ("predictions files", shown.accepts_predictions),
            ("model bundles", shown.accepts_models),
        )
        if taken
    )
    for field, value in (
        ("problem", shown.problem),
        ("organizer", shown.organizer),
        ("sector", shown.sector.value),
        ("phase", shown.phase.value),
        (
            "metric",
            f"{shown.metric}: {shown.metric_description} "
            f"({'higher' if shown.higher_is_better else 'lower'} is better)",
        ),
        ("test set", f"{shown.test_dataset} v{shown.test_version}, {shown.test_rows:,} rows"),
        ("id column", shown.id_column),
        ("input columns", ", ".join(shown.input_columns)),
        ("predict", f"'prediction' (the hidden column '{shown.label_column}')"),
        ("training data", ", ".join(shown.training_datasets) or "none named"),
        ("takes", submissions),
        ("model inputs", f"$BITGOEUL_INPUT_DIR/{shown.test_inputs_file}"),
        ("test set access", _access_needs(shown.test_access_level.value)),
        ("terms", shown.terms or "none"),
        ("daily limit", f"{shown.daily_limit} submissions per team per UTC day"),
        ("logs shown", "the last 4,000 characters" if shown.show_logs else "no"),
        ("public part", f"{shown.public_fraction:.0%} of the test rows"),
        ("opens", _when(shown.opens_at)),
        ("final phase", _when(shown.final_phase_at)),
        ("deadline", _when(shown.deadline)),
    ):
        table.add_row(field, escape(value))
    console.print(table)
    teams_table = Table(title=f"Teams ({len(teams)})")
    teams_table.add_column("id", justify="right")
    teams_table.add_column("team")
    teams_table.add_column("members", overflow="fold")
    for team in teams:
        name = f"{team.name} (baseline)" if team.is_organizer else team.name
        teams_table.add_row(str(team.id), escape(name), escape(", ".join(team.members)))
    console.print(teams_table)


@testbed_app.command("create")
def create_task(
    ctx: typer.Context,
    acting: AsUser,
    file: Annotated[
        Path,
        typer.Option("--file", help="The task as JSON (the fields of POST /api/v1/testbed/tasks)."),
    ],
) -> None:
    """Set up a benchmark task on a hidden test set (operators, stewards of its publisher)."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"--file {file}: cannot read it ({exc.strerror or exc}).") from None
    except json.JSONDecodeError as exc:
        raise fail(
            f"--file {file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    try:
        data = TaskCreate.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(validation_problems(exc, whole="the task"))
        raise fail(f"{file}: {problems}") from None
    hub = hub_of(ctx)
    with hub.session() as session:
        task = actions.create_task(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            data=data,
        )
        shown = queries.task_public(session, task)
    console.print(
        f"Created task [bold]{shown.slug}[/] on {shown.test_dataset} v{shown.test_version} "
        f"({shown.test_rows:,} rows, {shown.metric}); it is {shown.phase.value}. Your "
        f"organization's team '{actions.ORGANIZER_TEAM}' can submit a baseline: "
        f"bitgoeul testbed submit {shown.slug} PATH --as {escape(acting)}"
    )


def _read_text(option: str, path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{option} {path}: cannot read it ({exc.strerror or exc}).") from None
    except UnicodeDecodeError:
        raise fail(f"{option} {path}: not UTF-8 text.") from None


def _access_needs(level: str) -> str:
    if level in ("restricted", "secure"):
        return f"{level}: participants need an organization and must accept the terms"
    return f"{level}: any participant"


def _moment(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: '{value}' is not a time, e.g. 2026-12-31T18:00:00+09:00.") from None
    if moment.tzinfo is None:
        raise fail(f"{option}: give a time zone, e.g. 2026-12-31T18:00:00+09:00.")
    return moment


@testbed_app.command("update")
def update_task(
    ctx: typer.Context,
    task: TaskSlug,
    acting: AsUser,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="New deadline (ISO 8601 with a time zone).")
    ] = None,
    final_phase: Annotated[
        str | None, typer.Option("--final-phase", help="When the final phase starts.")
    ] = None,
    opens: Annotated[str | None, typer.Option("--opens", help="When the task opens.")] = None,
    daily_limit: Annotated[
        int | None, typer.Option("--daily-limit", min=1, help="Submissions per team per UTC day.")
    ] = None,
    show_logs: Annotated[
        bool | None,
        typer.Option("--show-logs/--hide-logs", help="Show model logs' last 4,000 characters."),
    ] = None,
    terms_file: Annotated[
        Path | None,
        typer.Option(
            "--terms-file", help="New terms (UTF-8 text); every participant accepts them again."
        ),
    ] = None,
) -> None:
    """Change a task's calendar, limits or terms (its organizer: stewards, operators)."""
    fields: dict[str, object] = {
        "deadline": _moment("--deadline", deadline),
        "final_phase_at": _moment("--final-phase", final_phase),
        "opens_at": _moment("--opens", opens),
        "daily_limit": daily_limit,
        "show_logs": show_logs,
        "terms": _read_text("--terms-file", terms_file),
    }
    chosen = {name: value for name, value in fields.items() if value is not None}
    if not chosen:
        raise fail(
            "Nothing to change: give --deadline, --final-phase, --opens, --daily-limit, "
            "--show-logs/--hide-logs or --terms-file."
        )
    hub = hub_of(ctx)
    with hub.session() as session:
        changed = actions.update_task(
            session,
            actor=hub.actor(session, acting),
            task_slug=task,
            data=TaskUpdate.model_validate(chosen),
        )
        shown = queries.task_public(session, changed)
    console.print(
        f"Task [bold]{shown.slug}[/] is {shown.phase.value}: final phase from "
        f"{_when(shown.final_phase_at)}, deadline {_when(shown.deadline)}, "
        f"{shown.daily_limit} submissions a day."
    )


# Teams -----------------------------------------------------------------------------------


@testbed_app.command("join")
def join_task(
    ctx: typer.Context,
    task: TaskSlug,
    acting: AsUser,
    team: Annotated[str, typer.Option("--team", help="Your new team's name.")],
    accept_terms: AcceptTerms = False,
) -> None:
    """Join a task by opening a team; invite teammates with 'invite'."""
    hub = hub_of(ctx)
    with hub.session() as session:
        created = actions.create_team(
            session,
            actor=hub.actor(session, acting),
            task_slug=task,
            name=team,
            accept_terms=accept_terms,
        )
        team_id, name = created.id, created.name
    console.print(
        f"Opened team [bold]{escape(name)}[/] ({team_id}) on task {task}. Invite teammates with: "
        f"bitgoeul testbed invite {task} USERNAME --as {escape(acting)}"
    )


@testbed_app.command("invite")
def invite(
    ctx: typer.Context,
    task: TaskSlug,
    username: Annotated[str, typer.Argument(help="The user to invite to your team.")],
    acting: AsUser,
) -> None:
    """Invite a user to your team on a task; they join only if they accept."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        mine = queries.my_team(session, actor=actor, task=get_task(session, task))
        if mine is None:
            raise fail(
                f"You are on no team of task {task}: open one with 'bitgoeul testbed join "
                f"{task} --team NAME' first."
            )
        invitation = actions.invite_to_team(
            session, actor=actor, task_slug=task, team_id=mine.id, username=username
        )
        number = invitation.id
    console.print(
        f"Invited {escape(username)} to team {escape(mine.name)} (invitation {number}); they "
        "were notified, and join when they accept."
    )


@testbed_app.command("invitations")
def list_invitations(ctx: typer.Context, acting: AsUser) -> None:
    """List the invitations sent to you, the waiting ones first."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.my_invitations(session, actor=hub.actor(session, acting))
    console.print(_invitations_table(found))
    if any(i.status.value == "pending" for i in found):
        console.print(
            f"Answer with: bitgoeul testbed accept NUMBER --as {escape(acting)} (or decline)"
        )


def _invitations_table(found: list[InvitationPublic]) -> Table:
    table = Table(
        title=f"{len(found)} testbed {'invitation' if len(found) == 1 else 'invitations'}"
    )
    table.add_column("number", justify="right")
    for column in ("task", "team", "invited by", "sent (UTC)", "status"):
        table.add_column(column, overflow="fold")
    for invitation in found:
        table.add_row(
            str(invitation.id),
            invitation.task,
            escape(invitation.team),
            escape(invitation.invited_by or ""),
            _when(invitation.created_at),
            invitation.status.value,
        )
    return table


@testbed_app.command("accept")
def accept_invitation(
    ctx: typer.Context, invitation: InvitationId, acting: AsUser, accept_terms: AcceptTerms = False
) -> None:
    """Accept an invitation and join its team (only its invitee may)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        team = actions.accept_invitation(
            session,
            actor=hub.actor(session, acting),
            invitation_id=invitation,
            accept_terms=accept_terms,
        )
        joined = session.get(TestbedTask, team.task_id)
        assert joined is not None  # noqa: S101 - CASCADE keeps them together
        name, task = team.name, joined.slug
    console.print(f"You joined team [bold]{escape(name)}[/] of task {task}.")


@testbed_app.command("decline")
def decline_invitation(ctx: typer.Context, invitation: InvitationId, acting: AsUser) -> None:
    """Decline an invitation (only its invitee may); the team does not invite you again."""
    hub = hub_of(ctx)
    with hub.session() as session:
        declined = actions.decline_invitation(
            session, actor=hub.actor(session, acting), invitation_id=invitation
        )
        number = declined.id
    console.print(f"Declined invitation {number}.")


@testbed_app.command("accept-terms")
def accept_task_terms(ctx: typer.Context, task: TaskSlug, acting: AsUser) -> None:
    """Accept a task's current terms, as a member of one of its teams (after they changed)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.accept_terms(
            session, actor=hub.actor(session, acting), task_slug=task, accept_terms=True
        )
    console.print(f"You accepted the terms of task {task}.")


# The test inputs -------------------------------------------------------------------------


@testbed_app.command("inputs")
def download_inputs(
    ctx: typer.Context,
    task: TaskSlug,
    acting: AsUser,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", help="The file, or a folder for it (default: this folder)."),
    ] = None,
) -> None:
    """Download the test inputs (never the label) to predict every row of; participants only."""
    if file_format not in ("csv", "parquet"):
        raise fail(f"--format {file_format!r}: choose csv or parquet.")
    hub = hub_of(ctx)
    with tempfile.TemporaryDirectory(prefix="bitgoeul-testbed-") as folder:
        with hub.session() as session:
            written = queries.write_test_inputs(
                session,
                settings=hub.settings,
                store=make_store(hub.settings),
                actor=hub.actor(session, acting),
                task_slug=task,
                dest=Path(folder),
                file_format=file_format,
            )
        target = output if output is not None else Path.cwd()
        if target.is_dir():
            target = target / written.name
        shutil.move(written, target)
    console.print(f"Wrote the test inputs of task {task} to {escape(str(target))}.")


# Submitting ------------------------------------------------------------------------------


@testbed_app.command("submit")
def submit(
    ctx: typer.Context,
    task: TaskSlug,
    source: Annotated[
        Path,
        typer.Argument(
            help="A predictions file (CSV or Parquet), or a model: a folder or .zip/.tar.gz."
        ),
    ],
    acting: AsUser,
    description: Annotated[
        str, typer.Option("--description", help="What this submission tries, for your team.")
    ] = "",
    entrypoint: Annotated[
        str, typer.Option("--entrypoint", help="A model: the Python file to run.")
    ] = "predict.py",
    arg: Annotated[
        list[str] | None,
        typer.Option("--arg", help="A model: an argument for the entry point; repeat, in order."),
    ] = None,
    environment: Annotated[
        str, typer.Option("--environment", help="A model: the Python environment to run in.")
    ] = "default",
    cpus: Annotated[int, typer.Option("--cpus", help="A model: CPU cores.")] = 1,
    memory_mb: Annotated[int, typer.Option("--memory-mb", help="A model: memory, in MB.")] = 2048,
    gpus: Annotated[int, typer.Option("--gpus", help="A model: GPUs.")] = 0,
    time_limit: Annotated[
        int, typer.Option("--time-limit", help="A model: seconds it may run.")
    ] = 1800,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="A model: run the hub's queued jobs here until it is scored."),
    ] = False,
) -> None:
    """Submit predictions (scored now) or a model (run on the test inputs, then scored)."""
    if source.is_file() and not is_archive(source):
        _submit_predictions(ctx, task, source, acting, description)
        return
    try:
        spec = ModelSpec(
            entrypoint=entrypoint,
            arguments=arg or [],
            environment=environment,
            resources=Resources(cpus=cpus, memory_mb=memory_mb, gpus=gpus, time_limit_s=time_limit),
            description=description,
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"time_limit_s": "--time-limit", "arguments": "--arg"}) from None
    hub = hub_of(ctx)
    executor = make_executor(hub.settings)
    with tempfile.TemporaryDirectory(prefix="bitgoeul-bundle-") as folder:
        try:
            bundle = bundle_for(source, Path(folder))
        except ValueError as exc:
            raise fail(str(exc)) from None
        with hub.session() as session:
            submission = actions.submit_model(
                session,
                settings=hub.settings,
                executor=executor,
                actor=hub.actor(session, acting),
                task_slug=task,
                bundle_path=bundle,
                spec=spec,
            )
            shown = queries.submission_public(session, submission)
    console.print(
        f"Submitted model [bold]{shown.id}[/] to task {task} for team {escape(shown.team)}: "
        f"job {shown.job} is queued (code sha256 {shown.content_sha256}); your organization's "
        "credits pay for it."
    )
    if not wait:
        console.print(
            f"It is scored when 'bitgoeul serve' has run it; see it with: bitgoeul testbed "
            f"submission {shown.id} --as {escape(acting)}"
        )
        return
    _run_queue(hub, executor)
    final = _wait_for_submission(hub, shown.id, acting)
    _print_outcome(final)


def _submit_predictions(
    ctx: typer.Context, task: str, source: Path, acting: str, description: str
) -> None:
    hub = hub_of(ctx)
    limit = hub.settings.testbed_max_predictions_bytes
    if source.stat().st_size > limit:
        raise TooLarge(
            f"The predictions file is larger than this hub accepts ({limit} bytes); "
            "send only the id column and 'prediction'."
        )
    with hub.session() as session:
        submission = actions.submit_predictions(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            task_slug=task,
            upload=source,
            filename=source.name,
            description=description,
        )
        shown = queries.submission_public(session, submission)
    _print_outcome(shown)


def _print_outcome(shown: SubmissionPublic) -> None:
    if shown.status == SubmissionStatus.scored:
        line = (
            f"Submission {shown.id} [bold]scored[/]: public {shown.metric} "
            f"{_score(shown.public_score)}"
        )
        if shown.private_score is not None:
            line += f", private {_score(shown.private_score)}"
        line += f", on {shown.rows:,} rows (sha256 {shown.content_sha256})."
        console.print(line)
    elif shown.status == SubmissionStatus.failed:
        console.print(f"Submission {shown.id} [bold]failed[/]: {escape(shown.error)}")
    else:
        console.print(f"Submission {shown.id} is still running (job {shown.job}).")
    if shown.log_excerpt:
        console.print("The end of its log:")
        console.print(escape(shown.log_excerpt.rstrip("\n")))
    if shown.submissions_left_today is not None:
        console.print(
            f"Team {escape(shown.team)} has {shown.submissions_left_today} submission(s) left "
            "today (UTC)."
        )


def _run_queue(hub: Hub, executor: Executor) -> None:
    """Run the hub's scheduler here, with the testbed's scoring hook, until nothing is left."""
    engine = make_engine(hub.settings)
    try:
        store = make_store(hub.settings)
        runner = make_job_runner(hub.settings, make_sessionmaker(engine), store, executor)
        try:
            runner.run_until_idle(timeout=math.inf)
        except KeyboardInterrupt:
            runner.stop()
            raise fail(
                "Interrupted: the jobs this command was running were stopped (their "
                "submissions fail)."
            ) from None
    finally:
        engine.dispose()


def _wait_for_submission(hub: Hub, submission_id: int, acting: str) -> SubmissionPublic:
    """The submission once scored or failed (a server's scheduler may have run its job)."""
    while True:
        with hub.session() as session:
            found = queries.get_submission(
                session, actor=hub.actor(session, acting), submission_id=submission_id
            )
            shown = queries.submission_public(session, found)
        if shown.status != SubmissionStatus.running:
            return shown
        time.sleep(POLL_SECONDS)


# Reading ---------------------------------------------------------------------------------


@testbed_app.command("leaderboard")
def show_leaderboard(
    ctx: typer.Context,
    task: TaskSlug,
    private: Annotated[
        bool, typer.Option("--private", help="The private leaderboard (from the deadline on).")
    ] = False,
) -> None:
    """Print a leaderboard: each team's best score, and the organizer's baseline (unranked)."""
    board: Literal["public", "private"] = "private" if private else "public"
    hub = hub_of(ctx)
    with hub.session() as session:
        shown = queries.leaderboard(session, task=get_task(session, task), board=board)
    if not shown.revealed:
        console.print(escape(shown.message))
        return
    console.print(_leaderboard_table(shown))
    console.print(escape(shown.message))


def _leaderboard_table(board: Leaderboard) -> Table:
    better = "higher" if board.higher_is_better else "lower"
    table = Table(
        title=f"{board.board.capitalize()} leaderboard of {board.task} "
        f"({board.metric}, {better} is better)"
    )
    table.add_column("rank", justify="right")
    table.add_column("team")
    table.add_column("score", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("kind")
    table.add_column("submitted (UTC)")
    for row in board.rows:
        table.add_row(
            "baseline" if row.rank is None else str(row.rank),
            escape(row.team),
            _score(row.score),
            str(row.entries),
            row.kind.value,
            _when(row.submitted_at),
        )
    return table


@testbed_app.command("history")
def show_history(
    ctx: typer.Context,
    task: TaskSlug,
    acting: AsUser,
    team: Annotated[
        int | None,
        typer.Option("--team", help="Another team, by number (the organizer and operators)."),
    ] = None,
) -> None:
    """List a team's submissions, newest first (default: your own team's)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        found = get_task(session, task)
        if team is None:
            mine = queries.my_team(session, actor=actor, task=found)
            if mine is None:
                raise fail(f"You are on no team of task {task}; name one with --team.")
            team = mine.id
        chosen = queries.get_team(session, found, team)
        team_name = chosen.name
        shown = queries.team_submissions(session, actor=actor, task=found, team=chosen)
    table = Table(title=f"Team {escape(team_name)} on {task}: {len(shown)} submission(s)")
    table.add_column("id", justify="right")
    for column in ("kind", "phase", "status", "public score", "submitted by", "submitted (UTC)"):
        table.add_column(column)
    table.add_column("description", overflow="fold")
    for submission in shown:
        table.add_row(
            str(submission.id),
            submission.kind.value,
            submission.phase.value,
            submission.status.value,
            _score(submission.public_score),
            escape(submission.submitted_by or ""),
            _when(submission.created_at),
            escape(submission.description or submission.error),
        )
    console.print(table)


@testbed_app.command("submission")
def show_submission(ctx: typer.Context, submission: SubmissionId, acting: AsUser) -> None:
    """Show a submission: its scores, what was scored, and how (its team, organizer, operators)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = queries.get_submission(
            session, actor=hub.actor(session, acting), submission_id=submission
        )
        shown = queries.submission_public(session, found)
    table = Table(title=f"Submission {shown.id} to {shown.task}")
    table.show_header = False
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in (
        ("team", shown.team + (" (baseline)" if shown.is_baseline else "")),
        ("submitted by", shown.submitted_by or "a former user"),
        ("kind", shown.kind.value + ("" if shown.job is None else f" (job {shown.job})")),
        ("phase", shown.phase.value),
        ("status", shown.status.value),
        ("error", shown.error),
        ("public score", _score(shown.public_score)),
        ("private score", _score(shown.private_score) or "hidden until the deadline"),
        ("rows", "" if shown.rows is None else f"{shown.rows:,}"),
        ("metric", shown.metric),
        ("test set", f"{shown.test_dataset} v{shown.test_version}"),
        ("file", shown.filename),
        ("sha256", shown.content_sha256),
        ("environment", ", ".join(f"{k}={v}" for k, v in sorted(shown.environment.items()))),
        ("description", shown.description),
        ("submitted", _when(shown.created_at)),
        ("scored", _when(shown.scored_at)),
    ):
        table.add_row(field, escape(value))
    console.print(table)
    if shown.log_excerpt:
        console.print("The end of its log:")
        console.print(escape(shown.log_excerpt.rstrip("\n")))


# Re-runs ---------------------------------------------------------------------------------


@testbed_app.command("rerun")
def rerun(
    ctx: typer.Context,
    submission: SubmissionId,
    acting: AsUser,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="A model: run the hub's queued jobs here until it is scored."),
    ] = False,
) -> None:
    """Score a submission again from what was kept, and compare (operators only)."""
    hub = hub_of(ctx)
    executor = make_executor(hub.settings)
    with hub.session() as session:
        rerun = actions.rerun_submission(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            executor=executor,
            actor=hub.actor(session, acting),
            submission_id=submission,
        )
        shown = queries.rerun_public(session, rerun)
    if shown.status == SubmissionStatus.running and wait:
        _run_queue(hub, executor)
        shown = _wait_for_rerun(hub, shown.id)
    _print_rerun(shown)


def _wait_for_rerun(hub: Hub, rerun_id: int) -> RerunPublic:
    while True:
        with hub.session() as session:
            rerun = session.get(TestbedRerun, rerun_id)
            assert rerun is not None  # noqa: S101 - just made
            shown = queries.rerun_public(session, rerun)
        if shown.status != SubmissionStatus.running:
            return shown
        time.sleep(POLL_SECONDS)


def _print_rerun(shown: RerunPublic) -> None:
    if shown.status == SubmissionStatus.running:
        console.print(
            f"Re-run {shown.id} of submission {shown.submission}: job {shown.job} is queued; "
            "the organizer's credits pay for it."
        )
        return
    if shown.status == SubmissionStatus.failed:
        console.print(
            f"Re-run {shown.id} of submission {shown.submission} [bold]failed[/]: "
            f"{escape(shown.error)}"
        )
        return
    console.print(
        f"Re-run {shown.id} of submission {shown.submission}: public "
        f"{_score(shown.public_score)} (was {_score(shown.original_public_score)}), private "
        f"{_score(shown.private_score)} (was {_score(shown.original_private_score)}); "
        f"matches: {'true' if shown.matches else 'false'}."
    )


# Formatting ------------------------------------------------------------------------------


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _when(value: datetime | None) -> str:
    """In UTC, said so: the hub keeps every time in UTC, and days are counted in UTC."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
