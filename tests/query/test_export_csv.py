"""A query's CSV export is written like every CSV download: minimal quoting, and text cells a
spreadsheet would run as formulas neutralised with a leading ``'``; Parquet stays exact."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from tests.query.conftest import City

SQL = (
    "SELECT district, '=1+1' AS formula, '@SUM(A1)' AS mention, '-2+3' AS sum_text, "
    '-5 AS delta, -2.5 AS ratio, population AS "=cmd" '
    'FROM "district-population" ORDER BY district'
)


def _export(api: TestClient, file_format: str) -> bytes:
    response = api.post(f"/api/v1/query/export?format={file_format}", json={"sql": SQL})
    assert response.status_code == 200, response.text
    return response.content


def test_a_csv_export_neutralises_formulas_and_keeps_numbers(api: TestClient, city: City) -> None:
    text = _export(api, "csv").decode()
    header, first = text.splitlines()[:2]
    assert header == "district,formula,mention,sum_text,delta,ratio,'=cmd"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    assert {r["formula"] for r in rows} == {"'=1+1"}
    assert {r["mention"] for r in rows} == {"'@SUM(A1)"}
    assert {r["sum_text"] for r in rows} == {"'-2+3"}
    assert {r["delta"] for r in rows} == {"-5"}
    assert {r["ratio"] for r in rows} == {"-2.5"}
    assert first.startswith("Buk,'=1+1,")  # unquoted: nothing in it needs quotes


def test_a_parquet_export_keeps_the_values_exactly(api: TestClient, city: City) -> None:
    table = pq.read_table(io.BytesIO(_export(api, "parquet")))
    assert set(table["formula"].to_pylist()) == {"=1+1"}
    assert set(table["delta"].to_pylist()) == {-5}
    assert "=cmd" in table.column_names
