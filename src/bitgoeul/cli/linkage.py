"""``bitgoeul linkage``: linkage projects, their approval and runs.

The same steps as the API: a researcher proposes a project (a JSON file shaped like the body of
``POST /api/v1/linkage/projects``), each source's publisher approves it through a steward, the
key custodian runs it, anyone involved reads the run's report. Every command calls
``linkage.actions`` or ``linkage.queries``, as ``linkage/api.py`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from bitgoeul.cli.context import console, hub_of, invalid_options
from bitgoeul.errors import ValidationFailed
from bitgoeul.linkage import actions, queries
from bitgoeul.linkage.schemas import LinkageProjectCreate, LinkageReviewLabel, LinkageRunPublic
from bitgoeul.storage import make_store

linkage_app = typer.Typer(help="Linkage: records of several agencies linked inside the hub.")

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]


@linkage_app.command("create")
def linkage_create(
    ctx: typer.Context,
    acting: AsUser,
    spec: Annotated[
        Path,
        typer.Option(
            "--spec", exists=True, dir_okay=False, help="The project as JSON (the API's body)."
        ),
    ],
) -> None:
    """Propose a linkage project; every source's publisher is asked to approve it."""
    try:
        data = LinkageProjectCreate.model_validate(json.loads(spec.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"--spec: not JSON ({exc.msg}, line {exc.lineno})") from None
    except ValidationError as exc:
        raise invalid_options(exc) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        project = actions.create_linkage_project(
            session, actor=hub.actor(session, acting), data=data
        )
        shown = queries.project_public(session, project)
    console.print(
        f"Created linkage project [bold]{shown.id}[/] ({escape(shown.title)}); waiting for "
        f"{', '.join(shown.awaiting)} to approve."
    )


@linkage_app.command("show")
def linkage_show(
    ctx: typer.Context,
    linkage_project_id: Annotated[int, typer.Argument(help="The linkage project's number.")],
    acting: AsUser,
) -> None:
    """Show a linkage project: its sources, method, approvals and who is awaited."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        queries.require_signed_in(actor)
        project = queries.linkage_project_for(
            session, actor=actor, linkage_project_id=linkage_project_id
        )
        shown = queries.project_public(session, project)
    console.print(f"[bold]{shown.id}[/] {escape(shown.title)} ({shown.method.value})")
    console.print(f"key custodian: {shown.custodian}")
    for source in shown.sources:
        console.print(f"  {source['dataset']} v{source['version']}: {source['fields']}")
    for approval in shown.approvals:
        console.print(f"approved by {approval.organization} ({approval.approved_by})")
    if shown.awaiting:
        console.print(f"awaiting: {', '.join(shown.awaiting)}")


@linkage_app.command("approve")
def linkage_approve(
    ctx: typer.Context,
    linkage_project_id: Annotated[int, typer.Argument(help="The linkage project's number.")],
    acting: AsUser,
    note: Annotated[str, typer.Option("--note", help="A note kept with the approval.")] = "",
) -> None:
    """Approve a linkage project for your organization (a steward of a source's publisher)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actions.approve_linkage_project(
            session,
            actor=hub.actor(session, acting),
            linkage_project_id=linkage_project_id,
            note=note,
        )
        shown = queries.project_public(
            session, queries.get_linkage_project(session, linkage_project_id)
        )
    waiting = ", ".join(shown.awaiting) if shown.awaiting else "nobody: the custodian may run it"
    console.print(f"Approved linkage project {shown.id}; awaiting {waiting}.")


def _print_run(run: LinkageRunPublic) -> None:
    console.print(f"run {run.id}: {run.status.value}")
    if run.linked_dataset:
        console.print(f"linked dataset: {run.linked_dataset}")
    if run.error:
        console.print(f"error: {escape(run.error)}")
    console.print(json.dumps(run.report, ensure_ascii=False, indent=2))


@linkage_app.command("run")
def linkage_run(
    ctx: typer.Context,
    linkage_project_id: Annotated[int, typer.Argument(help="The linkage project's number.")],
    acting: AsUser,
) -> None:
    """Run an approved linkage project (a steward of its key custodian, or an operator)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        run = actions.run_linkage(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            linkage_project_id=linkage_project_id,
        )
        _print_run(queries.run_public(session, run))


@linkage_app.command("report")
def linkage_report(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's number.")],
    acting: AsUser,
) -> None:
    """Show a run: its status, linked dataset and match-rate report."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        queries.require_signed_in(actor)
        _print_run(
            queries.run_public(session, queries.run_for(session, actor=actor, run_id=run_id))
        )


@linkage_app.command("review")
def linkage_review(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's number.")],
    acting: AsUser,
) -> None:
    """Show a run's clerical review sample: each pair's two records side by side."""
    hub = hub_of(ctx)
    with hub.session() as session:
        shown = actions.clerical_review(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            run_id=run_id,
        )
    for pair in shown.pairs:
        label = {None: "not reviewed", True: "same person", False: "different people"}
        score = "" if pair.score is None else f", score {pair.score:.3f}"
        console.print(
            f"[bold]pair {pair.id}[/] ({pair.dataset}, {pair.stratum}{score}): {label[pair.match]}"
        )
        for field in dict.fromkeys([*pair.anchor, *pair.record]):
            console.print(
                f"  {field}: {escape(str(pair.anchor.get(field)))} | "
                f"{escape(str(pair.record.get(field)))}"
            )
    console.print(json.dumps(shown.quality, ensure_ascii=False, indent=2))


@linkage_app.command("label")
def linkage_label(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(help="The run's number.")],
    acting: AsUser,
    same: Annotated[
        list[int] | None,
        typer.Option("--same", help="A review pair whose records are the same person."),
    ] = None,
    different: Annotated[
        list[int] | None,
        typer.Option("--different", help="A review pair whose records are different people."),
    ] = None,
) -> None:
    """Label review pairs; the run's report is estimated again from the labels."""
    labels = [LinkageReviewLabel(pair=p, match=True) for p in same or []] + [
        LinkageReviewLabel(pair=p, match=False) for p in different or []
    ]
    if not labels:
        raise ValidationFailed("Name at least one pair with --same or --different.")
    hub = hub_of(ctx)
    with hub.session() as session:
        run = actions.label_review_pairs(
            session, actor=hub.actor(session, acting), run_id=run_id, labels=labels
        )
        quality = queries.run_public(session, run).report.get("quality", {})
    console.print(f"Labelled {len(labels)} pairs of run {run_id}.")
    console.print(json.dumps(quality, ensure_ascii=False, indent=2))
