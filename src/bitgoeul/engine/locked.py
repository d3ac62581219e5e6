"""The locked-down DuckDB that every door reads dataset versions through.

What a statement run here can reach, by construction:

* **Exactly the files of the decided versions.**  A database is opened for one set of Parquet
  files: ``allowed_paths`` lists them, ``allowed_directories`` is empty and
  ``enable_external_access`` is off, then ``lock_configuration`` freezes every setting.  No
  other file, directory, URL, extension or secret can be opened.  Databases are kept per set
  of files (opening one costs ~15 ms) and never shared between different sets.
* **No state that outlives a query.**  The database's own catalog is an empty file opened
  read-only, so nothing (a macro, a table, a view, a type) can be created in it; each query
  runs on a new connection whose temporary catalog holds the views the door creates for it and
  vanishes when the connection closes.  ``temp_directory`` is empty: nothing spills to disk.
* **Views the door creates, not paths the user names.**  Each version is a temporary view
  (``privacy.views.view_sql``: visible columns, pseudonyms, row filter) over
  ``read_parquet('<the verified file>')``; the user's query, checked and printed by
  ``query.rewrite``, names only those views.

``allowed_paths`` lets DuckDB write the listed files as well as read them; only SELECT queries
that were checked and round-tripped are ever sent, and every door verifies a version's SHA-256
before reading it, so a changed file is caught at its next use (``storage.integrity``).

A timer interrupts a statement that runs too long; results are fetched in batches and refused
past a byte cap, so a query cannot fill the server's memory with one answer.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bitgoeul.engine.sql import quote_name, quote_text
from bitgoeul.errors import BitgoeulError, TooLarge, ValidationFailed
from bitgoeul.messages import Message, msg

MiB = 1024 * 1024
DEFAULT_MAX_RESULT_BYTES = 64 * MiB
_FETCH_ROWS = 2048
_ARROW_BATCH_ROWS = 65_536
MAX_DATABASES = 8


class QueryTimedOut(BitgoeulError):
    status_code = 408


@dataclass(frozen=True)
class View:
    """One dataset version as a door may read it: ``select_sql`` over ``{source}`` (the
    decision's view) of the verified Parquet file at ``path``, created as ``name``."""

    name: str
    path: Path
    select_sql: str


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0
    memory_limit: str = "2GB"
    threads: int = 2
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES


@dataclass
class EngineResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


_catalog_lock = threading.Lock()
_catalog_folder: Path | None = None


def _empty_catalog() -> Path:
    """A new empty DuckDB database file, for one database's own catalog.  Each database gets
    its own file: DuckDB hands out the same instance again for a path it has open, and that
    instance's settings are locked for another set of files."""
    global _catalog_folder
    with _catalog_lock:
        if _catalog_folder is None or not (_catalog_folder / "empty.duckdb").exists():
            folder = Path(tempfile.mkdtemp(prefix="bitgoeul-engine-"))
            duckdb.connect(str(folder / "empty.duckdb")).close()
            _catalog_folder = folder
        target = _catalog_folder / f"catalog-{uuid.uuid4().hex}.duckdb"
        shutil.copyfile(_catalog_folder / "empty.duckdb", target)
        os.chmod(target, 0o444)
        return target


Connection = duckdb.DuckDBPyConnection  # what ``connection`` yields, for callers' annotations

_databases: OrderedDict[tuple[tuple[str, ...], str, int], duckdb.DuckDBPyConnection] = OrderedDict()
_databases_lock = threading.Lock()


def _open_database(files: tuple[str, ...], limits: Limits) -> duckdb.DuckDBPyConnection:
    catalog = _empty_catalog()
    conn = duckdb.connect(
        str(catalog),
        read_only=True,
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": limits.memory_limit,
            "threads": limits.threads,
        },
    )
    try:
        conn.execute("SET allowed_directories = []")
        conn.execute("SET allowed_paths = $1", [list(files)])
        conn.execute("SET temp_directory = ''")
        conn.execute("SET python_enable_replacements = false")
        conn.execute("SET parquet_metadata_cache = true")
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    finally:
        # Open read-only and never written: the name can go at once.
        catalog.unlink(missing_ok=True)
    return conn


def _database(files: tuple[str, ...], limits: Limits) -> duckdb.DuckDBPyConnection:
    key = (files, limits.memory_limit, limits.threads)
    with _databases_lock:
        conn = _databases.get(key)
        if conn is not None:
            _databases.move_to_end(key)
            return conn
    opened = _open_database(files, limits)
    with _databases_lock:
        conn = _databases.setdefault(key, opened)
        if conn is not opened:
            opened.close()
        while len(_databases) > MAX_DATABASES:
            # A running query's connection keeps its database alive; it is just not reused.
            _databases.popitem(last=False)
        return conn


