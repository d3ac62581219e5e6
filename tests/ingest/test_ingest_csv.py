"""CSV and TSV uploads: encodings, headers, structure, inference and the files left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bitgoeul.errors import TooLarge, ValidationFailed
from bitgoeul.ingest import readers
from bitgoeul.ingest.pipeline import IngestResult, ingest_file, read_preview

Upload = Callable[..., IngestResult]
Rejected = Callable[..., dict[str, Any]]

KOREAN = "이름,구,나이\n김민준,광산구,34\n이서연,북구,29\n"


def test_a_utf8_csv_becomes_parquet_with_the_same_values(upload: Upload) -> None:
    result = upload("people.csv", KOREAN)
    assert result.source_format == "csv"
    assert result.source_encoding == "utf-8"
    assert result.row_count == 2
    assert read_preview(result.parquet_path) == (
        ["이름", "구", "나이"],
        [["김민준", "광산구", 34], ["이서연", "북구", 29]],
    )


def test_a_cp949_csv_is_read_as_korean_text(upload: Upload) -> None:
    result = upload("people.csv", KOREAN + "박똠방,남구,40\n", encoding="cp949")
    assert result.source_encoding == "cp949"
    assert read_preview(result.parquet_path)[1][2] == ["박똠방", "남구", 40]


def test_an_euc_kr_csv_is_reported_as_euc_kr(upload: Upload) -> None:
    assert upload("people.csv", KOREAN, encoding="euc-kr").source_encoding == "euc-kr"


def test_a_utf8_byte_order_mark_does_not_end_up_in_the_first_column_name(upload: Upload) -> None:
    result = upload("people.csv", "\ufeff" + KOREAN)
    assert result.source_encoding == "utf-8-sig"
    assert read_preview(result.parquet_path)[0][0] == "이름"


def test_a_file_in_neither_utf8_nor_cp949_is_an_encoding_error(rejected: Rejected) -> None:
    report = rejected("people.csv", b"name,city\n\xff\xfe\xff,x\n")
    assert report["errors"][0]["rule"] == "encoding"
    assert report["errors"][0]["row"] is None


def test_bad_bytes_after_the_first_megabyte_are_an_encoding_error(rejected: Rejected) -> None:
    good = b"id,word\n" + b"".join(b"%d,abcdefghij\n" % i for i in range(90_000))
    report = rejected("words.csv", good + b"90000,\xff\xfe\n")
    assert report["counts_by_rule"] == {"encoding": 1}


def test_a_zero_byte_upload_is_an_empty_file_error(rejected: Rejected) -> None:
    report = rejected("nothing.csv", b"")
    assert report["errors"][0]["rule"] == "empty-file"


def test_a_header_only_csv_is_a_table_with_no_rows(upload: Upload) -> None:
    result = upload("empty.csv", "id,name\n")
    assert result.row_count == 0
    assert [field["name"] for field in result.table_schema["fields"]] == ["id", "name"]
    assert pq.read_table(result.parquet_path).num_rows == 0


def test_blank_and_duplicate_header_names_are_reported_by_column(rejected: Rejected) -> None:
    report = rejected("bad.csv", "id,,name,id\n1,2,3,4\n")
    found = {(error["rule"], error["column"]) for error in report["errors"]}
    assert found == {("blank-header", 2), ("duplicate-header", 4)}
    assert all(error["row"] == 1 for error in report["errors"])


def test_ragged_rows_are_reported_with_the_row_numbers_a_person_sees(rejected: Rejected) -> None:
    report = rejected("ragged.csv", "a,b\n1,2\n3\n4,5\n6,7,8\n")
    assert [(e["row"], e["rule"]) for e in report["errors"]] == [
        (3, "ragged-row"),
        (5, "ragged-row"),
    ]
    assert "has 3 cells; the header has 2" in report["errors"][1]["message"]


def test_a_blank_line_is_a_row_of_empty_cells_and_later_rows_keep_their_numbers(
    rejected: Rejected,
) -> None:
    declared = {"fields": [{"name": "a", "type": "integer"}, {"name": "b"}]}
    report = rejected("blank.csv", "a,b\n1,2\n\nx,4\n", declared_schema=declared)
    assert [(e["row"], e["rule"]) for e in report["errors"]] == [(4, "type")]


def test_a_tsv_upload_is_split_on_tabs(upload: Upload) -> None:
    result = upload("data.tsv", "a\tb\n1\tx,y\n")
    assert result.source_format == "tsv"
    assert read_preview(result.parquet_path)[1] == [[1, "x,y"]]


def test_a_txt_upload_has_its_delimiter_sniffed(upload: Upload) -> None:
    assert read_preview(upload("data.txt", "a;b\n1;2\n").parquet_path)[0] == ["a", "b"]


def test_codes_with_leading_zeros_stay_text(upload: Upload) -> None:
    result = upload("codes.csv", "postcode,count\n01234,1\n61000,2\n")
    assert [f["type"] for f in result.table_schema["fields"]] == ["string", "integer"]
    assert read_preview(result.parquet_path)[1][0] == ["01234", 1]


def test_inferred_types_cover_numbers_dates_booleans_and_text(upload: Upload) -> None:
    result = upload(
        "types.csv",
        "n,x,d,t,b,s\n1,1.5,2024-01-02,2024-01-02 03:04:05,true,a\n2,,2024-02-03,,false,b\n",
    )
    types = [field["type"] for field in result.table_schema["fields"]]
    assert types == ["integer", "number", "date", "datetime", "boolean", "string"]


def test_a_column_inferred_as_integer_is_widened_when_a_later_block_has_decimals(
    upload: Upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 1024)  # types are inferred from 1 KB
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    rows = "".join(f"{i},{i}\n" for i in range(500)) + "500,2.5\n"
    result = upload("late.csv", "id,amount\n" + rows)
    assert [f["type"] for f in result.table_schema["fields"]] == ["integer", "number"]
    assert result.row_count == 501


def test_whole_numbers_too_big_for_64_bits_are_kept_exactly_as_text(upload: Upload) -> None:
    result = upload("ids.csv", "id\n1\n123456789012345678901234\n")
    assert result.table_schema["fields"][0]["type"] == "string"
    assert read_preview(result.parquet_path)[1][1] == ["123456789012345678901234"]


def test_a_later_value_that_breaks_a_declared_type_is_found_at_its_row(
    rejected: Rejected, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    rows = "".join(f"{i}\n" for i in range(500)) + "five hundred\n"
    declared = {"fields": [{"name": "n", "type": "integer"}]}
    report = rejected("late.csv", "n\n" + rows, declared_schema=declared)
    assert [(e["row"], e["value"]) for e in report["errors"]] == [(502, "five hundred")]


def test_an_unsupported_extension_names_the_accepted_ones(rejected: Rejected) -> None:
    report = rejected("data.docx", b"whatever")
    assert report["errors"][0]["rule"] == "format"
    assert ".csv" in report["errors"][0]["message"]
    assert ".xlsx" in report["errors"][0]["message"]


def test_an_upload_over_the_size_limit_is_too_large(upload: Upload) -> None:
    with pytest.raises(TooLarge, match="largest accepted upload is 10 bytes"):
        upload("big.csv", KOREAN, max_bytes=10)


def test_progress_reports_bytes_and_rows_and_ends_at_the_total(upload: Upload) -> None:
    calls: list[tuple[int, int, int]] = []
    result = upload("people.csv", KOREAN, progress=lambda *args: calls.append(args))
    assert calls[-1] == (result.source_bytes, result.source_bytes, 2)


def test_hashes_and_sizes_describe_the_source_and_the_parquet(upload: Upload) -> None:
    import hashlib

    result = upload("people.csv", KOREAN)
    assert result.source_sha256 == hashlib.sha256(KOREAN.encode()).hexdigest()
    assert result.source_bytes == len(KOREAN.encode())
    parquet = result.parquet_path.read_bytes()
    assert result.parquet_sha256 == hashlib.sha256(parquet).hexdigest()
    assert result.parquet_bytes == len(parquet)


def test_a_failed_ingest_leaves_nothing_in_the_work_directory(
    rejected: Rejected, work_dir: Path
) -> None:
    rejected("ragged.csv", "a,b\n1,2\n3\n")
    assert list(work_dir.iterdir()) == []


def test_an_interrupted_ingest_leaves_nothing_in_the_work_directory(
    tmp_path: Path, work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    source = tmp_path / "long.csv"
    source.write_text("id\n" + "".join(f"{i}\n" for i in range(2000)))

    def interrupt(done: int, total: int, rows: int) -> None:
        if rows > 500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_file(source, filename="long.csv", work_dir=work_dir, progress=interrupt)
    assert list(work_dir.iterdir()) == []


def test_the_report_says_which_file_failed(rejected: Rejected) -> None:
    assert rejected("ragged.csv", "a,b\n1\n")["file"] == "ragged.csv"


def test_the_error_message_summarises_the_report(upload: Upload) -> None:
    with pytest.raises(ValidationFailed, match=r"ragged\.csv: 1 error \(ragged-row \(1\)\)"):
        upload("ragged.csv", "a,b\n1\n")
