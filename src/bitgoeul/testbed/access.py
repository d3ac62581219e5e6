"""What the decision point needs to know about a testbed task: ``TestbedTerms``.

Loaded at every request, like ``governance.queries.decision_context``: a participant who left
a team, or whose accepted terms are no longer the task's, is refused at once.  The rules stay in
``governance.decision``; this module only says who the actor is in the task (on a team or not,
the terms they accepted, their organization).  Used by the testbed's own actions and by
``compute.inputs`` when a model submission's job reads the task's test inputs (this module
imports no compute code).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.errors import NotFound
from bitgoeul.governance.decision import DecisionContext, TestbedTerms
from bitgoeul.governance.queries import decision_context
from bitgoeul.messages import msg
from bitgoeul.testbed.models import Phase, TestbedTask, TestbedTeamMember


def get_task(session: Session, slug: str) -> TestbedTask:
    task = session.scalars(select(TestbedTask).where(TestbedTask.slug == slug)).one_or_none()
    if task is None:
        raise NotFound(
            msg(
                "There is no testbed task '{task}'; the testbed page lists the open tasks.",
                task=slug,
            )
        )
    return task


def membership(session: Session, task: TestbedTask, actor: Actor) -> TestbedTeamMember | None:
    """The actor's place on a team of the task (a pending invitation is none)."""
    if actor.user_id is None:
        return None
    return session.scalars(
        select(TestbedTeamMember).where(
            TestbedTeamMember.task_id == task.id, TestbedTeamMember.user_id == actor.user_id
        )
    ).one_or_none()


def team_id_of(session: Session, task: TestbedTask, actor: Actor) -> int | None:
    if actor.user_id is None:
        return None
    return session.scalar(
        select(TestbedTeamMember.team_id).where(
            TestbedTeamMember.task_id == task.id, TestbedTeamMember.user_id == actor.user_id
        )
    )


def terms_sha256(task: TestbedTask) -> str:
    """What a member's acceptance is checked against: the SHA-256 of the task's terms, or ""
    when it has none (nothing to accept)."""
    if not task.terms.strip():
        return ""
    return hashlib.sha256(task.terms.encode()).hexdigest()


def has_accepted_terms(task: TestbedTask, member: TestbedTeamMember | None) -> bool:
    current = terms_sha256(task)
    return member is not None and bool(current) and member.terms_sha256 == current


def testbed_terms(session: Session, *, actor: Actor, task: TestbedTask) -> TestbedTerms:
    member = membership(session, task, actor)
    return TestbedTerms(
        task=task.slug,
        input_columns=list(task.input_columns),
        id_column=task.id_column,
        label_column=task.label_column,
        is_participant=member is not None,
        terms_accepted=has_accepted_terms(task, member),
        organization_id=actor.organization_id,
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


def phase_at(task: TestbedTask, now: datetime) -> Phase:
    if now < task.opens_at:
        return Phase.upcoming
    if now < task.final_phase_at:
        return Phase.development
    if now < task.deadline:
        return Phase.final
    return Phase.closed


def governs_task(actor: Actor, task: TestbedTask) -> bool:
    """Operators and the stewards of the organizing organization (who hold the labels)."""
    return actor.is_operator or actor.is_steward_of(task.organization_id)