@contextmanager
def connection(views: list[View], limits: Limits) -> Iterator[duckdb.DuckDBPyConnection]:
    """A new connection that can read exactly ``views`` (created as temporary views)."""
    files = tuple(sorted({str(view.path) for view in views}))
    conn = _database(files, limits).cursor()
    try:
        for view in views:
            source = f"read_parquet({quote_text(str(view.path))})"
            conn.execute(
                f"CREATE TEMP VIEW {quote_name(view.name)} AS "
                + view.select_sql.replace("{source}", source)
            )
        yield conn
    finally:
        conn.close()


class _Deadline:
    def __init__(self, conn: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self.fired = False
        self._conn = conn
        self._timer = threading.Timer(seconds, self._fire)

    def _fire(self) -> None:
        self.fired = True
        self._conn.interrupt()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _too_large(limits: Limits) -> TooLarge:
    return TooLarge(
        msg(
            "The result is larger than the gateway's {limit} MiB limit; "
            "select fewer columns or rows, or aggregate.",
            limit=limits.max_result_bytes // MiB,
        )
    )


def _row_bytes(row: tuple[Any, ...]) -> int:
    return sum(len(v) if isinstance(v, str | bytes) else 8 for v in row)


@contextmanager
def _guarded(
    conn: duckdb.DuckDBPyConnection, limits: Limits, scrub: dict[str, str], secure: bool
) -> Iterator[None]:
    """Time limit, and DuckDB's errors as the user's (secrets scrubbed, values withheld)."""
    with _Deadline(conn, limits.timeout_s) as deadline:
        try:
            yield
        except duckdb.InterruptException:
            if deadline.fired:
                raise QueryTimedOut(
                    msg(
                        "The query ran longer than {seconds} s and was stopped; "
                        "aggregate more or filter the data first.",
                        seconds=format(limits.timeout_s, "g"),
                    )
                ) from None
            raise
        except duckdb.OutOfMemoryException:
            raise TooLarge(
                msg(
                    "The query needed more than the gateway's {memory} of memory; "
                    "aggregate more or filter the data first.",
                    memory=limits.memory_limit,
                )
            ) from None
        except duckdb.Error as error:
            raise ValidationFailed(_explain(error, scrub=scrub, secure=secure)) from None


def run(
    sql: str,
    views: list[View],
    *,
    limit: int,
    limits: Limits,
    scrub: dict[str, str],
    secure: bool,
) -> EngineResult:
    """Run ``sql`` (checked and printed by ``query.rewrite``) over ``views``; up to ``limit``
    rows, and whether there were more."""
    with connection(views, limits) as conn, _guarded(conn, limits, scrub, secure):
        result = conn.execute(sql)
        columns = [d[0] for d in result.description or []]
        rows: list[tuple[Any, ...]] = []
        size = 0
        while len(rows) <= limit:
            chunk = result.fetchmany(min(_FETCH_ROWS, limit + 1 - len(rows)))
            if not chunk:
                break
            size += sum(_row_bytes(row) for row in chunk)
            if size > limits.max_result_bytes:
                raise _too_large(limits)
            rows.extend(chunk)
    return EngineResult(columns=columns, rows=rows[:limit], truncated=len(rows) > limit)


def run_arrow(
    sql: str,
    views: list[View],
    *,
    max_rows: int,
    limits: Limits,
    scrub: dict[str, str],
    secure: bool = False,
) -> pa.Table:
    """``sql``'s whole result as an Arrow table, refused past ``max_rows`` or the byte cap."""
    with connection(views, limits) as conn, _guarded(conn, limits, scrub, secure):
        reader: pa.RecordBatchReader = conn.sql(sql).to_arrow_reader(_ARROW_BATCH_ROWS)
        batches: list[pa.RecordBatch] = []
        rows = size = 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            size += batch.nbytes
            if rows > max_rows:
                raise TooLarge(
                    msg(
                        "The result has more than {rows} rows; narrow the query or aggregate it.",
                        rows=max_rows,
                    )
                )
            if size > limits.max_result_bytes:
                raise _too_large(limits)
        return pa.Table.from_batches(batches, schema=reader.schema)


@contextmanager
def read_view(
    view: View, *, limits: Limits, limit: int | None = None
) -> Iterator[pa.RecordBatchReader]:
    """The rows of one view, streamed as Arrow batches (no byte cap: downloads and job inputs
    write them to a file as they come)."""
    sql = f"SELECT * FROM {quote_name(view.name)}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with connection([view], limits) as conn, _guarded(conn, limits, {}, secure=True):
        reader: pa.RecordBatchReader = conn.sql(sql).to_arrow_reader(_ARROW_BATCH_ROWS)
        yield reader


def _plain_floats(schema: pa.Schema) -> dict[str, Any]:
    """ParquetWriter options writing floating-point columns PLAIN and uncompressed (the
    others as usual: dictionary, Snappy).  Measured values rarely repeat and barely compress,
    so the dictionary is abandoned after its first pages and Snappy saves a few percent,
    while DuckDB scans such a file's floats about a fifth faster (what it writes itself)."""
    leaves = [leaf for field in schema for leaf in _leaves(field.name, field.type)]
    return {
        "use_dictionary": [path for path, floating in leaves if not floating],
        "compression": {path: "none" if floating else "snappy" for path, floating in leaves},
    }


def _leaves(path: str, data_type: pa.DataType) -> list[tuple[str, bool]]:
    """The Parquet column paths under one Arrow field, and whether each holds floats."""
    if pa.types.is_struct(data_type):
        return [
            leaf
            for i in range(data_type.num_fields)
            for leaf in _leaves(f"{path}.{data_type.field(i).name}", data_type.field(i).type)
        ]
    if pa.types.is_map(data_type):
        return [
            *_leaves(f"{path}.key_value.key", data_type.key_type),
            *_leaves(f"{path}.key_value.value", data_type.item_type),
        ]
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _leaves(f"{path}.list.element", data_type.value_type)
    return [(path, pa.types.is_floating(data_type))]


def write_view(
    view: View, *, target: Path, file_format: str, limits: Limits, plain_floats: bool = False
) -> int:
    """Write the rows of one view to ``target`` as Parquet or CSV (with a header), as they
    stream from the engine (written by PyArrow: DuckDB writes nothing); the rows written.
    ``plain_floats``: for a Parquet file the hub itself reads again and again
    (``_plain_floats``), at the cost of a larger file."""
    if file_format not in ("parquet", "csv"):
        raise ValidationFailed(msg("format: choose csv or parquet."))
    rows = 0
    with read_view(view, limits=limits) as reader:
        if file_format == "parquet":
            options = _plain_floats(reader.schema) if plain_floats else {}
            with pq.ParquetWriter(target, reader.schema, **options) as parquet:
                for batch in reader:
                    parquet.write_batch(batch)
                    rows += batch.num_rows
        else:
            with target.open("wb") as sheet:
                for chunk in csv_chunks(reader.schema, _counted(reader, counter := [0])):
                    sheet.write(chunk)
            rows = counter[0]
    return rows


_PLAIN_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="none")
_QUOTED_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="needed")


