"""What crosses the civic API: a new problem, a triage answer, a metric proposal, a challenge's
opening, the public views of problems and challenges."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bitgoeul.civic.models import Aggregate
from bitgoeul.civic.states import Event, ProblemState, Side
from bitgoeul.messages import msg

# Gwangju's five districts, and problems that concern the whole city.
DISTRICTS: dict[str, str] = {
    "Dong-gu": "동구",
    "Seo-gu": "서구",
    "Nam-gu": "남구",
    "Buk-gu": "북구",
    "Gwangsan-gu": "광산구",
    "citywide": "시 전체",
}
MAX_PHOTOS = 4
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemCreate(_Input):
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(min_length=20, max_length=10_000)
    district: str = Field(max_length=40)

    @field_validator("title", "description")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(msg("write something here"))
        return value

    @field_validator("district")
    @classmethod
    def _district(cls, value: str) -> str:
        if value not in DISTRICTS:
            raise ValueError(msg("choose one of {districts}", districts=", ".join(DISTRICTS)))
        return value


TriageDecision = Literal["accept", "decline", "merge"]


class TriageIn(_Input):
    decision: TriageDecision
    department: str | None = Field(
        default=None, max_length=64, description="accept: the department's organization slug"
    )
    reason: str = Field(default="", max_length=5_000, description="decline: why (required)")
    merge_into: int | None = Field(default=None, description="merge: the problem kept")

    @model_validator(mode="after")
    def _complete(self) -> TriageIn:
        if self.decision == "accept" and not self.department:
            raise ValueError(msg("accepting names the department that takes it ('department')"))
        if self.decision == "decline" and not self.reason.strip():
            raise ValueError(msg("declining says why ('reason'): residents read it"))
        if self.decision == "merge" and self.merge_into is None:
            raise ValueError(msg("merging names the problem it goes into ('merge_into')"))
        return self


class DeclineIn(_Input):
    reason: str = Field(min_length=1, max_length=5_000)


class WithdrawIn(_Input):
    reason: str = Field(default="", max_length=5_000)


Every = Literal["", "day", "week", "month", "quarter", "year"]


class MetricProposal(_Input):
    """The testbed metric and the pilot's indicator, measured on an open dataset."""

    metric: str = Field(min_length=1, max_length=40, description="a testbed metric, e.g. mae")
    indicator: str = Field(min_length=3, max_length=300, description="what it measures, in words")
    dataset: str = Field(min_length=1, max_length=100, description="an open dataset's slug")
    column: str = Field(max_length=200, description="the value column ('' for a count)")
    period: str = Field(min_length=1, max_length=200, description="the column naming the period")
    aggregate: Aggregate = Aggregate.avg
    every: Every = Field(
        default="", description="cut the period column's dates to a day, week, month or year"
    )
    baseline: float
    target: float

    @field_validator("column", "period")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if value and not _IDENTIFIER.match(value):
            raise ValueError(msg("a column name: letters, digits and underscores"))
        return value

    @model_validator(mode="after")
    def _sensible(self) -> MetricProposal:
        if self.aggregate != Aggregate.rows and not self.column:
            raise ValueError(
                msg("'{value}' needs a value column ('column')", value=self.aggregate.value)
            )
        if self.baseline == self.target:
            raise ValueError(msg("the target must differ from the baseline"))
        return self


class ChallengeOpen(_Input):
    """The testbed task a challenge opens: the department's hidden test set and calendar."""

    slug: str | None = Field(default=None, max_length=80)
    test_dataset: str = Field(min_length=1, max_length=200, description="slug or slug@version")
    id_column: str = Field(default="id", min_length=1, max_length=200)
    label_column: str = Field(min_length=1, max_length=200)
    training_datasets: list[str] = Field(default_factory=list, max_length=50)
    terms: str = Field(default="", max_length=20_000)
    opens_at: datetime | None = None
    final_phase_at: datetime
    deadline: datetime


class PilotIn(_Input):
    description: str = Field(min_length=10, max_length=5_000)


class TransitionPublic(BaseModel):
    event: str
    from_state: str | None
    to_state: str
    actor: str
    note: str
    at: datetime


class PhotoPublic(BaseModel):
    id: int
    url: str
    media_type: str
    width: int
    height: int


class MeasurementPublic(BaseModel):
    period: str
    value: float | None


ReadinessReason = Literal["indicator", "department", "matches", "dp", "donation"]
READINESS_REASONS: tuple[ReadinessReason, ...] = (
    "indicator",
    "department",
    "matches",
    "dp",
    "donation",
)


class ReadinessItem(BaseModel):
    kind: Literal["dataset", "dp_release", "donation"]
    slug: str
    title: str
    access_level: str = ""
    publisher: str = ""
    # Why it is listed: the indicator's dataset, the department's own, a word of the problem
    # (``word``), answerable through the DP door, or residents' donations (My Data).
    why: ReadinessReason = "matches"
    word: str = ""


class ChallengePublic(BaseModel):
    department: str
    department_name: str
    metric: str
    indicator: str
    dataset: str
    column: str
    period: str
    every: str
    aggregate: Aggregate
    baseline: float
    target: float
    proposed_by: Side | None
    agreed: bool
    agreed_at: datetime | None
    readiness: list[ReadinessItem]
    task: str | None
    best_score: float | None
    higher_is_better: bool | None
    pilot: str
    pilot_started_at: datetime | None
    measurements: list[MeasurementPublic]
    current: float | None
    progress: float | None  # 0..1, computed from the measurements, baseline and target
    measured_at: datetime | None
    measured_version: int | None


class ProblemSummary(BaseModel):
    id: int
    title: str
    district: str
    state: ProblemState
    supports: int
    author: str | None
    created_at: datetime
    triage_due_at: datetime | None
    overdue: bool
    department: str | None


class ProblemPublic(ProblemSummary):
    description: str
    threshold: int  # the support that sends it to triage (now, or when it went)
    reason: str
    merged_into: int | None
    escalated_at: datetime | None
    photos: list[PhotoPublic]
    transitions: list[TransitionPublic]
    followers: int
    supported: bool  # by the caller
    following: bool  # by the caller
    allowed: list[Event]  # the events the caller may cause now
    challenge: ChallengePublic | None


class ProblemPage(BaseModel):
    total: int
    problems: list[ProblemSummary]


class Counts(BaseModel):
    """Problems by state and challenges, for the control tower."""

    problems: dict[str, int]
    challenges: int
    pilots: int
    completed: int
    overdue_triage: int
