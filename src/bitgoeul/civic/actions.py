"""What residents, the city's triage, departments and operators do with civic problems.

Every change of state goes through :func:`_transition`: it asks the state machine
(``states.advance``: a table of allowed transitions), writes the problem's new state and a
``CivicTransition`` row (the public timeline), appends one audit entry
(``civic.<event>``) and notifies the problem's followers, in the caller's transaction; the
action then commits once.  Who may cause an event is ``states.who_may``, asked before anything
is written.  Nothing here reads a dataset itself: the indicator is measured through the SQL
gateway (``query.actions.run_query``, its door and audit), the testbed task is set up through
``testbed.actions.create_task`` (its own door on the hidden test set).

Triage that misses its deadline is not silent: the problem lists as overdue everywhere it is
shown, and :func:`escalate_overdue` (run by every ``bitgoeul worker`` every few minutes, and by
``bitgoeul civic escalate``) tells every operator once, audited as ``civic.triage_overdue``.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.catalog.references import reference_slug
from bitgoeul.civic import queries
from bitgoeul.civic.models import (
    Aggregate,
    CivicAudit,
    CivicChallenge,
    CivicFollow,
    CivicMeasurement,
    CivicPhoto,
    CivicProblem,
    CivicSupport,
    CivicTransition,
)
from bitgoeul.civic.photos import Photo, clean_photo
from bitgoeul.civic.schemas import (
    MAX_PHOTOS,
    ChallengeOpen,
    MetricProposal,
    PilotIn,
    ProblemCreate,
    TriageIn,
)
from bitgoeul.civic.states import (
    FINAL,
    SUPPORTABLE,
    Event,
    IllegalTransition,
    ProblemState,
    advance,
    side_of,
    who_may,
)
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, Conflict, NotAuthenticated, ValidationFailed
from bitgoeul.governance import notifications
from bitgoeul.messages import Message, msg
from bitgoeul.privacy import views
from bitgoeul.query import actions as query_actions
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import actions as testbed_actions
from bitgoeul.testbed import scoring
from bitgoeul.testbed.schemas import TaskCreate

SYSTEM = "bitgoeul"  # the audit log's actor name for what the hub does by itself

STATE_NAMES: dict[ProblemState, Message] = {
    ProblemState.open: msg("open for support"),
    ProblemState.triage: msg("in the city's triage"),
    ProblemState.accepted: msg("accepted"),
    ProblemState.metric_proposed: msg("metric proposed"),
    ProblemState.metric_agreed: msg("metric agreed"),
    ProblemState.challenge: msg("an open challenge"),
    ProblemState.pilot: msg("in a pilot"),
    ProblemState.completed: msg("completed"),
    ProblemState.declined: msg("declined"),
    ProblemState.merged: msg("merged"),
    ProblemState.withdrawn: msg("withdrawn"),
}

EVENT_NAMES: dict[Event, Message] = {
    Event.reach_threshold: msg("send it to triage"),
    Event.withdraw: msg("withdraw it"),
    Event.accept: msg("accept it"),
    Event.decline: msg("decline it"),
    Event.merge: msg("merge it"),
    Event.propose_metric: msg("propose its metric"),
    Event.agree_metric: msg("agree its metric"),
    Event.open_challenge: msg("open its challenge"),
    Event.start_pilot: msg("start its pilot"),
    Event.complete: msg("complete it"),
}


def problem_link(problem_id: int) -> str:
    return f"/civic/problems/{problem_id}"


def _signed_in(actor: Actor) -> int:
    if actor.user_id is None:
        raise NotAuthenticated(
            msg("Sign in first: civic problems are posted and supported by people with an account.")
        )
    return actor.user_id


def _locked(session: Session, problem_id: int) -> CivicProblem:
    """The problem, its row locked for this transaction (PostgreSQL; SQLite has one writer)."""
    problem = session.scalars(
        select(CivicProblem)
        .where(CivicProblem.id == problem_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if problem is None:
        queries.get_problem(session, problem_id)  # raises NotFound
    assert problem is not None  # noqa: S101 - get_problem raised otherwise
    return problem


def _require(
    actor: Actor, event: Event, problem: CivicProblem, challenge: CivicChallenge | None
) -> None:
    """Refuse, before anything is written, an event this person may not cause, or one the
    state machine does not allow now."""
    reason = who_may(event, queries.facts(actor, problem, challenge))
    if reason is not None:
        if actor.is_anonymous:
            raise NotAuthenticated(msg("Sign in first, then try again."))
        raise AccessDenied(
            msg(
                "Only {who} may {what} (problem {id}).",
                who=reason,
                what=EVENT_NAMES[event],
                id=problem.id,
            )
        )
    try:
        advance(problem.state, event)
    except IllegalTransition:
        raise Conflict(
            msg(
                "Problem {id} is {state}: nobody may {what} now.",
                id=problem.id,
                state=STATE_NAMES[problem.state],
                what=EVENT_NAMES[event],
            )
        ) from None


def _user_ids(session: Session, *, role: Role, organization_id: int | None = None) -> list[int]:
    query = select(User.id).where(User.role == role, User.is_active.is_(True))
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return list(session.scalars(query))


def _audit(
    session: Session,
    *,
    actor: Actor | None,
    action: CivicAudit,
    problem: CivicProblem,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> None:
    record_event(
        session,
        action=action,
        outcome=outcome,
        actor_id=actor.user_id if actor else None,
        actor_name=actor.username if actor else SYSTEM,
        resource_type="civic_problem",
        resource_id=problem.id,
        organization_id=problem.department_id,
        detail=detail,
    )


def _transition(
    session: Session,
    *,
    actor: Actor | None,
    problem: CivicProblem,
    event: Event,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Move ``problem`` by ``event`` (the table decides where), record it on the timeline and
    in the audit log, and tell its followers; in the caller's transaction."""
    old = problem.state
    new = advance(old, event)
    problem.state = new
    problem.updated_at = utcnow()
    session.add(
        CivicTransition(
            problem_id=problem.id,
            event=event.value,
            from_state=old.value,
            to_state=new.value,
            actor_id=actor.user_id if actor else None,
            actor_name=actor.username if actor else SYSTEM,
            note=note,
        )
    )
    _audit(
        session,
        actor=actor,
        action=CivicAudit.of(event),
        problem=problem,
        detail={"from": old.value, "to": new.value, "note": note, **(detail or {})},
    )
    followers = [
        u for u in queries.follower_ids(session, problem.id) if actor is None or u != actor.user_id
    ]
    notifications.notify(
        session,
        followers,
        kind="civic.transition",
        text=msg(
            "Civic problem '{title}' is now {state}.", title=problem.title, state=STATE_NAMES[new]
        ),
        link=problem_link(problem.id),
    )


