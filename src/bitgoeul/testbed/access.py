"""What the decision point needs to know about a testbed task: ``TestbedTerms``.

Loaded at every request, like ``governance.queries.decision_context``: a participant who left
a team is refused at once.  Used by the testbed's own actions and by ``compute.inputs`` when a
model submission's job reads the task's test inputs (this module imports no compute code).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.errors import NotFound
from bitgoeul.governance.decision import DecisionContext, TestbedTerms
from bitgoeul.governance.queries import decision_context
from bitgoeul.testbed.models import TestbedTask, TestbedTeamMember


def get_task(session: Session, slug: str) -> TestbedTask:
    task = session.scalars(select(TestbedTask).where(TestbedTask.slug == slug)).one_or_none()
    if task is None:
        raise NotFound(f"There is no testbed task '{slug}'.")
    return task


def team_id_of(session: Session, task: TestbedTask, actor: Actor) -> int | None:
    if actor.user_id is None:
        return None
    return session.scalar(
        select(TestbedTeamMember.team_id).where(
            TestbedTeamMember.task_id == task.id, TestbedTeamMember.user_id == actor.user_id
        )
    )


def testbed_terms(session: Session, *, actor: Actor, task: TestbedTask) -> TestbedTerms:
    return TestbedTerms(
        task=task.slug,
        input_columns=list(task.input_columns),
        is_participant=team_id_of(session, task, actor) is not None,
    )


def testbed_context(
    session: Session,
    *,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion | None,
    task_slug: str,
) -> DecisionContext:
    """The decision context for the task's test set; refuses a dataset that is not its own."""
    task = get_task(session, task_slug)
    context = decision_context(
        session, actor=actor, dataset=dataset, version=version, project_id=None
    )
    if task.test_dataset_id != dataset.id:
        return context  # no terms: the decision refuses
    return replace(context, testbed=testbed_terms(session, actor=actor, task=task))
