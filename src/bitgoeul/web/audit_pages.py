"""The audit trail as a page ("uses of my data") and as CSV: operators see the whole log,
stewards every use of their organization's data, everyone else their own actions.

Each entry reads as a sentence in the page's language ("kim (researcher) queried dataset
household-electricity for project Load study — allowed"), built from the entry's action, its
resource and detail, the actor's current role and the project's title; the raw entry stays
one click away.  Filters: dates, who, dataset, action.  Operators and stewards see whether
the hash chain holds.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.deps import SessionDep, SignedInActor
from bitgoeul.accounts.models import Role, User
from bitgoeul.audit import queries as audit_queries
from bitgoeul.audit.models import AuditEvent
from bitgoeul.engine.locked import formula_safe_text
from bitgoeul.errors import ValidationFailed
from bitgoeul.governance.models import Project
from bitgoeul.messages import msg
from bitgoeul.web.i18n import Translate, request_language, translator
from bitgoeul.web.views import page

router = APIRouter(include_in_schema=False)

AUDIT_PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000

# The actions that read as their own sentence (``sentence.<action>`` in operator.json); any
# other reads as "who: action target".
SENTENCE_ACTIONS = (
    "dataset.query_decision",
    "dataset.preview_decision",
    "dataset.download_decision",
    "dataset.job_decision",
    "dataset.testbed_inputs",
    "dataset.testbed_score",
    "dataset.testbed_setup",
    "dataset.create_dataset",
    "dataset.edit_metadata",
    "dataset.publish_version",
    "dataset.created",
    "dataset.updated",
    "dataset.version_published",
    "dataset.version_failed",
    "dataset.integrity_failed",
    "query.run",
    "query.refused",
    "query.exported",
    "query.export_refused",
    "access_request.created",
    "access_request.approved",
    "access_request.rejected",
    "access_request.withdrawn",
    "agreement.revoked",
    "project.created",
    "project.member_added",
    "job.submitted",
    "job.started",
    "job.finished",
    "job.refused",
    "job.cancel",
    "job.release_requested",
    "job.release_reviewed",
    "credits.grant",
    "organization.create",
    "organization.update",
    "user.create",
    "user.change",
    "user.deactivate",
    "user.reactivate",
    "login",
    "logout",
    "token.create",
    "token.revoke",
    "testbed.task_created",
    "testbed.task_updated",
    "testbed.submitted",
    "testbed.submission_refused",
    "testbed.model_scored",
    "testbed.rerun",
    "testbed.rerun_scored",
    "testbed.team_created",
    "testbed.invitation_sent",
    "testbed.invitation_accepted",
    "testbed.invitation_declined",
    "testbed.terms_accepted",
)
RESULTS = ("allowed", "refused", "failed", "done")


@dataclass(frozen=True)
class Filters:
    dataset: str = ""
    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None

    def query(self, **extra: Any) -> dict[str, Any]:
        """The filters as URL parameters (empty ones left out)."""
        values = {
            "dataset": self.dataset,
            "action": self.action,
            "actor": self.actor,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "",
            **extra,
        }
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class Entry:
    """One audit event as a person reads it."""

    event: AuditEvent
    sentence: str
    result: str  # one of RESULTS
    reason: str


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(
            msg(
                "{field}: '{value}' is not a date; write it as 2026-12-31.", field=field, value=text
            )
        ) from None


def _filters(dataset: str, action: str, actor: str, since: str, until: str) -> Filters:
    return Filters(
        dataset=dataset.strip(),
        action=action.strip(),
        actor=actor.strip(),
        since=_day(since, "from"),
        until=_day(until, "to"),
    )


def _events(
    session: Session, actor: Any, filters: Filters, *, limit: int, offset: int
) -> list[AuditEvent]:
    def moment(day: date | None) -> datetime | None:
        return datetime.combine(day, time.min, tzinfo=UTC) if day else None

    return account_queries.list_audit_events(
        session,
        actor=actor,
        dataset=filters.dataset or None,
        action=filters.action or None,
        actor_name=filters.actor or None,
        since=moment(filters.since),
        until=moment(filters.until + timedelta(days=1)) if filters.until else None,
        limit=limit,
        offset=offset,
    )


def _result(event: AuditEvent) -> str:
    if event.outcome == "denied":
        return "refused"
    detail = event.detail or {}
    door = detail.get("door_outcome")
    if event.outcome == "failed" or door in ("failed", "refused"):
        return "failed"
    if "door_outcome" in detail:  # a door's decision, allowed
        return "allowed"
    return "done"


def describe(session: Session, events: list[AuditEvent], t: Translate) -> list[Entry]:
    """Each event as a sentence in ``t``'s language."""
    user_ids = {e.actor_id for e in events if e.actor_id is not None}
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    project_ids: set[int] = set()
    for e in events:
        value = (e.detail or {}).get("project")
        if isinstance(value, int):
            project_ids.add(value)
        if e.resource_type == "project" and e.resource_id.isdigit():
            project_ids.add(int(e.resource_id))
    titles = (
        dict(
            session.execute(
                select(Project.id, Project.title).where(Project.id.in_(project_ids))
            ).all()
        )
        if project_ids
        else {}
    )
    entries = []
    for e in events:
        detail = e.detail or {}
        user = users.get(e.actor_id) if e.actor_id is not None else None
        name = (user.display_name or user.username) if user else e.actor_name
        who = t("sentence.who", name=name, role=t("role." + user.role.value)) if user else name
        project_id = detail.get("project")
        if e.resource_type == "project" and e.resource_id.isdigit():
            project_id = int(e.resource_id)
        project = titles.get(project_id, "") if isinstance(project_id, int) else ""
        dataset = e.resource_id if e.resource_type == "dataset" else str(detail.get("dataset", ""))
        if not dataset and isinstance(detail.get("datasets"), list):
            dataset = ", ".join(str(d) for d in detail["datasets"])
        values = {
            "who": who,
            "dataset": dataset,
            "project": project or (f"#{project_id}" if project_id else ""),
            "for_project": t("sentence.for_project", project=project) if project else "",
            "job": e.resource_id if e.resource_type == "job" else str(detail.get("job", "")),
            "target": e.resource_id,
            "action": e.action,
        }
        key = f"sentence.{e.action}" if e.action in SENTENCE_ACTIONS else "sentence.other"
        result = _result(e)
        reason = str(detail.get("reason", "")) if result in ("refused", "failed") else ""
        entries.append(Entry(event=e, sentence=t(key, **values), result=result, reason=reason))
    return entries


