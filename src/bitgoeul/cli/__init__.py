"""The ``bitgoeul`` command line: run the hub, build the demo city, administer it locally.

A peer of the REST API and the web pages: every command calls the same ``actions`` and
``queries`` they do and has no rules of its own.  Each command group lives in its own module;
this one assembles them.  Documented in docs/cli.md (tests/test_docs.py keeps it complete).
"""

from __future__ import annotations

import typer
from pydantic import ValidationError

from bitgoeul.cli.accounts import org_app, token_app, user_app
from bitgoeul.cli.admin import audit_app, config, db_app
from bitgoeul.cli.civic import civic_app
from bitgoeul.cli.context import DomainErrorGroup, Hub, fail
from bitgoeul.cli.datasets import dataset_app
from bitgoeul.cli.dp import dp_app
from bitgoeul.cli.governance import agreement_app, project_app, request_app
from bitgoeul.cli.jobs import credits_app, job_app
from bitgoeul.cli.linkage import linkage_app
from bitgoeul.cli.mydata import mydata_app
from bitgoeul.cli.programmes import academy_app, programme_app
from bitgoeul.cli.query import query_app
from bitgoeul.cli.server import demo, serve, worker
from bitgoeul.cli.testbed import testbed_app
from bitgoeul.cli.tower import tower_app
from bitgoeul.config import Settings
from bitgoeul.messages import validation_problems

app = typer.Typer(
    name="bitgoeul",
    cls=DomainErrorGroup,
    help="Bitgoeul: the open platform that runs an AI hub city.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def load_settings(ctx: typer.Context) -> None:
    """Read the BITGOEUL_* settings once, for every command."""
    if isinstance(ctx.obj, Hub):
        return
    try:
        settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    except ValidationError as exc:
        problems = "; ".join(validation_problems(exc, whole="settings"))
        raise fail(f"The BITGOEUL_* settings are invalid: {problems}") from None
    ctx.obj = Hub(settings)


app.command()(serve)
app.command()(worker)
app.command()(demo)
app.command()(config)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(dataset_app, name="dataset")
app.add_typer(project_app, name="project")
app.add_typer(request_app, name="request")
app.add_typer(agreement_app, name="agreement")
app.add_typer(query_app, name="query")
app.add_typer(dp_app, name="dp")
app.add_typer(mydata_app, name="mydata")
app.add_typer(job_app, name="job")
app.add_typer(credits_app, name="credits")
app.add_typer(testbed_app, name="testbed")
app.add_typer(audit_app, name="audit")
app.add_typer(linkage_app, name="linkage")
app.add_typer(tower_app, name="tower")
app.add_typer(programme_app, name="programme")
app.add_typer(academy_app, name="academy")
app.add_typer(civic_app, name="civic")

__all__ = ["app"]