def _follow(session: Session, problem_id: int, user_id: int) -> bool:
    exists = session.scalar(
        select(CivicFollow.id).where(
            CivicFollow.problem_id == problem_id, CivicFollow.user_id == user_id
        )
    )
    if exists is not None:
        return False
    session.add(CivicFollow(problem_id=problem_id, user_id=user_id))
    return True


# --- Residents --------------------------------------------------------------------------------


def check_photos(settings: Settings, photos: list[tuple[str, bytes]]) -> list[Photo]:
    """Each photo checked and stripped (``civic.photos``); the first bad one is refused,
    named, before anything is stored."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(
            msg(
                "photos: {count} attached; a problem may have at most {limit}.",
                count=len(photos),
                limit=MAX_PHOTOS,
            )
        )
    return [
        clean_photo(data, name=name, max_bytes=settings.civic_photo_max_bytes)
        for name, data in photos
    ]


def _store_photo(store: ObjectStore, photo: Photo) -> tuple[str, str]:
    digest = hashlib.sha256(photo.data).hexdigest()
    key = f"civic/photos/{digest}.{photo.extension}"
    if not store.exists(key):
        with tempfile.TemporaryDirectory(prefix="bitgoeul-civic-") as folder:
            source = Path(folder) / f"photo.{photo.extension}"
            source.write_bytes(photo.data)
            store.put_file(key, source)
    return key, digest


def post_problem(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    data: ProblemCreate,
    photos: list[tuple[str, bytes]] | None = None,
) -> CivicProblem:
    """A resident posts a problem (with up to four photos, metadata removed); they follow it."""
    user_id = _signed_in(actor)
    checked = check_photos(settings, photos or [])
    problem = CivicProblem(
        title=data.title,
        description=data.description,
        district=data.district,
        author_id=user_id,
        state=ProblemState.open,
        supports=0,
    )
    session.add(problem)
    session.flush()
    for photo in checked:
        key, digest = _store_photo(store, photo)
        session.add(
            CivicPhoto(
                problem_id=problem.id,
                key=key,
                media_type=photo.media_type,
                size_bytes=len(photo.data),
                width=photo.width,
                height=photo.height,
                sha256=digest,
            )
        )
    session.add(
        CivicTransition(
            problem_id=problem.id,
            event="post",
            from_state=None,
            to_state=ProblemState.open.value,
            actor_id=user_id,
            actor_name=actor.username,
        )
    )
    _follow(session, problem.id, user_id)
    _audit(
        session,
        actor=actor,
        action=CivicAudit.post,
        problem=problem,
        detail={
            "to": ProblemState.open.value,
            "district": problem.district,
            "photos": len(checked),
            "removed_metadata": sorted({r for p in checked for r in p.removed}),
        },
    )
    session.commit()
    return problem


def support_problem(
    session: Session, *, settings: Settings, actor: Actor, problem_id: int
) -> CivicProblem:
    """A resident supports a problem (once) and follows it.  The support that reaches the
    threshold sends the problem to triage, with its deadline, and tells the operators."""
    user_id = _signed_in(actor)
    problem = _locked(session, problem_id)
    if problem.author_id == user_id:
        raise Conflict(
            msg("You posted problem {id}: your support is already counted in it.", id=problem.id)
        )
    if problem.state not in SUPPORTABLE:
        raise Conflict(
            msg(
                "Problem {id} is {state}: it takes no more support.",
                id=problem.id,
                state=STATE_NAMES[problem.state],
            )
        )
    already = session.scalar(
        select(CivicSupport.id).where(
            CivicSupport.problem_id == problem.id, CivicSupport.user_id == user_id
        )
    )
    if already is not None:
        raise Conflict(msg("You already support problem {id}.", id=problem.id))
    session.add(CivicSupport(problem_id=problem.id, user_id=user_id))
    session.execute(
        update(CivicProblem)
        .where(CivicProblem.id == problem.id)
        .values(supports=CivicProblem.supports + 1)
    )
    session.refresh(problem)
    _follow(session, problem.id, user_id)
    _audit(
        session,
        actor=actor,
        action=CivicAudit.support,
        problem=problem,
        detail={"supports": problem.supports},
    )
    _reach_triage(session, settings=settings, actor=actor, problem=problem)
    session.commit()
    return problem


def _reach_triage(
    session: Session, *, settings: Settings, actor: Actor | None, problem: CivicProblem
) -> None:
    if problem.state != ProblemState.open:
        return
    threshold = queries.support_threshold(session, settings=settings)
    if problem.supports < threshold:
        return
    now = utcnow()
    problem.threshold = threshold
    problem.triage_due_at = now + timedelta(days=settings.civic_triage_days)
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.reach_threshold,
        note=f"{problem.supports} / {threshold}",
        detail={"threshold": threshold, "due": problem.triage_due_at.isoformat()},
    )
    notifications.notify(
        session,
        _user_ids(session, role=Role.operator),
        kind="civic.triage",
        text=msg(
            "Civic problem '{title}' reached {supports} supports: the city's triage answers by "
            "{due}.",
            title=problem.title,
            supports=problem.supports,
            due=problem.triage_due_at.date().isoformat(),
        ),
        link=problem_link(problem.id),
    )


def follow_problem(
    session: Session, *, actor: Actor, problem_id: int, follow: bool = True
) -> CivicProblem:
    """Hear of the problem's every change (``follow``), or stop."""
    user_id = _signed_in(actor)
    problem = queries.get_problem(session, problem_id)
    if follow:
        changed = _follow(session, problem.id, user_id)
    else:
        removed = session.execute(
            delete(CivicFollow).where(
                CivicFollow.problem_id == problem.id, CivicFollow.user_id == user_id
            )
        )
        changed = int(getattr(removed, "rowcount", 0) or 0) > 0
    if changed:
        _audit(
            session,
            actor=actor,
            action=CivicAudit.follow if follow else CivicAudit.unfollow,
            problem=problem,
        )
    session.commit()
    return problem


