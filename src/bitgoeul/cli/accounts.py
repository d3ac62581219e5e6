"""``bitgoeul org create``, ``bitgoeul user create``, ``bitgoeul token create``.

Local administration: whoever can run commands on the hub's machine can create the first
operator.  ``--as`` names the user an action is recorded under; without it the action is
recorded as the command line itself.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from bitgoeul.accounts import actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.cli.context import console, hub_of
from bitgoeul.errors import NotFound

org_app = typer.Typer(help="Organizations: agencies, companies, research groups, the operator.")
user_app = typer.Typer(help="User accounts.")
token_app = typer.Typer(help="API tokens for the REST API and the Python SDK.")

AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Record the action as this user (default: the command line)."),
]


@org_app.command("create")
def org_create(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Short name used in URLs, e.g. 'kepco'.")],
    name: Annotated[str, typer.Option("--name", help="Full name in English.")],
    kind: Annotated[OrganizationKind, typer.Option("--kind", help="What the organization is.")],
    name_ko: Annotated[str, typer.Option("--name-ko", help="Full name in Korean.")] = "",
    description: Annotated[str, typer.Option("--description", help="One paragraph.")] = "",
    website: Annotated[str, typer.Option("--website", help="The organization's web site.")] = "",
    acting: AsOption = None,
) -> None:
    """Create an organization that can publish datasets and hold members."""
    hub = hub_of(ctx)
    with hub.session() as session:
        org = actions.create_organization(
            session,
            slug=slug,
            name=name,
            kind=kind,
            name_ko=name_ko,
            description=description,
            website=website,
            actor=hub.optional_actor(session, acting),
        )
        console.print(f"Created organization [bold]{escape(org.slug)}[/] ({escape(org.name)}).")


@user_app.command("create")
def user_create(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The name the user signs in with.")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do on the hub.")],
    password: Annotated[
        str,
        typer.Option(
            "--password",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="BITGOEUL_NEW_PASSWORD",
            help="Prompted for when not given (or read from BITGOEUL_NEW_PASSWORD).",
        ),
    ],
    org: Annotated[
        str | None, typer.Option("--org", help="Slug of the user's organization.")
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="Shown on pages.")] = "",
    email: Annotated[str, typer.Option("--email", help="Contact address.")] = "",
    acting: AsOption = None,
) -> None:
    """Create a user account; the password is prompted for and never echoed."""
    hub = hub_of(ctx)
    with hub.session() as session:
        organization_id = None
        if org is not None:
            organization = account_queries.get_organization(session, org)
            if organization is None:
                raise NotFound(
                    f"There is no organization {org!r}; create it with 'bitgoeul org create'."
                )
            organization_id = organization.id
        user = actions.create_user(
            session,
            username=username,
            password=password,
            role=role,
            organization_id=organization_id,
            display_name=display_name,
            email=email,
            actor=hub.optional_actor(session, acting),
            settings=hub.settings,
        )
        where = f" in {escape(org)}" if org else ""
        console.print(f"Created {role.value} [bold]{escape(user.username)}[/]{where}.")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'laptop'.")],
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    expires_in_days: Annotated[
        int | None,
        typer.Option("--expires-in-days", min=1, help="Expire after this many days."),
    ] = None,
) -> None:
    """Create an API token for a user and print it once (only its hash is kept)."""
    hub = hub_of(ctx)
    with hub.session() as session:
        token, plaintext = actions.create_api_token(
            session,
            actor=hub.actor(session, user),
            name=name,
            expires_in_days=expires_in_days,
        )
        console.print(f"Created token [bold]{escape(token.name)}[/] for {escape(user)}:")
        console.print(plaintext)
        console.print("Keep it now: it is not shown again. Send it as 'Authorization: Bearer …'.")
