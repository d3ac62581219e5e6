"""Every read of a job's log and outputs is audited, under the job's organization: a download,
the log read whole or in parts, and a refused read of held outputs."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, Submit

from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.models import AuditEvent

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

WRITE = """
import os, pathlib
(pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "result.txt").write_text("42\\n")
print("wrote the result", flush=True)
"""


def _reads(db: Session, job_id: int) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.resource_type == "job",
                AuditEvent.resource_id == str(job_id),
                AuditEvent.action.in_(["job.log_read", "job.output_read"]),
            )
            .order_by(AuditEvent.seq)
        )
    )


def _run(submit: Submit, runner: JobRunner, datasets: list[str]) -> int:
    created = submit({"main.py": WRITE}, datasets=datasets)
    assert created.status_code == 201, created.text
    runner.run_until_idle(timeout=60)
    job_id: int = created.json()["id"]
    return job_id


def test_a_download_and_a_log_read_are_each_audited(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    job_id = _run(submit, runner, ["household-electricity"])
    member = job_city.headers("member")
    assert _reads(db, job_id) == []
    output = api.get(f"/api/v1/jobs/{job_id}/outputs/result.txt", headers=member)
    assert output.status_code == 200
    log = api.get(f"/api/v1/jobs/{job_id}/logs", headers=member).json()
    assert "wrote the result" in log["text"]
    again = api.get(f"/api/v1/jobs/{job_id}/logs?offset={log['next_offset']}", headers=member)
    assert again.json()["text"] == ""  # nothing new: nothing read, nothing audited
    reads = _reads(db, job_id)
    assert [(e.action, e.outcome, e.actor_name) for e in reads] == [
        ("job.output_read", "ok", "researcher"),
        ("job.log_read", "ok", "researcher"),
    ]
    assert reads[0].detail["output"] == "result.txt"
    assert reads[0].detail["bytes"] == 3
    assert reads[1].detail["bytes"] == log["next_offset"]


def test_a_refused_read_of_held_outputs_is_audited_as_denied(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    job_id = _run(submit, runner, ["clinic-visits"])
    member = job_city.headers("member")
    assert api.get(f"/api/v1/jobs/{job_id}/outputs/result.txt", headers=member).status_code == 403
    assert api.get(f"/api/v1/jobs/{job_id}/logs", headers=member).status_code == 403
    reads = _reads(db, job_id)
    assert [(e.action, e.outcome) for e in reads] == [
        ("job.output_read", "denied"),
        ("job.log_read", "denied"),
    ]
    assert "release review holds" in reads[0].detail["reason"]
    # The steward reviewing the release reads it, and that is audited too.
    steward = job_city.headers("steward_of_publisher")
    assert api.get(f"/api/v1/jobs/{job_id}/outputs/result.txt", headers=steward).status_code == 200
    assert _reads(db, job_id)[-1].outcome == "ok"
    assert _reads(db, job_id)[-1].actor_name == "kepco-steward"