def withdraw_problem(
    session: Session, *, actor: Actor, problem_id: int, reason: str = ""
) -> CivicProblem:
    """The author (or an operator) withdraws a problem still collecting support."""
    problem = _locked(session, problem_id)
    _require(actor, Event.withdraw, problem, None)
    problem.reason = reason.strip()
    _transition(session, actor=actor, problem=problem, event=Event.withdraw, note=problem.reason)
    session.commit()
    return problem


# --- The city's triage ------------------------------------------------------------------------


def triage_problem(
    session: Session, *, settings: Settings, actor: Actor, problem_id: int, answer: TriageIn
) -> CivicProblem:
    """The triage's answer: accept (naming the department), decline (with a reason) or merge."""
    if answer.decision == "accept":
        assert answer.department is not None  # noqa: S101 - TriageIn requires it
        return accept_problem(
            session,
            actor=actor,
            problem_id=problem_id,
            department=answer.department,
            note=answer.reason,
        )
    if answer.decision == "decline":
        return decline_problem(session, actor=actor, problem_id=problem_id, reason=answer.reason)
    assert answer.merge_into is not None  # noqa: S101 - TriageIn requires it
    return merge_problem(
        session, settings=settings, actor=actor, problem_id=problem_id, into=answer.merge_into
    )


