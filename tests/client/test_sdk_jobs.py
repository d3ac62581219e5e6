"""The SDK sends code to the data on a real hub: submit, follow, download, release, credits.

The hub is served as ``bitgoeul serve`` serves it, so its scheduler runs the jobs in the
background, exactly as a researcher's script meets it.  A lab analyst runs jobs on KEPCO's
open and restricted meter readings; KEPCO's steward reviews held outputs; the operator grants
the lab its credits.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions
from bitgoeul.client import (
    AccessDenied,
    Client,
    Conflict,
    CreditBalance,
    Job,
    Project,
    ValidationFailed,
)
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.config import Settings

PASSWORD = "correct-horse-battery"  # the password conftest gives its people
RESTRICTED = "household-electricity-by-meter"
METER_SCHEMA = {
    "fields": [
        {"name": "meter_id", "type": "string", "constraints": {"required": True}},
        {"name": "day", "type": "date"},
        {"name": "kwh", "type": "number", "constraints": {"minimum": 0}},
    ]
}
needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

TOTAL_KWH = """
import os, pathlib, sys, time, pyarrow.parquet as pq
inputs = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
for i in range(3):
    print("step", i, flush=True)
    time.sleep(0.1)
total = sum(sum(pq.read_table(p).column("kwh").to_pylist()) for p in inputs.glob("*.parquet"))
(out / "total.txt").write_text(f"{total} kWh over all meters\\n")
print("arguments", sys.argv[1:], flush=True)
"""


@pytest.fixture
def lab(db: Session, settings: Settings, people: None) -> None:
    """The hub's operator, and a research lab with an analyst (who may open projects)."""
    actions.create_user(
        db, username="operator", password=PASSWORD, role="operator", settings=settings
    )
    org = actions.create_organization(db, slug="gist-lab", name="GIST lab", kind="research")
    actions.create_user(
        db,
        username="analyst",
        password=PASSWORD,
        role="member",
        organization_id=org.id,
        settings=settings,
    )


def _signed_in(hub_url: str, username: str) -> Iterator[Client]:
    with Client(hub_url) as client:
        client.login(username, PASSWORD)
        yield client


@pytest.fixture
def operator(hub_url: str, lab: None) -> Iterator[Client]:
    yield from _signed_in(hub_url, "operator")


@pytest.fixture
def analyst(hub_url: str, lab: None) -> Iterator[Client]:
    yield from _signed_in(hub_url, "analyst")


@pytest.fixture
def restricted(steward: Client, meter_csv: Path) -> str:
    steward.create_dataset(
        slug=RESTRICTED,
        title="Electricity use by meter",
        sector="energy",
        access_level="restricted",
    )
    steward.upload(RESTRICTED, meter_csv, schema=METER_SCHEMA)
    return RESTRICTED


@pytest.fixture
def project(analyst: Client, operator: Client) -> Project:
    """The analyst's project, and 10 CPU-hours for the lab."""
    operator.grant_credits("gist-lab", cpu_hours=10, note="startup programme")
    return analyst.create_project("Winter peaks", "academic-research", "Which households peak.")


@pytest.fixture
def agreed(analyst: Client, steward: Client, project: Project, restricted: str) -> str:
    """The project's agreement on the restricted readings."""
    request = analyst.request_access(project.id, restricted, days=30)
    steward.approve(request.id)
    return restricted


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__pycache__" / "train.cpython-312.pyc").write_bytes(b"\0")
    (folder / "train.py").write_text(dedent(TOTAL_KWH))
    return folder


def _submit(analyst: Client, project: Project, source: Path, **options: Any) -> Job:
    return analyst.submit_job(
        source,
        project=project.id,
        entrypoint="train.py",
        **{"memory_mb": 512, "time_limit_s": 60, **options},
    )


@needs_sandbox
def test_a_folder_runs_next_to_open_data_and_its_log_follows_live(
    analyst: Client, project: Project, published: str, code: Path, tmp_path: Path
) -> None:
    job = _submit(
        analyst, project, code, datasets=[published], arguments=["--epochs", "3"], name="total"
    )
    assert job.status == "queued"
    assert job.release_status == "not_required"
    assert job.datasets[0]["slug"] == published
    assert len(job.code_sha256) == 64

    log = "".join(analyst.follow_logs(job.id, poll_seconds=0.1))
    assert log.splitlines() == ["step 0", "step 1", "step 2", "arguments ['--epochs', '3']"]
    done = analyst.job(job.id)
    assert done.finished
    assert done.status == "succeeded", done.reason
    assert done.exit_code == 0
    assert done.used_cpu_hours is not None
    assert done.used_cpu_hours <= done.reserved_cpu_hours
    assert {o.path for o in done.outputs} == {"total.txt", "log.txt"}

    saved = analyst.job_output(job.id, "total.txt", tmp_path)
    assert saved == tmp_path / "total.txt"
    assert saved.read_text() == "20.75 kWh over all meters\n"
    assert [j.id for j in analyst.jobs(project=project.id)] == [job.id]
    assert analyst.jobs(project=project.id + 1) == []


