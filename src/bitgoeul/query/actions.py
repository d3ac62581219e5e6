"""Run a researcher's SQL through the decision point, the rewriter and the locked engine.

``run_query`` parses and checks the SQL (``query.rewrite``), asks the decision point about every
dataset *version* the query names through one door (``governance.doors``: each decision is
audited under the dataset's publisher as ``dataset.query_decision``), applies each decision's
obligations (visible columns, pseudonyms, row filter: ``privacy.views``; aggregate-only
disclosure control: ``privacy.disclosure``), verifies each version's file, and runs the
round-tripped SQL on the locked engine (``engine.locked``).  One summary event holds the SQL's
SHA-256, the datasets and versions, rows returned and groups suppressed.  Whatever stops a
query, a refusal, bad SQL, a time or size limit, a crash, is audited too, then raised.
"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow.parquet as pq
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlglot import exp

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.engine import locked as engine
from bitgoeul.errors import AccessDenied, BitgoeulError, Conflict
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Request, failure_reason
from bitgoeul.governance.models import Project
from bitgoeul.governance.queries import decision_context, get_project, member_role
from bitgoeul.ingest.profile import json_value
from bitgoeul.messages import msg
from bitgoeul.privacy import disclosure, views
from bitgoeul.privacy.pseudonyms import pseudonym_key
from bitgoeul.query.models import QueryAudit, QueryRun, RunKind, RunStatus, SavedQuery
from bitgoeul.query.queries import get_saved_query, user_id_of
from bitgoeul.query.rewrite import DatasetRef, parse_query, sendable_sql
from bitgoeul.storage.base import ObjectStore

DEFAULT_ROW_LIMIT = 1_000
MAX_ROW_LIMIT = 10_000
MAX_EXPORT_ROWS = 1_000_000


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
    sql: str  # what DuckDB is given: printed from the checked tree, round-tripped
    views: list[engine.View]
    scrub: dict[str, str]
    secure: disclosure.SecurePlan | None
    datasets: list[dict[str, Any]]


def limits_of(settings: Settings) -> engine.Limits:
    return engine.Limits(max_result_bytes=settings.query_max_result_bytes)


def _secure_rule(fields: views.Fields, policy: Any) -> disclosure.SecureRule:
    identifiers = views.classified_columns(fields, "direct_identifier")
    pseudonymised = {c.lower() for c in policy.pseudonymise_columns}
    return disclosure.SecureRule(
        person_column=identifiers[0] if identifiers else None,
        columns=frozenset(str(f["name"]).lower() for f in fields),
        forbidden_columns=frozenset(
            {c.lower() for c in policy.forbidden_output_columns}
            | set(identifiers)
            | set(views.classified_columns(fields, "sensitive"))
            | pseudonymised
        ),
        identifier_columns=frozenset(set(identifiers) | pseudonymised),
        min_group_size=policy.min_group_size,
        dominance_n=policy.dominance_n,
        dominance_k=policy.dominance_k,
    )


def _prepare(
    session: Session,
    door: Door,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    sql: str,
    project_id: int | None,
    action: DataAction,
) -> _Prepared:
    parsed = parse_query(sql)
    used_columns = {str(c.name).lower() for c in parsed.tree.find_all(exp.Column)}
    requests: list[Request] = []
    for ref in parsed.datasets:
        dataset = get_dataset(session, ref.slug, publisher=False)
        version = version_of(session, dataset, ref.version)
        context = decision_context(
            session, actor=actor, dataset=dataset, version=version, project_id=project_id
        )
        requests.append(Request(action, dataset, version, context))
    passages = door.admit(requests)
    built: list[engine.View] = []
    scrub: dict[str, str] = {}
    datasets: list[dict[str, Any]] = []
    secure_rules: list[tuple[DatasetRef, disclosure.SecureRule]] = []
    hidden_by_dataset: dict[str, set[str]] = {}
    visible_anywhere: set[str] = set()
    for ref, passage in zip(parsed.datasets, passages, strict=True):
        fields = views.schema_fields(passage.version.table_schema)
        # Donated data: the consent-filtered copy, its donor filter then already applied.
        path, policy = door.source(store, passage)
        key = pseudonym_key(settings.secret(), policy.pseudonym_scope or "platform")
        identifiers = views.classified_columns(fields, "direct_identifier")
        keep = {identifiers[0]} if policy.aggregate_only and identifiers else set()
        select_sql, hidden = views.view_sql(fields, policy, key=key, keep=keep)
        built.append(engine.View(ref.view, path, select_sql))
        scrub[ref.view] = ref.written_as
        scrub[key] = "<key>"
        scrub[str(path)] = f"<{ref.written_as}>"
        datasets.append({"slug": ref.slug, "version": passage.version.number})
        hidden_by_dataset[ref.slug] = {h.lower() for h in hidden}
        visible_anywhere |= {str(f["name"]).lower() for f in fields} - {h.lower() for h in hidden}
        if policy.aggregate_only:
            secure_rules.append((ref, _secure_rule(fields, policy)))
    for slug, hidden in hidden_by_dataset.items():
        for name in sorted((used_columns & hidden) - visible_anywhere):
            raise AccessDenied(
                msg(
                    "Column '{column}' of dataset '{slug}' is not visible to you under this "
                    "project's agreement; remove it from the query.",
                    column=name,
                    slug=slug,
                )
            )
    secure_plan: disclosure.SecurePlan | None = None
    tree: exp.Query = parsed.tree
    if secure_rules:
        if action == DataAction.download:
            raise AccessDenied(
                msg("Secure data cannot be downloaded; run aggregate queries instead.")
            )
        if len(parsed.datasets) > 1:
            raise AccessDenied(
                msg("Secure data: a query on a secure dataset may not read any other dataset.")
            )
        secure_plan = disclosure.plan_secure(parsed.tree, secure_rules[0][1])
        tree = secure_plan.tree
    return _Prepared(
        sql=sendable_sql(tree),
        views=built,
        scrub=scrub,
        secure=secure_plan,
        datasets=datasets,
    )


def _summary(
    session: Session,
    *,
    actor: Actor,
    action: QueryAudit,
    outcome: str,
    sql: str,
    project_id: int | None,
    detail: dict[str, Any],
) -> None:
    record_event(
        session,
        action=action,
        outcome=outcome,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="query",
        resource_id=hashlib.sha256(sql.encode()).hexdigest(),
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
            # PostgreSQL text cannot hold NUL; the SHA-256 is of the SQL as sent.
            sql=sql.replace("\x00", "\ufffd"),
            sql_sha256=hashlib.sha256(sql.encode()).hexdigest(),
            datasets=datasets or [],
            status=status,
            rows_returned=rows,
            suppressed_groups=suppressed,
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
    )


def _decisions(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The door's decisions as the summary event lists them."""
    return [
        {
            "dataset": e["resource_id"],
            "version": e["detail"].get("version"),
            "publisher_id": e["organization_id"],
            "allowed": e["outcome"] == "ok",
            "reason": e["detail"]["reason"],
        }
        for e in entries
    ]


