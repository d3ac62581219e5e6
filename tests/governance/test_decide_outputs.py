"""Who reads a job's outputs and who reviews their release, decided in one place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.governance.decision import JobOutputs, OutputAction, decide_outputs

actors = st.builds(
    Actor,
    user_id=st.integers(1, 5),
    username=st.just("someone"),
    role=st.sampled_from([*Role, None]),
    organization_id=st.one_of(st.none(), st.integers(1, 4)),
    via=st.just("session"),
)
outputs = st.builds(
    JobOutputs, held=st.booleans(), publisher_ids=st.frozensets(st.integers(1, 4), max_size=3)
)


def _reviewer(actor: Actor, job: JobOutputs) -> bool:
    return actor.is_operator or any(actor.is_steward_of(o) for o in job.publisher_ids)


@given(actor=actors, job=outputs)
def test_only_operators_and_the_publishers_stewards_review(actor: Actor, job: JobOutputs) -> None:
    assert decide_outputs(actor, OutputAction.review, job).allowed is _reviewer(actor, job)


@given(actor=actors, job=outputs)
def test_held_outputs_are_read_by_their_reviewers_only(actor: Actor, job: JobOutputs) -> None:
    decision = decide_outputs(actor, OutputAction.read, job)
    assert decision.allowed is (not job.held or _reviewer(actor, job))
    if not decision.allowed:
        assert "release review holds" in decision.reason


def test_a_steward_of_another_organization_does_not_review() -> None:
    steward = Actor(user_id=1, username="s", role=Role.steward, organization_id=9)
    job = JobOutputs(held=True, publisher_ids=frozenset({1}))
    assert not decide_outputs(steward, OutputAction.review, job).allowed
    assert not decide_outputs(steward, OutputAction.read, job).allowed
