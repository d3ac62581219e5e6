"""A job's folder under the hub's data directory: its code, inputs, outputs and log.

The runner (``compute.runner``) fills it while the job runs; when the job has ended it keeps the
outputs and the log in the object store (``output_key``, ``log_key``), where ``compute.actions``
reads them for those the decision lets read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bitgoeul.config import Settings

LOG_NAME = "log.txt"


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def code(self) -> Path:
        return self.root / "code"

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def log(self) -> Path:
        return self.root / LOG_NAME


def job_paths(settings: Settings, job_id: int) -> JobPaths:
    return JobPaths(settings.ensure_data_dir() / "jobs" / str(job_id))


def log_key(job_id: int) -> str:
    """Where a finished job's log is kept in the object store."""
    return f"jobs/{job_id}/{LOG_NAME}"


def output_key(job_id: int, name: str) -> str:
    """Where a finished job's output ``name`` (its path in the output folder) is kept."""
    return f"jobs/{job_id}/outputs/{name}"