def _scope(actor: Any) -> str:
    if actor.is_operator:
        return "all"
    return "organization" if actor.role == Role.steward else "own"


# The audit trail -------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    dataset: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    who: Annotated[str, Query(alias="actor", max_length=64)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    """Operators: the whole log.  Stewards: every use of their organization's data, and
    their own actions.  Everyone else: their own actions."""
    filters = _filters(dataset, action, who, since, until)
    events = _events(
        session,
        actor,
        filters,
        limit=AUDIT_PAGE_SIZE + 1,
        offset=(page_number - 1) * AUDIT_PAGE_SIZE,
    )
    scope = _scope(actor)
    chain = audit_queries.verify_chain(session) if scope in ("all", "organization") else None
    return page(
        request,
        "audit.html",
        entries=describe(session, events[:AUDIT_PAGE_SIZE], translator(request_language(request))),
        has_more=len(events) > AUDIT_PAGE_SIZE,
        page_number=page_number,
        filters=filters,
        actions=SENTENCE_ACTIONS,
        chain=chain,
        scope=scope,
    )


_CSV_COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "outcome",
    "resource_type",
    "resource_id",
    "sentence",
    "detail",
)


@router.get("/audit.csv")
def audit_csv(
    request: Request,
    session: SessionDep,
    actor: SignedInActor,
    dataset: Annotated[str, Query(max_length=100)] = "",
    action: Annotated[str, Query(max_length=100)] = "",
    who: Annotated[str, Query(alias="actor", max_length=64)] = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The entries the page shows, with the same filters, as CSV (at most ``CSV_MAX_ROWS``,
    newest first); text cells a spreadsheet would run as formulas are neutralised."""
    filters = _filters(dataset, action, who, since, until)
    events = _events(session, actor, filters, limit=CSV_MAX_ROWS, offset=0)
    entries = describe(session, events, translator(request_language(request)))

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for entry in entries:
            e = entry.event
            writer.writerow(
                formula_safe_text(cell) if isinstance(cell, str) else cell
                for cell in (
                    e.seq,
                    e.at.isoformat(timespec="seconds"),
                    e.actor_name,
                    e.action,
                    e.outcome,
                    e.resource_type,
                    e.resource_id,
                    entry.sentence,
                    json.dumps(e.detail or {}, ensure_ascii=False, sort_keys=True, default=str),
                )
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        if not entries:
            yield buffer.getvalue()

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
