"""A job's inputs: each granted dataset written as ``<slug>.parquet``, as the decision allows.

The decision for the action ``use_in_job`` is asked once per dataset version when the job is
submitted, and again when it starts (an agreement revoked or expired while the job waited in
the queue stops it), each time through a door (``governance.doors``) that audits every answer
under the dataset's publisher as ``dataset.job_decision``.  Each input is the decision's view of
the pinned version (``privacy.views``, the same SELECT the gateway reads through: only the
agreement's columns and rows, direct identifiers pseudonymised with the project's key), read
from the verified file on the locked engine and written by PyArrow (``Door.write``).  The SQL
is the platform's own, never the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.config import Settings
from bitgoeul.governance.decision import DataAction, DecisionContext
from bitgoeul.governance.doors import Door, Passage, Request
from bitgoeul.governance.queries import decision_context
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore


@dataclass(frozen=True)
class Granted:
    """One dataset a job may use: the version, the decision and what it obliges."""

    passage: Passage
    testbed_task: str | None = None

    @property
    def dataset(self) -> Dataset:
        return self.passage.dataset

    @property
    def version(self) -> DatasetVersion:
        return self.passage.version

    @property
    def slug(self) -> str:
        return self.passage.slug

    def describe(self) -> dict[str, Any]:
        obligations = self.passage.decision.obligations
        described = {
            "slug": self.dataset.slug,
            "version": self.version.number,
            "access_level": self.dataset.access_level.value,
            "publisher_id": self.dataset.publisher_id,
            "agreement_id": obligations.agreement_id,
            "review_outputs": obligations.review_outputs,
        }
        if self.testbed_task is not None:
            described["testbed_task"] = self.testbed_task
        return described


class TestSetContext(Protocol):
    """The decision context of a testbed task's hidden test set for a model submission's job.
    The testbed supplies it (``testbed.access.testbed_context``): compute runs the testbed's
    jobs but does not read its tables."""

    def __call__(
        self,
        session: Session,
        *,
        actor: Actor,
        dataset: Dataset,
        version: DatasetVersion | None,
        task_slug: str,
    ) -> DecisionContext: ...


def decide_inputs(
    session: Session,
    door: Door,
    *,
    actor: Actor,
    project_id: int,
    references: Sequence[tuple[str, int | None]],
    testbed_task: str | None = None,
    test_set_context: TestSetContext | None = None,
) -> list[Granted]:
    """Ask the decision point about every dataset version through ``door`` (each answer
    audited under its publisher); ``AccessDenied`` naming every refused dataset.  For a testbed
    model submission (``testbed_task``), the task's hidden test set is asked for as
    ``testbed_inputs``, in the context ``test_set_context`` gives: its inputs without the
    label."""
    requests: list[Request] = []
    for slug, number in references:
        dataset = get_dataset(session, slug)
        version = version_of(session, dataset, number)
        if testbed_task is not None and dataset.holdout:
            if test_set_context is None:
                raise RuntimeError(
                    "a testbed job's inputs were decided without the testbed's test-set "
                    "context: build the job runner with app.make_job_runner"
                )
            action = DataAction.testbed_inputs
            context = test_set_context(
                session, actor=actor, dataset=dataset, version=version, task_slug=testbed_task
            )
        else:
            action = DataAction.use_in_job
            context = decision_context(
                session, actor=actor, dataset=dataset, version=version, project_id=project_id
            )
        requests.append(Request(action, dataset, version, context))
    passages = door.admit(requests)
    return [
        Granted(p, testbed_task if r.action == DataAction.testbed_inputs else None)
        for p, r in zip(passages, requests, strict=True)
    ]


def needs_review(granted: list[Granted]) -> bool:
    return any(g.passage.decision.obligations.review_outputs for g in granted)


def touches(granted: list[Granted], level: AccessLevel) -> bool:
    return any(g.dataset.access_level == level for g in granted)


def materialize(
    granted: list[Granted], door: Door, *, settings: Settings, store: ObjectStore, dest: Path
) -> dict[str, dict[str, Any]]:
    """Write ``dest/<slug>.parquet`` for each granted dataset; what each file holds."""
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}
    for grant in granted:
        policy = grant.passage.decision.obligations
        rows, hidden = door.write(
            store,
            grant.passage,
            secret=settings.secret(),
            target=dest / f"{grant.slug}.parquet",
            file_format="parquet",
        )
        written[grant.slug] = {
            "version": grant.version.number,
            "rows": rows,
            "hidden_columns": sorted(hidden),
            "pseudonymised": sorted(policy.pseudonymise_columns),
            "identifiers": views.classified_columns(
                views.schema_fields(grant.version.table_schema), "direct_identifier"
            ),
        }
    return written