def accept_problem(
    session: Session, *, actor: Actor, problem_id: int, department: str, note: str = ""
) -> CivicProblem:
    """An operator accepts a problem in triage for a department (an agency's organization),
    whose stewards hear of it."""
    problem = _locked(session, problem_id)
    _require(actor, Event.accept, problem, None)
    org = session.scalars(select(Organization).where(Organization.slug == department)).first()
    if org is None or org.kind != OrganizationKind.agency:
        raise ValidationFailed(
            msg(
                "department: '{department}' is not an agency's organization; name the slug of "
                "the agency that takes the problem (see /organizations).",
                department=department,
            )
        )
    problem.department_id = org.id
    problem.triaged_at = utcnow()
    problem.reason = note.strip()
    session.add(CivicChallenge(problem_id=problem.id, department_id=org.id))
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.accept,
        note=org.name,
        detail={"department": org.slug},
    )
    notifications.notify(
        session,
        _user_ids(session, role=Role.steward, organization_id=org.id),
        kind="civic.accepted",
        text=msg(
            "The city's triage gave civic problem '{title}' to {department}: propose the metric "
            "and indicator to agree with the operator.",
            title=problem.title,
            department=org.name,
        ),
        link=problem_link(problem.id),
    )
    session.commit()
    return problem


def decline_problem(
    session: Session, *, actor: Actor, problem_id: int, reason: str
) -> CivicProblem:
    """Decline a problem, saying why (residents read the reason): the triage, or later the
    department or an operator before a challenge is opened."""
    if not reason.strip():
        raise ValidationFailed(msg("reason: say why the problem is declined; residents read it."))
    problem = _locked(session, problem_id)
    _require(actor, Event.decline, problem, queries.challenge_of(session, problem.id))
    problem.reason = reason.strip()
    if problem.triaged_at is None:
        problem.triaged_at = utcnow()
    _transition(session, actor=actor, problem=problem, event=Event.decline, note=problem.reason)
    session.commit()
    return problem


