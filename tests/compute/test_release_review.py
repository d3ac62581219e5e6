"""The airlock: held outputs leave only after context, the automatic checks and the stewards;
until then the requester sees nothing of them, not even their names."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, Submit

from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.governance.models import Notification
from bitgoeul.models import AuditEvent

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

SUMMARY = """
import os, pathlib, pyarrow.parquet as pq
t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "clinic-visits.parquet")
costs = t.column("cost").to_pylist()
(pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "summary.txt").write_text(
    f"mean cost over all visits: {sum(costs) / len(costs):.1f}\\n"
)
print("done")
"""

SMALL_GROUPS = """
import os, pathlib, pyarrow as pa, pyarrow.csv as pc, pyarrow.parquet as pq
t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "income-survey.parquet")
districts = t.column("district").to_pylist()
counts = {d: districts.count(d) for d in sorted(set(districts))}
table = pa.table({"district": list(counts), "n": list(counts.values())})
pc.write_csv(table, pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "by_district.csv")
"""

CONTEXT = (
    "summary.txt: one mean over all eight visits, no person can be singled out; the log: the "
    "script prints only 'done'."
)


@pytest.fixture
def held_job(submit: Submit, runner: JobRunner) -> int:
    created = submit({"main.py": SUMMARY}, datasets=["clinic-visits"])
    assert created.status_code == 201, created.text
    runner.run_until_idle(timeout=60)
    job_id: int = created.json()["id"]
    return job_id


def _post(api: TestClient, job_city: JobCity, who: str, path: str, body: dict[str, Any]) -> Any:
    return api.post(f"/api/v1/jobs{path}", json=body, headers=job_city.headers(who))


def _download(api: TestClient, job_city: JobCity, job_id: int, name: str) -> Any:
    return api.get(f"/api/v1/jobs/{job_id}/outputs/{name}", headers=job_city.headers("member"))


def test_context_then_the_steward_approves_and_it_is_released(
    api: TestClient, db: Session, job_city: JobCity, held_job: int
) -> None:
    assert _download(api, job_city, held_job, "summary.txt").status_code == 403

    empty = _post(api, job_city, "member", f"/{held_job}/release", {"context": "   "})
    assert empty.status_code == 422
    assert "context" in empty.json()["detail"]

    asked = _post(api, job_city, "member", f"/{held_job}/release", {"context": CONTEXT})
    assert asked.status_code == 200, asked.text
    assert asked.json()["release_status"] == "in_review"
    assert asked.json()["waiting_for"] == ["kepco"]
    queue = api.get("/api/v1/reviews", headers=job_city.headers("steward_of_publisher")).json()
    assert [j["id"] for j in queue] == [held_job]
    steward = job_city.cast.actors["steward_of_publisher"].user_id
    notes = db.scalars(select(Notification).where(Notification.user_id == steward)).all()
    assert any(f"Job {held_job}" in n.text for n in notes)

    own = _post(api, job_city, "member", f"/{held_job}/review", {"verdict": "approve"})
    assert own.status_code == 403

    approved = _post(
        api, job_city, "steward_of_publisher", f"/{held_job}/review", {"verdict": "approve"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["release_status"] == "released"
    summary = _download(api, job_city, held_job, "summary.txt")
    assert summary.status_code == 200
    assert summary.text.startswith("mean cost over all visits")
    assert api.get("/api/v1/reviews", headers=job_city.headers("steward_of_publisher")).json() == []
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-3:] == ["job.release_requested", "job.release_reviewed", "job.output_read"]


def test_returned_with_comments_then_asked_again_in_a_new_round(
    api: TestClient, job_city: JobCity, held_job: int
) -> None:
    _post(api, job_city, "member", f"/{held_job}/release", {"context": CONTEXT})
    no_comment = _post(
        api, job_city, "steward_of_publisher", f"/{held_job}/review", {"verdict": "return"}
    )
    assert no_comment.status_code == 422
    returned = _post(
        api,
        job_city,
        "steward_of_publisher",
        f"/{held_job}/review",
        {"verdict": "return", "comment": "Say how many visits the mean covers."},
    )
    assert returned.json()["release_status"] == "returned"
    assert _download(api, job_city, held_job, "summary.txt").status_code == 403
    again = _post(
        api,
        job_city,
        "member",
        f"/{held_job}/release",
        {"context": CONTEXT + " The mean covers 8 visits (all of them)."},
    )
    assert again.json()["round"] == 2
    assert again.json()["decisions"] == []


def test_a_rejected_release_never_leaves(api: TestClient, job_city: JobCity, held_job: int) -> None:
    _post(api, job_city, "member", f"/{held_job}/release", {"context": CONTEXT})
    rejected = _post(
        api,
        job_city,
        "steward_of_publisher",
        f"/{held_job}/review",
        {"verdict": "reject", "comment": "Costs are out of this project's scope."},
    )
    assert rejected.json()["release_status"] == "rejected"
    assert _download(api, job_city, held_job, "summary.txt").status_code == 403
    again = _post(api, job_city, "member", f"/{held_job}/release", {"context": CONTEXT})
    assert again.status_code == 409


def test_operators_may_return_but_not_approve(
    api: TestClient, job_city: JobCity, held_job: int
) -> None:
    _post(api, job_city, "member", f"/{held_job}/release", {"context": CONTEXT})
    approve = _post(api, job_city, "operator", f"/{held_job}/review", {"verdict": "approve"})
    assert approve.status_code == 403
    assert "stewards of the data" in approve.json()["detail"]
    other = _post(
        api, job_city, "steward_of_other_org", f"/{held_job}/review", {"verdict": "approve"}
    )
    assert other.status_code == 404


def test_a_table_with_a_small_group_cannot_be_approved(
    api: TestClient, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    job_id = submit({"main.py": SMALL_GROUPS}, datasets=["income-survey"]).json()["id"]
    runner.run_until_idle(timeout=60)
    asked = _post(
        api, job_city, "member", f"/{job_id}/release", {"context": "People per district."}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["blocked_files"] == []  # the requester sees no names while held
    state = api.get(
        f"/api/v1/jobs/{job_id}/release", headers=job_city.headers("steward_of_publisher")
    ).json()
    assert state["blocked_files"] == ["by_district.csv"]
    approve = _post(
        api, job_city, "steward_of_publisher", f"/{job_id}/review", {"verdict": "approve"}
    )
    assert approve.status_code == 409
    assert "by_district.csv" in approve.json()["detail"]
    assert _download(api, job_city, job_id, "by_district.csv").status_code == 403


def test_copying_input_rows_is_blocked(
    api: TestClient, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    script = """
    import os, pathlib, pyarrow.parquet as pq
    t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "clinic-visits.parquet")
    pq.write_table(t.select(["district", "age", "diagnosis", "cost"]),
                   pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "extract.parquet")
    """
    job_id = submit({"main.py": script}, datasets=["clinic-visits"]).json()["id"]
    runner.run_until_idle(timeout=60)
    job = api.get(f"/api/v1/jobs/{job_id}", headers=job_city.headers("steward_of_publisher")).json()
    findings = [f for file in job["checks"]["files"] for f in file["findings"]]
    assert any(f["check"] == "copied_rows" and f["severity"] == "block" for f in findings)


NAMES_CARRY_VALUES = """
import os, pathlib, pyarrow.parquet as pq
t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "clinic-visits.parquet")
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
for i, (patient, diagnosis) in enumerate(zip(t.column("patient_id").to_pylist(),
                                             t.column("diagnosis").to_pylist())):
    (out / f"{i:03d}_{patient}_{diagnosis}.txt").write_text("ok")
