"""``bitgoeul project|request|agreement``: projects, access requests and agreements.

The same steps a researcher and a steward take on the web and through the API: open a project,
request a restricted or secure dataset for it, approve (with conditions) or reject the request,
revoke the agreement.  Every command calls ``governance.actions`` or ``governance.queries``, as
``governance/api.py`` does, so the checks, the audit entries and the notifications are theirs.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from bitgoeul.cli.context import console, hub_of, invalid_options
from bitgoeul.governance import actions, queries
from bitgoeul.governance.models import ProjectRole, Purpose, RequestStatus
from bitgoeul.governance.schemas import (
    AccessRequestCreate,
    AccessRequestPublic,
    AgreementPublic,
    ApprovalConditions,
    MemberAdd,
    ProjectCreate,
    Reason,
)

project_app = typer.Typer(help="Projects: who uses restricted data, for what purpose.")
request_app = typer.Typer(help="Access requests for restricted and secure datasets.")
agreement_app = typer.Typer(help="Agreements: the terms under which a project uses a dataset.")

AsUser = Annotated[str, typer.Option("--as", help="The user acting.")]
DATE_FORMATS = ["%Y-%m-%d"]


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _columns(columns: list[str] | None) -> str:
    return "all" if columns is None else ", ".join(columns)


@project_app.command("create")
def project_create(
    ctx: typer.Context,
    acting: AsUser,
    title: Annotated[str, typer.Option("--title", help="What the project is called.")],
    purpose: Annotated[Purpose, typer.Option("--purpose", help="What the data is used for.")],
    justification: Annotated[
        str, typer.Option("--justification", help="Why the project needs the data.")
    ],
    start: Annotated[
        datetime | None,
        typer.Option("--start", formats=DATE_FORMATS, help="First day (YYYY-MM-DD)."),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--end", formats=DATE_FORMATS, help="Last day (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Open a project for your organization, with you as its lead."""
    try:
        data = ProjectCreate(
            title=title,
            purpose=purpose,
            justification=justification,
            starts_on=_day(start),
            ends_on=_day(end),
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"starts_on": "--start", "ends_on": "--end"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        project = actions.create_project(session, actor=hub.actor(session, acting), data=data)
        console.print(
            f"Created project [bold]{project.id}[/] ({escape(project.title)}). Request a "
            f"dataset for it with: bitgoeul request create --project {project.id} "
            f"--dataset SLUG --as {acting}"
        )


@project_app.command("list")
def project_list(ctx: typer.Context, acting: AsUser) -> None:
    """List your projects (an operator sees every project)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        projects = [
            queries.project_public(session, p)
            for p in queries.list_projects(session, actor=hub.actor(session, acting))
        ]
    table = Table(title=f"{len(projects)} {'project' if len(projects) == 1 else 'projects'}")
    table.add_column("id", justify="right")
    for column in ("title", "purpose", "lead organization", "members", "dates"):
        table.add_column(column)
    for project in projects:
        table.add_row(
            str(project.id),
            escape(project.title),
            project.purpose.value,
            escape(project.lead_organization),
            str(len(project.members)),
            _dates(project.starts_on, project.ends_on),
        )
    console.print(table)


def _dates(starts_on: date | None, ends_on: date | None) -> str:
    if starts_on is None and ends_on is None:
        return ""
    return f"{starts_on or '…'} – {ends_on or '…'}"


@project_app.command("show")
def project_show(
    ctx: typer.Context,
    project_id: Annotated[int, typer.Argument(help="The project's number.")],
    acting: AsUser,
) -> None:
    """Show a project: its purpose, members, access requests and agreements."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        project = queries.project_public(
            session, queries.project_for(session, actor=actor, project_id=project_id)
        )
        # The requests and agreements the actor may see, as the API's lists show them.
        requests = [
            queries.request_public(session, r)
            for r in queries.request_queue(session, actor=actor)
            if r.project_id == project_id
        ]
        agreements = [
            queries.agreement_public(a)
            for a in queries.list_agreements(session, actor=actor, project_id=project_id)
        ]
    console.print(f"[bold]Project {project.id}: {escape(project.title)}[/]")
    console.print(f"Purpose: {project.purpose.value}")
    console.print(f"Lead organization: {escape(project.lead_organization)}")
    if project.starts_on or project.ends_on:
        console.print(f"Dates: {_dates(project.starts_on, project.ends_on)}")
    console.print(f"Justification: {escape(project.justification)}")
    members = Table(title="Members")
    for column in ("username", "organization", "role"):
        members.add_column(column)
    for member in project.members:
        members.add_row(
            escape(member.username), escape(member.organization or ""), member.role.value
        )
    console.print(members)
    console.print(_requests_table(requests, title="Access requests"))
    console.print(_agreements_table(agreements))


