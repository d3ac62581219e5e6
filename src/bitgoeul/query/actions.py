"""Run a researcher's SQL through the decision point, the rewriter and the locked-down engine.

``run_query`` asks ``decide`` about every dataset the query names (with the project's context
when a project is given), applies each decision's obligations (visible columns, pseudonyms,
row filter, aggregate-only disclosure control), runs the query and appends one audit event
holding every decision, the SQL's SHA-256, the datasets and versions, rows returned and groups
suppressed.  A refusal at any step is audited too, then raised.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlglot import exp

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, get_version
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, BitgoeulError, ValidationFailed
from bitgoeul.governance.decision import (
    DataAction,
    Decision,
    DecisionContext,
    decide,
)
from bitgoeul.governance.models import Project
from bitgoeul.governance.queries import decision_context
from bitgoeul.ingest.profile import json_value
from bitgoeul.query import disclosure, engine
from bitgoeul.query.models import QueryRun, RunKind, RunStatus
from bitgoeul.query.policy import (
    classified_columns,
    policy_view_sql,
    pseudonym_key,
    schema_fields,
)
from bitgoeul.query.rewrite import DatasetRef, parse_query
from bitgoeul.storage.base import ObjectStore

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
MAX_EXPORT_ROWS = 1_000_000

Decider = Callable[[Actor, DataAction, Dataset, DecisionContext | None], Decision]


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    suppressed_groups: int
    datasets: list[dict[str, Any]]
    elapsed_ms: float

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass
class _Prepared:
    tree: exp.Query
    views: list[engine.View]
    scrub: dict[str, str]
    secure: disclosure.SecurePlan | None
    datasets: list[dict[str, Any]]
    decisions: list[dict[str, Any]] = field(default_factory=list)


def _default_decider(
    actor: Actor, action: DataAction, dataset: Dataset, context: DecisionContext | None
) -> Decision:
    return decide(actor, action, dataset, context=context)


def _version(session: Session, dataset: Dataset, number: int | None) -> DatasetVersion:
    query = select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
    if number is None:
        version = session.scalars(query.order_by(DatasetVersion.number.desc()).limit(1)).first()
    else:
        version = session.scalars(query.where(DatasetVersion.number == number)).first()
    if version is None:
        return get_version(session, dataset.slug, number)  # raises NotFound, saying why
    return version


def _prepare(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    sql: str,
    project_id: int | None,
    action: DataAction,
    decider: Decider,
    decisions: list[dict[str, Any]],
) -> _Prepared:
    parsed = parse_query(sql)
    used_columns = {str(c.name).lower() for c in parsed.tree.find_all(exp.Column)}
    views: list[engine.View] = []
    scrub: dict[str, str] = {}
    datasets: list[dict[str, Any]] = []
    secure_rules: list[tuple[DatasetRef, disclosure.SecureRule]] = []
    hidden_by_dataset: dict[str, set[str]] = {}
    visible_anywhere: set[str] = set()
    for ref in parsed.datasets:
        dataset = get_dataset(session, ref.slug)
        context = (
            None
            if project_id is None
            else decision_context(session, actor=actor, dataset=dataset, project_id=project_id)
        )
        decision = decider(actor, action, dataset, context)
        decisions.append(
            {
                "dataset": ref.slug,
                "publisher_id": dataset.publisher_id,
                "allowed": decision.allowed,
                "reason": decision.reason,
            }
        )
        if not decision.allowed:
            raise AccessDenied(f"Dataset '{ref.slug}': {decision.reason}")
        version = _version(session, dataset, ref.version)
        policy = decision.obligations
        key = pseudonym_key(settings.secret(), policy.pseudonym_scope or "platform")
        identifiers = classified_columns(version, "direct_identifier")
        keep = {identifiers[0]} if policy.aggregate_only and identifiers else set()
        select_sql, hidden = policy_view_sql(version, policy, key=key, keep=keep)
        path = store.local_path(version.object_key)
        if path is None:
            raise ValidationFailed("The query gateway needs the local object store.")
        views.append(engine.View(ref.view, Path(path), select_sql))
        scrub[ref.view] = ref.written_as
        scrub[key] = "<key>"
        datasets.append({"slug": ref.slug, "version": version.number})
        hidden_by_dataset[ref.slug] = {h.lower() for h in hidden}
        visible_anywhere |= {str(f["name"]).lower() for f in schema_fields(version)} - {
            h.lower() for h in hidden
        }
        if policy.aggregate_only:
            forbidden = (
                {c.lower() for c in policy.forbidden_output_columns}
                | set(identifiers)
                | set(classified_columns(version, "sensitive"))
                | {c.lower() for c in policy.pseudonymise_columns}
            )
            rule = disclosure.SecureRule(
                person_column=identifiers[0] if identifiers else None,
                forbidden_columns=frozenset(forbidden),
                identifier_columns=frozenset(
                    set(identifiers) | {c.lower() for c in policy.pseudonymise_columns}
                ),
                min_group_size=policy.min_group_size,
                dominance_n=policy.dominance_n,
                dominance_k=policy.dominance_k,
            )
            secure_rules.append((ref, rule))
    for slug, hidden in hidden_by_dataset.items():
        for name in sorted((used_columns & hidden) - visible_anywhere):
            raise AccessDenied(
                f"Column '{name}' of dataset '{slug}' is not visible to you under this "
                "project's agreement; remove it from the query."
            )
    secure_plan: disclosure.SecurePlan | None = None
    tree: exp.Query = parsed.tree
    if secure_rules:
        if action == DataAction.download:
            raise AccessDenied("Secure data cannot be downloaded; run aggregate queries instead.")
        if len(parsed.datasets) > 1:
            raise AccessDenied(
                "Secure data: a query on a secure dataset may not read any other dataset."
            )
        secure_plan = disclosure.plan_secure(parsed.tree, secure_rules[0][1])
        tree = secure_plan.tree
    return _Prepared(
        tree=tree,
        views=views,
        scrub=scrub,
        secure=secure_plan,
        datasets=datasets,
        decisions=decisions,
    )


def _audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    sql: str,
    project_id: int | None,
    detail: dict[str, Any],
) -> None:
    sql_sha256 = hashlib.sha256(sql.encode()).hexdigest()
    # One entry per dataset decision, under the publisher, so each agency's stewards see every
    # use of their data (and every refusal) among their own organization's entries.
    for decision in detail.get("decisions", []):
        record_event(
            session,
            action="dataset.query_decision",
            outcome="ok" if decision["allowed"] else "denied",
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type="dataset",
            resource_id=decision["dataset"],
            organization_id=decision["publisher_id"],
            detail={
                "query_action": action,
                "query_outcome": outcome,
                "sql_sha256": sql_sha256,
                "project": project_id,
                "reason": decision["reason"],
            },
        )
    record_event(
        session,
        action=action,
        outcome=outcome,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="query",
        resource_id=sql_sha256,
        detail={"project": project_id, **detail},
    )


def _record_run(
    session: Session,
    *,
    actor: Actor,
    kind: RunKind,
    sql: str,
    project_id: int | None,
    started: float,
    status: RunStatus,
    datasets: list[dict[str, Any]] | None = None,
    rows: int | None = None,
    suppressed: int | None = None,
    error: str | None = None,
) -> None:
    """Add the run to the actor's query history (anonymous runs are in the audit log only)."""
    if actor.user_id is None:
        return
    if project_id is not None and session.get(Project, project_id) is None:
        project_id = None  # a query naming an unknown project is kept, without the project
    session.add(
        QueryRun(
            user_id=actor.user_id,
            project_id=project_id,
            kind=kind,
            sql=sql,
            sql_sha256=hashlib.sha256(sql.encode()).hexdigest(),
            datasets=datasets or [],
            status=status,
            rows_returned=rows,
            suppressed_groups=suppressed,
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
    )


def _audit_committed(session: Session, *, run: dict[str, Any], **event: Any) -> None:
    """Append and commit one run's audit events and history row, in one transaction."""
    _audit(session, **event)
    _record_run(
        session, actor=event["actor"], sql=event["sql"], project_id=event["project_id"], **run
    )
    session.commit()


def _refused(
    session: Session,
    error: BitgoeulError,
    *,
    actor: Actor,
    action: str,
    sql: str,
    project_id: int | None,
    decisions: list[dict[str, Any]],
    kind: RunKind,
    started: float,
) -> None:
    session.rollback()
    status = RunStatus.refused if isinstance(error, AccessDenied) else RunStatus.failed
    _audit_committed(
        session,
        actor=actor,
        action=action,
        outcome="denied",
        sql=sql,
        project_id=project_id,
        detail={"reason": error.message[:500], "decisions": decisions},
        run={"kind": kind, "started": started, "status": status, "error": error.message[:2000]},
    )


def run_query(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    sql: str,
    project_id: int | None = None,
    limit: int = DEFAULT_ROW_LIMIT,
    limits: engine.Limits | None = None,
    decider: Decider = _default_decider,
) -> QueryResult:
    """Run one SELECT over datasets named by slug, as the decision point allows (audited)."""
    started = time.perf_counter()
    limit = max(1, min(limit, MAX_ROW_LIMIT))
    decisions: list[dict[str, Any]] = []
    try:
        prepared = _prepare(
            session,
            settings=settings,
            store=store,
            actor=actor,
            sql=sql,
            project_id=project_id,
            action=DataAction.query,
            decider=decider,
            decisions=decisions,
        )
        fetch = limit if prepared.secure is None else MAX_ROW_LIMIT * 10
        result = engine.run(
            prepared.tree,
            prepared.views,
            limit=fetch,
            limits=limits or engine.Limits(),
            scrub=prepared.scrub,
            secure=prepared.secure is not None,
        )
    except BitgoeulError as error:
        _refused(
            session,
            error,
            actor=actor,
            action="query.refused",
            sql=sql,
            project_id=project_id,
            decisions=decisions,
            kind=RunKind.query,
            started=started,
        )
        raise
    assert isinstance(result, engine.EngineResult)  # noqa: S101 - run() without arrow=True
    rows = result.rows
    columns = result.columns
    suppressed = 0
    truncated = result.truncated
    if prepared.secure is not None:
        rows, suppressed = disclosure.suppress(prepared.secure, rows)
        columns = columns[: prepared.secure.visible_width]
        truncated = truncated or len(rows) > limit
        rows = rows[:limit]
    json_rows = [[json_value(v) for v in row] for row in rows]
    _audit_committed(
        session,
        actor=actor,
        action="query.run",
        outcome="ok",
        sql=sql,
        project_id=project_id,
        detail={
            "datasets": prepared.datasets,
            "decisions": decisions,
            "rows": len(json_rows),
            "suppressed_groups": suppressed,
        },
        run={
            "kind": RunKind.query,
            "started": started,
            "status": RunStatus.ok,
            "datasets": prepared.datasets,
            "rows": len(json_rows),
            "suppressed": suppressed,
        },
    )
    return QueryResult(
        columns=columns,
        rows=json_rows,
        truncated=truncated,
        suppressed_groups=suppressed,
        datasets=prepared.datasets,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )


ExportFormat = Literal["csv", "parquet"]


@dataclass(frozen=True)
class QueryExport:
    filename: str
    media_type: str
    content: bytes


def export_query(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    sql: str,
    file_format: ExportFormat,
    project_id: int | None = None,
    limits: engine.Limits | None = None,
    decider: Decider = _default_decider,
) -> QueryExport:
    """A query's full result as CSV or Parquet, where downloading every dataset is allowed."""
    started = time.perf_counter()
    decisions: list[dict[str, Any]] = []
    try:
        prepared = _prepare(
            session,
            settings=settings,
            store=store,
            actor=actor,
            sql=sql,
            project_id=project_id,
            action=DataAction.download,
            decider=decider,
            decisions=decisions,
        )
        table = engine.run(
            prepared.tree,
            prepared.views,
            limit=MAX_EXPORT_ROWS,
            limits=limits or engine.Limits(),
            scrub=prepared.scrub,
            secure=False,
            arrow=True,
        )
    except BitgoeulError as error:
        _refused(
            session,
            error,
            actor=actor,
            action="query.export_refused",
            sql=sql,
            project_id=project_id,
            decisions=decisions,
            kind=RunKind.export,
            started=started,
        )
        raise
    assert isinstance(table, pa.Table)  # noqa: S101 - run(arrow=True) returns a table
    buffer = io.BytesIO()
    if file_format == "csv":
        pa_csv.write_csv(table, buffer)
        media_type = "text/csv; charset=utf-8"
    else:
        pq.write_table(table, buffer)
        media_type = "application/vnd.apache.parquet"
    _audit_committed(
        session,
        actor=actor,
        action="query.exported",
        outcome="ok",
        sql=sql,
        project_id=project_id,
        detail={
            "datasets": prepared.datasets,
            "decisions": decisions,
            "rows": table.num_rows,
            "format": file_format,
        },
        run={
            "kind": RunKind.export,
            "started": started,
            "status": RunStatus.ok,
            "datasets": prepared.datasets,
            "rows": table.num_rows,
        },
    )
    return QueryExport(f"query.{file_format}", media_type, buffer.getvalue())
