"""``bitgoeul dataset list|create|update|upload|publish-run|discard-run|classify|preview|
download``: the catalog from the command line.

``upload`` runs the same ingest as the web page and the API (``catalog.actions.publish_version``)
and shows its progress callback as a Rich progress bar; a file that fails validation prints
the report as a table and exits 1.  A file identical to the latest version prints so and exits
0.  A file whose columns fell back to text because of a few cells prints those cells and
exits 3 (``HELD_EXIT_CODE``): ``publish-run`` or ``discard-run`` makes the choice.
``preview`` and ``download`` pass the same doors as the page and the API
(``catalog.actions.preview_version``, ``download_version``), under ``--project``'s agreement.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from bitgoeul.accounts.actor import ANONYMOUS
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import (
    AppliedObligations,
    DatasetCreate,
    DatasetUpdate,
    UpdateFrequency,
)
from bitgoeul.cli.context import cli_language, console, err_console, fail, hub_of, say
from bitgoeul.errors import ValidationFailed
from bitgoeul.governance.decision import ColumnClass
from bitgoeul.messages import msg, said
from bitgoeul.storage import make_store

dataset_app = typer.Typer(help="Datasets in the catalog.")

# ``dataset upload``'s exit status when the upload waits for the steward's choice.
HELD_EXIT_CODE = 3

AsUser = Annotated[str, typer.Option("--as", help="The user acting (a steward or operator).")]


@dataset_app.command("list")
def dataset_list(
    ctx: typer.Context,
    q: Annotated[str, typer.Option("--q", help="Search words (English or Korean).")] = "",
    sector: Annotated[Sector | None, typer.Option("--sector", help="Only this sector.")] = None,
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="Only this organization's (slug).")
    ] = None,
    access_level: Annotated[
        AccessLevel | None, typer.Option("--access-level", help="Only this access level.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 100,
) -> None:
    """List the datasets in the catalog, optionally matching search words and filters."""
    with hub_of(ctx).session() as session:
        results = catalog_queries.search_datasets(
            session,
            q=q,
            sector=sector,
            publisher=publisher,
            access_level=access_level,
            limit=limit,
        )
    shown = f"{len(results.items)} of {results.total}" if results.total > limit else results.total
    table = Table(title=f"{shown} datasets" + (f" matching {q!r}" if q else ""))
    # Slugs are what people copy into the next command: never cut them, wrap titles instead.
    longest_slug = max((len(dataset.slug) for dataset in results.items), default=4)
    table.add_column("slug", no_wrap=True, min_width=longest_slug)
    for column in ("title", "publisher", "sector", "access", "version"):
        table.add_column(column)
    for dataset in results.items:
        table.add_row(
            escape(dataset.slug),
            escape(dataset.title),
            escape(dataset.publisher),
            dataset.sector.value,
            dataset.access_level.value,
            "" if dataset.latest_version is None else str(dataset.latest_version),
        )
    console.print(table)


@dataset_app.command("create")
def dataset_create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="The title in English.")],
    sector: Annotated[Sector, typer.Option("--sector", help="The sector it belongs to.")],
    acting: AsUser,
    slug: Annotated[
        str | None, typer.Option("--slug", help="URL name; made from the title if left out.")
    ] = None,
    title_ko: Annotated[str, typer.Option("--title-ko", help="The title in Korean.")] = "",
    description: Annotated[str, typer.Option("--description", help="What it holds.")] = "",
    description_ko: Annotated[
        str, typer.Option("--description-ko", help="The description in Korean.")
    ] = "",
    publisher: Annotated[
        str | None,
        typer.Option("--publisher", help="Publishing organization's slug (a steward's own)."),
    ] = None,
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", help="A keyword; repeat for more.")
    ] = None,
    licence: Annotated[str, typer.Option("--licence", help="SPDX-style licence id.")] = (
        "CC-BY-4.0"
    ),
    access_level: Annotated[
        AccessLevel, typer.Option("--access-level", help="Who may use the rows.")
    ] = AccessLevel.registered,
    update_frequency: Annotated[
        UpdateFrequency, typer.Option("--update-frequency", help="How often versions come.")
    ] = UpdateFrequency.unknown,
    spatial: Annotated[str, typer.Option("--spatial", help="Area covered.")] = "",
    contact_email: Annotated[
        str, typer.Option("--contact-email", help="Who answers questions about it.")
    ] = "",
) -> None:
    """Create a dataset's catalog entry; upload its first version with 'dataset upload'."""
    hub = hub_of(ctx)
    try:
        data = DatasetCreate(
            slug=slug,
            title=title,
            title_ko=title_ko,
            description=description,
            description_ko=description_ko,
            publisher=publisher,
            sector=sector,
            keywords=keyword or [],
            licence=licence,
            access_level=access_level,
            update_frequency=update_frequency,
            spatial=spatial,
            contact_email=contact_email,
        )
    except PydanticValidationError as exc:
        raise fail("; ".join(_field_problem(e) for e in exc.errors())) from None
    with hub.session() as session:
        dataset = catalog_actions.create_dataset(
            session, actor=hub.actor(session, acting), data=data
        )
        console.print(
            f"Created dataset [bold]{escape(dataset.slug)}[/] ({escape(dataset.title)}). "
            f"Upload its first version with: bitgoeul dataset upload {dataset.slug} FILE "
            f"--as {acting}"
        )