@project_app.command("add-member")
def project_add_member(
    ctx: typer.Context,
    project_id: Annotated[int, typer.Argument(help="The project's number.")],
    username: Annotated[str, typer.Argument(help="The user to add.")],
    acting: AsUser,
    role: Annotated[
        ProjectRole, typer.Option("--role", help="The new member's role in the project.")
    ] = ProjectRole.member,
) -> None:
    """Add a user of any organization to a project you lead."""
    try:
        data = MemberAdd(username=username, role=role)
    except ValidationError as exc:
        raise invalid_options(exc, {"username": "USERNAME"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        project = actions.add_project_member(
            session, actor=hub.actor(session, acting), project_id=project_id, data=data
        )
        console.print(
            f"Added [bold]{escape(username)}[/] to project {project.id} "
            f"({escape(project.title)}) as {role.value}."
        )


def _requests_table(requests: list[AccessRequestPublic], *, title: str) -> Table:
    table = Table(title=f"{title} ({len(requests)})", show_lines=True)
    table.add_column("id", justify="right")
    table.add_column("project", justify="right")
    table.add_column("dataset", no_wrap=True)
    table.add_column("asked")
    table.add_column("answer")
    for request in requests:
        asked = (
            f"for {request.project_title!r} ({request.project_purpose.value}: "
            f"{request.project_justification}), "
            f"by {request.requested_by or 'a former user'}, {request.requested_days} days, "
            f"columns: {_columns(request.requested_columns)}"
        )
        if request.note:
            asked += f'; "{request.note}"'
        answer = request.status.value
        if request.decided_by and request.status != RequestStatus.withdrawn:
            answer += f" by {request.decided_by}"
        if request.reason:
            answer += f": {request.reason}"
        if request.agreement is not None:
            answer += f" (agreement {request.agreement})"
        dataset = escape(request.dataset)
        if request.dataset_is_test_set:
            # Approving grants nothing on it; the steward is told before answering.
            dataset += "\n[bold red]hidden test set[/]"
        table.add_row(
            str(request.id),
            str(request.project),
            dataset,
            escape(asked),
            escape(answer),
        )
    return table


def _agreements_table(agreements: list[AgreementPublic]) -> Table:
    table = Table(title=f"Agreements ({len(agreements)})", show_lines=True)
    table.add_column("id", justify="right")
    table.add_column("dataset", no_wrap=True)
    table.add_column("terms")
    table.add_column("expires (UTC)")
    table.add_column("state")
    for agreement in agreements:
        table.add_row(
            str(agreement.id),
            escape(agreement.dataset),
            escape(_terms(agreement)),
            _when(agreement.expires_at),
            _state(agreement),
        )
    return table


def _terms(agreement: AgreementPublic) -> str:
    terms = [f"columns: {_columns(agreement.columns)}"]
    if agreement.row_filter:
        terms.append(f"rows: {agreement.row_filter}")
    terms.append(
        "identifiers shown" if agreement.grants_identifiers else "identifiers pseudonymised"
    )
    return "; ".join(terms)


def _state(agreement: AgreementPublic) -> str:
    if agreement.revoked_at is not None:
        return "revoked"
    return "active" if agreement.active else "not active"


@request_app.command("create")
def request_create(
    ctx: typer.Context,
    acting: AsUser,
    project: Annotated[int, typer.Option("--project", help="The project asking.")],
    dataset: Annotated[str, typer.Option("--dataset", help="The dataset wanted (its slug).")],
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="A column wanted; repeat for more (default: all)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="How many days access is needed.")] = 90,
    note: Annotated[str, typer.Option("--note", help="A note for the steward.")] = "",
) -> None:
    """Ask a dataset's publisher for access to restricted or secure data for a project."""
    try:
        data = AccessRequestCreate(
            project=project, dataset=dataset, columns=column, days=days, note=note
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"columns": "--column"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        request = actions.request_access(session, actor=hub.actor(session, acting), data=data)
        console.print(
            f"Requested [bold]{escape(dataset)}[/] for project {project}: request "
            f"[bold]{request.id}[/] is pending. The publisher's stewards have been notified."
        )


@request_app.command("list")
def request_list(
    ctx: typer.Context,
    acting: AsUser,
    status: Annotated[
        RequestStatus | None, typer.Option("--status", help="Only requests in this state.")
    ] = None,
) -> None:
    """List the access requests you may see: your projects' and, for stewards, your data's."""
    hub = hub_of(ctx)
    with hub.session() as session:
        rows = queries.request_queue(session, actor=hub.actor(session, acting), status=status)
        requests = [queries.request_public(session, r) for r in rows]
    title = "Access requests" + (f", {status.value}" if status else "")
    console.print(_requests_table(requests, title=title))


@request_app.command("approve")
def request_approve(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's number.")],
    acting: AsUser,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="Allow only this column; repeat (default: as requested)."),
    ] = None,
    expires_in_days: Annotated[
        int | None,
        typer.Option("--expires-in-days", help="Agreement length (default: as requested)."),
    ] = None,
    row_filter: Annotated[
        str | None, typer.Option("--row-filter", help="Only rows matching this SQL condition.")
    ] = None,
    grants_identifiers: Annotated[
        bool,
        typer.Option("--grants-identifiers", help="Show direct identifiers unpseudonymised."),
    ] = False,
    confirm_test_set: Annotated[
        bool,
        typer.Option(
            "--confirm-test-set",
            help="Approve although the dataset is a testbed's hidden test set (never shared).",
        ),
    ] = False,
) -> None:
    """Approve a pending request for your organization's data, with conditions."""
    try:
        conditions = ApprovalConditions(
            columns=column,
            expires_in_days=expires_in_days,
            row_filter=row_filter,
            grants_identifiers=grants_identifiers,
            confirm_test_set=confirm_test_set,
        )
    except ValidationError as exc:
        raise invalid_options(exc, {"columns": "--column"}) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        agreement = queries.agreement_public(
            actions.approve_request(
                session,
                actor=hub.actor(session, acting),
                request_id=request_id,
                conditions=conditions,
            )
        )
    console.print(
        f"Approved request {request_id}: agreement [bold]{agreement.id}[/] lets project "
        f"{agreement.project} use {escape(agreement.dataset)} until "
        f"{_when(agreement.expires_at)} UTC (columns: {escape(_columns(agreement.columns))})."
    )


@request_app.command("reject")
def request_reject(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's number.")],
    acting: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Why, so the project can act on it.")],
) -> None:
    """Reject a pending request for your organization's data, saying why."""
    hub = hub_of(ctx)
    with hub.session() as session:
        request = actions.reject_request(
            session,
            actor=hub.actor(session, acting),
            request_id=request_id,
            reason=_reason(reason),
        )
        console.print(
            f"Rejected request {request.id} for {escape(request.dataset.slug)}: "
            f"{escape(request.reason)}"
        )


@request_app.command("withdraw")
def request_withdraw(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(help="The request's number.")],
    acting: AsUser,
) -> None:
    """Withdraw a pending request you made (or one of a project you lead)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        request = actions.withdraw_request(
            session, actor=hub.actor(session, acting), request_id=request_id
        )
        console.print(f"Withdrew request {request.id} for {escape(request.dataset.slug)}.")


def _reason(text: str) -> str:
    try:
        return Reason(reason=text).reason
    except ValidationError as exc:
        raise invalid_options(exc) from None


@agreement_app.command("revoke")
def agreement_revoke(
    ctx: typer.Context,
    agreement_id: Annotated[int, typer.Argument(help="The agreement's number.")],
    acting: AsUser,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the project's members.")],
) -> None:
    """End an agreement on your organization's data: the project's next query is refused."""
    hub = hub_of(ctx)
    with hub.session() as session:
        agreement = actions.revoke_agreement(
            session,
            actor=hub.actor(session, acting),
            agreement_id=agreement_id,
            reason=_reason(reason),
        )
        console.print(
            f"Revoked agreement {agreement.id} (project {agreement.project_id}, "
            f"{escape(agreement.dataset.slug)}). The project's members have been notified."
        )


@agreement_app.command("show")
def agreement_show(
    ctx: typer.Context,
    agreement_id: Annotated[int, typer.Argument(help="The agreement's number.")],
    acting: AsUser,
    as_odrl: Annotated[
        bool, typer.Option("--odrl", help="Print the agreement as an ODRL 2.2 policy (JSON-LD).")
    ] = False,
) -> None:
    """Show an agreement's terms (to its project's members, the publisher's stewards and
    operators)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.actor(session, acting)
        agreement = queries.get_agreement(session, actor=actor, agreement_id=agreement_id)
        if as_odrl:
            typer.echo(
                json.dumps(
                    queries.agreement_odrl(session, agreement, base_url=hub.settings.base_url),
                    indent=2,
                    ensure_ascii=False,
                )
            )
            return
        shown = queries.agreement_public(agreement)
    table = Table(title=f"Agreement {shown.id}", show_header=False)
    table.add_column("term", style="bold")
    table.add_column("value", overflow="fold")
    for term, value in (
        ("request", str(shown.request)),
        ("project", str(shown.project)),
        ("dataset", shown.dataset),
        ("columns", _columns(shown.columns)),
        ("row filter", shown.row_filter or "none"),
        ("identifiers", "shown" if shown.grants_identifiers else "pseudonymised"),
        ("starts", _when(shown.starts_at) + " UTC"),
        ("expires", _when(shown.expires_at) + " UTC"),
        ("state", _state(shown)),
    ):
        table.add_row(term, escape(value))
    if shown.revoked_at is not None:
        table.add_row("revoked", escape(f"{_when(shown.revoked_at)} UTC: {shown.revoke_reason}"))
    console.print(table)