def _door(
    session: Session,
    *,
    actor: Actor,
    sql: str,
    project_id: int | None,
    kind: RunKind,
    started: float,
) -> Door:
    """The door a query or an export goes through; a failure is summarised as
    ``query.refused`` / ``query.export_refused`` and kept in the user's history."""
    summary = QueryAudit.query_refused if kind == RunKind.query else QueryAudit.query_export_refused

    def on_failure(session: Session, error: BaseException, entries: list[dict[str, Any]]) -> None:
        status = RunStatus.refused if isinstance(error, AccessDenied) else RunStatus.failed
        reason = failure_reason(error)
        _summary(
            session,
            actor=actor,
            action=summary,
            outcome="denied" if isinstance(error, BitgoeulError) else "failed",
            sql=sql,
            project_id=project_id,
            detail={"reason": reason, "decisions": _decisions(entries)},
        )
        _record_run(
            session,
            actor=actor,
            kind=kind,
            sql=sql,
            project_id=project_id,
            started=started,
            status=status,
            error=reason[:2000],
        )

    return Door(
        session,
        actor=actor,
        event=QueryAudit.dataset_query_decision,
        detail={
            "query_action": "query.run" if kind == RunKind.query else "query.exported",
            "sql_sha256": hashlib.sha256(sql.encode()).hexdigest(),
            "project": project_id,
        },
        on_failure=on_failure,
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
) -> QueryResult:
    """Run one SELECT over datasets named by slug, as the decision point allows (audited)."""
    started = time.perf_counter()
    limit = max(1, min(limit, MAX_ROW_LIMIT))
    door = _door(
        session, actor=actor, sql=sql, project_id=project_id, kind=RunKind.query, started=started
    )
    with door:
        prepared = _prepare(
            session,
            door,
            settings=settings,
            store=store,
            actor=actor,
            sql=sql,
            project_id=project_id,
            action=DataAction.query,
        )
        fetch = limit if prepared.secure is None else MAX_ROW_LIMIT * 10
        result = engine.run(
            prepared.sql,
            prepared.views,
            limit=fetch,
            limits=limits or limits_of(settings),
            scrub=prepared.scrub,
            secure=prepared.secure is not None,
        )
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
        _summary(
            session,
            actor=actor,
            action=QueryAudit.query_run,
            outcome="ok",
            sql=sql,
            project_id=project_id,
            detail={
                "datasets": prepared.datasets,
                "decisions": _decisions(door.decisions),
                "rows": len(json_rows),
                "suppressed_groups": suppressed,
            },
        )
        _record_run(
            session,
            actor=actor,
            kind=RunKind.query,
            sql=sql,
            project_id=project_id,
            started=started,
            status=RunStatus.ok,
            datasets=prepared.datasets,
            rows=len(json_rows),
            suppressed=suppressed,
        )
        session.commit()
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
) -> QueryExport:
    """A query's full result as CSV or Parquet, where downloading every dataset is allowed."""
    started = time.perf_counter()
    door = _door(
        session, actor=actor, sql=sql, project_id=project_id, kind=RunKind.export, started=started
    )
    with door:
        prepared = _prepare(
            session,
            door,
            settings=settings,
            store=store,
            actor=actor,
            sql=sql,
            project_id=project_id,
            action=DataAction.download,
        )
        table = engine.run_arrow(
            prepared.sql,
            prepared.views,
            max_rows=MAX_EXPORT_ROWS,
            limits=limits or limits_of(settings),
            scrub=prepared.scrub,
        )
        buffer = io.BytesIO()
        if file_format == "csv":
            # The same CSV as every download: minimal quoting, formulas neutralised.
            for chunk in engine.csv_chunks(table.schema, table.to_batches()):
                buffer.write(chunk)
            media_type = "text/csv; charset=utf-8"
        else:
            pq.write_table(table, buffer)
            media_type = "application/vnd.apache.parquet"
        _summary(
            session,
            actor=actor,
            action=QueryAudit.query_exported,
            outcome="ok",
            sql=sql,
            project_id=project_id,
            detail={
                "datasets": prepared.datasets,
                "decisions": _decisions(door.decisions),
                "rows": table.num_rows,
                "format": file_format,
            },
        )
        _record_run(
            session,
            actor=actor,
            kind=RunKind.export,
            sql=sql,
            project_id=project_id,
            started=started,
            status=RunStatus.ok,
            datasets=prepared.datasets,
            rows=table.num_rows,
        )
        session.commit()
    return QueryExport(f"query.{file_format}", media_type, buffer.getvalue())


