"""The demo city's example jobs run in the sandbox as shipped (demo/jobs/)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, settings_of

from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.demo.compute import JOBS_DIR, PYTORCH_JOB, pack

TORCH_PYTHON = os.environ.get("BITGOEUL_TEST_TORCH_PYTHON", "")

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)


@pytest.fixture
def system_demand(app: FastAPI, db: Session, job_city: JobCity, tmp_path: Path) -> str:
    """KPX's open hourly system demand, 60 days of a daily cycle."""
    steward = job_city.cast.actors["steward_of_publisher"]
    dataset = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            slug="kpx-system-demand-smp-hourly",
            title="System demand",
            sector=Sector.energy,
            access_level=AccessLevel.open,
        ),
    )
    rows = ["hour,system_demand_mw"] + [
        f"{h},{60000 + 8000 * math.sin(h / 24 * 2 * math.pi) + (h % 7) * 300:.1f}"
        for h in range(24 * 60)
    ]
    source = tmp_path / "demand.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    catalog_actions.publish_version(
        db,
        settings=settings_of(app),
        store=app.state.store,
        actor=steward,
        slug=dataset.slug,
        source=source,
        filename=source.name,
    )
    return dataset.slug


def test_the_pytorch_example_without_pytorch_says_what_it_needs(
    api: TestClient, app: FastAPI, job_city: JobCity, system_demand: str, runner: JobRunner
) -> None:
    job = _submit(api, job_city, app, system_demand, environment="default")
    runner.run_until_idle(timeout=60)
    done = api.get(f"/api/v1/jobs/{job}", headers=job_city.headers("member")).json()
    assert done["status"] == "failed"
    assert done["exit_code"] == 2
    log = api.get(f"/api/v1/jobs/{job}/logs", headers=job_city.headers("member")).json()
    assert "This job needs PyTorch" in log["text"]


@pytest.mark.skipif(
    not TORCH_PYTHON, reason="set BITGOEUL_TEST_TORCH_PYTHON to a Python with torch (CI does)"
)
def test_the_pytorch_example_trains_on_the_cpu_without_a_gpu(
    api: TestClient, app: FastAPI, job_city: JobCity, system_demand: str, runner: JobRunner
) -> None:
    settings_of(app).job_environments = {"pytorch": Path(TORCH_PYTHON)}
    job = _submit(api, job_city, app, system_demand, environment="pytorch")
    runner.run_until_idle(timeout=300)
    done = api.get(f"/api/v1/jobs/{job}", headers=job_city.headers("member")).json()
    assert done["status"] == "succeeded", done["reason"]
    assert {o["path"] for o in done["outputs"]} == {"metrics.json", "model.pt", "log.txt"}
    metrics = api.get(
        f"/api/v1/jobs/{job}/outputs/metrics.json", headers=job_city.headers("member")
    ).json()
    assert metrics["device"] == "cpu"
    assert metrics["test_mape_percent"] < 20


def _submit(
    api: TestClient, job_city: JobCity, app: FastAPI, slug: str, *, environment: str
) -> int:
    archive = pack(JOBS_DIR / PYTORCH_JOB, settings_of(app).resolved_data_dir / "pt.zip")
    spec = {
        "project": job_city.project_id,
        "datasets": [slug],
        "entrypoint": "train.py",
        "arguments": ["20"],
        "environment": environment,
        "resources": {"cpus": 1, "memory_mb": 4096, "time_limit_s": 240},
    }
    response = api.post(
        "/api/v1/jobs",
        files={"bundle": ("pt.zip", archive.read_bytes(), "application/zip")},
        data={"spec": json.dumps(spec)},
        headers=job_city.headers("member"),
    )
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    return job_id
