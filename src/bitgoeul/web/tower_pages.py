"""The control tower's pages: ``/tower`` for everyone (values about fewer than k people
suppressed, counted at most a minute ago) and ``/hub/tower`` for operators (exact values counted
now, their basis, the snapshot button).

Both read ``tower.indicators`` and the daily history (``tower.queries.history``); the only
change, keeping today's snapshot, is ``tower.actions.take_snapshot``, as the API makes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SignedInActor
from bitgoeul.tower import actions, indicators, queries
from bitgoeul.tower.indicators import Indicator
from bitgoeul.web.tower_charts import LineChart, line_chart
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

HISTORY_DAYS = 365


@dataclass(frozen=True)
class Card:
    indicator: Indicator
    figure: str  # the value as shown ("" when there is none to show)
    target: str
    percent: int | None
    chart: LineChart | None


def figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "count":
        return f"{round(value):,}"
    if unit == "epsilon":
        return f"{value:,.3f}"
    return f"{value:,.1f}"


def _cards(
    session: Session, *, exact: bool
) -> tuple[list[tuple[str, list[Card]]], indicators.Indicators]:
    shown = indicators.compute(session) if exact else indicators.public(session)
    rows = queries.history(session, days=HISTORY_DAYS)
    if not exact:
        rows = queries.public_history(rows)
    groups: list[tuple[str, list[Card]]] = []
    for group in indicators.GROUPS:
        cards = []
        for item in shown.in_group(group):
            series = [(row.day, row.values.get(item.key)) for row in rows]
            target = item.definition.target
            cards.append(
                Card(
                    indicator=item,
                    figure=figure(item.value, item.definition.unit),
                    target=f"{target:,}" if target else "",
                    percent=round(item.progress * 100) if item.progress is not None else None,
                    chart=line_chart(series, target=target),
                )
            )
        groups.append((group, cards))
    return groups, shown


def _tower_page(request: Request, session: Session, actor: Actor, *, exact: bool) -> Response:
    groups, shown = _cards(session, exact=exact)
    return page(
        request,
        "tower.html",
        groups=groups,
        k=shown.k,
        counted_at=shown.at,
        exact=exact,
        institutions=indicators.by_institution(session),
        snapshot_saved=request.query_params.get("snapshot") == "1",
    )


@router.get("/tower", response_class=HTMLResponse)
def public_tower(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    return _tower_page(request, session, actor, exact=False)


@router.get("/hub/tower", response_class=HTMLResponse)
def operator_tower(request: Request, session: SessionDep, actor: SignedInActor) -> Response:
    queries.require_operator(actor)
    return _tower_page(request, session, actor, exact=True)


@router.post("/hub/tower/snapshot")
def take_snapshot(session: SessionDep, actor: CsrfChecked) -> Response:
    actions.take_snapshot(session, actor=actor)
    return redirect_to("/hub/tower?snapshot=1")
