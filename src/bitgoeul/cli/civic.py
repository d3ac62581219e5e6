"""``bitgoeul civic ...``: residents' problems from the command line, for residents, the city's
triage, departments and operators.

Every command calls ``civic.actions`` (or ``civic.queries``) as the routes under
``/api/v1/civic`` do: the same state machine, the same audit entries and notifications.
``bitgoeul civic escalate`` tells operators of triage past its deadline (workers also do it by
themselves every few minutes); run it from cron where no worker runs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.accounts.actor import ANONYMOUS
from bitgoeul.civic import actions, queries
from bitgoeul.civic.models import Aggregate
from bitgoeul.civic.schemas import (
    ChallengeOpen,
    MetricProposal,
    PilotIn,
    ProblemCreate,
    ProblemPublic,
    TriageIn,
)
from bitgoeul.civic.states import ProblemState
from bitgoeul.cli.context import console, fail, hub_of, invalid_options
from bitgoeul.storage import make_store

civic_app = typer.Typer(
    help="Residents' problems: post, support, triage, and turn them into AI challenges."
)

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]
ProblemId = Annotated[int, typer.Argument(help="The problem's number.")]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", help="table (for people) or json (for scripts).")
]


def _print(problem: ProblemPublic, output_format: OutputFormat = OutputFormat.table) -> None:
    if output_format == OutputFormat.json:
        typer.echo(problem.model_dump_json(indent=2))
        return
    console.print(f"[bold]#{problem.id} {escape(problem.title)}[/]")
    console.print(
        f"{problem.state.value} · {problem.district} · {problem.supports}/{problem.threshold} "
        "supports" + (" · TRIAGE OVERDUE" if problem.overdue else "")
    )
    if problem.triage_due_at and problem.state == ProblemState.triage:
        console.print(f"Triage due: {problem.triage_due_at:%Y-%m-%d %H:%M} UTC")
    if problem.reason:
        console.print(f"Reason: {escape(problem.reason)}")
    challenge = problem.challenge
    if challenge is not None:
        console.print(f"Department: {escape(challenge.department_name)}")
        if challenge.metric:
            agreed = "agreed" if challenge.agreed else f"proposed by {challenge.proposed_by}"
            console.print(
                f"Metric: {challenge.metric}; indicator: {escape(challenge.indicator)} "
                f"({challenge.aggregate.value} of {challenge.column or '*'} per "
                f"{challenge.period} in {challenge.dataset}), {challenge.baseline:g} → "
                f"{challenge.target:g}, {agreed}"
            )
        if challenge.task:
            console.print(f"Testbed task: {challenge.task}")
        if challenge.progress is not None:
            console.print(
                f"Progress: {challenge.progress:.0%} (now {challenge.current:g}, measured "
                f"{challenge.measured_at:%Y-%m-%d})"
            )
    if problem.allowed:
        console.print("You may: " + ", ".join(e.value for e in problem.allowed))


def _show(ctx: typer.Context, problem_id: int, acting: str | None, fmt: OutputFormat) -> None:
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting) if acting else None
        problem = queries.get_problem(session, problem_id)
        _print(
            queries.problem_public(
                session, problem, actor=actor or ANONYMOUS, settings=hub.settings
            ),
            fmt,
        )


@civic_app.command("list")
def civic_list(
    ctx: typer.Context,
    state: Annotated[
        ProblemState | None, typer.Option("--state", help="Only problems in this state.")
    ] = None,
    district: Annotated[str | None, typer.Option("--district", help="Only this district.")] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only problems whose triage is past its deadline.")
    ] = False,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """List problems, most supported first."""
    hub = hub_of(ctx)
    with hub.session() as session:
        listing = queries.list_problems(
            session, state=state, district=district, overdue=overdue, limit=100
        )
    if output_format == OutputFormat.json:
        typer.echo(listing.model_dump_json(indent=2))
        return
    table = Table("#", "title", "state", "district", "supports", "due")
    for p in listing.problems:
        due = f"{p.triage_due_at:%Y-%m-%d}" if p.triage_due_at else ""
        table.add_row(
            str(p.id),
            escape(p.title),
            p.state.value + (" (overdue)" if p.overdue else ""),
            p.district,
            str(p.supports),
            due,
        )
    console.print(table)
    console.print(f"{listing.total} problems")


@civic_app.command("show")
def civic_show(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: Annotated[
        str | None, typer.Option("--as", help="Also say what this user may do now.")
    ] = None,
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Show a problem: its state, support, challenge and progress."""
    _show(ctx, problem_id, acting, output_format)


