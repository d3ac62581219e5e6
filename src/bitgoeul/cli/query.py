"""``bitgoeul query run``: the SQL gateway from the command line.

Calls ``query.actions.run_query`` (or ``export_query`` when writing a CSV or Parquet file), as
``POST /api/v1/query`` and ``POST /api/v1/query/export`` do: the same decision point, the same
rewriting and disclosure control, the same audit entries and query history.  Without ``--as``
the query runs anonymously, which the gateway allows on open data only.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from bitgoeul.accounts.actor import ANONYMOUS
from bitgoeul.cli.context import console, fail, hub_of, say
from bitgoeul.messages import msg
from bitgoeul.query import actions
from bitgoeul.query.schemas import QueryResponse
from bitgoeul.storage import make_store

query_app = typer.Typer(help="The SQL gateway: queries over datasets, as the policy allows.")

EXPORT_FORMATS: dict[str, actions.ExportFormat] = {".csv": "csv", ".parquet": "parquet"}


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _read_sql(sql: str | None, file: Path | None) -> str:
    if (sql is None) == (file is None):
        raise fail(msg("Give the query either as the SQL argument or with --file, not both."))
    if file is None:
        assert sql is not None  # noqa: S101 (one of the two is given)
        return sql
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(
            msg("Cannot read the query file {file}: {reason}.", file=file, reason=exc.strerror)
        ) from None
    except UnicodeDecodeError:
        raise fail(msg("The query file {file} is not UTF-8 text.", file=file)) from None


@query_app.command("run")
def query_run(
    ctx: typer.Context,
    sql: Annotated[
        str | None,
        typer.Argument(help='One SELECT, naming datasets by slug: "kepco-dong-electricity-daily".'),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", dir_okay=False, help="Read the query from this file instead."),
    ] = None,
    project: Annotated[
        int | None, typer.Option("--project", help="The project whose agreement it runs under.")
    ] = None,
    acting: Annotated[
        str | None, typer.Option("--as", help="The user asking (default: anonymous).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="How to print the rows.")
    ] = OutputFormat.table,
    output: Annotated[
        Path | None,
        typer.Option("--output", dir_okay=False, help="Export every row to a .csv or .parquet."),
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit", min=1, max=actions.MAX_ROW_LIMIT, help="Print at most this many rows."
        ),
    ] = actions.DEFAULT_ROW_LIMIT,
) -> None:
    """Run one SQL query through the gateway and print the rows it may show you."""
    text = _read_sql(sql, file)
    file_format: actions.ExportFormat | None = None
    if output is not None:
        file_format = EXPORT_FORMATS.get(output.suffix.lower())
        if file_format is None:
            raise fail(
                msg("--output must end in .csv or .parquet, not {name}.", name=repr(output.name))
            )
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.optional_actor(session, acting) or ANONYMOUS
        store = make_store(hub.settings)
        if file_format is not None:
            assert output is not None  # noqa: S101 (a format comes from an output)
            export = actions.export_query(
                session,
                settings=hub.settings,
                store=store,
                actor=actor,
                sql=text,
                file_format=file_format,
                project_id=project,
            )
            try:
                output.write_bytes(export.content)
            except OSError as exc:
                raise fail(
                    msg("Cannot write {file}: {reason}.", file=output, reason=exc.strerror)
                ) from None
            wrote = msg(
                "Wrote the query's result to {file} ({format}).", file=output, format=file_format
            )
            console.print(escape(say(wrote)))
            return
        result = actions.run_query(
            session,
            settings=hub.settings,
            store=store,
            actor=actor,
            sql=text,
            project_id=project,
            limit=limit,
        )
    response = QueryResponse.of(result)
    groups = response.suppressed_groups
    suppressed = say(
        msg(
            "1 group was suppressed by disclosure control (too few people, or dominated by a few).",
        )
        if groups == 1
        else msg(
            "{count} groups were suppressed by disclosure control (too few people, or "
            "dominated by a few).",
            count=groups,
        )
    )
    if output_format == OutputFormat.table:
        console.print(_table(response))
        if response.suppressed_groups:
            console.print(suppressed)
        return
    if output_format == OutputFormat.json:
        typer.echo(response.model_dump_json(indent=2))
    else:
        typer.echo(_csv(response), nl=False)
    if response.suppressed_groups:
        typer.echo(suppressed, err=True)  # on stderr, so piped rows stay clean


def _csv(response: QueryResponse) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(response.columns)
    writer.writerows([_cell(value) for value in row] for row in response.rows)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _table(response: QueryResponse) -> Table:
    used = ", ".join(f"{d.slug} v{d.version}" for d in response.datasets)
    elapsed = f"{response.elapsed_ms:.0f}"
    if response.truncated:
        caption = msg(
            "{rows} rows from {datasets} in {ms} ms (more not shown: raise --limit, or export "
            "with --output)",
            rows=response.row_count,
            datasets=used,
            ms=elapsed,
        )
    elif response.row_count == 1:
        caption = msg("1 row from {datasets} in {ms} ms", datasets=used, ms=elapsed)
    else:
        caption = msg(
            "{rows} rows from {datasets} in {ms} ms",
            rows=response.row_count,
            datasets=used,
            ms=elapsed,
        )
    table = Table(caption=escape(say(caption)))
    for column in response.columns:
        table.add_column(escape(column), overflow="fold")
    for row in response.rows:
        table.add_row(*(escape(_cell(value)) for value in row))
    return table
