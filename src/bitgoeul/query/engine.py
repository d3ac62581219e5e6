"""The locked-down DuckDB that runs rewritten queries.

One DuckDB database per set of storage directories, shared by all queries (creating one costs
about 30 ms, too much per query): it is started with ``allowed_directories`` set to the object
store's Parquet directories, then ``enable_external_access = false`` and ``lock_configuration =
true``, so no statement can read a file elsewhere or a URL, load an extension or change a
setting.  Each query runs on its own cursor; the datasets it may read are prepended as
``NOT MATERIALIZED`` CTEs over ``read_parquet`` of their versions (applying the obligations),
and the final SQL is checked once more: every file it reads must be one of those versions.
A timer interrupts a query that runs too long; rows are fetched up to ``limit + 1`` to report
truncation.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from bitgoeul.errors import BitgoeulError, TooLarge, ValidationFailed


class QueryTimedOut(BitgoeulError):
    status_code = 408


@dataclass(frozen=True)
class View:
    name: str
    path: Path
    select_sql: str  # the SELECT list (and WHERE) applied over read_parquet of ``path``


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0
    memory_limit: str = "2GB"
    threads: int = 2


@dataclass
class EngineResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


MAX_DATABASES = 4  # one per object store in production; tests make many
_instances: dict[tuple[tuple[str, ...], str, int], duckdb.DuckDBPyConnection] = {}
_instances_lock = threading.Lock()


def _database(directories: tuple[str, ...], limits: Limits) -> duckdb.DuckDBPyConnection:
    key = (directories, limits.memory_limit, limits.threads)
    with _instances_lock:
        conn = _instances.get(key)
        if conn is None:
            conn = duckdb.connect(
                ":memory:",
                config={
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                    "memory_limit": limits.memory_limit,
                    "threads": limits.threads,
                },
            )
            conn.execute("SET allowed_directories = $1", [list(directories)])
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
            if len(_instances) >= MAX_DATABASES:
                # A running query's cursor keeps its database alive; just stop handing it out.
                del _instances[next(iter(_instances))]
            _instances[key] = conn
        return conn


@functools.lru_cache(maxsize=256)
def _parsed_view(sql: str) -> exp.Expr:
    # The same dataset version under the same obligations gives the same text: parse it once.
    return sqlglot.parse_one(sql, read="duckdb")


def final_sql(tree: exp.Query, views: list[View]) -> str:
    """The query with each view prepended as a CTE; refuses a file that is not a view's."""
    ctes = [
        exp.CTE(
            this=_parsed_view(
                view.select_sql.replace("{source}", f"read_parquet({_quote_path(view.path)})")
            ).copy(),
            alias=exp.TableAlias(this=exp.to_identifier(view.name, quoted=True)),
            materialized=False,
        )
        for view in views
    ]
    final = tree.copy()
    existing = final.args.get("with_")
    if existing is not None:
        existing.set("expressions", [*ctes, *existing.expressions])
    else:
        final.set("with_", exp.With(expressions=ctes))
    allowed = {str(view.path) for view in views}
    for node in final.walk():
        if isinstance(node, exp.ReadParquet | exp.ReadCSV) or (
            isinstance(node, exp.Anonymous) and str(node.name).lower().startswith("read_")
        ):
            paths = [a.name for a in node.find_all(exp.Literal) if a.is_string]
            if not paths or any(p not in allowed for p in paths):
                raise ValidationFailed("Query refused: it reads a file that is not a dataset.")
    return final.sql(dialect="duckdb")


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


def run(
    tree: exp.Query,
    views: list[View],
    *,
    limit: int,
    limits: Limits,
    scrub: dict[str, str],
    secure: bool,
    arrow: bool = False,
) -> EngineResult | pa.Table:
    """Run the rewritten ``tree``; errors become ``ValidationFailed`` with secrets scrubbed."""
    sql = final_sql(tree, views)
    directories = tuple(sorted({str(view.path.parent) + "/" for view in views}))
    cursor = _database(directories, limits).cursor()
    try:
        with _Deadline(cursor, limits.timeout_s) as deadline:
            try:
                if arrow:
                    reader = cursor.sql(sql).to_arrow_reader(65_536)
                    batches, count = [], 0
                    for batch in reader:
                        batches.append(batch)
                        count += batch.num_rows
                        if count > limit:
                            raise TooLarge(
                                f"The export has more than {limit} rows; narrow the query or "
                                "aggregate it."
                            )
                    return pa.Table.from_batches(batches, schema=reader.schema)
                result = cursor.execute(sql)
                columns = [d[0] for d in result.description or []]
                rows = result.fetchmany(limit + 1)
            except duckdb.InterruptException:
                if deadline.fired:
                    raise QueryTimedOut(
                        f"The query ran longer than {limits.timeout_s:g} s and was stopped; "
                        "aggregate more or filter the data first."
                    ) from None
                raise
            except duckdb.OutOfMemoryException:
                raise TooLarge(
                    f"The query needed more than the gateway's {limits.memory_limit} of memory; "
                    "aggregate more or filter the data first."
                ) from None
            except duckdb.Error as error:
                raise ValidationFailed(_explain(error, scrub=scrub, secure=secure)) from None
    finally:
        cursor.close()
    return EngineResult(columns=columns, rows=rows[:limit], truncated=len(rows) > limit)


def _explain(error: duckdb.Error, *, scrub: dict[str, str], secure: bool) -> str:
    kind = type(error).__name__.replace("Exception", "").replace("Error", "")
    if secure:
        # DuckDB messages can quote values (a failed cast shows the value): on secure data
        # only the kind of failure is told.
        return (
            f"The query failed in DuckDB ({kind} error); details are withheld for secure "
            "data. Check column types and names against the dataset's schema."
        )
    message = str(error).split("\n\nLINE")[0].strip()
    for internal, shown in scrub.items():
        message = message.replace(internal, shown)
    return f"The query failed in DuckDB: {message[:500]}"
