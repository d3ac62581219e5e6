"""What crosses the programmes' API: applications and their review, the academy's courses,
cohorts, labs and enrolments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bitgoeul.messages import msg
from bitgoeul.programmes.models import (
    ApplicationStatus,
    EnrolmentStatus,
    LabAggregate,
    LabJobStatus,
    LabKind,
)

SLUG = r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$"
MAX_HOURS = Decimal(100_000)


class ApplicationCreate(BaseModel):
    summary: str = Field(min_length=20, max_length=5000)
    employees: int = Field(default=0, ge=0, le=100_000)
    cpu_hours: Decimal = Field(default=Decimal(0), ge=0, le=MAX_HOURS, decimal_places=6)
    gpu_hours: Decimal = Field(default=Decimal(0), ge=0, le=MAX_HOURS, decimal_places=6)
    data_access_help: bool = False
    testbed_sponsorship: bool = False

    @model_validator(mode="after")
    def _asks_for_something(self) -> ApplicationCreate:
        if not (
            self.cpu_hours or self.gpu_hours or self.data_access_help or self.testbed_sponsorship
        ):
            raise ValueError(
                msg(
                    "ask for something: CPU-hours, GPU-hours, help with data access or testbed "
                    "sponsorship"
                )
            )
        return self


class ApplicationReview(BaseModel):
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=5000)
    # What is granted; by default what was asked for.  Ignored when rejecting.
    cpu_hours: Decimal | None = Field(default=None, ge=0, le=MAX_HOURS, decimal_places=6)
    gpu_hours: Decimal | None = Field(default=None, ge=0, le=MAX_HOURS, decimal_places=6)

    @model_validator(mode="after")
    def _rejection_says_why(self) -> ApplicationReview:
        if self.decision == "reject" and not self.note.strip():
            raise ValueError(msg("say why the application is rejected (note)"))
        return self


class ApplicationPublic(BaseModel):
    id: int
    organization: str
    organization_name: str
    applicant: str | None
    summary: str
    employees: int
    cpu_hours: Decimal
    gpu_hours: Decimal
    data_access_help: bool
    testbed_sponsorship: bool
    status: ApplicationStatus
    granted_cpu_hours: Decimal
    granted_gpu_hours: Decimal
    reviewer: str | None
    review_note: str
    created_at: datetime
    decided_at: datetime | None


class CourseCreate(BaseModel):
    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=3, max_length=300)
    title_ko: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=10_000)
    description_ko: str = Field(default="", max_length=10_000)


class CohortCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    starts_on: date
    ends_on: date
    capacity: int = Field(ge=1, le=10_000)

    @model_validator(mode="after")
    def _ends_after_start(self) -> CohortCreate:
        if self.ends_on < self.starts_on:
            raise ValueError(msg("ends_on is before starts_on"))
        return self


class LabCreate(BaseModel):
    """A task lab names ``task`` and ``pass_mark``; a job lab names ``dataset`` (an open
    dataset's slug), ``aggregate``, ``column`` (not for ``row_count``) and ``tolerance``."""

    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=3, max_length=300)
    title_ko: str = Field(default="", max_length=300)
    kind: LabKind = LabKind.task
    task: str = Field(default="", max_length=80, description="A task lab: the testbed task's slug.")
    pass_mark: float = 0.0
    dataset: str = Field(default="", max_length=200, description="A job lab: the dataset's slug.")
    aggregate: LabAggregate | None = None
    column: str = Field(default="", max_length=200)
    tolerance: float = Field(default=0.0, ge=0)

    @field_validator("pass_mark", "tolerance")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(msg("the pass mark and the tolerance must be finite numbers"))
        return value

    @model_validator(mode="after")
    def _kind_has_its_rule(self) -> LabCreate:
        if self.kind == LabKind.task and not self.task:
            raise ValueError(msg("a task lab names its testbed task (task)"))
        if self.kind == LabKind.job:
            if not self.dataset or self.aggregate is None:
                raise ValueError(
                    msg("a job lab names its dataset and its grading rule (aggregate)")
                )
            if self.aggregate != LabAggregate.row_count and not self.column:
                raise ValueError(msg("this aggregate needs the column it is computed on"))
        return self


class CohortPublic(BaseModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    capacity: int
    enrolled: int


class LabPublic(BaseModel):
    """A lab as anyone sees it; a job lab's expected answer is never part of it."""

    slug: str
    title: str
    title_ko: str
    kind: LabKind = LabKind.task
    task: str = ""
    metric: str = ""
    higher_is_better: bool = True
    pass_mark: float = 0.0
    dataset: str = ""
    aggregate: LabAggregate | None = None
    column: str = ""
    tolerance: float = 0.0


class CoursePublic(BaseModel):
    slug: str
    title: str
    title_ko: str
    description: str
    description_ko: str
    cohorts: list[CohortPublic]
    labs: list[LabPublic]
    completed: int


class LabResultPublic(BaseModel):
    lab: str
    score: float | None
    passed: bool
    graded_at: datetime
    job: int | None = None


class LabJobAttach(BaseModel):
    job: int = Field(ge=1, description="The compute job you submitted for this lab.")


class LabJobPublic(BaseModel):
    """A trainee's job for a job lab: its answer and grade (never the expected value)."""

    id: int
    lab: str
    job: int
    status: LabJobStatus
    answer: float | None
    problem: str
    created_at: datetime
    graded_at: datetime | None


class EnrolmentPublic(BaseModel):
    id: int
    course: str
    cohort: str
    cohort_id: int
    user: str
    status: EnrolmentStatus
    enrolled_at: datetime
    completed_at: datetime | None
    results: list[LabResultPublic]
    lab_jobs: list[LabJobPublic] = []