def _field_problem(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ())) or "value"
    return f"--{where.replace('_', '-')}: {error.get('msg', 'is not valid')}"


def read_json_file(path: Path | None, what: str) -> Any:
    """A JSON file given on the command line, or a message naming the line and column."""
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"Cannot read the {what} file {path}: {exc.strerror}.") from None
    except json.JSONDecodeError as exc:
        raise fail(
            f"The {what} file {path} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}."
        ) from None
    if not isinstance(value, dict):
        raise fail(f"The {what} file {path} must hold a JSON object ({{...}}).")
    return value


@dataset_app.command("upload")
def dataset_upload(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The dataset receiving a new version.")],
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV, TSV, JSON Lines, Parquet or XLSX.",
        ),
    ],
    acting: AsUser,
    schema: Annotated[
        Path | None,
        typer.Option("--schema", help="A Table Schema (JSON) the file must match."),
    ] = None,
    classes: Annotated[
        Path | None,
        typer.Option("--classes", help="JSON object mapping column names to column classes."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What changed in this version.")] = "",
    accept_text: Annotated[
        bool,
        typer.Option(
            "--accept-text",
            help="Publish columns that fell back to text because of a few cells as text, "
            "without holding the upload for a choice.",
        ),
    ] = False,
) -> None:
    """Validate a file and publish it as the dataset's next immutable version."""
    hub = hub_of(ctx)
    declared_schema = read_json_file(schema, "schema")
    column_classes = read_json_file(classes, "column classes")
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        console=err_console,
    )
    task = progress.add_task(escape(file.name), total=file.stat().st_size, rows=0)

    def report(bytes_done: int, bytes_total: int, rows_done: int) -> None:
        progress.update(task, completed=bytes_done, total=bytes_total or None, rows=rows_done)

    with hub.session() as session:
        actor = hub.actor(session, acting)
        try:
            with progress:
                version = catalog_actions.publish_version(
                    session,
                    settings=hub.settings,
                    store=make_store(hub.settings),
                    actor=actor,
                    slug=slug,
                    source=file,
                    filename=file.name,
                    declared_schema=declared_schema,
                    column_classes=column_classes,
                    note=note,
                    progress=report,
                    accept_text=accept_text,
                )
        except catalog_actions.AlreadyPublished as exc:
            console.print(escape(say(exc.message)))
            return
        except catalog_actions.UploadHeld as held:
            err_console.print(text_fallback_table(held.columns))
            publish = f"bitgoeul dataset publish-run {held.run_id} --as {acting}"
            discard = f"bitgoeul dataset discard-run {held.run_id} --as {acting}"
            lines = [
                msg(
                    "Nothing is published yet: ingest run {run} waits for your choice.",
                    run=held.run_id,
                ),
                msg("Publish these columns as text: {command}", command=publish),
                msg("Or discard it and fix the file: {command}", command=discard),
            ]
            console.print(escape("\n  ".join(say(line) for line in lines)))
            raise typer.Exit(HELD_EXIT_CODE) from None
        except ValidationFailed as exc:
            if isinstance(exc.detail, dict) and "errors" in exc.detail:
                err_console.print(validation_report_table(exc.detail))
            raise fail(exc.message) from None
    published = msg(
        "Published {slug} version {number}: {rows} rows from {file}.",
        slug=slug,
        number=version.number,
        rows=f"{version.row_count:,}",
        file=file.name,
    )
    console.print(escape(say(published)))


