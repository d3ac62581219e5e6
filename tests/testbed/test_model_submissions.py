"""Model submissions: a bundle runs as a sandboxed job on the test inputs, never the labels."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.compute.job_city import make_bundle
from tests.testbed.bench_city import (
    TASK,
    Bench,
    join,
)

from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.models import Job
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.models import AuditEvent

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

# Predicts the previous day's use plus 20 kWh (every label is prev_kwh + 20.4242), and says
# which columns it was given.
PREDICT = """
import os, pathlib, pyarrow.parquet as pq, pyarrow.csv as pc, pyarrow as pa, pyarrow.compute as c
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
(table_path,) = sorted(src.glob("*.parquet"))
table = pq.read_table(table_path)
print("columns:", ",".join(table.column_names))
prediction = c.add(table["prev_kwh"].cast(pa.float64()), 20.0)
pc.write_csv(pa.table({"id": table["id"], "prediction": prediction}), out / "predictions.csv")
"""


@pytest.fixture
def funded(db: Session, bench: Bench) -> Bench:
    for organization in ("gist-lab", "kepco"):
        compute_actions.grant_credits(
            db,
            actor=bench.cast.actors["operator"],
            organization_slug=organization,
            cpu_hours=Decimal(5),
            note="testbed",
        )
    return bench


def submit_model(
    api: TestClient, bench: Bench, files: dict[str, str], *, who: str = "member", **spec: Any
) -> Any:
    body = {"resources": {"cpus": 1, "memory_mb": 512, "time_limit_s": 30}, **spec}
    return api.post(
        f"/api/v1/testbed/tasks/{TASK}/submissions",
        files={"bundle": ("model.zip", make_bundle(files), "application/zip")},
        data={"spec": json.dumps(body)},
        headers=bench.headers(who),
    )


def test_a_model_is_run_on_the_inputs_without_the_label_and_scored(
    api: TestClient, db: Session, funded: Bench, runner: JobRunner
) -> None:
    join(api, funded, "member", "Modellers")
    accepted = submit_model(api, funded, {"predict.py": PREDICT})
    assert accepted.status_code == 201, accepted.text
    submission = accepted.json()
    assert submission["status"] == "running"
    assert submission["kind"] == "model"
    runner.run_until_idle()
    scored = api.get(
        f"/api/v1/testbed/submissions/{submission['id']}", headers=funded.headers("member")
    ).json()
    assert scored["status"] == "scored", scored
    assert abs(scored["public_score"] - 0.4242) < 1e-6
    assert "columns: id,household,prev_kwh" in scored["log_excerpt"]
    assert "kwh," not in scored["log_excerpt"].replace("prev_kwh", "")
    assert scored["environment"]["job_environment"] == "default"
    assert scored["content_sha256"] == db.get(Job, scored["job"]).code_sha256  # type: ignore[union-attr]
    events = {e.action for e in db.scalars(select(AuditEvent))}
    assert {"dataset.job_decision", "dataset.testbed_score", "testbed.model_scored"} <= events


def test_the_participant_cannot_see_the_models_job_or_its_outputs(
    api: TestClient, funded: Bench, runner: JobRunner
) -> None:
    join(api, funded, "member", "Modellers")
    submission = submit_model(api, funded, {"predict.py": PREDICT}).json()
    runner.run_until_idle()
    job = submission["job"]
    headers = funded.headers("member")
    assert api.get(f"/api/v1/jobs/{job}", headers=headers).status_code == 404
    assert api.get(f"/api/v1/jobs/{job}/logs", headers=headers).status_code == 404
    output = api.get(f"/api/v1/jobs/{job}/outputs/predictions.csv", headers=headers)
    assert output.status_code == 404
    # The list follows the same rule as the job's page: it does not show the model's job.
    assert job not in {j["id"] for j in api.get("/api/v1/jobs", headers=headers).json()}


def test_a_model_that_writes_no_predictions_fails_with_what_to_do(
    api: TestClient, funded: Bench, runner: JobRunner
) -> None:
    join(api, funded, "member", "Modellers")
    submission = submit_model(api, funded, {"predict.py": "print('thinking')"}).json()
    runner.run_until_idle()
    failed = api.get(
        f"/api/v1/testbed/submissions/{submission['id']}", headers=funded.headers("member")
    ).json()
    assert failed["status"] == "failed"
    assert "predictions.csv or predictions.parquet" in failed["error"]
    assert "thinking" in failed["log_excerpt"]


def test_a_crashing_model_fails_and_still_counts_against_the_limit(
    api: TestClient, funded: Bench, runner: JobRunner
) -> None:
    join(api, funded, "member", "Modellers")
    submission = submit_model(api, funded, {"predict.py": "raise SystemExit(3)"}).json()
    runner.run_until_idle()
    failed = api.get(
        f"/api/v1/testbed/submissions/{submission['id']}", headers=funded.headers("member")
    ).json()
    assert failed["status"] == "failed"
    assert "did not succeed: exited with code 3" in failed["error"]
    assert failed["submissions_left_today"] == 2


def test_a_model_submission_is_refused_without_credits_and_leaves_nothing(
    api: TestClient, db: Session, bench: Bench
) -> None:
    join(api, bench, "member", "Modellers")
    refused = submit_model(api, bench, {"predict.py": PREDICT})
    assert refused.status_code == 403
    assert "credits" in refused.json()["detail"]
    assert db.scalar(select(Job.id)) is None


def test_an_operator_rerun_of_a_model_gives_the_same_score(
    api: TestClient, funded: Bench, runner: JobRunner
) -> None:
    join(api, funded, "member", "Modellers")
    submission = submit_model(api, funded, {"predict.py": PREDICT}).json()
    runner.run_until_idle()
    rerun = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=funded.headers("operator"),
    )
    assert rerun.status_code == 201, rerun.text
    assert rerun.json()["status"] == "running"
    runner.run_until_idle()
    (done,) = api.get(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=funded.headers("operator"),
    ).json()
    assert done["status"] == "scored", done
    assert done["matches"] is True
    assert done["public_score"] == done["original_public_score"]
    assert done["job"] != submission["job"]


def test_the_participant_is_told_of_the_score_with_a_link_they_can_open(
    api: TestClient, funded: Bench, runner: JobRunner
) -> None:
    """The model's job is the task's: the participant hears of the score, never of a job
    page that would answer 404."""
    join(api, funded, "member", "Modellers")
    submission = submit_model(api, funded, {"predict.py": PREDICT}).json()
    runner.run_until_idle()
    headers = funded.headers("member")
    notes = api.get("/api/v1/notifications", headers=headers).json()
    assert [n["kind"] for n in notes if n["kind"].startswith(("job.", "testbed.scored"))] == [
        "testbed.scored"
    ]
    assert notes[0]["link"] == f"/testbed/{TASK}/submissions/{submission['id']}"
    assert api.get(notes[0]["link"], headers=headers).status_code == 200
