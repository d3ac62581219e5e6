"""Property-based tests for the parsers: what goes in as text comes out as the same values."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitgoeul.errors import ValidationFailed
from bitgoeul.ingest.pipeline import ingest_file

# Every Hangul syllable is in CP949, so these round-trip through both encodings.
CELL = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ019 ,\"'-_.;") + [chr(c) for c in range(0xAC00, 0xD7A4, 97)]
    ),
    max_size=12,
)
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _ingest(name: str, data: bytes, **options: object) -> pq.ParquetFile:
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / name
        source.write_bytes(data)
        result = ingest_file(source, filename=name, work_dir=Path(folder), **options)  # type: ignore[arg-type]
        return pq.read_table(result.parquet_path)


@PROPERTY_SETTINGS
@given(
    rows=st.integers(1, 3).flatmap(
        lambda width: st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=20)
    ),
    encoding=st.sampled_from(["utf-8", "cp949"]),
)
def test_any_table_of_text_round_trips_through_csv_in_utf8_or_cp949(
    rows: list[list[str]], encoding: str
) -> None:
    width = len(rows[0]) if rows else 2
    header = [f"c{i}" for i in range(width)]
    sink = io.StringIO()
    csv.writer(sink, lineterminator="\n").writerows([header, *rows])
    declared = {"fields": [{"name": name, "type": "string"} for name in header]}
    table = _ingest("t.csv", sink.getvalue().encode(encoding), declared_schema=declared)
    expected = [[cell if cell != "" else None for cell in row] for row in rows]
    assert [list(record.values()) for record in table.to_pylist()] == expected


@PROPERTY_SETTINGS
@given(values=st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), min_size=1, max_size=30))
def test_any_column_of_integers_is_inferred_as_integers_with_the_same_values(
    values: list[int | None],
) -> None:
    content = "n\n" + "".join(("" if v is None else str(v)) + "\n" for v in values)
    table = _ingest("n.csv", content.encode())
    assert table.column("n").to_pylist() == values


@PROPERTY_SETTINGS
@given(
    shape=st.lists(st.sampled_from(["ok", "short", "long"]), min_size=1, max_size=25),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_random_ragged_rows_are_always_reported_with_the_right_row_number(
    shape: list[str], delimiter: str
) -> None:
    lines = [delimiter.join(["a", "b", "c"])]
    for index, kind in enumerate(shape):
        cells = [str(index), "x", "y"]
        if kind == "short":
            cells = cells[:2]
        elif kind == "long":
            cells.append("z")
        lines.append(delimiter.join(cells))
    name = "t.csv" if delimiter == "," else "t.tsv"
    expected = [index + 2 for index, kind in enumerate(shape) if kind != "ok"]
    data = ("\n".join(lines) + "\n").encode()
    if not expected:
        assert _ingest(name, data).num_rows == len(shape)
        return
    with pytest.raises(ValidationFailed) as caught:
        _ingest(name, data)
    assert [error["row"] for error in caught.value.detail["errors"]] == expected