def _counted(batches: Iterable[pa.RecordBatch], counter: list[int]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        counter[0] += batch.num_rows
        yield batch


# OWASP's CSV injection advice: a cell starting with one of these is a formula to Excel,
# LibreOffice or Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3``...); a leading
# single quote makes it text.  Only text cells are touched: -5 in a number column stays -5.
_FORMULA_START = "=+-@\t\r"
_FORMULA_PATTERN = "^([=+\\-@\\t\\r])"


def _formula_safe_name(name: str) -> str:
    return "'" + name if name[:1] and name[0] in _FORMULA_START else name


def formula_safe_text(text: str) -> str:
    """One text cell of a CSV a person may open in a spreadsheet, neutralised as above."""
    return _formula_safe_name(text)


def _is_text(data_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_string_view(data_type)
    )


def formula_safe(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with every text value that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return prefixed by ``'`` (vectorised; a column with none is passed through)."""
    columns: list[pa.Array] = []
    changed = False
    for column in batch.columns:
        data_type = column.type
        if pa.types.is_dictionary(data_type) and _is_text(data_type.value_type):
            column = column.cast(data_type.value_type)
            data_type = column.type
        if _is_text(data_type):
            if pa.types.is_string_view(data_type):
                column = column.cast(pa.string())
            if pc.any(pc.match_substring_regex(column, _FORMULA_PATTERN)).as_py():
                column = pc.replace_substring_regex(
                    column, pattern=_FORMULA_PATTERN, replacement="'\\1"
                )
                changed = True
        columns.append(column)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def csv_chunks(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """CSV as every door writes it: a header, then values quoted only where they must be
    (RFC 4180), batch by batch.  A text cell (or column name) that a spreadsheet would read as
    a formula is neutralised (``formula_safe``); numbers and Parquet are written as they are."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(_formula_safe_name(n) for n in schema.names)
    yield header.getvalue().encode()
    for batch in batches:
        batch = formula_safe(batch)
        buffer = io.BytesIO()
        try:
            pa_csv.write_csv(batch, buffer, _PLAIN_CSV)
        except pa.ArrowInvalid:  # a value holds a comma, a quote or a line break
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, _QUOTED_CSV)
        yield buffer.getvalue()


def _explain(error: duckdb.Error, *, scrub: dict[str, str], secure: bool) -> Message:
    kind = type(error).__name__.replace("Exception", "").replace("Error", "")
    if secure:
        # DuckDB messages can quote values (a failed cast shows the value): on secure data
        # only the kind of failure is told.
        return msg(
            "The query failed in DuckDB ({kind} error); details are withheld for secure "
            "data. Check column types and names against the dataset's schema.",
            kind=kind,
        )
    message = str(error).split("\n\nLINE")[0].strip()
    for internal, shown in scrub.items():
        message = message.replace(internal, shown)
    return msg("The query failed in DuckDB: {message}", message=message[:500])
