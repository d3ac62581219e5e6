"""Columns that fall back to text because of a minority of cells are listed with those cells
(``IngestResult.text_fallbacks``); columns that are text by nature are not."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitgoeul.ingest.pipeline import FALLBACK_CELLS_LISTED, IngestResult, ingest_file

Upload = Callable[..., IngestResult]
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
BAD_CELLS = st.sampled_from(["2026-11-31", "not-a-number", "n/a", "?", "2026-02-30", "abc"])


def _fallbacks(text: str, name: str = "meters.csv") -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "upload"
        source.write_text(text, encoding="utf-8")
        return ingest_file(source, filename=name, work_dir=Path(folder)).text_fallbacks


@PROPERTY_SETTINGS
@given(
    size=st.integers(3, 40),
    data=st.data(),
)
def test_the_bad_cells_of_a_date_column_are_listed_by_row(size: int, data: st.DataObject) -> None:
    days = [str(date(2026, 1, 1) + timedelta(days=n)) for n in range(size)]
    bad_rows = data.draw(st.sets(st.integers(0, size - 1), min_size=1, max_size=(size - 1) // 2))
    cells = [data.draw(BAD_CELLS) if n in bad_rows else day for n, day in enumerate(days)]
    found = _fallbacks("day\n" + "\n".join(cells) + "\n")
    assert len(found) == 1
    column = found[0]
    assert (column["field"], column["type"], column["column"]) == ("day", "date", 1)
    assert column["count"] == len(bad_rows)
    assert column["present"] == size
    # Row 1 is the header: the first data row is row 2.
    assert [cell["row"] for cell in column["cells"]] == [n + 2 for n in sorted(bad_rows)]  # type: ignore[attr-defined]
    assert [cell["value"] for cell in column["cells"]] == [cells[n] for n in sorted(bad_rows)]  # type: ignore[attr-defined]


@PROPERTY_SETTINGS
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_a_clean_number_column_is_no_fallback(values: list[float]) -> None:
    assert _fallbacks("kwh\n" + "\n".join(repr(v) for v in values) + "\n") == []


def test_numbers_with_one_word_among_them_are_listed(upload: Upload) -> None:
    result = upload("meters.csv", "kwh\n1.5\n2.5\nnot-a-number\n0.5\n")
    assert result.table_schema["fields"][0]["type"] == "string"
    assert result.text_fallbacks == [
        {
            "file": "meters.csv",
            "field": "kwh",
            "column": 1,
            "type": "number",
            "count": 1,
            "present": 4,
            "cells": [{"row": 4, "value": "not-a-number"}],
        }
    ]


def test_a_column_mostly_of_words_is_text_by_nature(upload: Upload) -> None:
    assert upload("names.csv", "name\nkim\nlee\n1\n").text_fallbacks == []


def test_codes_with_leading_zeros_are_text_by_nature(upload: Upload) -> None:
    assert upload("codes.csv", "code\n007\n008\nx9\n").text_fallbacks == []


def test_a_declared_schema_never_falls_back(upload: Upload) -> None:
    schema = {"fields": [{"name": "note", "type": "string"}]}
    assert upload("notes.csv", "note\n1\n2\nthree\n", declared_schema=schema).text_fallbacks == []


def test_a_late_bad_cell_in_a_large_file_is_found_after_widening(upload: Upload) -> None:
    rows = "".join(f"{n}\n" for n in range(200_000))
    result = upload("big.csv", "count\n" + rows + "n/a\n")
    (column,) = result.text_fallbacks
    assert (column["type"], column["count"]) == ("integer", 1)
    assert column["cells"] == [{"row": 200_002, "value": "n/a"}]


def test_only_the_first_cells_are_listed_and_all_are_counted(upload: Upload) -> None:
    good = "".join(f"{n}\n" for n in range(100))
    bad = "".join(f"x{n}\n" for n in range(30))
    (column,) = upload("many.csv", "count\n" + good + bad).text_fallbacks
    assert column["count"] == 30
    assert len(column["cells"]) == FALLBACK_CELLS_LISTED  # type: ignore[arg-type]
