"""Rows leaving through preview or download under an agreement's obligations.

When ``decide`` allows restricted data under a project agreement, the rows a member sees are the
agreement's columns and rows only, with direct identifiers replaced by the project's pseudonyms
(the same keyed hash the SQL gateway computes, so a preview, a download and a query of one
project agree).  DuckDB reads the version's Parquet file and applies all three in one SELECT;
the row filter was checked when the agreement was made (``governance.row_filter``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bitgoeul.governance.decision import Obligations
from bitgoeul.ingest.profile import json_value
from bitgoeul.query.policy import PSEUDONYM_HEX_CHARS, pseudonym_key


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def governed_select(
    columns: list[str], obligations: Obligations, *, secret: str, source: str
) -> str:
    """The SELECT that applies the obligations to ``source`` (a DuckDB table expression)."""
    if not secret:
        raise ValueError("pseudonyms need the platform secret (settings.secret())")
    key = pseudonym_key(secret, obligations.pseudonym_scope or "platform")
    visible = (
        columns
        if obligations.visible_columns is None
        else [c for c in columns if c in obligations.visible_columns]
    )
    hidden = set(obligations.pseudonymise_columns)
    parts = [
        (
            f"substr(sha256('{key}' || CAST({_quote(c)} AS VARCHAR)), 1, {PSEUDONYM_HEX_CHARS}) "
            f"AS {_quote(c)}"
            if c in hidden
            else _quote(c)
        )
        for c in visible
    ]
    where = f" WHERE ({obligations.row_filter})" if obligations.row_filter else ""
    return f"SELECT {', '.join(parts) or 'NULL AS no_visible_columns'} FROM {source}{where}"


def governed_table(
    parquet_path: Path, obligations: Obligations, *, secret: str, limit: int | None = None
) -> pa.Table:
    """The version's rows under the obligations, as an Arrow table."""
    connection = duckdb.connect()
    try:
        source = "read_parquet('" + str(parquet_path).replace("'", "''") + "')"
        columns = [
            str(row[0]) for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        ]
        sql = governed_select(columns, obligations, secret=secret, source=source)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        table: pa.Table = connection.sql(sql).to_arrow_table()
        return table
    finally:
        connection.close()


def table_rows(table: pa.Table) -> list[list[Any]]:
    """JSON-friendly rows, as the catalog's preview shows them."""
    names = table.column_names
    return [[json_value(record[name]) for name in names] for record in table.to_pylist()]


def write_governed_file(
    parquet_path: Path, obligations: Obligations, *, secret: str, target: Path, file_format: str
) -> None:
    """Write the version's rows under the obligations to ``target`` (Parquet or CSV)."""
    if file_format not in ("parquet", "csv"):
        raise ValueError(f"unknown download format {file_format!r}")
    connection = duckdb.connect()
    try:
        source = "read_parquet('" + str(parquet_path).replace("'", "''") + "')"
        columns = [
            str(row[0]) for row in connection.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        ]
        sql = governed_select(columns, obligations, secret=secret, source=source)
        options = "FORMAT parquet" if file_format == "parquet" else "FORMAT csv, HEADER true"
        out = "'" + str(target).replace("'", "''") + "'"
        connection.execute(f"COPY ({sql}) TO {out} ({options})")
    finally:
        connection.close()
