"""JSON Lines, Parquet and XLSX uploads, and the bad files of each kind."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.ingest.workbooks import SHEET, xlsx_bytes

from bitgoeul.ingest import readers
from bitgoeul.ingest.pipeline import IngestResult, ingest_file, read_preview

Upload = Callable[..., IngestResult]
Rejected = Callable[..., dict[str, Any]]


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_json_lines_become_columns_in_first_seen_key_order(upload: Upload) -> None:
    content = '{"id": 1, "name": "김민준"}\n\n{"id": 2, "name": "이서연", "tags": ["a"]}\n'
    result = upload("people.jsonl", content)
    assert result.source_format == "jsonl"
    assert read_preview(result.parquet_path) == (
        ["id", "name", "tags"],
        [[1, "김민준", None], [2, "이서연", '["a"]']],
    )


def test_a_bad_json_line_is_reported_by_its_line_number(rejected: Rejected) -> None:
    report = rejected("x.ndjson", '{"a": 1}\n\n{"a": \n[1]\n')
    assert [(e["row"], e["rule"]) for e in report["errors"]] == [(3, "json"), (4, "json")]


def test_a_type_error_in_json_lines_names_the_line(rejected: Rejected) -> None:
    declared = {"fields": [{"name": "a", "type": "integer"}]}
    report = rejected("x.jsonl", '{"a": 1}\n\n{"a": "two"}\n', declared_schema=declared)
    assert (report["errors"][0]["row"], report["errors"][0]["value"]) == (3, "two")


def test_a_json_lines_file_with_no_objects_is_empty(rejected: Rejected) -> None:
    assert rejected("x.jsonl", "\n\n")["errors"][0]["rule"] == "empty-file"


def test_a_parquet_upload_keeps_its_types(upload: Upload) -> None:
    table = pa.table({"n": [1, 2], "when": [dt.date(2024, 1, 1), None], "s": ["a", "b"]})
    result = upload("t.parquet", parquet_bytes(table))
    assert [f["type"] for f in result.table_schema["fields"]] == ["integer", "date", "string"]
    assert pq.read_table(result.parquet_path).equals(table)


def test_a_parquet_upload_with_nested_columns_is_kept_and_profiled(upload: Upload) -> None:
    table = pa.table({"tags": [["a", "b"], None], "where": [{"gu": "북구"}, {"gu": "동구"}]})
    result = upload("t.parquet", parquet_bytes(table))
    assert [f["type"] for f in result.table_schema["fields"]] == ["array", "object"]
    assert result.profile["columns"]["tags"]["nulls"] == 1
    assert read_preview(result.parquet_path)[1][0] == [["a", "b"], {"gu": "북구"}]


def test_a_parquet_upload_is_checked_against_a_declared_schema(rejected: Rejected) -> None:
    table = pa.table({"s": ["1", "x"]})
    declared = {"fields": [{"name": "s", "type": "integer"}]}
    report = rejected("t.parquet", parquet_bytes(table), declared_schema=declared)
    assert (report["errors"][0]["row"], report["errors"][0]["value"]) == (2, "x")


def test_a_file_named_parquet_that_is_not_parquet_is_rejected(rejected: Rejected) -> None:
    report = rejected("t.parquet", b"id,name\n1,a\n")
    assert report["errors"][0]["rule"] == "not-parquet"


def test_a_truncated_parquet_file_is_rejected(rejected: Rejected) -> None:
    data = parquet_bytes(pa.table({"n": list(range(100))}))
    report = rejected("t.parquet", data[:8] + data[-8:])
    assert report["errors"][0]["rule"] == "not-parquet"


def test_an_xlsx_sheet_becomes_a_table(upload: Upload) -> None:
    rows: list[list[Any]] = [["이름", "생년월일", "점수"], ["김민준", dt.datetime(1990, 5, 1), 3]]  # noqa: DTZ001 - Excel has no zones
    result = upload("book.xlsx", xlsx_bytes(rows))
    assert result.source_format == "xlsx"
    assert [f["type"] for f in result.table_schema["fields"]] == ["string", "date", "integer"]
    assert read_preview(result.parquet_path)[1] == [["김민준", "1990-05-01", 3]]


def test_xlsx_errors_use_sheet_row_numbers(rejected: Rejected) -> None:
    rows: list[list[Any]] = [["n"], [1], [None], ["x"]]
    declared = {"fields": [{"name": "n", "type": "integer"}]}
    report = rejected("book.xlsx", xlsx_bytes(rows), declared_schema=declared)
    assert report["errors"][0]["row"] == 4


def test_an_xlsx_that_would_unpack_to_far_more_than_it_weighs_is_a_zip_bomb(
    rejected: Rejected,
) -> None:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    report = rejected("bomb.xlsx", sink.getvalue())
    assert report["errors"][0]["rule"] == "zip-bomb"


def test_an_xlsx_with_too_many_rows_is_stopped(
    rejected: Rejected, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "XLSX_MAX_ROWS", 5)
    report = rejected("book.xlsx", xlsx_bytes([["n"]] + [[i] for i in range(10)]))
    assert report["errors"][0]["rule"] == "zip-bomb"


def test_a_file_named_xlsx_that_is_not_a_workbook_is_rejected(rejected: Rejected) -> None:
    assert rejected("book.xlsx", b"a,b\n1,2\n")["errors"][0]["rule"] == "not-xlsx"


def test_the_uploaded_name_says_the_format_whatever_the_saved_file_is_called(
    tmp_path: Path, work_dir: Path
) -> None:
    saved = tmp_path / "saved.csv"  # a door's own name for the file; its ending means nothing
    saved.write_bytes(xlsx_bytes([["gu", "kwh"], ["북구", 1.5], ["동구", 2]]))
    result = ingest_file(saved, filename="usage.xlsx", work_dir=work_dir)
    assert (result.source_format, result.row_count) == ("xlsx", 2)
    assert read_preview(result.parquet_path)[1] == [["북구", 1.5], ["동구", 2.0]]


@pytest.mark.parametrize(
    ("name", "content", "rule", "hint"),
    [
        ("usage.csv", xlsx_bytes([["a"], [1]]), "format", "'.xlsx'"),
        ("usage.jsonl", parquet_bytes(pa.table({"a": [1]})), "format", "'.parquet'"),
        ("usage.xlsx", parquet_bytes(pa.table({"a": [1]})), "not-xlsx", "'.parquet'"),
        ("usage.parquet", xlsx_bytes([["a"], [1]]), "not-parquet", "'.xlsx'"),
        ("usage.xlsx", readers.OLE2_MAGIC + bytes(1024), "not-xlsx", "old-style Excel"),
    ],
)
def test_a_file_whose_content_is_not_what_its_name_says_is_refused_saying_what_it_is(
    rejected: Rejected, name: str, content: bytes, rule: str, hint: str
) -> None:
    error = rejected(name, content)["errors"][0]
    assert error["rule"] == rule
    assert hint in error["message"]


def _with_part(workbook: bytes, part: str, change: Callable[[bytes], bytes | None]) -> bytes:
    """``workbook`` with one of its parts changed (or left out, when ``change`` says None)."""
    sink = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for name in source.namelist():
            content = source.read(name)
            changed = change(content) if name == part else content
            if changed is not None:
                archive.writestr(name, changed)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("part", "change", "where"),
    [
        ("[Content_Types].xml", lambda content: None, "could not be read ("),
        ("xl/workbook.xml", lambda content: b"<not xml", "could not be read ("),
        (SHEET, lambda content: None, "no worksheet"),
        (SHEET, lambda content: content[: len(content) // 2], "sheet row 1"),
        (SHEET, lambda content: content.replace(b"<v>1</v>", b"<v>one</v>"), "sheet row 2"),
    ],
    ids=["no-content-types", "broken-workbook-xml", "no-sheet", "cut-sheet", "bad-number"],
)
def test_a_damaged_workbook_is_refused_with_where_it_broke_not_a_crash(
    rejected: Rejected, part: str, change: Callable[[bytes], bytes | None], where: str
) -> None:
    damaged = _with_part(xlsx_bytes([["n"], [1], [2]]), part, change)
    error = rejected("book.xlsx", damaged)["errors"][0]
    assert error["rule"] == "not-xlsx"
    assert where in error["message"]


def test_the_preview_is_limited_and_json_friendly(upload: Upload, tmp_path: Path) -> None:
    when = dt.datetime(2024, 1, 1, 9, 30)  # noqa: DTZ001 - a naive timestamp, as in most files
    table = pa.table({"when": [when] * 30, "x": [float("nan")] * 30})
    result = upload("t.parquet", parquet_bytes(table))
    names, rows = read_preview(result.parquet_path, limit=3)
    assert names == ["when", "x"]
    assert rows == [["2024-01-01T09:30:00", None]] * 3
