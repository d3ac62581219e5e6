"""Civic tables: problems, their supports, followers, photos, transitions and challenges.

* ``CivicProblem``: what a resident posted, its state (``states.ProblemState``), the support
  count and the threshold that sent it to triage, the triage deadline and, when the deadline
  passed unanswered, when it was escalated to operators.
* ``CivicSupport``: one person's support (one per person per problem).
* ``CivicFollow``: who hears of the problem's transitions (the author and supporters follow
  by default; anyone signed in may follow or stop).
* ``CivicPhoto``: a photo's stored object (metadata removed, ``civic.photos``), its type and
  size.
* ``CivicTransition``: the public timeline: one row per state change (who, when, from, to, the
  reason); each is also an audit entry.
* ``CivicChallenge``: what the department and the operator agreed for an accepted problem (the
  testbed metric and the pilot's indicator, baseline and target), who proposed and who
  agreed, the data-readiness snapshot, the testbed task and the pilot.
* ``CivicMeasurement``: the indicator's series as last measured through the SQL gateway
  (period, value, the dataset version read): progress is computed from these rows only.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bitgoeul.audit.models import AuditAction
from bitgoeul.civic.states import Event, ProblemState, Side
from bitgoeul.db.base import Base, str_enum, utcnow


class CivicAudit(AuditAction):
    """What the civic log records: a post, a support, a follow, and one action per event of the
    state machine (``civic.<event>``, e.g. ``civic.accept``)."""

    post = "civic.post"
    support = "civic.support"
    follow = "civic.follow"
    unfollow = "civic.unfollow"
    merged_in = "civic.merged_in"
    triage_overdue = "civic.triage_overdue"
    indicator_measured = "civic.indicator_measured"
    reach_threshold = "civic.reach_threshold"
    withdraw = "civic.withdraw"
    accept = "civic.accept"
    decline = "civic.decline"
    merge = "civic.merge"
    propose_metric = "civic.propose_metric"
    agree_metric = "civic.agree_metric"
    open_challenge = "civic.open_challenge"
    start_pilot = "civic.start_pilot"
    complete = "civic.complete"

    @classmethod
    def of(cls, event: Event) -> CivicAudit:
        """The action recording a transition by ``event``."""
        return cls(f"civic.{event.value}")


class Aggregate(StrEnum):
    """How the indicator's value column is summarised per period."""

    avg = "avg"
    sum = "sum"
    rows = "count"  # not `count`: str has a method of that name
    min = "min"
    max = "max"


class CivicProblem(Base):
    __tablename__ = "civic_problems"
    __table_args__ = (Index("ix_civic_problems_state", "state", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    district: Mapped[str] = mapped_column(String(40))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[ProblemState] = mapped_column(
        str_enum(ProblemState, "civic_problem_state", length=20)
    )
    supports: Mapped[int] = mapped_column(default=0)
    # The threshold that applied when the problem reached triage (None: not yet).
    threshold: Mapped[int | None] = mapped_column(default=None)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True, default=None
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("civic_problems.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")  # why declined / the triage's note
    triage_due_at: Mapped[datetime | None] = mapped_column(default=None)
    triaged_at: Mapped[datetime | None] = mapped_column(default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicSupport(Base):
    __tablename__ = "civic_supports"
    __table_args__ = (UniqueConstraint("problem_id", "user_id", name="uq_civic_supports_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("civic_problems.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicFollow(Base):
    __tablename__ = "civic_follows"
    __table_args__ = (UniqueConstraint("problem_id", "user_id", name="uq_civic_follows_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("civic_problems.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicPhoto(Base):
    __tablename__ = "civic_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("civic_problems.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(200))  # the object store's key
    media_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicTransition(Base):
    __tablename__ = "civic_transitions"
    __table_args__ = (Index("ix_civic_transitions_problem", "problem_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("civic_problems.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicChallenge(Base):
    __tablename__ = "civic_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("civic_problems.id", ondelete="CASCADE"), unique=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    # The proposal (the pending one, then the agreed one).
    metric: Mapped[str] = mapped_column(String(40), default="")
    indicator: Mapped[str] = mapped_column(String(300), default="")  # what it measures, in words
    indicator_dataset: Mapped[str] = mapped_column(String(100), default="")
    indicator_column: Mapped[str] = mapped_column(String(200), default="")
    indicator_period: Mapped[str] = mapped_column(String(200), default="")
    # "" (the period column as it is), or a date part its dates are cut to: day, week, month...
    indicator_every: Mapped[str] = mapped_column(String(10), default="", server_default="")
    indicator_aggregate: Mapped[Aggregate] = mapped_column(
        str_enum(Aggregate, "civic_indicator_aggregate", length=20), default=Aggregate.avg
    )
    baseline: Mapped[float] = mapped_column(default=0.0)
    target: Mapped[float] = mapped_column(default=0.0)
    proposed_by: Mapped[Side | None] = mapped_column(
        str_enum(Side, "civic_side", length=20), default=None
    )
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    agreed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    agreed_at: Mapped[datetime | None] = mapped_column(default=None)
    # The data-readiness check when the metric was agreed: [{"kind", "slug", "title", ...}].
    readiness: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("testbed_tasks.id", ondelete="SET NULL"), default=None
    )
    task_slug: Mapped[str] = mapped_column(String(80), default="")
    pilot: Mapped[str] = mapped_column(Text, default="")  # what was deployed, where
    pilot_started_at: Mapped[datetime | None] = mapped_column(default=None)
    measured_at: Mapped[datetime | None] = mapped_column(default=None)
    measured_version: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CivicMeasurement(Base):
    __tablename__ = "civic_measurements"
    __table_args__ = (Index("ix_civic_measurements_challenge", "challenge_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("civic_challenges.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None]
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)
