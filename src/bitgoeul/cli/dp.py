"""``bitgoeul dp quote|release|budget|profile``: the differential-privacy door from the command
line.

Calls ``dp.actions`` as ``POST /api/v1/dp/quote``, ``/dp/release`` and the stewards' budget and
profile routes do: the same decision point, the same ledger, the same audit entries.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.cli.context import console, fail, hub_of, invalid_options
from bitgoeul.dp import actions, queries
from bitgoeul.dp.schemas import (
    Balance,
    DpRequest,
    MeasureQuote,
    ProfileIn,
    Quote,
    Release,
    parse_measure,
)
from bitgoeul.messages import msg
from bitgoeul.storage import make_store

dp_app = typer.Typer(help="Differentially private statistics of secure data, paid from ε budgets.")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def _measure(text: str) -> dict[str, Any]:
    measure = parse_measure(text)
    if measure is None:
        raise fail(
            msg(
                "--measure {given!r} is not one of count, sum:COLUMN, mean:COLUMN, "
                "quantile:COLUMN:Q.",
                given=text,
            )
        )
    return measure


def _print_quote(quote: Quote) -> None:
    table = Table("measure", "mechanism", "noise scale", "±95 %", "ε")
    for m in quote.measures:
        label = m.kind if m.column is None else f"{m.kind}({m.column})"
        if m.accuracy_95 is not None:
            accuracy = f"{m.accuracy_95:.4g}"
        elif m.rank_error_95 is not None:
            accuracy = f"{m.rank_error_95:.4g} rows of rank"
        elif m.mean_accuracy is not None:
            accuracy = "by group size, below"
        else:
            accuracy = "-"
        table.add_row(label, m.mechanism, f"{m.noise_scale:.4g}", accuracy, f"{m.epsilon:.4g}")
    console.print(table)
    for m in quote.measures:
        for line in _group_accuracy_lines(m):
            console.print(line)
    threshold = next((m.threshold for m in quote.measures if m.threshold is not None), None)
    if threshold is not None:
        console.print(
            f"Groups of {escape(', '.join(quote.threshold_keys))} are released only when their "
            f"noisy count reaches {threshold} rows."
        )
    for b in quote.balances:
        console.print(f"{escape(b.scope)}: {_left(b)}")
    cost = f"ε {quote.epsilon:g}" + (f", δ {quote.delta:g}" if quote.delta else "")
    console.print(f"Cost: {cost}. Release with: bitgoeul dp release TOKEN")
    console.print(quote.token, soft_wrap=True)


def _group_accuracy_lines(m: MeasureQuote) -> list[str]:
    """A mean's ± and a quantile's rank error, which depend on a group's size n."""
    label = escape(f"{m.kind}({m.column})")
    if m.mean_accuracy is not None:
        a = m.mean_accuracy
        sizes = ", ".join(
            f"n={g.rows:,}: " + ("no bound" if g.within is None else f"±{g.within:.4g}")
            for g in m.by_group_size
        )
        return [
            f"{label} at 95 %: ±({a.sum_accuracy:.4g} + {a.bound:.4g} × {a.count_accuracy:.4g})"
            f" / (n − {a.count_accuracy:.4g}) for a group of n > {a.count_accuracy:.4g} rows; "
            + sizes
        ]
    if m.rank_error_95 is not None:
        sizes = ", ".join(
            f"n={g.rows:,}: ±{(g.within or 0) * 100:.3g} % of the group" for g in m.by_group_size
        )
        return [
            f"{label} at 95 %: within ±{m.rank_error_95:.4g} rows of the requested rank "
            f"(q × n), beyond the nearest candidate's own distance; {sizes}"
        ]
    return []


def _left(balance: Balance) -> str:
    left = f"ε {balance.left:g} left of {balance.cap:g}"
    if balance.delta_cap:
        left += f", δ {balance.delta_left:g} left of {balance.delta_cap:g}"
    return left


def _print_release(release: Release) -> None:
    table = Table(*release.columns)
    for row in release.rows:
        table.add_row(*(f"{v:.6g}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)
    charged = (
        "the stored answer of the same request, free"
        if release.repeated
        else f"ε {release.epsilon_charged:g}"
        + (f", δ {release.delta_charged:g}" if release.delta_charged else "")
        + " charged"
    )
    console.print(f"Release {release.release_id}: {charged}.")
    for b in release.balances:
        console.print(f"{escape(b.scope)}: {_left(b)}")


@dp_app.command("quote")
def dp_quote(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The secure dataset's slug.")],
    measure: Annotated[
        list[str],
        typer.Option(
            "--measure",
            help="count, sum:COLUMN, mean:COLUMN or quantile:COLUMN:Q; repeat for more.",
        ),
    ],
    epsilon: Annotated[float, typer.Option("--epsilon", help="What the release may cost.")],
    acting: Annotated[str, typer.Option("--as", help="The user asking.")],
    project: Annotated[
        int | None, typer.Option("--project", help="The project that pays (its agreement).")
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            help="A column with a public key set, or a threshold key (groups released only "
            "above a noisy threshold, costing δ); repeat for more.",
        ),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="The dataset version (default: latest).")
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option("--partition", help="A time-partitioned dataset's partition to read."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="How to print the quote.")
    ] = OutputFormat.table,
) -> None:
    """State what a request would cost (ε) and how accurate it would be; spends nothing."""
    try:
        request = DpRequest(
            dataset=dataset,
            version=version,
            project=project,
            partition=partition,
            group_by=group_by or [],
            measures=[_measure(m) for m in measure],
            epsilon=epsilon,
        )
    except ValidationError as exc:
        raise invalid_options(exc) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        quote = actions.quote(session, settings=hub.settings, actor=actor, request=request)
    if output_format == OutputFormat.json:
        typer.echo(quote.model_dump_json(indent=2))
    else:
        _print_quote(quote)