@needs_sandbox
def test_an_archive_is_sent_as_it_is(
    analyst: Client, project: Project, published: str, tmp_path: Path
) -> None:
    archive = tmp_path / "code.tar.gz"
    script = b"print('from a tarball')\n"
    with tarfile.open(archive, "w:gz") as tar:
        member = tarfile.TarInfo("train.py")
        member.size = len(script)
        tar.addfile(member, io.BytesIO(script))
    job = _submit(analyst, project, archive)
    done = analyst.wait_for_job(job.id, timeout=60, poll_seconds=0.1)
    assert done.status == "succeeded", done.reason
    assert analyst.job_logs(job.id).text == "from a tarball\n"


@needs_sandbox
def test_refusals_say_why_and_leave_nothing(
    analyst: Client, project: Project, restricted: str, code: Path
) -> None:
    before = analyst.credits().cpu_hours
    with pytest.raises(AccessDenied) as no_agreement:
        _submit(analyst, project, code, datasets=[restricted])
    assert restricted in no_agreement.value.message
    with pytest.raises(AccessDenied) as too_dear:
        _submit(analyst, project, code, cpus=2, time_limit_s=24 * 3600)
    assert "does not have the credits" in too_dear.value.message
    with pytest.raises(ValidationFailed) as no_environment:
        _submit(analyst, project, code, environment="cuda-99")
    assert "cuda-99" in no_environment.value.message
    with pytest.raises(ValueError, match="no folder or archive"):
        _submit(analyst, project, code / "missing")
    assert analyst.jobs() == []
    assert analyst.credits().cpu_hours == before


@needs_sandbox
def test_a_cancelled_job_stops_and_pays_only_for_what_it_ran(
    analyst: Client, project: Project, tmp_path: Path
) -> None:
    forever = tmp_path / "forever"
    forever.mkdir()
    (forever / "train.py").write_text("import time\nwhile True:\n    time.sleep(0.1)\n")
    job = _submit(analyst, project, forever)
    analyst.cancel_job(job.id)
    done = analyst.wait_for_job(job.id, timeout=30, poll_seconds=0.1)
    assert done.status == "cancelled"
    assert done.used_cpu_hours is not None
    assert done.used_cpu_hours < done.reserved_cpu_hours
    with pytest.raises(Conflict):
        analyst.cancel_job(job.id)


@needs_sandbox
def test_held_outputs_leave_after_context_and_the_stewards_approval(
    analyst: Client, steward: Client, project: Project, agreed: str, code: Path, tmp_path: Path
) -> None:
    job = _submit(analyst, project, code, datasets=[agreed])
    assert job.release_status == "held"
    done = analyst.wait_for_job(job.id, timeout=60, poll_seconds=0.1)
    assert done.status == "succeeded", done.reason
    with pytest.raises(AccessDenied, match="held until the release review"):
        analyst.job_logs(job.id)
    with pytest.raises(AccessDenied):
        analyst.job_output(job.id, "total.txt", tmp_path)

    assert done.outputs_held
    assert done.outputs == []
    assert done.exit_code is None
    with pytest.raises(ValidationFailed, match="context"):
        analyst.request_release(job.id, "  ")
    asked = analyst.request_release(
        job.id, "total.txt: one total over all meters; the log: progress lines only."
    )
    assert asked.release_status == "in_review"
    assert asked.round == 1
    assert asked.waiting_for == ["kepco"]
    assert [j.id for j in steward.reviews()] == [job.id]
    assert steward.job_output(job.id, "total.txt", tmp_path / "reviewed.txt").exists()

    with pytest.raises(AccessDenied):
        analyst.review_release(job.id, "approve")
    with pytest.raises(ValidationFailed, match="comment"):
        steward.review_release(job.id, "return")
    approved = steward.review_release(job.id, "approve")
    assert approved.release_status == "released"
    assert steward.reviews() == []

    state = analyst.release(job.id)
    assert [(d.organization, d.reviewer, d.verdict) for d in state.decisions] == [
        ("kepco", "kepco", "approve")
    ]
    assert state.context.startswith("total.txt: one total over all meters")
    released = analyst.job_output(job.id, "total.txt", tmp_path / "out")
    assert released.read_text() == "20.75 kWh over all meters\n"
    assert "step 2" in analyst.job_logs(job.id).text


def test_operators_grant_credits_and_the_lab_reads_its_history(
    operator: Client, analyst: Client, steward: Client, project: Project
) -> None:
    granted = operator.grant_credits("gist-lab", cpu_hours="5.5", gpu_hours=2, note="GPU pilot")
    assert isinstance(granted, CreditBalance)
    assert granted.cpu_hours == Decimal("15.5")
    mine = analyst.credits()
    assert mine.organization == "gist-lab"
    assert mine.gpu_hours == 2
    assert [(e.kind, e.reason, e.note) for e in mine.history[:2]] == [
        ("gpu", "grant", "GPU pilot"),
        ("cpu", "grant", "GPU pilot"),
    ]
    assert operator.credits("gist-lab").cpu_hours == mine.cpu_hours
    with pytest.raises(AccessDenied, match="Only the hub's operators"):
        analyst.grant_credits("gist-lab", cpu_hours=100)
    with pytest.raises(AccessDenied, match="Only operators see"):
        steward.credits("gist-lab")


def test_the_hub_lists_its_job_environments(hub: Client) -> None:
    assert "default" in hub.environments()
