"""What crosses the testbed's API: tasks, teams, invitations, submissions, leaderboards,
re-runs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.compute.schemas import Resources
from bitgoeul.messages import msg
from bitgoeul.testbed.models import InvitationStatus, Phase, SubmissionKind, SubmissionStatus

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
_RESERVED_SLUGS = frozenset({"invitations"})  # /testbed/invitations is your invitations' page


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _with_time_zone(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(msg("give a time zone, e.g. 2026-12-01T00:00:00+09:00"))
    return value


class TaskCreate(_Input):
    """A new benchmark task.  The test set must be a ``holdout`` dataset the organizer governs."""

    slug: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=300)
    title_ko: str = Field(default="", max_length=300)
    sector: Sector
    problem: str = Field(min_length=1, max_length=20_000)
    problem_ko: str = Field(default="", max_length=20_000)
    metric: str = Field(min_length=1, max_length=40)
    test_dataset: str = Field(min_length=1, max_length=200, description="slug or slug@version")
    id_column: str = Field(default="id", min_length=1, max_length=200)
    label_column: str = Field(min_length=1, max_length=200)
    input_columns: list[str] | None = Field(
        default=None,
        description="the test set's columns participants see; default: all but the label",
    )
    training_datasets: list[str] = Field(default_factory=list, max_length=50)
    accepts_predictions: bool = True
    accepts_models: bool = True
    public_fraction: float = Field(default=0.5, gt=0.0, lt=1.0)
    daily_limit: int = Field(default=5, ge=1, le=1000)
    show_logs: bool = True
    terms: str = Field(
        default="",
        max_length=20_000,
        description="what participants accept when joining; required on restricted and secure "
        "test sets",
    )
    opens_at: datetime
    final_phase_at: datetime
    deadline: datetime

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                msg("use lowercase letters, digits and hyphens, e.g. 'next-day-demand'")
            )
        if value in _RESERVED_SLUGS:
            raise ValueError(
                msg("'{value}' names a page of the testbed; choose another slug", value=value)
            )
        return value

    _aware = field_validator("opens_at", "final_phase_at", "deadline")(_with_time_zone)

    @model_validator(mode="after")
    def _in_order(self) -> TaskCreate:
        if not self.opens_at < self.final_phase_at < self.deadline:
            raise ValueError(msg("opens_at, final_phase_at and deadline must come in that order"))
        if not (self.accepts_predictions or self.accepts_models):
            raise ValueError(msg("accept predictions files, model bundles, or both"))
        return self


class TaskUpdate(_Input):
    """What an organizer may change on a task; the test set, metric and split stay fixed."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    title_ko: str | None = Field(default=None, max_length=300)
    problem: str | None = Field(default=None, min_length=1, max_length=20_000)
    problem_ko: str | None = Field(default=None, max_length=20_000)
    training_datasets: list[str] | None = Field(default=None, max_length=50)
    accepts_predictions: bool | None = None
    accepts_models: bool | None = None
    daily_limit: int | None = Field(default=None, ge=1, le=1000)
    show_logs: bool | None = None
    terms: str | None = Field(
        default=None, max_length=20_000, description="new terms: every member accepts them again"
    )
    opens_at: datetime | None = None
    final_phase_at: datetime | None = None
    deadline: datetime | None = None

    _aware = field_validator("opens_at", "final_phase_at", "deadline")(_with_time_zone)


class TeamCreate(_Input):
    name: str = Field(min_length=1, max_length=100)
    accept_terms: bool = Field(
        default=False, description="you accept the task's terms (needed when it has terms)"
    )

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError(msg("a team needs a name"))
        return value


class InvitationCreate(_Input):
    """A team member invites a user; they join only if they accept."""

    username: str = Field(min_length=1, max_length=64)


class InvitationAccept(_Input):
    accept_terms: bool = Field(
        default=False, description="you accept the task's terms (needed when it has terms)"
    )


class TermsAcceptance(_Input):
    accept_terms: bool = Field(description="true: you accept the task's current terms")


class ModelSpec(_Input):
    """The ``spec`` of a model submission: how to run the bundle on the test inputs."""

    entrypoint: str = Field(default="predict.py", min_length=1, max_length=500)
    arguments: list[str] = Field(default_factory=list, max_length=100)
    environment: str = Field(default="default", min_length=1, max_length=80)
    resources: Resources = Field(default_factory=lambda: Resources(time_limit_s=1800))
    description: str = Field(default="", max_length=2000)


class TaskPublic(BaseModel):
    slug: str
    title: str
    title_ko: str
    sector: Sector
    problem: str
    problem_ko: str
    organizer: str
    metric: str
    metric_description: str
    higher_is_better: bool
    test_dataset: str
    test_version: int
    test_rows: int
    test_inputs_file: str  # the file name a model finds in BITGOEUL_INPUT_DIR
    id_column: str
    label_column: str
    input_columns: list[str]
    training_datasets: list[str]
    accepts_predictions: bool
    accepts_models: bool
    public_fraction: float
    daily_limit: int
    show_logs: bool
    test_access_level: AccessLevel
    terms: str
    opens_at: datetime
    final_phase_at: datetime
    deadline: datetime
    phase: Phase
    teams: int
    submissions: int
    created_at: datetime


class TeamPublic(BaseModel):
    id: int
    task: str
    name: str
    is_organizer: bool
    members: list[str]
    created_at: datetime
    # Your own team only: whether you accepted the task's current terms (None elsewhere, or
    # when the task has no terms).
    terms_accepted: bool | None = None


class InvitationPublic(BaseModel):
    id: int
    task: str
    task_title: str
    team_id: int
    team: str
    invitee: str
    invited_by: str | None
    status: InvitationStatus
    created_at: datetime
    answered_at: datetime | None


class SubmissionPublic(BaseModel):
    id: int
    task: str
    team: str
    submitted_by: str | None
    kind: SubmissionKind
    phase: Phase
    is_baseline: bool
    description: str
    status: SubmissionStatus
    error: str
    filename: str
    content_sha256: str
    job: int | None
    test_dataset: str
    test_version: int
    metric: str
    environment: dict[str, Any]
    public_score: float | None
    # Hidden until the deadline, from everyone.
    private_score: float | None
    rows: int | None
    log_excerpt: str
    created_at: datetime
    scored_at: datetime | None
    submissions_left_today: int | None = None


class LeaderboardRow(BaseModel):
    rank: int | None  # None for the organizer's baseline, which is shown but not ranked
    team: str
    is_baseline: bool
    score: float
    submission: int
    kind: SubmissionKind
    submitted_at: datetime
    entries: int  # the team's scored submissions counted on this board


class Leaderboard(BaseModel):
    task: str
    board: Literal["public", "private"]
    metric: str
    higher_is_better: bool
    revealed: bool
    message: str
    rows: list[LeaderboardRow]


class RerunPublic(BaseModel):
    id: int
    submission: int
    requested_by: str | None
    job: int | None
    status: SubmissionStatus
    error: str
    environment: dict[str, Any]
    public_score: float | None
    private_score: float | None
    original_public_score: float | None
    original_private_score: float | None
    matches: bool | None
    created_at: datetime
    finished_at: datetime | None