@civic_app.command("post")
def civic_post(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="What is wrong, in a line.")],
    description: Annotated[str, typer.Option("--description", help="What, where, who.")],
    district: Annotated[str, typer.Option("--district", help="Dong-gu, Seo-gu, ... or citywide.")],
    acting: AsUser,
    photo: Annotated[
        list[Path] | None,
        typer.Option("--photo", help="A JPEG or PNG photo; repeat for more (at most 4)."),
    ] = None,
) -> None:
    """Post a problem (photos' location and camera data are removed)."""
    try:
        data = ProblemCreate(title=title, description=description, district=district)
    except ValidationError as exc:
        raise invalid_options(exc) from None
    photos = []
    for path in photo or []:
        if not path.is_file():
            raise fail(f"--photo {path}: there is no such file.")
        photos.append((path.name, path.read_bytes()))
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        problem = actions.post_problem(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=actor,
            data=data,
            photos=photos,
        )
        problem_id = problem.id
    console.print(f"Posted problem #{problem_id}.")
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("support")
def civic_support(ctx: typer.Context, problem_id: ProblemId, acting: AsUser) -> None:
    """Support a problem (once); enough support sends it to the city's triage."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.support_problem(
            session, settings=hub.settings, actor=hub.actor(session, acting), problem_id=problem_id
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("follow")
def civic_follow(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    stop: Annotated[bool, typer.Option("--stop", help="Stop following.")] = False,
) -> None:
    """Follow a problem (notifications of every change), or stop."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.follow_problem(
            session, actor=hub.actor(session, acting), problem_id=problem_id, follow=not stop
        )
    console.print("Stopped following." if stop else "Following.")


