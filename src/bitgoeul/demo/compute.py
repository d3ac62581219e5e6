"""The demo city's compute: credits for the demo startup and its example jobs.

The operator grants Bitgoeul Labs 100 CPU-hours and 10 GPU-hours (how the hub supports
startups), and the researcher submits the wellbeing-check job (``demo/jobs/wellbeing_check``)
on KEPCO's hourly meter data under the demo project, so the first ``bitgoeul demo`` shows a
job that runs in the sandbox, is metered, and whose outputs wait for KEPCO's release review.
The PyTorch example (``demo/jobs/load_forecast_pytorch``) ships beside it for hubs with a
PyTorch environment (docs/jobs.md).  Where this machine cannot sandbox jobs the example job
is not submitted and the build says why.
"""

from __future__ import annotations

import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.executors import make_executor
from bitgoeul.compute.models import CreditEntry, Job
from bitgoeul.compute.schemas import JobSpec, Resources
from bitgoeul.config import Settings
from bitgoeul.demo.sharing import APPROVED_DATASET, PROJECT_TITLE, RESEARCHER, demo_actor
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.models import Project

JOBS_DIR = Path(__file__).parent / "jobs"
WELLBEING_JOB = "wellbeing_check"
PYTORCH_JOB = "load_forecast_pytorch"
STARTUP = "bitgoeul-labs"


def pack(job_dir: Path, archive: Path) -> Path:
    """Zip a job folder (its files, not caches) as a bundle."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(job_dir.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                bundle.write(path, path.relative_to(job_dir).as_posix())
    return archive


def has_demo_credits(session: Session) -> bool:
    organization = account_queries.get_organization(session, STARTUP)
    if organization is None:
        return False
    found = session.scalar(
        select(CreditEntry.id).where(
            CreditEntry.organization_id == organization.id, CreditEntry.reason == "grant"
        )
    )
    return found is not None


def ensure_demo_compute(session: Session, settings: Settings) -> str:
    """Grant the startup's credits and submit the example job, once; what was done."""
    if not has_demo_credits(session):
        compute_actions.grant_credits(
            session,
            actor=demo_actor(session, "operator"),
            organization_slug=STARTUP,
            cpu_hours=Decimal(100),
            gpu_hours=Decimal(10),
            note="AI hub startup support (demo)",
        )
    project = session.scalars(select(Project).where(Project.title == PROJECT_TITLE)).first()
    if project is None:
        return "no demo project: example job not submitted"
    if session.scalar(select(Job.id).where(Job.project_id == project.id)) is not None:
        return "example job already submitted"
    spec = JobSpec(
        project=project.id,
        datasets=[APPROVED_DATASET],
        entrypoint="train.py",
        arguments=["12"],
        resources=Resources(cpus=1, memory_mb=1024, time_limit_s=600),
        name="Wellbeing check: inactivity episodes",
    )
    with tempfile.TemporaryDirectory() as work:
        bundle = pack(JOBS_DIR / WELLBEING_JOB, Path(work) / "wellbeing_check.zip")
        try:
            job = compute_actions.submit_job(
                session,
                settings=settings,
                executor=make_executor(settings),
                actor=demo_actor(session, RESEARCHER),
                spec=spec,
                bundle_path=bundle,
            )
        except BitgoeulError as error:
            return f"example job not submitted: {error.message}"
    return f"example job {job.id} queued (it runs when the hub serves)"
