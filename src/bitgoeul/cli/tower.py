"""``bitgoeul tower``: the control tower's indicators and its daily snapshot.

``snapshot`` is what cron (or the worker) runs once a day; it calls ``tower.actions`` as the
API's ``POST /api/v1/tower/snapshots`` does.  Run without ``--as`` it acts as the hub's own
scheduler (whoever runs the CLI on the hub's machine can read its database anyway); with
``--as`` the user must be an operator.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bitgoeul.cli.context import console, hub_of
from bitgoeul.tower import actions, indicators

tower_app = typer.Typer(help="The control tower: indicators and daily snapshots.")


@tower_app.command("snapshot")
def tower_snapshot(
    ctx: typer.Context,
    acting: Annotated[
        str | None, typer.Option("--as", help="An operator (default: the hub's scheduler).")
    ] = None,
) -> None:
    """Keep today's values of every indicator (one row per UTC day; run again, it refreshes)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        taken = actions.take_snapshot(session, actor=hub.optional_actor(session, acting))
        day = taken.snapshot.day.isoformat()
    verb = "Kept" if taken.created else "Refreshed"
    console.print(f"{verb} the snapshot of {day}.")


def _shown(indicator: indicators.Indicator) -> str:
    if not indicator.available:
        return "not available"
    if indicator.value is None:
        return "-"
    text = f"{indicator.value:g}"
    target = indicator.definition.target
    return f"{text} of {target:,} ({indicator.progress:.1%})" if target else text


@tower_app.command("indicators")
def tower_indicators(ctx: typer.Context) -> None:
    """Print every indicator now, exactly (the hub's administrator reads its database)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        found = indicators.compute(session)
    for indicator in found.items:
        console.print(f"{indicator.key}: {_shown(indicator)}")
