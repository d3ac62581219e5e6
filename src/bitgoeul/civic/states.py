"""The civic problem's state machine: which event moves a problem from which state to which,
and who may cause it.  Pure: no database, no I/O.

``TRANSITIONS`` is the whole machine.  ``advance`` is the only way a state changes
(``civic.actions`` calls it before writing anything), so a problem can only ever be in a state
this table reaches from ``open``; ``tests/civic/test_civic_states.py`` drives random sequences
of actions by random people through the real actions and checks exactly that.

``who_may`` answers "may this person cause this event on this problem", from plain facts (the
person's role and organization, the problem's author and department, which side proposed the
metric).  It is the civic workflow's permission table, not a data decision: no event here
reads a dataset (the indicator's measurement goes through the SQL gateway's door, the testbed
task's setup through the testbed's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bitgoeul.accounts.models import Role
from bitgoeul.messages import Message, msg


class ProblemState(StrEnum):
    open = "open"  # collecting support
    triage = "triage"  # enough support: the city answers by the triage deadline
    accepted = "accepted"  # a department took it; the metric is not agreed yet
    metric_proposed = "metric_proposed"  # one side proposed a metric, the other has to agree
    metric_agreed = "metric_agreed"  # department and operator agreed; ready to open
    challenge = "challenge"  # a testbed task is open
    pilot = "pilot"  # a solution is deployed; the indicator is measured
    completed = "completed"
    declined = "declined"  # with a reason
    merged = "merged"  # into another problem
    withdrawn = "withdrawn"  # by its author, before triage


class Event(StrEnum):
    reach_threshold = "reach_threshold"  # a support brought it to the threshold
    withdraw = "withdraw"
    accept = "accept"
    decline = "decline"
    merge = "merge"
    propose_metric = "propose_metric"
    agree_metric = "agree_metric"
    open_challenge = "open_challenge"
    start_pilot = "start_pilot"
    complete = "complete"


S = ProblemState
E = Event

TRANSITIONS: dict[tuple[ProblemState, Event], ProblemState] = {
    (S.open, E.reach_threshold): S.triage,
    (S.open, E.withdraw): S.withdrawn,
    (S.open, E.merge): S.merged,  # an obvious duplicate need not wait for support
    (S.triage, E.accept): S.accepted,
    (S.triage, E.decline): S.declined,
    (S.triage, E.merge): S.merged,
    (S.accepted, E.propose_metric): S.metric_proposed,
    (S.metric_proposed, E.propose_metric): S.metric_proposed,  # a counter-proposal
    (S.metric_proposed, E.agree_metric): S.metric_agreed,
    (S.metric_agreed, E.open_challenge): S.challenge,
    (S.challenge, E.start_pilot): S.pilot,
    (S.pilot, E.complete): S.completed,
    # The department may find, before anything is opened, that it cannot be done: the city
    # says so, with a reason, rather than leaving it waiting.
    (S.accepted, E.decline): S.declined,
    (S.metric_proposed, E.decline): S.declined,
    (S.metric_agreed, E.decline): S.declined,
}

INITIAL = ProblemState.open
FINAL = frozenset({S.completed, S.declined, S.merged, S.withdrawn})
# States in which residents may still add their support.
SUPPORTABLE = frozenset({S.open, S.triage})
# States that count as a challenge (the control tower's "challenges").
CHALLENGE_STATES = frozenset({S.challenge, S.pilot, S.completed})


class IllegalTransition(Exception):
    """``event`` is not allowed in ``state`` (the actions turn it into a 409)."""

    def __init__(self, state: ProblemState, event: Event) -> None:
        super().__init__(f"{event.value} is not allowed when a problem is {state.value}")
        self.state = state
        self.event = event


def advance(state: ProblemState, event: Event) -> ProblemState:
    """The state ``event`` leads to from ``state``; ``IllegalTransition`` if none."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


def events_from(state: ProblemState) -> list[Event]:
    """The events allowed in ``state``, in the table's order."""
    return [event for (source, event) in TRANSITIONS if source == state]


def reachable(start: ProblemState = INITIAL) -> set[ProblemState]:
    """Every state the table reaches from ``start``."""
    seen = {start}
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for (source, _event), target in TRANSITIONS.items():
            if source == state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


class Side(StrEnum):
    """Who proposed the metric: the department's steward, or an operator."""

    department = "department"
    operator = "operator"


@dataclass(frozen=True)
class Facts:
    """What ``who_may`` needs to know about the person and the problem."""

    user_id: int | None
    role: Role | None
    organization_id: int | None
    author_id: int | None
    department_id: int | None = None
    proposed_by: Side | None = None  # the side of the pending metric proposal


def side_of(facts: Facts) -> Side | None:
    """The side the person speaks for in a metric agreement (a department's steward first)."""
    if (
        facts.role == Role.steward
        and facts.department_id is not None
        and facts.organization_id == facts.department_id
    ):
        return Side.department
    if facts.role == Role.operator:
        return Side.operator
    return None


def who_may(event: Event, facts: Facts) -> Message | None:
    """``None`` when the person may cause ``event``; otherwise who may, said plainly.

    * withdraw: the author (before triage), or an operator;
    * accept, decline (in triage), merge: operators, the city's triage desk; declining an
      accepted problem: an operator or the department's steward;
    * propose_metric: the department's stewards or operators; agree_metric: the other side;
    * open_challenge, start_pilot: the department's stewards (the testbed task's organizer);
    * complete: the department's stewards or operators.
    ``reach_threshold`` is caused by supports, which any signed-in person but the author gives.
    """
    if facts.user_id is None:
        return msg("sign in first")
    operator = facts.role == Role.operator
    side = side_of(facts)
    department = side == Side.department
    if event == Event.reach_threshold:
        return None if facts.user_id != facts.author_id else msg("the author cannot support")
    if event == Event.withdraw:
        return (
            None if operator or facts.user_id == facts.author_id else msg("the author or operators")
        )
    if event in (Event.accept, Event.merge):
        return None if operator else msg("operators (the city's triage)")
    if event == Event.decline:
        if operator or (department and facts.department_id is not None):
            return None
        return msg("operators, or the stewards of the department that took it")
    if event == Event.propose_metric:
        return None if side is not None else msg("the department's stewards or operators")
    if event == Event.agree_metric:
        if side is None or facts.proposed_by is None:
            return msg("the department's stewards or operators")
        if side == facts.proposed_by:
            side_name = (
                msg("the department") if facts.proposed_by == Side.department else msg("operators")
            )
            return msg("the other side: the proposal came from {side}", side=side_name)
        return None
    if event in (Event.open_challenge, Event.start_pilot):
        return None if department else msg("the stewards of the department that took it")
    if event == Event.complete:
        return None if operator or department else msg("the department's stewards or operators")
    return msg("nobody")  # pragma: no cover - every event is named above
