"""What crosses the jobs and credits API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bitgoeul.catalog.references import reference_slug
from bitgoeul.compute.models import (
    CreditEntry,
    CreditKind,
    Job,
    JobStatus,
    ReleaseStatus,
    ReviewVerdict,
)
from bitgoeul.messages import msg


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpus: int = Field(default=1, ge=1, le=256)
    memory_mb: int = Field(default=2048, ge=64, le=4 * 1024 * 1024)
    gpus: int = Field(default=0, ge=0, le=16)
    time_limit_s: int = Field(default=3600, ge=1, le=30 * 24 * 3600)


class JobSpec(BaseModel):
    """The ``spec`` part of ``POST /api/v1/jobs``."""

    model_config = ConfigDict(extra="forbid")

    project: int
    datasets: list[str] = Field(default_factory=list, max_length=50)
    entrypoint: str = Field(min_length=1, max_length=500)
    arguments: list[str] = Field(default_factory=list, max_length=100)
    environment: str = Field(default="default", min_length=1, max_length=80)
    resources: Resources = Field(default_factory=Resources)
    name: str = Field(default="", max_length=200)
    priority: int = Field(default=0, ge=-10, le=10)

    @field_validator("datasets")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        slugs = [reference_slug(v) for v in value]
        if len(set(slugs)) != len(slugs):
            raise ValueError(msg("a dataset is named twice"))
        return [v.strip() for v in value]

    @field_validator("arguments")
    @classmethod
    def _short_arguments(cls, value: list[str]) -> list[str]:
        if any(len(a) > 1000 or "\x00" in a for a in value):
            raise ValueError(msg("arguments must be under 1000 characters, without NUL bytes"))
        return value


class OutputFile(BaseModel):
    path: str
    bytes: int
    sha256: str


class JobPublic(BaseModel):
    id: int
    name: str
    project: int
    submitted_by: str | None
    organization: str
    status: JobStatus
    priority: int
    executor: str
    environment: str
    entrypoint: str
    arguments: list[str]
    resources: Resources
    code_sha256: str
    datasets: list[dict[str, Any]]
    reserved_cpu_hours: Decimal
    reserved_gpu_hours: Decimal
    used_cpu_hours: Decimal | None
    used_gpu_hours: Decimal | None
    cpu_seconds: float | None
    exit_code: int | None
    reason: str
    release_status: ReleaseStatus
    outputs: list[OutputFile]
    # True while the outputs are held from this reader: ``outputs``, ``exit_code``, ``reason``
    # and ``checks`` are then withheld until the release review lets the outputs out.
    outputs_held: bool = False
    checks: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job, *, submitted_by: str | None, organization: str) -> JobPublic:
        return cls(
            id=job.id,
            name=job.name,
            project=job.project_id,
            submitted_by=submitted_by,
            organization=organization,
            status=job.status,
            priority=job.priority,
            executor=job.executor,
            environment=job.environment,
            entrypoint=job.entrypoint,
            arguments=job.arguments,
            resources=Resources(
                cpus=job.cpus,
                memory_mb=job.memory_mb,
                gpus=job.gpus,
                time_limit_s=job.time_limit_s,
            ),
            code_sha256=job.code_sha256,
            datasets=job.datasets,
            reserved_cpu_hours=job.reserved_cpu_hours,
            reserved_gpu_hours=job.reserved_gpu_hours,
            used_cpu_hours=job.used_cpu_hours,
            used_gpu_hours=job.used_gpu_hours,
            cpu_seconds=job.cpu_seconds,
            exit_code=job.exit_code,
            reason=job.reason,
            release_status=job.release_status,
            outputs=[OutputFile(**o) for o in job.outputs],
            checks=job.checks,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobLog(BaseModel):
    text: str
    offset: int
    next_offset: int
    finished: bool


class CreditGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization: str
    cpu_hours: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=6)
    gpu_hours: Decimal = Field(default=Decimal(0), max_digits=14, decimal_places=6)
    note: str = Field(default="", max_length=2000)


class CreditEntryPublic(BaseModel):
    id: int
    kind: CreditKind
    hours: Decimal
    balance_after: Decimal
    reason: str
    note: str
    job: int | None
    created_at: datetime

    @classmethod
    def of(cls, entry: CreditEntry) -> CreditEntryPublic:
        return cls(
            id=entry.id,
            kind=entry.kind,
            hours=entry.hours,
            balance_after=entry.balance_after,
            reason=entry.reason,
            note=entry.note,
            job=entry.job_id,
            created_at=entry.created_at,
        )


class CreditBalance(BaseModel):
    organization: str
    cpu_hours: Decimal
    gpu_hours: Decimal
    history: list[CreditEntryPublic]


class ReleaseRequest(BaseModel):
    """``POST /api/v1/jobs/{id}/release``: what the job's outputs are and why they are safe.

    One text for all of them: the requester does not see the outputs' names until they are
    released (a name could carry values), so the text describes what the code writes."""

    model_config = ConfigDict(extra="forbid")

    context: str = Field(min_length=1, max_length=5000)


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: ReviewVerdict
    comment: str = Field(default="", max_length=5000)


class ReleaseDecisionPublic(BaseModel):
    organization: str
    reviewer: str | None
    verdict: ReviewVerdict
    comment: str
    created_at: datetime


class ReleasePublic(BaseModel):
    job: int
    release_status: ReleaseStatus
    round: int | None
    requested_by: str | None
    context: str
    decisions: list[ReleaseDecisionPublic]
    waiting_for: list[str]
    blocked_files: list[str]
