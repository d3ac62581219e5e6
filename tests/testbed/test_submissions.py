"""Predictions submissions: scored at once on the public and private parts, limits enforced."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.testbed.bench_city import (
    LABELS,
    Bench,
    SubmitFile,
    join,
    predictions_csv,
)


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
