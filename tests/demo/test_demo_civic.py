"""The demo city's civic problems: one in each state of the state machine, made by the real
actions; one gone the whole way to a pilot whose progress was measured from KEPCO KDN's outage
records, one completed after its pilot, and one open challenge."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bitgoeul.accounts.actor import ANONYMOUS
from bitgoeul.civic import queries
from bitgoeul.civic.models import CivicProblem
from bitgoeul.civic.states import ProblemState
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.civic import (
    CHALLENGE_SLUG,
    CIVIC_TASKS,
    COMPLETED_CHALLENGE_SLUG,
    OPEN_CHALLENGE_SLUG,
)
from bitgoeul.testbed.models import TestbedTask


def test_the_demo_has_a_problem_in_each_state_and_one_running_challenge(
    settings: Settings,
) -> None:
    build_demo_city(settings, people=300, seed=7)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        counts = queries.problems_by_state(session)
        for state in ProblemState:
            assert counts[state.value] == 1, (state, counts)
        pilot = session.scalars(select(CivicProblem).where(CivicProblem.state == "pilot")).one()
        public = queries.problem_public(session, pilot, actor=ANONYMOUS, settings=settings)
        assert public.challenge is not None
        assert public.challenge.task == CHALLENGE_SLUG
        assert public.challenge.measurements
        # The progress is what the measured series and the agreed baseline and target give.
        latest = public.challenge.measurements[-1].value
        assert latest is not None
        assert public.challenge.progress == pytest.approx(min(1, max(0, (latest - 80) / -40)))
        task = session.scalars(select(TestbedTask).where(TestbedTask.slug == CHALLENGE_SLUG)).one()
        assert task.organization_id == pilot.department_id
        tasks = {
            p.state: queries.challenge_of(session, p.id)
            for p in session.scalars(select(CivicProblem))
        }
        assert tasks[ProblemState.challenge].task_slug == OPEN_CHALLENGE_SLUG  # type: ignore[union-attr]
        done = tasks[ProblemState.completed]
        assert done is not None
        assert done.task_slug == COMPLETED_CHALLENGE_SLUG
        assert queries.measurements(session, done.id)  # measured before it was completed
        proposed = tasks[ProblemState.metric_proposed]
        assert proposed is not None
        assert proposed.proposed_by == "department"
        assert proposed.agreed_at is None
        agreed = tasks[ProblemState.metric_agreed]
        assert agreed is not None
        assert agreed.proposed_by == "operator"
        assert agreed.readiness
        assert queries.challenge_counts(session).challenges == len(CIVIC_TASKS)
    engine.dispose()
    # Building again adds nothing.
    build_demo_city(settings, people=300, seed=7)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        assert sum(queries.problems_by_state(session).values()) == len(ProblemState)
    engine.dispose()
