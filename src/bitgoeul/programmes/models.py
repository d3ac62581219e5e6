"""Startup support applications and the academy's courses, cohorts, labs and enrolments.

Two state machines, both written out in :mod:`bitgoeul.programmes.states` and changed only by
``programmes.actions`` (each transition audited):

* a ``SupportApplication`` is ``submitted`` by a startup's member, then ``approved`` (its
  credits flow into the organization's credit ledger through ``compute.actions.grant_credits``) or
  ``rejected`` by an operator, or ``withdrawn`` by its applicant;
* an ``Enrolment`` is ``enrolled`` until every lab of the course is passed (``completed``, the
  record the trainee indicator counts) or it is ``withdrawn``.

A ``Lab`` is a hands-on exercise on the demo data, of one of two kinds (``LabKind``):

* a **task** lab: the trainee's best public score on a testbed task is compared with the lab's
  pass mark;
* a **job** lab: the trainee runs a compute job (submitted like any job: through the door,
  metered) on the lab's open dataset; the job writes its answer to ``answer.json`` and, when it
  ends, the platform compares it with the value it computes itself from the dataset version the
  job used (the lab's grading rule: an aggregate of a column, within a tolerance).  The expected
  value is never shown to trainees.  Each such job is a ``LabJob``.

Either way the grade is a ``LabResult``; nobody types a grade.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.db.base import Base, str_enum, utcnow

HOURS = Numeric(14, 6)


class ProgrammesAudit(AuditAction):
    """Support applications and the academy: every move of their state machines."""

    application_submitted = "programme.application_submitted"
    application_approved = "programme.application_approved"
    application_rejected = "programme.application_rejected"
    application_withdrawn = "programme.application_withdrawn"
    course_created = "academy.course_created"
    cohort_opened = "academy.cohort_opened"
    lab_added = "academy.lab_added"
    enrolled = "academy.enrolled"
    lab_graded = "academy.lab_graded"
    lab_job_attached = "academy.lab_job_attached"
    # The grader's reading of a job lab's dataset version, decided and audited under the
    # publisher like any other door's.
    dataset_lab_grading_decision = "dataset.lab_grading_decision"
    course_completed = "academy.course_completed"
    enrolment_withdrawn = "academy.enrolment_withdrawn"


class LabKind(StrEnum):
    task = "task"
    job = "job"


class LabAggregate(StrEnum):
    """What a job lab's expected answer is, computed on the platform from the dataset."""

    row_count = "row_count"
    sum = "sum"
    mean = "mean"
    min = "min"
    max = "max"
    distinct_count = "distinct_count"


class LabJobStatus(StrEnum):
    waiting = "waiting"  # the job has not ended yet
    passed = "passed"
    failed = "failed"  # the job failed, wrote no answer, or a wrong one


class ApplicationStatus(StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class EnrolmentStatus(StrEnum):
    enrolled = "enrolled"
    completed = "completed"
    withdrawn = "withdrawn"


class SupportApplication(Base):
    """A startup's request for support, and the operator's answer."""

    __tablename__ = "programme_applications"
    __table_args__ = (Index("ix_programme_applications_org_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text)
    # People the startup employs when it applies (self-reported; the jobs indicator sums the
    # latest figure of each supported startup).
    employees: Mapped[int] = mapped_column(default=0)
    cpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    gpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    data_access_help: Mapped[bool] = mapped_column(default=False)
    testbed_sponsorship: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ApplicationStatus] = mapped_column(
        str_enum(ApplicationStatus, "programme_application_status", length=20)
    )
    granted_cpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    granted_gpu_hours: Mapped[Decimal] = mapped_column(HOURS, default=Decimal(0))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class Course(Base):
    __tablename__ = "academy_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_ko: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Cohort(Base):
    """One run of a course, with its dates and the most trainees it takes."""

    __tablename__ = "academy_cohorts"
    __table_args__ = (UniqueConstraint("course_id", "name", name="uq_academy_cohorts_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("academy_courses.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lab(Base):
    """A hands-on lab: a testbed task passed at ``pass_mark`` (in the task's metric's
    direction), or a job on ``dataset_id`` whose answer must equal ``aggregate`` of ``column``
    within ``tolerance``."""

    __tablename__ = "academy_labs"
    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_academy_labs_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("academy_courses.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[LabKind] = mapped_column(
        str_enum(LabKind, "academy_lab_kind", length=20), default=LabKind.task
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("testbed_tasks.id", ondelete="RESTRICT"), default=None
    )
    pass_mark: Mapped[float] = mapped_column(default=0.0)
    # A job lab's grading rule.
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="RESTRICT"), default=None
    )
    aggregate: Mapped[LabAggregate | None] = mapped_column(
        str_enum(LabAggregate, "academy_lab_aggregate", length=20), default=None
    )
    column: Mapped[str] = mapped_column(String(200), default="")
    tolerance: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Enrolment(Base):
    __tablename__ = "academy_enrolments"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id", name="uq_academy_enrolments_user"),
        Index("ix_academy_enrolments_user_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("academy_cohorts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[EnrolmentStatus] = mapped_column(
        str_enum(EnrolmentStatus, "academy_enrolment_status", length=20)
    )
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)


class LabResult(Base):
    """The grade of one lab for one enrolment: the best score found when it was last graded."""

    __tablename__ = "academy_lab_results"
    __table_args__ = (UniqueConstraint("enrolment_id", "lab_id", name="uq_academy_lab_results"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("academy_enrolments.id", ondelete="CASCADE"), index=True
    )
    lab_id: Mapped[int] = mapped_column(ForeignKey("academy_labs.id", ondelete="CASCADE"))
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("testbed_submissions.id", ondelete="SET NULL")
    )
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    score: Mapped[float | None] = mapped_column(default=None)
    passed: Mapped[bool] = mapped_column(default=False)
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabJob(Base):
    """A trainee's compute job attached to a job lab, and how it was graded."""

    __tablename__ = "academy_lab_jobs"
    __table_args__ = (Index("ix_academy_lab_jobs_enrolment_lab", "enrolment_id", "lab_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("academy_enrolments.id", ondelete="CASCADE")
    )
    lab_id: Mapped[int] = mapped_column(ForeignKey("academy_labs.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    status: Mapped[LabJobStatus] = mapped_column(
        str_enum(LabJobStatus, "academy_lab_job_status", length=20)
    )
    answer: Mapped[float | None] = mapped_column(default=None)
    # What the platform computed (operators see it; trainees never do).
    expected: Mapped[float | None] = mapped_column(default=None)
    problem: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    graded_at: Mapped[datetime | None] = mapped_column(default=None)