def merge_problem(
    session: Session, *, settings: Settings, actor: Actor, problem_id: int, into: int
) -> CivicProblem:
    """An operator merges a duplicate into the problem kept: supports and followers move
    (each person counted once), and the kept problem may reach triage by them."""
    problem = _locked(session, problem_id)
    _require(actor, Event.merge, problem, None)
    if into == problem.id:
        raise ValidationFailed(msg("merge_into: a problem cannot be merged into itself."))
    kept = _locked(session, into)
    if kept.state in FINAL:
        raise Conflict(
            msg(
                "Problem {id} is {state}; merge into a problem that is still going.",
                id=kept.id,
                state=STATE_NAMES[kept.state],
            )
        )
    supporters = set(
        session.scalars(select(CivicSupport.user_id).where(CivicSupport.problem_id == problem.id))
    )
    if problem.author_id is not None:
        supporters.add(problem.author_id)  # the duplicate's author supports the kept problem
    already = set(
        session.scalars(select(CivicSupport.user_id).where(CivicSupport.problem_id == kept.id))
    )
    moved = sorted(supporters - already - {kept.author_id})
    for user_id in moved:
        session.add(CivicSupport(problem_id=kept.id, user_id=user_id))
    for user_id in set(queries.follower_ids(session, problem.id)) | set(moved):
        _follow(session, kept.id, user_id)
    session.flush()
    kept.supports = int(
        session.scalar(
            select(func.count()).select_from(CivicSupport).where(CivicSupport.problem_id == kept.id)
        )
        or 0
    )
    problem.merged_into_id = kept.id
    problem.triaged_at = problem.triaged_at or utcnow()
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.merge,
        note=f"#{kept.id}",
        detail={"into": kept.id, "supports_moved": len(moved)},
    )
    _audit(
        session,
        actor=actor,
        action=CivicAudit.merged_in,
        problem=kept,
        detail={"from": problem.id, "supports_moved": len(moved), "supports": kept.supports},
    )
    _reach_triage(session, settings=settings, actor=actor, problem=kept)
    session.commit()
    return problem


def escalate_overdue(session: Session, *, now: datetime | None = None) -> list[CivicProblem]:
    """Tell every operator, once, of each problem whose triage deadline passed unanswered
    (audited ``civic.triage_overdue``).  Returns the problems escalated now."""
    now = now or utcnow()
    escalated = []
    for problem in queries.overdue_problems(session, now=now):
        if problem.escalated_at is not None:
            continue
        problem.escalated_at = now
        assert problem.triage_due_at is not None  # noqa: S101 - overdue means it has one
        late = now - problem.triage_due_at
        _audit(
            session,
            actor=None,
            action=CivicAudit.triage_overdue,
            problem=problem,
            outcome="escalated",
            detail={
                "due": problem.triage_due_at.isoformat(),
                "late_hours": late // timedelta(hours=1),
            },
        )
        notifications.notify(
            session,
            _user_ids(session, role=Role.operator),
            kind="civic.overdue",
            text=msg(
                "The city's triage missed its deadline ({due}) for civic problem '{title}': "
                "accept, decline or merge it now.",
                due=problem.triage_due_at.date().isoformat(),
                title=problem.title,
            ),
            link=problem_link(problem.id),
        )
        escalated.append(problem)
    session.commit()
    return escalated


# --- The challenge ----------------------------------------------------------------------------


def _challenge(session: Session, problem: CivicProblem) -> CivicChallenge:
    challenge = queries.challenge_of(session, problem.id)
    if challenge is None:
        raise Conflict(
            msg(
                "Problem {id} is {state}: it has no challenge.",
                id=problem.id,
                state=STATE_NAMES[problem.state],
            )
        )
    return challenge


def _check_indicator(session: Session, proposal: MetricProposal) -> None:
    scoring.metric_named(proposal.metric)
    dataset = get_dataset(session, proposal.dataset)
    if dataset.access_level != AccessLevel.open or dataset.holdout:
        raise ValidationFailed(
            msg(
                "dataset: '{dataset}' is not open; the indicator is shown to everyone, so it is "
                "measured on an open dataset (or a DP release published as one).",
                dataset=dataset.slug,
            )
        )
    version = version_of(session, dataset)
    columns = [str(f["name"]) for f in views.schema_fields(version.table_schema)]
    wanted = [("period", proposal.period)]
    if proposal.aggregate != Aggregate.rows:
        wanted.append(("column", proposal.column))
    for field_name, column in wanted:
        if column not in columns:
            raise ValidationFailed(
                msg(
                    "{field}: version {version} of '{dataset}' has no column '{column}'; it has "
                    "{columns}.",
                    field=field_name,
                    version=version.number,
                    dataset=dataset.slug,
                    column=column,
                    columns=", ".join(columns),
                )
            )


