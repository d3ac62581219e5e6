"""Writing the demo's source files, byte-for-byte reproducible, in the formats agencies send.

A table is a dict of equally long columns.  It is written as CSV (UTF-8 or, as many Korean
public bodies still export, CP949), JSON Lines, Parquet or XLSX.  Nothing written depends on
the clock: XLSX files carry fixed document and zip-entry timestamps, so the same population
gives the same bytes (the determinism test compares hashes).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

Table = dict[str, list[Any]]
# A column a builder adds to say which resident each record is; it is taken out before the
# file is written and kept in the linkage answer key instead (see ``datasets``).
TRUTH_COLUMN = "_resident_id"

_FIXED_TIME = datetime(2026, 1, 1)  # noqa: DTZ001 - XLSX document properties are naive
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*<")


def row_count(table: Table) -> int:
    return len(next(iter(table.values()))) if table else 0


def _column_as(values: list[Any], *, stamp: str, empty: Any) -> list[Any]:
    """A column with dates and times as text (``stamp`` formats datetimes), None as ``empty``."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, datetime) and stamp == "iso":
        return [empty if v is None else v.isoformat() for v in values]
    if isinstance(sample, datetime):
        return [empty if v is None else v.strftime(stamp) for v in values]
    if isinstance(sample, date):
        return [empty if v is None else v.isoformat() for v in values]
    if any(v is None for v in values):
        return [empty if v is None else v for v in values]
    return values


def _rows(table: Table, *, stamp: str, empty: Any) -> Sequence[tuple[Any, ...]]:
    columns = [_column_as(values, stamp=stamp, empty=empty) for values in table.values()]
    return list(zip(*columns, strict=True))


def write_csv(table: Table, path: Path, *, encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n" if encoding == "cp949" else "\n")
        writer.writerow(table.keys())
        writer.writerows(_rows(table, stamp="%Y-%m-%d %H:%M:%S", empty=""))


def write_jsonl(table: Table, path: Path) -> None:
    names = list(table)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in _rows(table, stamp="iso", empty=None):
            handle.write(encode(dict(zip(names, row, strict=True))) + "\n")


def write_parquet(table: Table, path: Path) -> None:
    arrow = pa.table({name: pa.array(values) for name, values in table.items()})
    pq.write_table(arrow, path, compression="zstd")


def write_xlsx(table: Table, path: Path, *, sheet: str) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    workbook.properties.created = _FIXED_TIME
    workbook.properties.modified = _FIXED_TIME
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(list(table))
    for row in _rows(table, stamp="%Y-%m-%d %H:%M:%S", empty=None):
        worksheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    _repack_with_fixed_times(buffer.getvalue(), path)


def _repack_with_fixed_times(data: bytes, path: Path) -> None:
    """openpyxl stamps zip entries with the current time; rewrite them with a fixed one."""
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl sets "modified" to now when saving, whatever we asked for.
                content = _MODIFIED.sub(rb"\g<1>2026-01-01T00:00:00Z<", content)
            target.writestr(entry, content)


def write_table(table: Table, path: Path, *, file_format: str, encoding: str = "utf-8") -> None:
    """Write ``table`` to ``path`` as ``csv``, ``jsonl``, ``parquet`` or ``xlsx``."""
    if file_format == "csv":
        write_csv(table, path, encoding=encoding)
    elif file_format == "jsonl":
        write_jsonl(table, path)
    elif file_format == "parquet":
        write_parquet(table, path)
    elif file_format == "xlsx":
        write_xlsx(table, path, sheet=path.stem[:31])
    else:
        raise ValueError(
            f"Unknown demo file format {file_format!r}; use csv, jsonl, parquet or xlsx."
        )