def validation_report_table(report: dict[str, Any]) -> Table:
    """The ingest error report: one row per error, where it is and what to fix."""
    lang = cli_language()
    shown = len(report.get("errors", []))
    total = report.get("error_count", shown)
    file = report.get("file", "")
    if total == 1:
        title = say(msg("1 problem in {file}", file=file))
    else:
        title = say(msg("{count} problems in {file}", count=total, file=file))
    if report.get("truncated"):
        title += " " + say(msg("(first {shown} shown)", shown=shown))
    table = Table(title=escape(title), show_lines=False)
    # Headers are the report's field names, as in every table the CLI prints.
    for column in ("row", "column", "rule", "value", "message"):
        table.add_column(column, overflow="fold")
    for error in report.get("errors", []):
        value = error.get("value")
        table.add_row(
            "" if error.get("row") is None else str(error["row"]),
            escape(str(error.get("field") or error.get("column") or "")),
            escape(str(error.get("rule", ""))),
            "" if value is None else escape(str(value)[:40]),
            escape(said(error.get("message", ""), lang)),
        )
    counts = report.get("counts_by_rule") or {}
    if counts:
        by_rule = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        table.caption = say(msg("by rule: {counts}", counts=by_rule))
    return table


def text_fallback_table(columns: list[dict[str, Any]]) -> Table:
    """The cells that made columns text: file, row, column, value, the type most cells had."""
    table = Table(title=say(msg("Columns read as text because of a few cells")))
    for name in ("file", "row", "column", "value", "most cells"):
        table.add_column(name, overflow="fold")
    for column in columns:
        for cell in column.get("cells", []):
            table.add_row(
                escape(str(column.get("file", ""))),
                str(cell.get("row", "")),
                escape(str(column.get("field", ""))),
                escape(str(cell.get("value", ""))[:40]),
                escape(str(column.get("type", ""))),
            )
    table.caption = "; ".join(
        say(
            msg(
                "{column}: {count} of {present} cells",
                column=column.get("field"),
                count=column.get("count"),
                present=column.get("present"),
            )
        )
        for column in columns
    )
    return table


RunId = Annotated[int, typer.Argument(help="The ingest run waiting for a choice.")]


@dataset_app.command("publish-run")
def dataset_publish_run(ctx: typer.Context, run: RunId, acting: AsUser) -> None:
    """Publish an upload held for a choice, its fallen-back columns as text."""
    hub = hub_of(ctx)
    with hub.session() as session:
        version = catalog_actions.publish_held(
            session,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            run_id=run,
        )
        published = msg(
            "Published {slug} version {number}: {rows} rows, the held columns as text.",
            slug=version.dataset.slug,
            number=version.number,
            rows=f"{version.row_count:,}",
        )
        console.print(escape(say(published)))


@dataset_app.command("discard-run")
def dataset_discard_run(ctx: typer.Context, run: RunId, acting: AsUser) -> None:
    """Discard an upload held for a choice; earlier versions stay as they are."""
    hub = hub_of(ctx)
    with hub.session() as session:
        catalog_actions.discard_held(
            session,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            run_id=run,
        )
    console.print(say(msg("Discarded ingest run {run}; nothing was published.", run=run)))


