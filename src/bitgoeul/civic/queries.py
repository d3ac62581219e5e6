"""Reads of civic problems: lists, the public view of one problem and its challenge, the support
threshold, the data-readiness check, and the counts the control tower shows.

For the control tower: :func:`problems_by_state` (every state, zeros included) and
:func:`challenge_counts` (challenges, pilots, completed, triage overdue) read the civic tables
only, in one statement each.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import Organization, User
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import Dataset
from bitgoeul.civic.models import (
    Aggregate,
    CivicChallenge,
    CivicFollow,
    CivicMeasurement,
    CivicPhoto,
    CivicProblem,
    CivicSupport,
    CivicTransition,
)
from bitgoeul.civic.schemas import (
    ChallengePublic,
    Counts,
    MeasurementPublic,
    PhotoPublic,
    ProblemPage,
    ProblemPublic,
    ProblemSummary,
    ReadinessItem,
    ReadinessReason,
    TransitionPublic,
)
from bitgoeul.civic.states import (
    CHALLENGE_STATES,
    Event,
    Facts,
    ProblemState,
    events_from,
    who_may,
)
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.dp import queries as dp_queries
from bitgoeul.errors import NotFound
from bitgoeul.messages import msg
from bitgoeul.mydata import queries as mydata_queries
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import queries as testbed_queries
from bitgoeul.testbed.models import TestbedTask

MAX_PAGE = 100
READINESS_LIMIT = 12


def get_problem(session: Session, problem_id: int) -> CivicProblem:
    problem = session.get(CivicProblem, problem_id)
    if problem is None:
        raise NotFound(
            msg(
                "There is no civic problem {id}; see the list at /civic.",
                id=problem_id,
            )
        )
    return problem


def challenge_of(session: Session, problem_id: int) -> CivicChallenge | None:
    return session.scalars(
        select(CivicChallenge).where(CivicChallenge.problem_id == problem_id)
    ).first()


# --- Support and triage -----------------------------------------------------------------------


def active_users(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """Accounts (still enabled) that did something the audit log recorded in the last
    ``civic_active_days`` days: signing in, searching, supporting, posting."""
    since = (now or utcnow()) - timedelta(days=settings.civic_active_days)
    return int(
        session.scalar(
            select(func.count(distinct(AuditEvent.actor_id)))
            .join(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.at >= since, User.is_active.is_(True))
        )
        or 0
    )


# The active users are counted over the audit log's last ``civic_active_days`` (100 to 250 ms
# over half a million entries, benchmarks/tower.py), so each process keeps the threshold a few
# minutes.
THRESHOLD_TTL_S = 300.0
_thresholds: dict[tuple[str, int, float, int], tuple[float, int]] = {}
_thresholds_lock = threading.Lock()


def forget_thresholds() -> None:
    """Drop the kept thresholds (tests that reuse a database between cases)."""
    with _thresholds_lock:
        _thresholds.clear()


def support_threshold(session: Session, *, settings: Settings, now: datetime | None = None) -> int:
    """The supports that send a problem to triage: ``civic_support_share`` of the active users,
    never fewer than ``civic_support_min``; recounted at most every ``THRESHOLD_TTL_S``
    seconds per database and settings (``now`` given: counted afresh, at that moment)."""
    key = (
        str(session.get_bind().engine.url),
        settings.civic_support_min,
        settings.civic_support_share,
        settings.civic_active_days,
    )
    moment = time.monotonic()
    if now is None:
        with _thresholds_lock:
            kept = _thresholds.get(key)
        if kept is not None and kept[0] > moment:
            return kept[1]
    active = active_users(session, settings=settings, now=now)
    threshold = max(settings.civic_support_min, math.ceil(settings.civic_support_share * active))
    if now is None:
        with _thresholds_lock:
            _thresholds[key] = (moment + THRESHOLD_TTL_S, threshold)
    return threshold


def is_overdue(problem: CivicProblem, now: datetime | None = None) -> bool:
    """In triage past its deadline, unanswered."""
    return (
        problem.state == ProblemState.triage
        and problem.triage_due_at is not None
        and (now or utcnow()) > problem.triage_due_at
    )


def overdue_problems(session: Session, *, now: datetime | None = None) -> list[CivicProblem]:
    return list(
        session.scalars(
            select(CivicProblem)
            .where(
                CivicProblem.state == ProblemState.triage,
                CivicProblem.triage_due_at < (now or utcnow()),
            )
            .order_by(CivicProblem.triage_due_at, CivicProblem.id)
        )
    )


def follower_ids(session: Session, problem_id: int) -> list[int]:
    return list(
        session.scalars(select(CivicFollow.user_id).where(CivicFollow.problem_id == problem_id))
    )


def facts(actor: Actor, problem: CivicProblem, challenge: CivicChallenge | None) -> Facts:
    return Facts(
        user_id=actor.user_id,
        role=actor.role,
        organization_id=actor.organization_id,
        author_id=problem.author_id,
        department_id=problem.department_id,
        proposed_by=challenge.proposed_by if challenge is not None else None,
    )


def allowed_events(
    actor: Actor, problem: CivicProblem, challenge: CivicChallenge | None
) -> list[Event]:
    """What ``actor`` may do to ``problem`` now (buttons on the page, ``allowed`` in the API).
    ``reach_threshold`` is left out: it is what a support does, not a button."""
    known = facts(actor, problem, challenge)
    return [
        event
        for event in events_from(problem.state)
        if event != Event.reach_threshold and who_may(event, known) is None
    ]


# --- Views ------------------------------------------------------------------------------------


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())


def _departments(session: Session, ids: set[int]) -> dict[int, Organization]:
    if not ids:
        return {}
    return {
        org.id: org for org in session.scalars(select(Organization).where(Organization.id.in_(ids)))
    }


def _summary(
    problem: CivicProblem,
    *,
    names: dict[int, str],
    departments: dict[int, Organization],
    now: datetime,
) -> ProblemSummary:
    department = departments.get(problem.department_id) if problem.department_id else None
    return ProblemSummary(
        id=problem.id,
        title=problem.title,
        district=problem.district,
        state=problem.state,
        supports=problem.supports,
        author=names.get(problem.author_id) if problem.author_id else None,
        created_at=problem.created_at,
        triage_due_at=problem.triage_due_at,
        overdue=is_overdue(problem, now),
        department=department.slug if department else None,
    )


def list_problems(
    session: Session,
    *,
    state: ProblemState | None = None,
    district: str | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> ProblemPage:
    """Problems, most supported first (then the newest); ``overdue``: triage past its deadline."""
    now = now or utcnow()
    limit = max(1, min(limit, MAX_PAGE))
    where = []
    if state is not None:
        where.append(CivicProblem.state == state)
    if district:
        where.append(CivicProblem.district == district)
    if overdue:
        where += [CivicProblem.state == ProblemState.triage, CivicProblem.triage_due_at < now]
    total = int(session.scalar(select(func.count()).select_from(CivicProblem).where(*where)) or 0)
    rows = list(
        session.scalars(
            select(CivicProblem)
            .where(*where)
            .order_by(
                CivicProblem.supports.desc(), CivicProblem.created_at.desc(), CivicProblem.id.desc()
            )
            .limit(limit)
            .offset(max(0, offset))
        )
    )
    names = _names(session, {p.author_id for p in rows if p.author_id})
    departments = _departments(session, {p.department_id for p in rows if p.department_id})
    return ProblemPage(
        total=total,
        problems=[_summary(p, names=names, departments=departments, now=now) for p in rows],
    )


def photo_url(problem_id: int, photo_id: int) -> str:
    return f"/civic/problems/{problem_id}/photos/{photo_id}"


def problem_public(
    session: Session,
    problem: CivicProblem,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime | None = None,
) -> ProblemPublic:
    now = now or utcnow()
    challenge = challenge_of(session, problem.id)
    transitions = list(
        session.scalars(
            select(CivicTransition)
            .where(CivicTransition.problem_id == problem.id)
            .order_by(CivicTransition.at, CivicTransition.id)
        )
    )
    photos = list(
        session.scalars(
            select(CivicPhoto).where(CivicPhoto.problem_id == problem.id).order_by(CivicPhoto.id)
        )
    )
    names = _names(session, {problem.author_id} if problem.author_id else set())
    departments = _departments(session, {problem.department_id} if problem.department_id else set())
    followers = follower_ids(session, problem.id)
    supported = actor.user_id is not None and (
        session.scalar(
            select(CivicSupport.id).where(
                CivicSupport.problem_id == problem.id, CivicSupport.user_id == actor.user_id
            )
        )
        is not None
    )
    summary = _summary(problem, names=names, departments=departments, now=now)
    return ProblemPublic(
        **summary.model_dump(),
        description=problem.description,
        threshold=problem.threshold or support_threshold(session, settings=settings, now=now),
        reason=problem.reason,
        merged_into=problem.merged_into_id,
        escalated_at=problem.escalated_at,
        photos=[
            PhotoPublic(
                id=p.id,
                url=photo_url(problem.id, p.id),
                media_type=p.media_type,
                width=p.width,
                height=p.height,
            )
            for p in photos
        ],
        transitions=[
            TransitionPublic(
                event=t.event,
                from_state=t.from_state,
                to_state=t.to_state,
                actor=t.actor_name,
                note=t.note,
                at=t.at,
            )
            for t in transitions
        ],
        followers=len(followers),
        supported=supported,
        following=actor.user_id in followers,
        allowed=allowed_events(actor, problem, challenge),
        challenge=challenge_public(session, challenge) if challenge is not None else None,
    )


# --- Challenges -------------------------------------------------------------------------------


def measurements(session: Session, challenge_id: int) -> list[CivicMeasurement]:
    return list(
        session.scalars(
            select(CivicMeasurement)
            .where(CivicMeasurement.challenge_id == challenge_id)
            .order_by(CivicMeasurement.period, CivicMeasurement.id)
        )
    )


def progress(baseline: float, target: float, current: float | None) -> float | None:
    """How far ``current`` has gone from ``baseline`` towards ``target`` (0 to 1; a value
    beyond the target is 1, one on the wrong side of the baseline 0)."""
    if current is None or target == baseline:
        return None
    return min(1.0, max(0.0, (current - baseline) / (target - baseline)))


def challenge_public(session: Session, challenge: CivicChallenge) -> ChallengePublic:
    department = session.get(Organization, challenge.department_id)
    series = measurements(session, challenge.id)
    current = next((m.value for m in reversed(series) if m.value is not None), None)
    best: float | None = None
    higher: bool | None = None
    task = session.get(TestbedTask, challenge.task_id) if challenge.task_id else None
    if task is not None:
        board = testbed_queries.leaderboard(session, task=task, board="public")
        higher = board.higher_is_better
        ranked = [row.score for row in board.rows if not row.is_baseline]
        if ranked:
            best = max(ranked) if higher else min(ranked)
    return ChallengePublic(
        department=department.slug if department else "",
        department_name=department.name if department else "",
        metric=challenge.metric,
        indicator=challenge.indicator,
        dataset=challenge.indicator_dataset,
        column=challenge.indicator_column,
        period=challenge.indicator_period,
        every=challenge.indicator_every,
        aggregate=challenge.indicator_aggregate,
        baseline=challenge.baseline,
        target=challenge.target,
        proposed_by=challenge.proposed_by,
        agreed=challenge.agreed_at is not None,
        agreed_at=challenge.agreed_at,
        readiness=[ReadinessItem.model_validate(item) for item in challenge.readiness],
        task=challenge.task_slug or None,
        best_score=best,
        higher_is_better=higher,
        pilot=challenge.pilot,
        pilot_started_at=challenge.pilot_started_at,
        measurements=[MeasurementPublic(period=m.period, value=m.value) for m in series],
        current=current,
        progress=progress(challenge.baseline, challenge.target, current),
        measured_at=challenge.measured_at,
        measured_version=challenge.measured_version,
    )


# How many characters of an ISO date a cut period keeps ("2025-03" for a month).
PERIOD_CHARS = {"day": 10, "week": 10, "month": 7, "quarter": 7, "year": 4}


def period_label(value: object, every: str) -> str:
    """A measured period as a person reads it: a cut date keeps its day, month or year."""
    text = str(value)
    return text[: PERIOD_CHARS[every]] if every in PERIOD_CHARS else text


def indicator_sql(challenge: CivicChallenge) -> str:
    """The indicator as one SELECT for the SQL gateway: per period, the agreed aggregate.
    The identifiers were checked when the metric was proposed (letters, digits, underscores)
    and are quoted; the gateway checks the statement again like any other."""
    period = f'"{challenge.indicator_period}"'
    if challenge.indicator_every:
        period = f"date_trunc('{challenge.indicator_every}', {period})"
    if challenge.indicator_aggregate == Aggregate.rows:
        value = "count(*)"
    else:
        value = f'{challenge.indicator_aggregate.value}("{challenge.indicator_column}")'
    return (
        f'SELECT {period} AS period, {value} AS value FROM "{challenge.indicator_dataset}" '
        f"GROUP BY {period} ORDER BY {period}"
    )


def readiness(
    session: Session, problem: CivicProblem, challenge: CivicChallenge
) -> list[ReadinessItem]:
    """Which catalog datasets could serve the challenge: the indicator's dataset, the
    department's own datasets, datasets matching the problem's words, which of these answer
    through the DP door (noisy statistics from secure data), and the pools of residents'
    donations (My Data, through ``mydata.queries.list_sources``) from the department or
    matching the problem's words.  Metadata only: the catalog shows it to everyone; nothing is
    read from the data."""
    found: dict[str, ReadinessItem] = {}

    def add(
        slug: str, title: str, level: str, publisher: str, why: ReadinessReason, word: str = ""
    ) -> None:
        if slug not in found and len(found) < READINESS_LIMIT:
            found[slug] = ReadinessItem(
                kind="dataset",
                slug=slug,
                title=title,
                access_level=level,
                publisher=publisher,
                why=why,
                word=word,
            )

    indicator = session.scalars(
        select(Dataset).where(Dataset.slug == challenge.indicator_dataset)
    ).first()
    if indicator is not None:
        add(
            indicator.slug,
            indicator.title,
            indicator.access_level.value,
            indicator.publisher.slug,
            "indicator",
        )
    department = session.get(Organization, challenge.department_id)
    if department is not None:
        own = catalog_queries.search_datasets(session, publisher=department.slug, limit=6)
        for item in own.items:
            add(
                item.slug,
                item.title,
                item.access_level.value,
                item.publisher,
                "department",
            )
    words = [w for w in problem.title.split() if len(w) > 3][:6]
    for word in words:
        for item in catalog_queries.search_datasets(session, q=word, limit=3).items:
            add(
                item.slug,
                item.title,
                item.access_level.value,
                item.publisher,
                "matches",
                word,
            )
    dp_ready = {slug for slug, _title in dp_queries.dp_datasets(session)}
    items = list(found.values())
    lowered = [w.lower() for w in words]
    for source in mydata_queries.list_sources(session, actor=ANONYMOUS):
        text = f"{source.title} {source.title_ko} {source.description}".lower()
        ours = department is not None and source.agency == department.slug
        if source.pool and (ours or any(w in text for w in lowered)):
            items.append(
                ReadinessItem(
                    kind="donation",
                    slug=source.pool,
                    title=source.title,
                    publisher=source.agency or "",
                    why="donation",
                )
            )
    for ready in list(items):
        if ready.slug in dp_ready:
            items.append(
                ready.model_copy(
                    update={
                        "kind": "dp_release",
                        "why": "dp",
                    }
                )
            )
    return items


# --- For the control tower --------------------------------------------------------------------


def problems_by_state(session: Session) -> dict[str, int]:
    """How many problems are in each state (every state named, zeros included)."""
    counts = {state.value: 0 for state in ProblemState}
    for state, count in session.execute(
        select(CivicProblem.state, func.count()).group_by(CivicProblem.state)
    ):
        counts[ProblemState(state).value] = int(count)
    return counts


def challenge_counts(session: Session, *, now: datetime | None = None) -> Counts:
    """Problems by state, challenges (a testbed task opened: challenge, pilot or completed),
    pilots running, completed ones, and problems whose triage is overdue."""
    by_state = problems_by_state(session)
    overdue = int(
        session.scalar(
            select(func.count())
            .select_from(CivicProblem)
            .where(
                CivicProblem.state == ProblemState.triage,
                CivicProblem.triage_due_at < (now or utcnow()),
            )
        )
        or 0
    )
    return Counts(
        problems=by_state,
        challenges=sum(by_state[s.value] for s in CHALLENGE_STATES),
        pilots=by_state[ProblemState.pilot.value],
        completed=by_state[ProblemState.completed.value],
        overdue_triage=overdue,
    )


def photo_bytes(
    session: Session, store: ObjectStore, *, problem_id: int, photo_id: int
) -> tuple[str, bytes]:
    """A problem's photo (media type, bytes; its metadata was removed when it was posted):
    public, like the problem."""
    photo = session.get(CivicPhoto, photo_id)
    if photo is None or photo.problem_id != problem_id:
        raise NotFound(msg("Problem {id} has no photo {photo}.", id=problem_id, photo=photo_id))
    with store.open(photo.key) as handle:
        return photo.media_type, handle.read()
