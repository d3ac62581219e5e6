"""What every CLI command shares: the settings, a database session, the acting user, output.

The CLI is a peer of the API: commands parse their arguments, call the same ``actions`` the
routers call, and print.  Settings are read once by the root callback and carried on the Typer
context (tests pass their own through ``CliRunner.invoke(app, ..., obj=settings)``).  Domain
errors are printed as one line by :class:`DomainErrorGroup` and the command exits 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.errors import BitgoeulError, NotFound
from bitgoeul.messages import msg, translate

# Messages stay on one line in logs and pipes (tables still fit the terminal).
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def cli_language() -> str:
    """The language the CLI speaks: Korean when the locale (``LC_ALL``, ``LC_MESSAGES``, then
    ``LANG``, as gettext reads them) starts with ``ko``, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def say(text: str) -> str:
    """``text`` (a :func:`bitgoeul.messages.msg`) in the CLI's language."""
    return translate(text, cli_language())


def fail(message: str, *, where: Any = None) -> typer.Exit:
    """Print ``message`` as an error (in the CLI's language); the caller raises the returned
    ``Exit``.  ``where`` (a SQL syntax error's place) adds the line of SQL with a caret."""
    label = say(msg("Error:"))
    err_console.print(f"[bold red]{escape(label)}[/] {escape(say(message))}")
    if isinstance(where, dict) and "excerpt" in where and "caret" in where:
        err_console.print(
            escape(f"  {where['excerpt']}\n  {where['caret']}"), soft_wrap=True, overflow="ignore"
        )
    return typer.Exit(1)


def invalid_options(exc: ValidationError, options: Mapping[str, str] | None = None) -> typer.Exit:
    """A schema's refusal of the given options, named as options (``--days: ...``).

    ``options`` maps a schema field to its option when the names differ (``starts_on`` is
    ``--start``); other fields are named ``--field-name``.
    """
    renamed = options or {}
    problems = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
        field = loc[0] if loc else ""
        where = renamed.get(field) or (f"--{field.replace('_', '-')}" if field else "options")
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return fail("; ".join(problems))


class DomainErrorGroup(TyperGroup):
    """The root command: any domain error from any subcommand becomes one line and exit 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BitgoeulError as exc:
            raise fail(exc.message, where=exc.where) from None


@dataclass
class Hub:
    """The local hub the CLI acts on: its settings and its database."""

    settings: Settings

    @contextmanager
    def session(self) -> Iterator[Session]:
        engine = make_engine(self.settings)
        try:
            with make_sessionmaker(engine)() as session:
                yield session
        finally:
            engine.dispose()

    def actor(self, session: Session, username: str) -> Actor:
        """The named user, acting from the command line (``--as``)."""
        user = account_queries.get_user(session, username)
        if user is None:
            raise NotFound(
                f"There is no user {username!r}; list users in the web admin or create one "
                "with 'bitgoeul user create'."
            )
        return Actor.for_user(user, via="cli")

    def optional_actor(self, session: Session, username: str | None) -> Actor | None:
        return None if username is None else self.actor(session, username)


def hub_of(ctx: typer.Context) -> Hub:
    hub = ctx.find_object(Hub)
    if hub is None:  # only when a command is invoked without the root callback
        hub = Hub(Settings())
    return hub