@dataset_app.command("classify")
def dataset_classify(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The dataset whose columns to classify.")],
    acting: AsUser,
    column_class: Annotated[
        list[str],
        typer.Option(
            "--class",
            help="COLUMN=CLASS (direct_identifier, quasi_identifier, sensitive or other); "
            "repeat for more columns.",
        ),
    ],
) -> None:
    """Change column classes of the latest version: the same rows become the next version."""
    classes: dict[str, str] = {}
    for item in column_class:
        column, sep, name = item.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise fail(
                msg(
                    "--class {item}: write COLUMN=CLASS, e.g. phone=direct_identifier.",
                    item=repr(item),
                )
            )
        classes[column.strip()] = name.strip()
    allowed = {c.value for c in ColumnClass}
    wrong = sorted(name for name in classes.values() if name not in allowed)
    if wrong:
        raise fail(
            msg(
                "--class: {wrong} is not a class; use one of {allowed}.",
                wrong=", ".join(wrong),
                allowed=", ".join(sorted(allowed)),
            )
        )
    hub = hub_of(ctx)
    with hub.session() as session:
        version = catalog_actions.reclassify_columns(
            session,
            settings=hub.settings,
            store=make_store(hub.settings),
            actor=hub.actor(session, acting),
            slug=slug,
            classes=classes,
        )
        if version is None:
            unchanged = msg(
                "The columns of {slug} already have these classes; nothing changed.", slug=slug
            )
            console.print(escape(say(unchanged)))
            return
        published = msg(
            "Published {slug} version {number}: the same {rows} rows with the new column classes.",
            slug=slug,
            number=version.number,
            rows=f"{version.row_count:,}",
        )
        console.print(escape(say(published)))


@dataset_app.command("update")
def dataset_update(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The dataset's slug.")],
    acting: AsUser,
    title: Annotated[str | None, typer.Option("--title", help="The title in English.")] = None,
    title_ko: Annotated[str | None, typer.Option("--title-ko", help="The title in Korean.")] = None,
    description: Annotated[str | None, typer.Option("--description", help="What it holds.")] = None,
    description_ko: Annotated[
        str | None, typer.Option("--description-ko", help="The description in Korean.")
    ] = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option("--keyword", help="A keyword; repeat for more (replaces them all)."),
    ] = None,
    licence: Annotated[
        str | None, typer.Option("--licence", help="SPDX licence id, e.g. CC-BY-4.0.")
    ] = None,
    access_level: Annotated[
        AccessLevel | None, typer.Option("--access-level", help="Who may use the rows.")
    ] = None,
    min_group_size: Annotated[
        int | None,
        typer.Option("--min-group-size", help="Smallest group secure-data results may show."),
    ] = None,
    dominance_n: Annotated[
        int | None, typer.Option("--dominance-n", help="Dominance rule: the top n values.")
    ] = None,
    dominance_k: Annotated[
        float | None,
        typer.Option("--dominance-k", help="Dominance rule: their largest share (0-1]."),
    ] = None,
    holdout: Annotated[
        bool | None,
        typer.Option("--holdout/--no-holdout", help="Mark it a testbed's hidden test set."),
    ] = None,
) -> None:
    """Change a dataset's catalog entry: metadata, access level, disclosure thresholds,
    licence or test-set mark (its publisher's stewards, operators).  Only the options given
    change; versions are untouched."""
    given = {
        "title": title,
        "title_ko": title_ko,
        "description": description,
        "description_ko": description_ko,
        "keywords": keyword,
        "licence": licence,
        "access_level": access_level,
        "min_group_size": min_group_size,
        "dominance_n": dominance_n,
        "dominance_k": dominance_k,
        "holdout": holdout,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise fail(msg("Name something to change, e.g. --title or --access-level."))
    try:
        data = DatasetUpdate(**changes)
    except PydanticValidationError as exc:
        raise fail("; ".join(_field_problem(e) for e in exc.errors())) from None
    hub = hub_of(ctx)
    with hub.session() as session:
        dataset = catalog_actions.update_dataset(
            session, actor=hub.actor(session, acting), slug=slug, data=data
        )
        console.print(
            f"Updated dataset [bold]{escape(dataset.slug)}[/]: "
            + escape(", ".join(sorted(changes)))
            + f" (access: {dataset.access_level.value}, licence: {escape(dataset.licence)}, "
            f"minimum group {dataset.min_group_size}, dominance {dataset.dominance_n} / "
            f"{dataset.dominance_k})."
        )


ProjectOption = Annotated[
    int | None,
    typer.Option(
        "--project", min=1, help="The project whose agreement grants restricted or secure data."
    ),
]
ReaderOption = Annotated[
    str | None, typer.Option("--as", help="The user reading (default: nobody signed in).")
]


def _applied_lines(applied: AppliedObligations) -> list[str]:
    """What the agreement changed, as sentences (nothing when it changed nothing)."""
    lines = []
    if applied.agreement is not None:
        lines.append(
            say(
                msg(
                    "Under agreement {agreement} of project {project}:",
                    agreement=applied.agreement,
                    project=applied.project,
                )
            )
        )
    if applied.hidden_columns:
        lines.append(
            say(msg("columns left out: {columns}", columns=", ".join(applied.hidden_columns)))
        )
    if applied.row_filter:
        lines.append(say(msg("only the rows where {condition}", condition=applied.row_filter)))
    if applied.pseudonymised_columns:
        lines.append(
            say(
                msg(
                    "identifiers replaced by this project's pseudonyms: {columns}",
                    columns=", ".join(applied.pseudonymised_columns),
                )
            )
        )
    return lines


@dataset_app.command("preview")
def dataset_preview(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The dataset's slug.")],
    acting: ReaderOption = None,
    project: ProjectOption = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="A version (default: the latest).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Rows to show.")] = 20,
) -> None:
    """Show the first rows of a dataset, as the decision allows (audited); under --project,
    the agreement's columns and rows, identifiers pseudonymised, and what it changed."""
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.optional_actor(session, acting) or ANONYMOUS
        preview = catalog_actions.preview_version(
            session,
            store=make_store(hub.settings),
            actor=actor,
            slug=slug,
            number=version,
            limit=limit,
            project_id=project,
            secret=hub.settings.secret(),
        )
    table = Table(title=f"{preview.dataset} v{preview.version}: {len(preview.rows)} rows")
    for column in preview.columns:
        table.add_column(escape(column))
    for row in preview.rows:
        table.add_row(*("" if value is None else escape(str(value)) for value in row))
    console.print(table)
    for line in _applied_lines(preview.applied):
        console.print(escape(line))