@civic_app.command("withdraw")
def civic_withdraw(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Why, for those who supported.")] = "",
) -> None:
    """Withdraw your problem while it collects support."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.withdraw_problem(
            session, actor=hub.actor(session, acting), problem_id=problem_id, reason=reason
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("triage")
def civic_triage(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    accept: Annotated[
        str | None, typer.Option("--accept", help="Accept for this department (its slug).")
    ] = None,
    decline: Annotated[
        str | None, typer.Option("--decline", help="Decline, with this reason.")
    ] = None,
    merge_into: Annotated[
        int | None, typer.Option("--merge-into", help="Merge into this problem.")
    ] = None,
) -> None:
    """The city's triage answers (operators): --accept, --decline or --merge-into."""
    options = (("accept", accept), ("decline", decline), ("merge", merge_into))
    chosen = [name for name, value in options if value not in (None, "")]
    if len(chosen) != 1:
        raise fail("Give exactly one of --accept DEPARTMENT, --decline REASON, --merge-into ID.")
    try:
        answer = TriageIn(
            decision=chosen[0],
            department=accept,
            reason=decline or "",
            merge_into=merge_into,
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"reason": "--decline", "department": "--accept"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.triage_problem(
            session,
            settings=hub.settings,
            actor=hub.actor(session, acting),
            problem_id=problem_id,
            answer=answer,
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("decline")
def civic_decline(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Why; residents read it.")],
) -> None:
    """Decline an accepted problem before its challenge opens (department or operators)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.decline_problem(
            session, actor=hub.actor(session, acting), problem_id=problem_id, reason=reason
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("propose-metric")
def civic_propose_metric(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    metric: Annotated[str, typer.Option("--metric", help="The testbed metric, e.g. mae.")],
    indicator: Annotated[str, typer.Option("--indicator", help="What it measures, in words.")],
    dataset: Annotated[str, typer.Option("--dataset", help="The open dataset measuring it.")],
    period: Annotated[str, typer.Option("--period", help="The column naming the period.")],
    baseline: Annotated[float, typer.Option("--baseline", help="The value before the pilot.")],
    target: Annotated[float, typer.Option("--target", help="The value the pilot aims at.")],
    column: Annotated[str, typer.Option("--column", help="The value column.")] = "",
    aggregate: Annotated[
        Aggregate, typer.Option("--aggregate", help="How each period is summarised.")
    ] = Aggregate.avg,
    every: Annotated[
        str, typer.Option("--every", help="Cut the period's dates to a day, week, month or year.")
    ] = "",
) -> None:
    """Propose the testbed metric and the pilot's indicator (department or operators)."""
    try:
        proposal = MetricProposal(
            metric=metric,
            indicator=indicator,
            dataset=dataset,
            column=column,
            period=period,
            aggregate=aggregate,
            every=every,
            baseline=baseline,
            target=target,
        )
    except ValidationError as exc:
        raise invalid_options(exc) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.propose_metric(
            session, actor=hub.actor(session, acting), problem_id=problem_id, proposal=proposal
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("agree-metric")
def civic_agree_metric(ctx: typer.Context, problem_id: ProblemId, acting: AsUser) -> None:
    """Agree the other side's proposal."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.agree_metric(session, actor=hub.actor(session, acting), problem_id=problem_id)
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("open-challenge")
def civic_open_challenge(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    test_dataset: Annotated[
        str, typer.Option("--test-dataset", help="The department's hidden test set.")
    ],
    label_column: Annotated[str, typer.Option("--label-column", help="What is predicted.")],
    final_phase_at: Annotated[
        datetime, typer.Option("--final-phase-at", help="When the final phase starts.")
    ],
    deadline: Annotated[datetime, typer.Option("--deadline", help="When it closes.")],
    id_column: Annotated[str, typer.Option("--id-column", help="The row id column.")] = "id",
    training: Annotated[
        list[str] | None, typer.Option("--training", help="A training dataset; repeat.")
    ] = None,
    terms: Annotated[str, typer.Option("--terms", help="What participants accept.")] = "",
    slug: Annotated[
        str | None, typer.Option("--slug", help="The task's slug (default civic-ID).")
    ] = None,
) -> None:
    """Open the challenge as the department's testbed task (the department's stewards)."""
    try:
        spec = ChallengeOpen(
            slug=slug,
            test_dataset=test_dataset,
            id_column=id_column,
            label_column=label_column,
            training_datasets=training or [],
            terms=terms,
            final_phase_at=_aware(final_phase_at),
            deadline=_aware(deadline),
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"training_datasets": "--training"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.open_challenge(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            problem_id=problem_id,
            spec=spec,
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


def _aware(moment: datetime) -> datetime:
    """A date typed without a zone is Korean time."""
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("Asia/Seoul"))


@civic_app.command("start-pilot")
def civic_start_pilot(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    description: Annotated[str, typer.Option("--description", help="What was deployed, where.")],
) -> None:
    """Start the pilot (the department's stewards)."""
    try:
        pilot = PilotIn(description=description)
    except ValidationError as exc:
        raise invalid_options(exc) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.start_pilot(
            session, actor=hub.actor(session, acting), problem_id=problem_id, pilot=pilot
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("measure")
def civic_measure(ctx: typer.Context, problem_id: ProblemId, acting: AsUser) -> None:
    """Measure the agreed indicator now, through the SQL gateway."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.measure_indicator(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            problem_id=problem_id,
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("complete")
def civic_complete(
    ctx: typer.Context,
    problem_id: ProblemId,
    acting: AsUser,
    note: Annotated[str, typer.Option("--note", help="What came of it.")] = "",
) -> None:
    """Complete the problem after its pilot (department or operators)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.complete_challenge(
            session, actor=hub.actor(session, acting), problem_id=problem_id, note=note
        )
    _show(ctx, problem_id, acting, OutputFormat.table)


@civic_app.command("escalate")
def civic_escalate(ctx: typer.Context) -> None:
    """Tell every operator of each triage past its deadline (once per problem)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        escalated = [p.id for p in actions.escalate_overdue(session)]
    if escalated:
        console.print("Escalated: " + ", ".join(f"#{i}" for i in escalated))
    else:
        console.print("No triage newly past its deadline.")


@civic_app.command("counts")
def civic_counts(ctx: typer.Context, output_format: FormatOption = OutputFormat.table) -> None:
    """Problems by state, and challenges (the control tower's figures)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        counts = queries.challenge_counts(session)
    if output_format == OutputFormat.json:
        typer.echo(counts.model_dump_json(indent=2))
        return
    table = Table("state", "problems")
    for state, count in counts.problems.items():
        table.add_row(state, str(count))
    console.print(table)
    console.print(
        f"Challenges: {counts.challenges} · pilots: {counts.pilots} · completed: "
        f"{counts.completed} · triage overdue: {counts.overdue_triage}"
    )
