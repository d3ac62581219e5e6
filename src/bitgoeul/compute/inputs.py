"""A job's inputs: each granted dataset written as ``<slug>.parquet``, as the decision allows.

The decision for the action ``use_in_job`` is asked once per dataset when the job is
submitted, and again when it starts (an agreement revoked or expired while the job waited in
the queue stops it).  Each input is the decision's view of the pinned version, the same
SELECT the gateway builds (``query.policy.policy_view_sql``): only the agreement's columns and
rows, direct identifiers pseudonymised with the project's key.  The SQL here is the
platform's own, never the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, get_version
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, ValidationFailed
from bitgoeul.governance.decision import DataAction, Decision, Obligations, decide
from bitgoeul.governance.queries import decision_context
from bitgoeul.query.policy import classified_columns, policy_view_sql, pseudonym_key
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed.access import testbed_context


@dataclass(frozen=True)
class Granted:
    """One dataset a job may use: the version, the decision and what it obliges."""

    dataset: Dataset
    version: DatasetVersion
    decision: Decision

    @property
    def slug(self) -> str:
        return self.dataset.slug

    testbed_task: str | None = None

    def describe(self) -> dict[str, Any]:
        described = {
            "slug": self.dataset.slug,
            "version": self.version.number,
            "access_level": self.dataset.access_level.value,
            "publisher_id": self.dataset.publisher_id,
            "agreement_id": self.decision.obligations.agreement_id,
            "review_outputs": self.decision.obligations.review_outputs,
        }
        if self.testbed_task is not None:
            described["testbed_task"] = self.testbed_task
        return described


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``slug`` or ``slug@version``."""
    slug, _, number = reference.strip().partition("@")
    if not slug:
        raise ValidationFailed("A job's dataset needs a slug, e.g. 'kepco-household-power'.")
    if number and not number.isdigit():
        raise ValidationFailed(f"'{reference}': the version after '@' must be a number.")
    return slug, int(number) if number else None


def _latest(session: Session, dataset: Dataset) -> DatasetVersion:
    version = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    ).first()
    if version is None:
        return get_version(session, dataset.slug, None)  # raises NotFound, saying why
    return version


def decide_inputs(
    session: Session,
    *,
    actor: Actor,
    project_id: int,
    references: Sequence[tuple[str, int | None]],
    job_id: int | None,
    decisions: list[dict[str, Any]] | None = None,
    testbed_task: str | None = None,
) -> list[Granted]:
    """Ask the decision point about every dataset; audit each answer under its publisher.

    Each audit entry's fields are also appended to ``decisions``, so a caller that rolls back
    (a refused submission) can write them again.  Raises ``AccessDenied`` naming every refused
    dataset.  For a testbed model submission (``testbed_task``), the task's hidden test set is
    asked for as ``testbed_inputs``: its inputs without the label.
    """
    granted: list[Granted] = []
    refusals: list[str] = []
    for slug, number in references:
        dataset = get_dataset(session, slug)
        if testbed_task is not None and dataset.holdout:
            action = DataAction.testbed_inputs
            context = testbed_context(session, actor=actor, dataset=dataset, task_slug=testbed_task)
        else:
            action = DataAction.use_in_job
            context = decision_context(session, actor=actor, dataset=dataset, project_id=project_id)
        decision = decide(actor, action, dataset, context=context)
        event: dict[str, Any] = {
            "action": "dataset.job_decision",
            "outcome": "ok" if decision.allowed else "denied",
            "actor_id": actor.user_id,
            "actor_name": actor.username,
            "resource_type": "dataset",
            "resource_id": slug,
            "organization_id": dataset.publisher_id,
            "detail": {"project": project_id, "job": job_id, "reason": decision.reason},
        }
        record_event(session, **event)
        if decisions is not None:
            decisions.append(event)
        if not decision.allowed:
            refusals.append(f"Dataset '{slug}': {decision.reason}")
            continue
        version = (
            _latest(session, dataset) if number is None else get_version(session, slug, number)
        )
        task = testbed_task if action == DataAction.testbed_inputs else None
        granted.append(Granted(dataset, version, decision, task))
    if refusals:
        raise AccessDenied("; ".join(refusals))
    return granted


def needs_review(granted: list[Granted]) -> bool:
    return any(g.decision.obligations.review_outputs for g in granted)


def touches(granted: list[Granted], level: AccessLevel) -> bool:
    return any(g.dataset.access_level == level for g in granted)


def materialize(
    granted: list[Granted], *, settings: Settings, store: ObjectStore, dest: Path
) -> dict[str, dict[str, Any]]:
    """Write ``dest/<slug>.parquet`` for each granted dataset; what each file holds."""
    dest.mkdir(parents=True, exist_ok=True)
    written: dict[str, dict[str, Any]] = {}
    with duckdb.connect(config={"threads": 2}) as conn:
        for grant in granted:
            policy = grant.decision.obligations
            key = pseudonym_key(settings.secret(), policy.pseudonym_scope or "platform")
            target = dest / f"{grant.slug}.parquet"
            hidden = write_view(
                conn, store, grant.version, policy, key=key, target=target, file_format="parquet"
            )
            rows = conn.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchone()
            written[grant.slug] = {
                "version": grant.version.number,
                "rows": int(rows[0]) if rows else 0,
                "hidden_columns": sorted(hidden),
                "pseudonymised": sorted(policy.pseudonymise_columns),
                "identifiers": classified_columns(grant.version, "direct_identifier"),
            }
    return written


def write_view(
    conn: duckdb.DuckDBPyConnection,
    store: ObjectStore,
    version: DatasetVersion,
    policy: Obligations,
    *,
    key: str,
    target: Path,
    file_format: str,
) -> set[str]:
    """Write the decision's view of ``version`` (``policy_view_sql``) to ``target`` as Parquet
    or CSV with a header; the columns it left out.  Job inputs and the testbed's test inputs
    are written here."""
    select_sql, hidden = policy_view_sql(version, policy, key=key, keep=set())
    source = store.local_path(version.object_key)
    if source is None:
        raise ValidationFailed("Reading a dataset into a file needs the local object store.")
    quoted_source = "read_parquet('" + str(source).replace("'", "''") + "')"
    quoted_target = "'" + str(target).replace("'", "''") + "'"
    options = "(FORMAT parquet)" if file_format == "parquet" else "(FORMAT csv, HEADER true)"
    conn.execute(
        f"COPY ({select_sql.replace('{source}', quoted_source)}) TO {quoted_target} {options}"
    )
    return hidden
