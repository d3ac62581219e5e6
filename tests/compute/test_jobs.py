"""Jobs through the API and the runner: submit, decide, run in the sandbox, meter, record."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, Submit, data_dir, settings_of

from bitgoeul.compute.models import CreditEntry, Job
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.governance import actions as governance
from bitgoeul.models import AuditEvent
from bitgoeul.privacy.pseudonyms import pseudonym_key, pseudonymise

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

COUNT_ROWS = """
import os, pathlib, pyarrow.parquet as pq
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
rows = {p.stem: pq.read_metadata(p).num_rows for p in sorted(src.glob("*.parquet"))}
(out / "counts.txt").write_text(repr(rows))
print("counted", rows, flush=True)
"""


def _job(api: TestClient, job_city: JobCity, job_id: int, who: str = "member") -> Any:
    response = api.get(f"/api/v1/jobs/{job_id}", headers=job_city.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def _balance(api: TestClient, job_city: JobCity) -> Decimal:
    body = api.get("/api/v1/credits", headers=job_city.headers("member")).json()
    return Decimal(body["cpu_hours"])


def test_a_job_on_open_data_runs_and_its_outputs_are_downloadable(
    api: TestClient, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    before = _balance(api, job_city)
    created = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity"])
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] == "queued"
    assert job["release_status"] == "not_required"
    assert job["datasets"][0]["slug"] == "household-electricity"
    assert job["datasets"][0]["version"] == 2
    assert len(job["code_sha256"]) == 64

    runner.run_until_idle(timeout=60)
    done = _job(api, job_city, job["id"])
    assert done["status"] == "succeeded", done["reason"]
    assert done["exit_code"] == 0
    paths = {o["path"]: o for o in done["outputs"]}
    assert set(paths) == {"counts.txt", "log.txt"}

    counts = api.get(
        f"/api/v1/jobs/{job['id']}/outputs/counts.txt", headers=job_city.headers("member")
    )
    assert counts.status_code == 200
    assert counts.text == "{'household-electricity': 60}"
    assert hashlib.sha256(counts.content).hexdigest() == paths["counts.txt"]["sha256"]

    log = api.get(f"/api/v1/jobs/{job['id']}/logs", headers=job_city.headers("member")).json()
    assert "counted" in log["text"]
    assert log["finished"] is True
    again = api.get(
        f"/api/v1/jobs/{job['id']}/logs",
        params={"offset": log["next_offset"]},
        headers=job_city.headers("member"),
    ).json()
    assert again["text"] == ""

    used = Decimal(done["used_cpu_hours"])
    assert Decimal(0) <= used <= Decimal(done["reserved_cpu_hours"])
    assert _balance(api, job_city) == before - used


def test_a_finished_jobs_outputs_and_log_are_read_from_the_object_store(
    api: TestClient, app: FastAPI, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    created = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity"])
    job_id = created.json()["id"]
    runner.run_until_idle(timeout=60)
    store = app.state.store
    assert store.exists(f"jobs/{job_id}/outputs/counts.txt")
    assert store.exists(f"jobs/{job_id}/log.txt")
    folder = data_dir(app) / "jobs" / str(job_id)
    assert not (folder / "output").exists()
    assert not (folder / "log.txt").exists()
    assert (folder / "code" / "main.py").is_file()  # kept for a re-run
    counts = api.get(
        f"/api/v1/jobs/{job_id}/outputs/counts.txt", headers=job_city.headers("member")
    )
    assert counts.text == "{'household-electricity': 60}"
    assert counts.headers["content-disposition"] == 'attachment; filename="counts.txt"'
    log = api.get(f"/api/v1/jobs/{job_id}/logs", headers=job_city.headers("member")).json()
    assert "counted" in log["text"]
    tail = api.get(
        f"/api/v1/jobs/{job_id}/logs",
        params={"offset": 2},
        headers=job_city.headers("member"),
    ).json()
    assert tail["text"] == log["text"][2:]


def test_an_output_an_earlier_hub_kept_in_the_jobs_folder_is_still_downloadable(
    api: TestClient, app: FastAPI, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    created = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity"])
    job_id = created.json()["id"]
    runner.run_until_idle(timeout=60)
    store = app.state.store
    output = data_dir(app) / "jobs" / str(job_id) / "output"
    output.mkdir()
    with store.open(f"jobs/{job_id}/outputs/counts.txt") as kept:
        (output / "counts.txt").write_bytes(kept.read())
    store.delete(f"jobs/{job_id}/outputs/counts.txt")
    counts = api.get(
        f"/api/v1/jobs/{job_id}/outputs/counts.txt", headers=job_city.headers("member")
    )
    assert counts.status_code == 200
    assert counts.text == "{'household-electricity': 60}"


def test_restricted_data_arrives_pseudonymised_and_the_outputs_are_held(
    api: TestClient, app: FastAPI, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    script = """
    import os, pathlib, pyarrow.parquet as pq
    table = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "clinic-visits.parquet")
    ids = table.column("patient_id").to_pylist()
    (pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "ids.txt").write_text("\\n".join(ids))
    """
    created = submit({"main.py": script}, datasets=["clinic-visits"])
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["release_status"] == "held"
    runner.run_until_idle(timeout=60)
    done = _job(api, job_city, job["id"], who="steward_of_publisher")
    assert done["status"] == "succeeded", done["reason"]

    held = api.get(f"/api/v1/jobs/{job['id']}/outputs/ids.txt", headers=job_city.headers("member"))
    assert held.status_code == 403
    assert "held until the release review" in held.json()["detail"]
    assert (
        api.get(f"/api/v1/jobs/{job['id']}/logs", headers=job_city.headers("member")).status_code
        == 403
    )

    reviewed = api.get(
        f"/api/v1/jobs/{job['id']}/outputs/ids.txt",
        headers=job_city.headers("steward_of_publisher"),
    )
    assert reviewed.status_code == 200
    ids = reviewed.text.splitlines()
    key = pseudonym_key(settings_of(app).secret(), f"project:{job_city.project_id}")
    assert ids == [pseudonymise(key, f"P{p:04d}") for p in range(1, 9)]
    assert "P0001" not in reviewed.text
    assert done["checks"]["blocked"] is True  # identifier values in a text output


def test_a_dataset_without_agreement_is_refused_and_nothing_is_left(
    api: TestClient, app: FastAPI, db: Session, job_city: JobCity, submit: Submit
) -> None:
    governance.revoke_agreement(
        db,
        actor=job_city.cast.actors["steward_of_publisher"],
        agreement_id=job_city.agreements["clinic-visits"],
        reason="study paused",
    )
    before = _balance(api, job_city)
    refused = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity", "clinic-visits"])
    assert refused.status_code == 403
    assert "clinic-visits" in refused.json()["detail"]
    assert db.scalar(select(func.count()).select_from(Job)) == 0
    assert _balance(api, job_city) == before
    assert not (data_dir(app) / "jobs").exists() or not any((data_dir(app) / "jobs").iterdir())
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions[-1] == "job.refused"
    assert "dataset.job_decision" in actions


@pytest.mark.parametrize(
    ("spec", "status", "words"),
    [
        ({"environment": "cuda-99"}, 422, "no job environment 'cuda-99'"),
        ({"resources": {"cpus": 64, "memory_mb": 512, "time_limit_s": 30}}, 422, "cpus"),
        ({"resources": {"cpus": 1, "gpus": 1, "time_limit_s": 30}}, 422, "no GPU"),
        ({"entrypoint": "../etc/passwd"}, 422, "inside the bundle"),
        ({"entrypoint": "missing.py"}, 422, "missing.py"),
        ({"priority": 5}, 403, "Only operators"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(
    submit: Submit, spec: dict[str, Any], status: int, words: str
) -> None:
    response = submit({"main.py": "print(1)"}, **spec)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]


def test_a_malformed_spec_or_bundle_says_what_is_wrong(api: TestClient, job_city: JobCity) -> None:
    headers = job_city.headers("member")
    not_json = api.post(
        "/api/v1/jobs",
        files={"bundle": ("code.zip", b"PK\x05\x06" + b"\0" * 18, "application/zip")},
        data={"spec": "{project: 1"},
        headers=headers,
    )
    assert not_json.status_code == 422
    assert "not valid JSON" in not_json.json()["detail"]
    corrupt = api.post(
        "/api/v1/jobs",
        files={"bundle": ("code.zip", b"this is not a zip", "application/zip")},
        data={"spec": f'{{"project": {job_city.project_id}, "entrypoint": "main.py"}}'},
        headers=headers,
    )
    assert corrupt.status_code == 422, corrupt.text


def test_only_project_members_submit(submit: Submit) -> None:
    response = submit({"main.py": "print(1)"}, who="steward_of_other_org")
    assert response.status_code == 403
    assert "not a member" in response.json()["detail"]
    assert submit({"main.py": "print(1)"}, who="anonymous").status_code == 401


def test_a_job_beyond_the_credits_left_is_refused_before_it_starts(
    api: TestClient, submit: Submit, job_city: JobCity
) -> None:
    before = _balance(api, job_city)
    response = submit(
        {"main.py": "print(1)"},
        resources={"cpus": 2, "memory_mb": 512, "time_limit_s": 24 * 3600},
    )
    assert response.status_code == 403
    assert "does not have the credits" in response.json()["detail"]
    assert _balance(api, job_city) == before


def test_cancelling_a_queued_job_refunds_it_in_full(
    api: TestClient, db: Session, submit: Submit, job_city: JobCity
) -> None:
    before = _balance(api, job_city)
    job = submit({"main.py": "print(1)"}).json()
    assert _balance(api, job_city) < before
    cancelled = api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=job_city.headers("member"))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert _balance(api, job_city) == before
    reasons = [
        e.reason for e in db.scalars(select(CreditEntry).where(CreditEntry.job_id == job["id"]))
    ]
    assert sorted(reasons) == ["job_refund", "job_reservation"]
    again = api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=job_city.headers("member"))
    assert again.status_code == 409


def test_an_agreement_revoked_while_queued_stops_the_job_at_start(
    api: TestClient, db: Session, submit: Submit, job_city: JobCity, runner: JobRunner
) -> None:
    job = submit({"main.py": COUNT_ROWS}, datasets=["clinic-visits"]).json()
    governance.revoke_agreement(
        db,
        actor=job_city.cast.actors["steward_of_publisher"],
        agreement_id=job_city.agreements["clinic-visits"],
        reason="consent withdrawn",
    )
    runner.run_until_idle(timeout=30)
    done = _job(api, job_city, job["id"])
    assert done["status"] == "failed"
    assert "did not start" in done["reason"]
    assert "clinic-visits" in done["reason"]


def test_a_crashing_job_fails_with_its_exit_code_and_others_still_run(
    api: TestClient, submit: Submit, job_city: JobCity, runner: JobRunner
) -> None:
    crash = submit({"main.py": "import sys\nprint('bad input', file=sys.stderr)\nsys.exit(3)"})
    fine = submit({"main.py": "print('ok')"})
    runner.run_until_idle(timeout=60)
    crashed = _job(api, job_city, crash.json()["id"])
    assert crashed["status"] == "failed"
    assert crashed["exit_code"] == 3
    log = api.get(f"/api/v1/jobs/{crashed['id']}/logs", headers=job_city.headers("member"))
    assert "bad input" in log.json()["text"]
    assert _job(api, job_city, fine.json()["id"])["status"] == "succeeded"


def test_a_job_past_its_time_limit_is_stopped_and_metered_for_its_limit_only(
    api: TestClient, submit: Submit, job_city: JobCity, runner: JobRunner
) -> None:
    job = submit(
        {"main.py": "import time\nwhile True: time.sleep(0.1)"},
        resources={"cpus": 1, "memory_mb": 512, "time_limit_s": 2},
    ).json()
    runner.run_until_idle(timeout=60)
    done = _job(api, job_city, job["id"])
    assert done["status"] == "timed_out"
    assert Decimal(done["used_cpu_hours"]) <= Decimal(done["reserved_cpu_hours"])


def test_held_outputs_with_a_small_group_are_blocked_by_the_checks(
    api: TestClient, submit: Submit, job_city: JobCity, runner: JobRunner
) -> None:
    script = """
    import os, pathlib, pyarrow.parquet as pq, pyarrow.csv as pc, pyarrow as pa
    t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "income-survey.parquet")
    districts = t.column("district").to_pylist()
    counts = {d: districts.count(d) for d in sorted(set(districts))}
    table = pa.table({"district": list(counts), "n": list(counts.values())})
    pc.write_csv(table, pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "by_district.csv")
    """
    job = submit({"main.py": script}, datasets=["income-survey"]).json()
    runner.run_until_idle(timeout=60)
    done = _job(api, job_city, job["id"], who="steward_of_publisher")
    assert done["status"] == "succeeded", done["reason"]
    assert done["checks"]["blocked"] is True
    findings = [f for file in done["checks"]["files"] for f in file["findings"]]
    assert any(f["check"] == "small_group" and f["file"] == "by_district.csv" for f in findings)


def test_job_pages_of_other_projects_are_not_found(
    api: TestClient, submit: Submit, job_city: JobCity
) -> None:
    job = submit({"main.py": "print(1)"}).json()
    for who in ("steward_of_other_org", "citizen"):
        response = api.get(f"/api/v1/jobs/{job['id']}", headers=job_city.headers(who))
        assert response.status_code == 404
    assert (
        api.get(f"/api/v1/jobs/{job['id']}", headers=job_city.headers("operator")).status_code
        == 200
    )
    listed = api.get("/api/v1/jobs", headers=job_city.headers("steward_of_other_org")).json()
    assert listed == []