# --- Saved queries ----------------------------------------------------------------------------
# A saved query is checked when it is saved (it must parse as one SELECT, and its project must
# be one the user belongs to) but it is not a grant: running it later goes through the gateway
# and the decision point like any other query.


def _check_project(session: Session, actor: Actor, project_id: int | None) -> None:
    if project_id is None:
        return
    project = get_project(session, project_id)
    if member_role(project, actor) is None:
        raise AccessDenied(
            msg(
                "You are not a member of project {project}; save the query without a project "
                "or ask the project lead to add you.",
                project=project_id,
            )
        )


def save_query(
    session: Session, *, actor: Actor, name: str, sql: str, project_id: int | None = None
) -> SavedQuery:
    """Keep ``sql`` under ``name`` (unique per user); commits."""
    user_id = user_id_of(actor)
    parse_query(sql)  # a saved query must at least be one readable SELECT
    _check_project(session, actor, project_id)
    saved = SavedQuery(user_id=user_id, name=name.strip(), sql=sql, project_id=project_id)
    session.add(saved)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            msg(
                "You already have a saved query named {name}; choose another name, or "
                "update or delete that one.",
                name=repr(name.strip()),
            )
        ) from None
    return saved


def update_saved_query(
    session: Session,
    *,
    actor: Actor,
    saved_id: int,
    name: str | None = None,
    sql: str | None = None,
    project_id: int | None = None,
    clear_project: bool = False,
) -> SavedQuery:
    """Change a saved query's name, SQL or project; commits."""
    saved = get_saved_query(session, actor=actor, saved_id=saved_id)
    if sql is not None:
        parse_query(sql)
        saved.sql = sql
    if name is not None:
        saved.name = name.strip()
    if clear_project:
        saved.project_id = None
    elif project_id is not None:
        _check_project(session, actor, project_id)
        saved.project_id = project_id
    saved.updated_at = utcnow()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            msg("You already have a saved query named {name}.", name=repr(name))
        ) from None
    return saved


def delete_saved_query(session: Session, *, actor: Actor, saved_id: int) -> None:
    session.delete(get_saved_query(session, actor=actor, saved_id=saved_id))
    session.commit()