def propose_metric(
    session: Session, *, actor: Actor, problem_id: int, proposal: MetricProposal
) -> CivicProblem:
    """The department's steward or an operator proposes the testbed metric and the pilot's
    indicator (an open dataset's column per period, a baseline and a target); the other side
    hears of it and agrees, or proposes again."""
    problem = _locked(session, problem_id)
    challenge = queries.challenge_of(session, problem.id)
    _require(actor, Event.propose_metric, problem, challenge)
    challenge = _challenge(session, problem)
    _check_indicator(session, proposal)
    side = side_of(queries.facts(actor, problem, challenge))
    challenge.metric = proposal.metric
    challenge.indicator = proposal.indicator.strip()
    challenge.indicator_dataset = proposal.dataset
    challenge.indicator_column = proposal.column
    challenge.indicator_period = proposal.period
    challenge.indicator_every = proposal.every
    challenge.indicator_aggregate = proposal.aggregate
    challenge.baseline = proposal.baseline
    challenge.target = proposal.target
    challenge.proposed_by = side
    challenge.proposed_by_id = actor.user_id
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.propose_metric,
        note=f"{proposal.metric}; {challenge.indicator}",
        detail={"proposal": proposal.model_dump(mode="json"), "side": side},
    )
    other = (
        _user_ids(session, role=Role.operator)
        if side is not None and side.value == "department"
        else _user_ids(session, role=Role.steward, organization_id=problem.department_id)
    )
    notifications.notify(
        session,
        other,
        kind="civic.metric",
        text=msg(
            "A metric and indicator were proposed for civic problem '{title}': agree, or "
            "propose another.",
            title=problem.title,
        ),
        link=problem_link(problem.id),
    )
    session.commit()
    return problem


def agree_metric(session: Session, *, actor: Actor, problem_id: int) -> CivicProblem:
    """The other side agrees the proposal; the data-readiness check is kept with it."""
    problem = _locked(session, problem_id)
    challenge = _challenge(session, problem)
    _require(actor, Event.agree_metric, problem, challenge)
    challenge.agreed_by_id = actor.user_id
    challenge.agreed_at = utcnow()
    challenge.readiness = [
        item.model_dump(mode="json") for item in queries.readiness(session, problem, challenge)
    ]
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.agree_metric,
        note=f"{challenge.metric}; {challenge.indicator}",
        detail={"readiness": [i["slug"] for i in challenge.readiness]},
    )
    session.commit()
    return problem


def open_challenge(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    problem_id: int,
    spec: ChallengeOpen,
) -> CivicProblem:
    """The department's steward opens the challenge as a testbed task it organizes, on its
    own hidden test set, scored by the agreed metric (``testbed.actions.create_task``)."""
    problem = queries.get_problem(session, problem_id)
    challenge = _challenge(session, problem) if problem.department_id else None
    _require(actor, Event.open_challenge, problem, challenge)
    assert challenge is not None  # noqa: S101 - accepted problems have one
    test_slug = reference_slug(spec.test_dataset)
    test_set = get_dataset(session, test_slug)
    if test_set.publisher_id != problem.department_id:
        raise ValidationFailed(
            msg(
                "test_dataset: '{dataset}' is not published by the department that took the "
                "problem; the challenge's organizer is the department, on its own hidden test "
                "set.",
                dataset=test_slug,
            )
        )
    now = utcnow()
    task = testbed_actions.create_task(
        session,
        settings=settings,
        store=store,
        actor=actor,
        data=TaskCreate(
            slug=spec.slug or f"civic-{problem.id}",
            title=problem.title[:300],
            sector=test_set.sector,
            problem=(
                f"{problem.description}\n\nA civic challenge of Bitgoeul (problem {problem.id}, "
                f"{problem.district}). Indicator: {challenge.indicator}."
            ),
            metric=challenge.metric,
            test_dataset=spec.test_dataset,
            id_column=spec.id_column,
            label_column=spec.label_column,
            training_datasets=spec.training_datasets,
            terms=spec.terms,
            opens_at=spec.opens_at or now,
            final_phase_at=spec.final_phase_at,
            deadline=spec.deadline,
        ),
    )
    # create_task committed the task; the challenge is linked in a transaction of its own.
    problem = _locked(session, problem_id)
    challenge = _challenge(session, problem)
    challenge.task_id = task.id
    challenge.task_slug = task.slug
    _transition(
        session,
        actor=actor,
        problem=problem,
        event=Event.open_challenge,
        note=task.slug,
        detail={"task": task.slug, "metric": task.metric},
    )
    session.commit()
    return problem


