"""The state machine: the table itself, and random sequences of real actions by random people
that never bring a problem to a state the table does not allow.

The stateful test keeps its own model of every problem (the state the table says it must be
in) and drives the real actions on the database: each action either raises a domain error and
changes nothing, or moves the problem exactly as ``advance`` says.  After every step each
problem's timeline must chain (each transition starts where the last ended, and ends at the
problem's state), and every transition must be an audit entry.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.civic.civic_city import CivicCity

from bitgoeul.accounts.models import Role
from bitgoeul.audit.models import AuditEvent
from bitgoeul.civic import actions
from bitgoeul.civic.models import CivicProblem, CivicTransition
from bitgoeul.civic.schemas import PilotIn, ProblemCreate, TriageIn
from bitgoeul.civic.states import (
    FINAL,
    INITIAL,
    TRANSITIONS,
    Event,
    Facts,
    IllegalTransition,
    ProblemState,
    Side,
    advance,
    events_from,
    reachable,
    who_may,
)
from bitgoeul.errors import BitgoeulError

# --- The table --------------------------------------------------------------------------------


def test_every_state_is_reachable_from_open() -> None:
    assert reachable(INITIAL) == set(ProblemState)


def test_final_states_allow_nothing() -> None:
    for state in FINAL:
        assert events_from(state) == []


@given(st.sampled_from(list(ProblemState)), st.sampled_from(list(Event)))
def test_advance_allows_exactly_the_table(state: ProblemState, event: Event) -> None:
    if (state, event) in TRANSITIONS:
        assert advance(state, event) == TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            advance(state, event)


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_no_sequence_of_events_leaves_the_reachable_states(events: list[Event]) -> None:
    state = INITIAL
    allowed = reachable(INITIAL)
    for event in events:
        try:
            state = advance(state, event)
        except IllegalTransition:
            continue
        assert state in allowed


def _facts(role: Role | None, **overrides: Any) -> Facts:
    values: dict[str, Any] = {
        "user_id": 1 if role else None,
        "role": role,
        "organization_id": 10,
        "author_id": 2,
        "department_id": 10,
        "proposed_by": None,
    }
    values.update(overrides)
    return Facts(**values)


def test_only_the_other_side_agrees_a_metric() -> None:
    steward = _facts(Role.steward, proposed_by=Side.department)
    operator = _facts(Role.operator, organization_id=99, proposed_by=Side.department)
    assert who_may(Event.agree_metric, steward) is not None
    assert who_may(Event.agree_metric, operator) is None
    assert who_may(Event.agree_metric, _facts(Role.steward, proposed_by=Side.operator)) is None


def test_a_steward_of_another_organization_speaks_for_no_department() -> None:
    other = _facts(Role.steward, organization_id=11)
    for event in (Event.propose_metric, Event.open_challenge, Event.start_pilot, Event.complete):
        assert who_may(event, other) is not None


# --- Random sequences of real actions ---------------------------------------------------------

PEOPLE = [
    "anonymous",
    "citizen",
    "member",
    "steward_of_other_org",
    "steward_of_publisher",
    "operator",
    "resident0",
    "resident1",
    "resident2",
    "resident3",
]


class CivicMachine(RuleBasedStateMachine):
    city: CivicCity
    db: Session

    def __init__(self) -> None:
        super().__init__()
        self.expected: dict[int, ProblemState] = {}
        self.tasks = 0

    @initialize()
    def start(self) -> None:
        self.expected = {}

    def _try(self, problem_id: int, event: Event | None, act: Any) -> None:
        before = self.city.problem(problem_id).state
        try:
            act()
        except BitgoeulError:
            self.db.rollback()
            assert self.city.problem(problem_id).state == before
            return
        after = self.city.problem(problem_id).state
        if event is None:
            assert after == before
        elif event == Event.reach_threshold:
            # A support moves a problem only when it reaches the threshold, and only from open.
            assert after in (before, TRANSITIONS.get((before, event)))
        else:
            assert after == advance(before, event)
        self.expected[problem_id] = after

    @rule(who=st.sampled_from(PEOPLE))
    def post(self, who: str) -> None:
        try:
            problem = actions.post_problem(
                self.db,
                settings=self.city.settings,
                store=self.city.store,
                actor=self.city.actor(who),
                data=ProblemCreate(
                    title="Flooded underpass after rain",
                    description="The underpass floods after every heavy rain; buses detour.",
                    district="Buk-gu",
                ),
            )
        except BitgoeulError:
            self.db.rollback()
            assert who == "anonymous"
            return
        self.expected[problem.id] = problem.state

    def _pick(self, data: st.DataObject) -> int | None:
        if self.chosen is not None:
            return self.chosen
        if not self.expected:
            return None
        return data.draw(st.sampled_from(sorted(self.expected)))

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def support(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.reach_threshold,
            lambda: actions.support_problem(
                self.db,
                settings=self.city.settings,
                actor=self.city.actor(who),
                problem_id=problem_id,
            ),
        )

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def withdraw(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.withdraw,
            lambda: actions.withdraw_problem(
                self.db, actor=self.city.actor(who), problem_id=problem_id
            ),
        )

    @rule(
        data=st.data(),
        who=st.sampled_from(PEOPLE),
        decision=st.sampled_from(["accept", "decline", "merge"]),
    )
    def triage(self, data: st.DataObject, who: str, decision: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        into = data.draw(st.sampled_from(sorted(self.expected)))
        answer = TriageIn(
            decision=decision,  # type: ignore[arg-type]
            department="kepco" if decision == "accept" else None,
            reason="Not something data can help with." if decision == "decline" else "",
            merge_into=into if decision == "merge" else None,
        )
        event = Event(decision)
        kept_before = self.city.problem(into).state

        def act() -> None:
            actions.triage_problem(
                self.db,
                settings=self.city.settings,
                actor=self.city.actor(who),
                problem_id=problem_id,
                answer=answer,
            )

        self._try(problem_id, event, act)
        if into == problem_id:
            return  # the problem triaged is the one drawn: _try checked its state
        # A merge may send the kept problem to triage with the supports it received; any
        # other problem drawn stays as it was.
        kept_after = self.city.problem(into).state
        assert kept_after in (kept_before, TRANSITIONS.get((kept_before, Event.reach_threshold)))
        self.expected[into] = kept_after

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def propose(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.propose_metric,
            lambda: actions.propose_metric(
                self.db,
                actor=self.city.actor(who),
                problem_id=problem_id,
                proposal=self.city.proposal(),
            ),
        )

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def agree(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.agree_metric,
            lambda: actions.agree_metric(
                self.db, actor=self.city.actor(who), problem_id=problem_id
            ),
        )

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def open_challenge(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self.tasks += 1
        slug = f"civic-machine-{problem_id}-{self.tasks}"
        self._try(
            problem_id,
            Event.open_challenge,
            lambda: actions.open_challenge(
                self.db,
                settings=self.city.settings,
                store=self.city.store,
                actor=self.city.actor(who),
                problem_id=problem_id,
                spec=self.city.challenge_spec(slug=slug),
            ),
        )

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def pilot(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.start_pilot,
            lambda: actions.start_pilot(
                self.db,
                actor=self.city.actor(who),
                problem_id=problem_id,
                pilot=PilotIn(description="Pumps switched on by the model's forecast."),
            ),
        )

    @rule(data=st.data(), who=st.sampled_from(PEOPLE))
    def complete(self, data: st.DataObject, who: str) -> None:
        problem_id = self._pick(data)
        if problem_id is None:
            return
        self._try(
            problem_id,
            Event.complete,
            lambda: actions.complete_challenge(
                self.db, actor=self.city.actor(who), problem_id=problem_id
            ),
        )

    @rule(data=st.data(), steps=st.integers(1, 7))
    def the_right_people_move_it_on(self, data: st.DataObject, steps: int) -> None:
        """The next ``steps`` of the happy path, each by the person who may take it (random
        people rarely would, and the deep states need exercising too)."""
        for _ in range(steps):
            self._next_step(data)

    def _next_step(self, data: st.DataObject) -> None:
        order = list(ProblemState)
        going = [(order.index(s), p) for p, s in self.expected.items() if s not in FINAL]
        if not going:
            return
        # The problem furthest along: the deep states are reached within a few steps.
        problem_id = max(going)[1]
        state = self.city.problem(problem_id).state
        supporter = "resident0"
        steps: dict[ProblemState, tuple[str, Event]] = {
            ProblemState.open: (supporter, Event.reach_threshold),
            ProblemState.triage: ("operator", Event.accept),
            ProblemState.accepted: ("steward_of_publisher", Event.propose_metric),
            ProblemState.metric_proposed: ("operator", Event.agree_metric),
            ProblemState.metric_agreed: ("steward_of_publisher", Event.open_challenge),
            ProblemState.challenge: ("steward_of_publisher", Event.start_pilot),
            ProblemState.pilot: ("operator", Event.complete),
        }
        if state not in steps:
            return
        who, event = steps[state]
        rules = {
            Event.reach_threshold: self.support,
            Event.accept: lambda d, w: self._triage_as(problem_id, w, "accept"),
            Event.propose_metric: self.propose,
            Event.agree_metric: self.agree,
            Event.open_challenge: self.open_challenge,
            Event.start_pilot: self.pilot,
            Event.complete: self.complete,
        }
        self.chosen = problem_id
        if event == Event.reach_threshold:
            for resident in ("resident0", "resident1", "resident2", "resident3"):
                self.support(data, resident)
        else:
            rules[event](data, who)
        self.chosen = None

    chosen: int | None = None

    def _triage_as(self, problem_id: int, who: str, decision: str) -> None:
        self._try(
            problem_id,
            Event(decision),
            lambda: actions.triage_problem(
                self.db,
                settings=self.city.settings,
                actor=self.city.actor(who),
                problem_id=problem_id,
                answer=TriageIn(decision="accept", department="kepco"),
            ),
        )

    @invariant()
    def states_match_the_model_and_the_table(self) -> None:
        allowed = reachable(INITIAL)
        for problem_id, state in self.expected.items():
            assert self.city.problem(problem_id).state == state
            assert state in allowed

    @invariant()
    def every_transition_chains_and_is_audited(self) -> None:
        for problem_id, state in self.expected.items():
            rows = self.db.scalars(
                select(CivicTransition)
                .where(CivicTransition.problem_id == problem_id)
                .order_by(CivicTransition.id)
            ).all()
            assert rows[0].from_state is None
            assert rows[0].to_state == INITIAL.value
            for previous, row in itertools.pairwise(rows):
                assert row.from_state == previous.to_state
                assert TRANSITIONS[(ProblemState(row.from_state), Event(row.event))].value == (
                    row.to_state
                )
            assert rows[-1].to_state == state.value
            audited = self.db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.resource_type == "civic_problem",
                    AuditEvent.resource_id == str(problem_id),
                    AuditEvent.action.in_(["civic.post", *[f"civic.{e.value}" for e in Event]]),
                )
            )
            assert audited == len(rows)


def test_no_sequence_of_actions_reaches_an_illegal_state(db: Session, civic: CivicCity) -> None:
    CivicMachine.city = civic
    CivicMachine.db = db
    run_state_machine_as_test(
        CivicMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
    assert db.scalar(select(func.count()).select_from(CivicProblem)) > 0
