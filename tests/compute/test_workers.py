"""Workers: the web server only queues; `bitgoeul worker` processes run jobs, share one limit,
and end the jobs of a worker that stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, Submit, settings_of

from bitgoeul.app import make_job_runner
from bitgoeul.compute.models import Job, JobStatus, JobWorker
from bitgoeul.compute.runner import LOST_AFTER_SECONDS, JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.db.base import utcnow

needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

SLEEP = "import time\ntime.sleep(1.5)\nprint('slept')"


def _status(db: Session, job_id: int) -> JobStatus:
    db.expire_all()
    job = db.get(Job, job_id)
    assert job is not None
    return job.status


def _running(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).where(Job.status == JobStatus.running)) or 0)


@needs_sandbox
def test_two_workers_share_one_limit_and_never_run_more_than_it(
    app: FastAPI, db: Session, job_city: JobCity, submit: Submit
) -> None:
    one_core = settings_of(app).model_copy(update={"job_cpus": 1})
    workers = [
        make_job_runner(one_core, app.state.sessionmaker, app.state.store, app.state.executor)
        for _ in range(2)
    ]
    assert workers[0].worker_id != workers[1].worker_id
    ids = [submit({"main.py": SLEEP}).json()["id"] for _ in range(3)]
    most = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for worker in workers:
            worker.dispatch()
            most = max(most, _running(db))
        if all(_status(db, i) == JobStatus.succeeded for i in ids):
            break
        time.sleep(0.05)
    assert [_status(db, i) for i in ids] == [JobStatus.succeeded] * 3
    assert most == 1
    db.expire_all()
    ran_by = {db.get(Job, i).worker_id for i in ids}  # type: ignore[union-attr]
    assert ran_by <= {w.worker_id for w in workers}
    beats = db.scalars(select(JobWorker.id)).all()
    assert set(beats) >= ran_by


@needs_sandbox  # a job is only accepted where it could run
def test_the_jobs_of_a_worker_that_stopped_are_ended_and_refunded(
    api: TestClient, app: FastAPI, db: Session, job_city: JobCity, submit: Submit
) -> None:
    job_id = submit({"main.py": SLEEP}).json()["id"]
    long_ago = utcnow() - timedelta(seconds=LOST_AFTER_SECONDS * 2)
    db.add(JobWorker(id="gone:1:dead", host="gone", pid=1, executor="local", heartbeat_at=long_ago))
    job = db.get(Job, job_id)
    assert job is not None
    reserved = job.reserved_cpu_hours
    job.status = JobStatus.running
    job.started_at = long_ago
    job.worker_id = "gone:1:dead"
    db.commit()
    balance_before = _balance(api, job_city)

    runner: JobRunner = app.state.job_runner
    runner.dispatch()

    assert _status(db, job_id) == JobStatus.failed
    shown = api.get(f"/api/v1/jobs/{job_id}", headers=job_city.headers("member")).json()
    assert "the worker running it (gone:1:dead) stopped" in shown["reason"]
    assert _balance(api, job_city) == balance_before + reserved


def _balance(api: TestClient, job_city: JobCity) -> Decimal:
    body: Any = api.get("/api/v1/credits", headers=job_city.headers("member")).json()
    return Decimal(str(body["cpu_hours"]))


@needs_sandbox
def test_bitgoeul_worker_runs_what_the_server_queued(
    app: FastAPI, db: Session, job_city: JobCity, submit: Submit
) -> None:
    job_id = submit({"main.py": "print('run by a worker')"}).json()["id"]
    assert _status(db, job_id) == JobStatus.queued  # the web app only queued it
    settings = settings_of(app)
    env = {
        **os.environ,
        "BITGOEUL_ENVIRONMENT": "test",
        "BITGOEUL_DATA_DIR": str(settings.data_dir),
        "BITGOEUL_DATABASE_URL": settings.sqlalchemy_url,
        "BITGOEUL_SECRET_KEY": settings.secret(),
    }
    command = [sys.executable, "-m", "bitgoeul.cli", "worker", "--poll", "0.2"]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        try:
            deadline = time.monotonic() + 60
            while _status(db, job_id) != JobStatus.succeeded:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    raise AssertionError(f"the worker did not run the job:\n{output}")
                time.sleep(0.1)
        finally:
            process.terminate()
            output = process.communicate(timeout=30)[0].decode()
    assert "runs jobs on the local executor" in output
    assert "Stopping" in output