@dp_app.command("release")
def dp_release(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="The token printed by 'bitgoeul dp quote'.")],
    acting: Annotated[str, typer.Option("--as", help="The user who asked for the quote.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="How to print the statistics.")
    ] = OutputFormat.table,
) -> None:
    """Spend a quote: print the noisy statistics (a repeated request is free)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        release = actions.release(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=actor,
            token=token,
        )
    if output_format == OutputFormat.json:
        typer.echo(release.model_dump_json(indent=2))
    else:
        _print_release(release)


@dp_app.command("budget")
def dp_budget(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset's slug.")],
    acting: Annotated[str, typer.Option("--as", help="A steward of the publisher.")],
    epsilon: Annotated[
        float | None,
        typer.Option("--epsilon", help="Set the cap to this ε (without it: show the ledger)."),
    ] = None,
    project: Annotated[
        int | None,
        typer.Option("--project", help="The project's cap (without it: the dataset's)."),
    ] = None,
    partition: Annotated[
        str | None,
        typer.Option("--partition", help="A partition's cap (a time-partitioned dataset)."),
    ] = None,
    delta: Annotated[
        float | None,
        typer.Option(
            "--delta",
            help="With --epsilon: also set the δ cap (releases grouped by threshold keys "
            "spend δ; without it the δ cap is unchanged).",
        ),
    ] = None,
) -> None:
    """Show every budget of a dataset with its spending, or set one cap."""
    if delta is not None and epsilon is None:
        raise fail(msg("--delta sets a cap together with --epsilon; give both."))
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        if epsilon is not None:
            actions.set_budget(
                session,
                actor=actor,
                slug=dataset,
                project_id=project,
                partition=partition,
                epsilon=epsilon,
                delta=delta,
            )
        ledger = actions.read_budgets(session, actor=actor, slug=dataset)
    table = Table("budget", "cap ε", "spent", "reserved", "left", "cap δ", "δ spent", "δ left")
    for b in ledger:
        table.add_row(
            b.scope,
            f"{b.cap:g}",
            f"{b.spent:g}",
            f"{b.reserved:g}",
            f"{b.left:g}",
            f"{b.delta_cap:g}",
            f"{b.delta_spent:g}",
            f"{b.delta_left:g}",
        )
    console.print(table)


@dp_app.command("profile")
def dp_profile(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset's slug.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", dir_okay=False, help="Approve this JSON profile (without it: show it)."
        ),
    ] = None,
    acting: Annotated[
        str | None, typer.Option("--as", help="A steward of the publisher (to approve).")
    ] = None,
) -> None:
    """Show a dataset's approved DP profile, or approve a new one from a JSON file."""
    hub = hub_of(ctx)
    with hub.session() as session:
        if file is not None:
            if acting is None:
                raise fail(msg("Approving a profile needs --as, a steward of the publisher."))
            try:
                profile = ProfileIn.model_validate(json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise fail(
                    msg("Cannot read the profile {file}: {error}", file=str(file), error=str(exc))
                ) from None
            actions.set_profile(
                session, actor=hub.actor(session, acting), slug=dataset, profile=profile
            )
        public = queries.public_profile(session, dataset)
    typer.echo(public.model_dump_json(indent=2))


@dp_app.command("publish")
def dp_publish(
    ctx: typer.Context,
    release: Annotated[int, typer.Argument(help="The release's number (printed on release).")],
    title: Annotated[str, typer.Option("--title", help="The new open dataset's title.")],
    acting: Annotated[str, typer.Option("--as", help="A steward of the source's publisher.")],
    slug: Annotated[
        str | None, typer.Option("--slug", help="The new dataset's slug (default: from title).")
    ] = None,
) -> None:
    """Publish a release's noisy statistics as a new open dataset, recorded with its ε."""
    hub = hub_of(ctx)
    with hub.session() as session:
        created = actions.publish_release(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            release_id=release,
            title=title,
            slug=slug,
        )
        console.print(f"Published as open dataset {escape(created.slug)}.")
