"""The testbed's tables: tasks, teams, invitations, submissions and the operator's re-runs.

A ``TestbedTask`` is a benchmark an organizer (an operator, or a steward of the test set's
publisher) sets up: a problem, training datasets under the usual access rules, a hidden test set
(a ``holdout`` dataset pinned at one version, whose label column only the scorer reads), a
metric, two phases and a deadline.  Participants form ``TestbedTeam``s: one opens a
team, and its members invite others (``TestbedInvitation``), who become members only when they
accept; a task's ``terms`` are accepted when joining, and the acceptance is kept on the
membership (the terms' SHA-256, so new terms need a new acceptance).  Each
``TestbedSubmission`` is a predictions file or a model bundle (run as a job on the task's own
project, against the test set's inputs without the label), scored on the public and the private
part of the test set.  A ``TestbedRerun`` is an operator scoring a submission again, to show the
number is reproducible.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.catalog.models import Sector
from bitgoeul.db.base import Base, str_enum, utcnow


class TestbedAudit(AuditAction):
    """Testbed tasks, teams, submissions and scores; the testbed's doors into a hidden test set."""

    testbed_task_created = "testbed.task_created"
    testbed_task_updated = "testbed.task_updated"
    testbed_team_created = "testbed.team_created"
    testbed_invitation_sent = "testbed.invitation_sent"
    testbed_invitation_accepted = "testbed.invitation_accepted"
    testbed_invitation_declined = "testbed.invitation_declined"
    testbed_terms_accepted = "testbed.terms_accepted"
    testbed_submitted = "testbed.submitted"
    testbed_submission_refused = "testbed.submission_refused"
    testbed_model_scored = "testbed.model_scored"
    testbed_rerun_scored = "testbed.rerun_scored"
    testbed_rerun = "testbed.rerun"
    dataset_testbed_inputs = "dataset.testbed_inputs"
    dataset_testbed_score = "dataset.testbed_score"
    dataset_testbed_setup = "dataset.testbed_setup"


class SubmissionKind(StrEnum):
    predictions = "predictions"
    model = "model"


class Phase(StrEnum):
    """Where a task stands: submissions are taken in ``development`` and ``final`` only."""

    upcoming = "upcoming"
    development = "development"  # scored for the public leaderboard
    final = "final"  # also ranked on the private leaderboard, revealed at the deadline
    closed = "closed"


class InvitationStatus(StrEnum):
    pending = "pending"  # the invitee has not answered: they are not a member
    accepted = "accepted"
    declined = "declined"
    lapsed = "lapsed"  # the invitee joined another team of the task first


class SubmissionStatus(StrEnum):
    running = "running"  # a model submission's job is queued or running
    scored = "scored"
    failed = "failed"


class TestbedTask(Base):
    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_ko: Mapped[str] = mapped_column(String(300), default="")
    sector: Mapped[Sector] = mapped_column(str_enum(Sector, "testbed_sector", length=40))
    problem: Mapped[str] = mapped_column(Text)
    problem_ko: Mapped[str] = mapped_column(Text, default="")
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Model submissions run as jobs of this project, which only the organizer belongs to.
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="RESTRICT"))
    metric: Mapped[str] = mapped_column(String(40))
    test_dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    test_version: Mapped[int]
    test_rows: Mapped[int]
    id_column: Mapped[str] = mapped_column(String(200))
    label_column: Mapped[str] = mapped_column(String(200))
    # The test set's columns a participant (or a model) sees: never the label.
    input_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    training_datasets: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepts_predictions: Mapped[bool] = mapped_column(default=True)
    accepts_models: Mapped[bool] = mapped_column(default=True)
    public_fraction: Mapped[float] = mapped_column(default=0.5)
    split_seed: Mapped[str] = mapped_column(String(64))
    daily_limit: Mapped[int] = mapped_column(default=5)
    show_logs: Mapped[bool] = mapped_column(default=True)
    opens_at: Mapped[datetime]
    final_phase_at: Mapped[datetime]
    deadline: Mapped[datetime]
    # What a participant accepts when joining; needed when the test set is restricted or secure.
    terms: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TestbedTeam(Base):
    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_teams"
    __table_args__ = (UniqueConstraint("task_id", "name", name="uq_testbed_teams_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("testbed_tasks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    is_organizer: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Touched by every submission, so concurrent submissions of a team queue on this row.
    last_submission_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TestbedTeamMember(Base):
    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_team_members"
    # One team per person per task.
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_testbed_members_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("testbed_tasks.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(
        ForeignKey("testbed_teams.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The SHA-256 of the task's terms this member accepted ("" none), and when.
    terms_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    terms_accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TestbedInvitation(Base):
    """A team member asks another user to join the team.  Until the invitee accepts, they are
    not a member, and the invitation stops them from nothing (joining or opening another team
    of the task); a declined invitation is not sent again by the same team."""

    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_invitations"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", name="uq_testbed_invitations_team_user"),
        Index("ix_testbed_invitations_user", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("testbed_tasks.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("testbed_teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[InvitationStatus] = mapped_column(
        str_enum(InvitationStatus, "testbed_invitation_status", length=20)
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)


class TestbedSubmission(Base):
    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_submissions"
    __table_args__ = (
        Index("ix_testbed_submissions_task", "task_id", "status"),
        Index("ix_testbed_submissions_team", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("testbed_tasks.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("testbed_teams.id", ondelete="CASCADE"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[SubmissionKind] = mapped_column(
        str_enum(SubmissionKind, "testbed_submission_kind", length=20)
    )
    phase: Mapped[Phase] = mapped_column(str_enum(Phase, "testbed_phase", length=20))
    is_baseline: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "testbed_submission_status", length=20)
    )
    error: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(300), default="")
    # sha256 of the predictions file, or of the model bundle's files (the job's code hash)
    content_sha256: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    test_dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    test_version: Mapped[int]
    metric: Mapped[str] = mapped_column(String(40))
    # Scorer and, for models, job environment: enough to score it again the same way.
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public_score: Mapped[float | None] = mapped_column(default=None)
    private_score: Mapped[float | None] = mapped_column(default=None)
    rows: Mapped[int | None] = mapped_column(default=None)
    log_excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column(default=None)


class TestbedRerun(Base):
    """An operator scoring a submission again from what was kept (file, or code + environment)."""

    __test__ = False  # not a pytest test class, whatever its name
    __tablename__ = "testbed_reruns"
    __table_args__ = (Index("ix_testbed_reruns_submission", "submission_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("testbed_submissions.id", ondelete="CASCADE")
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "testbed_rerun_status", length=20)
    )
    error: Mapped[str] = mapped_column(Text, default="")
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    public_score: Mapped[float | None] = mapped_column(default=None)
    private_score: Mapped[float | None] = mapped_column(default=None)
    matches: Mapped[bool | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
