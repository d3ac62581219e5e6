"""The control tower's one write: today's snapshot of every indicator.

Idempotent per day: the first call of a UTC day inserts the day's row, later calls that day
refresh its values (one row per day whatever runs it: ``bitgoeul tower snapshot`` from cron,
the worker's daily pass, an operator's button).  Each call is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.db.base import utcnow
from bitgoeul.tower import indicators
from bitgoeul.tower.models import TowerAudit, TowerSnapshot
from bitgoeul.tower.queries import require_operator

SCHEDULER = "scheduler"


@dataclass(frozen=True)
class SnapshotTaken:
    snapshot: TowerSnapshot
    created: bool  # False: the day's row existed and was refreshed


def take_snapshot(
    session: Session, *, actor: Actor | None, day: date | None = None
) -> SnapshotTaken:
    """Keep the indicators' values for ``day`` (today, UTC).  ``actor`` None is the hub's own
    scheduler (the worker, or the CLI run by the hub's administrator); a person must be an
    operator.  Commits."""
    if actor is not None:
        require_operator(actor)
    day = day or utcnow().date()
    now = indicators.compute(session)
    values, bases = now.values(), now.bases()
    existing = session.scalar(select(TowerSnapshot).where(TowerSnapshot.day == day))
    created = existing is None
    if existing is None:
        snapshot = TowerSnapshot(day=day, values=values, bases=bases)
        session.add(snapshot)
        try:
            session.flush()
        except IntegrityError:  # another process took the day's snapshot a moment ago
            session.rollback()
            snapshot = session.scalars(select(TowerSnapshot).where(TowerSnapshot.day == day)).one()
            created = False
    else:
        snapshot = existing
    snapshot.values = values
    snapshot.bases = bases
    snapshot.taken_at = utcnow()
    record_event(
        session,
        action=TowerAudit.snapshot_taken,
        actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else SCHEDULER,
        resource_type="tower_snapshot",
        resource_id=day.isoformat(),
        detail={"created": created},
    )
    session.commit()
    indicators.forget_public()  # the public page shows what was just kept
    return SnapshotTaken(snapshot, created)


def snapshot_if_missing(session: Session) -> SnapshotTaken | None:
    """The scheduler's daily pass: take today's snapshot unless it exists."""
    today = utcnow().date()
    if session.scalar(select(TowerSnapshot.id).where(TowerSnapshot.day == today)) is not None:
        return None
    return take_snapshot(session, actor=None, day=today)