@dataset_app.command("download")
def dataset_download(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The dataset's slug.")],
    dest: Annotated[
        str,
        typer.Argument(help="A file, or a folder (an existing one, or a path ending in /)."),
    ],
    acting: ReaderOption = None,
    project: ProjectOption = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="A version (default: the latest).")
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="parquet or csv.", case_sensitive=False)
    ] = "parquet",
) -> None:
    """Write a version's rows to a file, as the decision allows (audited); under --project,
    the agreement's columns and rows with identifiers pseudonymised."""
    chosen = file_format.lower()
    if chosen not in ("parquet", "csv"):
        raise fail(msg("--format is parquet or csv, not {value}.", value=repr(file_format)))
    # "out/" names a folder (made if missing), as it does for cp and rsync.
    into_folder = dest.endswith(("/", os.sep)) or Path(dest).is_dir()
    hub = hub_of(ctx)
    with hub.session() as session:
        actor = hub.optional_actor(session, acting) or ANONYMOUS
        found = catalog_actions.download_version(
            session,
            store=make_store(hub.settings),
            actor=actor,
            slug=slug,
            number=version,
            file_format="csv" if chosen == "csv" else "parquet",
            project_id=project,
            secret=hub.settings.secret(),
        )
        # Decided and allowed: only now is a folder made.
        target = Path(dest)
        try:
            if into_folder:
                target.mkdir(parents=True, exist_ok=True)
                target = target / found.filename
            partial = target.with_name(target.name + ".part")
            try:
                with partial.open("wb") as out:
                    for chunk in found.chunks:
                        out.write(chunk)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)
        except OSError as exc:
            raise fail(
                msg("Cannot write {file}: {reason}.", file=target, reason=exc.strerror)
            ) from None
    console.print(escape(say(msg("Wrote {file}.", file=target))))
