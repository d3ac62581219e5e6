"""What crosses the programmes' API: applications and their review, the academy's courses,
cohorts, labs and enrolments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from bitgoeul.messages import msg
from bitgoeul.programmes.models import ApplicationStatus, EnrolmentStatus

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
    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=3, max_length=300)
    title_ko: str = Field(default="", max_length=300)
    task: str = Field(min_length=1, max_length=80, description="The testbed task's slug.")
    pass_mark: float

    @field_validator("pass_mark")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(msg("the pass mark must be a finite number"))
        return value


class CohortPublic(BaseModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    capacity: int
    enrolled: int


class LabPublic(BaseModel):
    slug: str
    title: str
    title_ko: str
    task: str
    metric: str
    higher_is_better: bool
    pass_mark: float


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