(out / "summary.txt").write_text("mean")
raise SystemExit(3)
"""


def test_held_outputs_show_the_requester_no_name_size_checksum_or_exit_code(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    job_id = submit({"main.py": NAMES_CARRY_VALUES}, datasets=["clinic-visits"]).json()["id"]
    runner.run_until_idle(timeout=60)
    mine = api.get(f"/api/v1/jobs/{job_id}", headers=job_city.headers("member")).json()
    assert mine["outputs_held"] is True
    assert mine["outputs"] == []
    assert mine["exit_code"] is None
    assert mine["checks"] == {}
    assert "code 3" not in mine["reason"]
    listed = api.get("/api/v1/jobs", headers=job_city.headers("member")).json()
    assert next(j for j in listed if j["id"] == job_id)["outputs"] == []
    page = api.get(f"/jobs/{job_id}", headers=job_city.headers("member")).text
    assert "_flu.txt" not in page
    assert "summary.txt" not in page
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "job.finished")).all()
    assert "summary.txt" not in str([e.detail for e in events])
    # The reviewers see everything, and the checks block the names that carry values.
    review = api.get(
        f"/api/v1/jobs/{job_id}", headers=job_city.headers("steward_of_publisher")
    ).json()
    assert review["exit_code"] == 3
    names = [o["path"] for o in review["outputs"]]
    assert "summary.txt" in names
    blocked = {
        f["path"]
        for f in review["checks"]["files"]
        if any(x["check"] == "file_name" for x in f["findings"])
    }
    # The job saw pseudonyms, and wrote them and the diagnosis into the names.
    assert blocked == {n for n in names if n.endswith("_flu.txt")}
    assert len(blocked) == 8
    assert "summary.txt" not in blocked