def start_pilot(session: Session, *, actor: Actor, problem_id: int, pilot: PilotIn) -> CivicProblem:
    """The department deploys a solution; from now on the indicator tracks it."""
    problem = _locked(session, problem_id)
    challenge = _challenge(session, problem) if problem.department_id else None
    _require(actor, Event.start_pilot, problem, challenge)
    assert challenge is not None  # noqa: S101 - a challenge state has one
    challenge.pilot = pilot.description.strip()
    challenge.pilot_started_at = utcnow()
    _transition(
        session, actor=actor, problem=problem, event=Event.start_pilot, note=challenge.pilot
    )
    session.commit()
    return problem


def measure_indicator(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, problem_id: int
) -> CivicProblem:
    """Measure the agreed indicator now: one query through the SQL gateway, as ``actor`` (the
    department's steward or an operator; audited there as ``query.run``), whose rows replace
    the stored series.  Progress is computed from these rows, never typed in."""
    problem = queries.get_problem(session, problem_id)
    challenge = _challenge(session, problem)
    known = queries.facts(actor, problem, challenge)
    if side_of(known) is None:
        if actor.is_anonymous:
            raise NotAuthenticated(msg("Sign in first, then try again."))
        raise AccessDenied(
            msg(
                "Only the department's stewards or operators measure the indicator of problem "
                "{id}.",
                id=problem.id,
            )
        )
    if challenge.agreed_at is None:
        raise Conflict(
            msg("Problem {id} has no agreed indicator yet: agree the metric first.", id=problem.id)
        )
    result = query_actions.run_query(
        session,
        settings=settings,
        store=store,
        actor=actor,
        sql=queries.indicator_sql(challenge),
        limit=query_actions.MAX_ROW_LIMIT,
    )
    problem = queries.get_problem(session, problem_id)
    challenge = _challenge(session, problem)
    session.execute(delete(CivicMeasurement).where(CivicMeasurement.challenge_id == challenge.id))
    now = utcnow()
    for period, value in result.rows:
        session.add(
            CivicMeasurement(
                challenge_id=challenge.id,
                period=queries.period_label(period, challenge.indicator_every)[:100],
                value=float(value) if isinstance(value, int | float) else None,
                measured_at=now,
            )
        )
    challenge.measured_at = now
    versions = [d.get("version") for d in result.datasets]
    challenge.measured_version = versions[0] if versions else None
    last = next((v for _p, v in reversed(result.rows) if isinstance(v, int | float)), None)
    _audit(
        session,
        actor=actor,
        action=CivicAudit.indicator_measured,
        problem=problem,
        detail={
            "dataset": challenge.indicator_dataset,
            "version": challenge.measured_version,
            "periods": len(result.rows),
            "current": last,
            "progress": queries.progress(
                challenge.baseline, challenge.target, float(last) if last is not None else None
            ),
        },
    )
    session.commit()
    return problem


def complete_challenge(
    session: Session, *, actor: Actor, problem_id: int, note: str = ""
) -> CivicProblem:
    """The pilot is over: the department or an operator completes the problem."""
    problem = _locked(session, problem_id)
    challenge = _challenge(session, problem) if problem.department_id else None
    _require(actor, Event.complete, problem, challenge)
    _transition(session, actor=actor, problem=problem, event=Event.complete, note=note.strip())
    session.commit()
    return problem
