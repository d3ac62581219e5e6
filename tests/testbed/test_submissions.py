"""Predictions submissions: scored at once on the public and private parts, limits enforced."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.testbed.bench_city import (
    LABELS,
    TASK,
    Bench,
    SubmitFile,
    join,
    predictions_csv,
)

from bitgoeul.testbed.models import TestbedSubmission


def test_a_perfect_file_scores_zero_error_on_the_public_part(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    assert join(api, bench, "member", "Gwangju Forecasters").status_code == 201
    response = submit_file(predictions_csv())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "scored"
    assert body["public_score"] == 0.0
    assert body["private_score"] is None  # hidden until the deadline
    assert body["rows"] == len(LABELS)
    assert body["test_version"] == 1
    assert len(body["content_sha256"]) == 64
    assert body["environment"]["scorer"].startswith("bitgoeul")


def test_a_shifted_file_scores_the_shift(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Shifters")
    body = submit_file(predictions_csv(shift=2.5)).json()
    assert abs(body["public_score"] - 2.5) < 1e-9


def test_an_oversized_file_is_refused_while_it_streams_and_nothing_is_kept(
    api: TestClient, app: FastAPI, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    app.state.settings.testbed_max_predictions_bytes = 100
    refused = submit_file(predictions_csv())
    assert refused.status_code == 413
    assert "larger than this hub accepts (100 bytes)" in refused.json()["detail"]
    assert db.scalar(select(func.count(TestbedSubmission.id))) == 0
    kept = app.state.store.root / "testbed" / "submissions"
    assert not kept.exists() or not any(kept.rglob("*.*"))


def test_a_file_that_cannot_be_scored_is_not_kept(
    api: TestClient, app: FastAPI, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    refused = submit_file(b"id,prediction\nno-such-id,1.0\n")
    assert refused.status_code == 422, refused.text
    assert db.scalar(select(func.count(TestbedSubmission.id))) == 0
    kept = app.state.store.root / "testbed" / "submissions"
    assert not kept.exists() or not any(p.is_file() for p in kept.rglob("*"))


@pytest.mark.parametrize(
    ("files", "data", "message"),
    [
        ({}, {}, "either a predictions 'file' or a model 'bundle'"),
        (
            {"file": ("p.csv", b"id,prediction\n", "text/csv"), "bundle": ("m.zip", b"PK", "x")},
            {},
            "not both",
        ),
        ({"bundle": ("m.zip", b"PK", "application/zip")}, {"spec": "{"}, "spec: not valid JSON"),
        (
            {"bundle": ("m.zip", b"PK", "application/zip")},
            {"spec": '{"resources": {"cpus": 0}}'},
            "spec.resources.cpus",
        ),
    ],
)
def test_a_malformed_submission_request_says_what_is_wrong(
    api: TestClient,
    db: Session,
    bench: Bench,
    files: dict[str, Any],
    data: dict[str, str],
    message: str,
) -> None:
    join(api, bench, "member", "Forecasters")
    refused = api.post(
        f"/api/v1/testbed/tasks/{TASK}/submissions",
        files=files or None,
        data=data or None,
        headers=bench.headers("member"),
    )
    assert refused.status_code == 422, refused.text
    assert message in refused.text
    assert db.scalar(select(func.count(TestbedSubmission.id))) == 0
