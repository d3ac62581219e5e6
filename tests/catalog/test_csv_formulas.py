"""A CSV download cannot carry a spreadsheet formula; Parquet keeps every value exactly.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what Excel,
LibreOffice and Google Sheets run as a formula (OWASP's "CSV injection"); the hub writes it
with a leading ``'``.  Numbers are never touched: -5 stays -5.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, MakeDataset

from bitgoeul.catalog import actions

RISKY = ["=1+1", "+82-10-5555-0000", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR", '=HYPERLINK("x")']
SAFE = ["plain", "a=b", "x-1", "'=already", "", "한글", "e@mail.kr"]


def _publish(
    app: FastAPI, db: Session, cast: Cast, make_dataset: MakeDataset, tmp_path: Path
) -> str:
    texts = RISKY + SAFE
    table = pa.table(
        {
            "note": texts,
            "delta": [-5 + i for i in range(len(texts))],
            "ratio": [-2.5 * (i + 1) for i in range(len(texts))],
        }
    )
    source = tmp_path / "notes.parquet"
    pq.write_table(table, source)
    dataset = make_dataset(slug="notes")
    actions.publish_version(
        db,
        settings=app.state.settings,
        store=app.state.store,
        actor=cast.actors["steward_of_publisher"],
        slug=dataset.slug,
        source=source,
        filename=source.name,
    )
    return dataset.slug


def test_a_csv_download_neutralises_formulas_and_keeps_numbers(
    app: FastAPI,
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    tmp_path: Path,
) -> None:
    slug = _publish(app, db, cast, make_dataset, tmp_path)
    response = api.get(f"/api/v1/datasets/{slug}/download", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.text.splitlines()[0] == "note,delta,ratio"
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [r["note"] for r in rows] == [f"'{v}" for v in RISKY] + SAFE
    assert [r["delta"] for r in rows][:3] == ["-5", "-4", "-3"]
    assert rows[0]["ratio"] == "-2.5"


def test_a_parquet_download_keeps_every_value_exactly(
    app: FastAPI,
    api: TestClient,
    cast: Cast,
    db: Session,
    make_dataset: MakeDataset,
    tmp_path: Path,
) -> None:
    slug = _publish(app, db, cast, make_dataset, tmp_path)
    response = api.get(f"/api/v1/datasets/{slug}/download", params={"format": "parquet"})
    assert response.status_code == 200
    table = pq.read_table(io.BytesIO(response.content))
    assert table["note"].to_pylist() == RISKY + SAFE
    assert table["delta"].to_pylist()[0] == -5
