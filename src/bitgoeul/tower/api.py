"""REST routes of the control tower: the indicators now, their daily history, taking today's
snapshot; and ``GET /metrics`` for Prometheus (outside ``/api/v1``, where scrapers look).

Anyone may read the indicators and their history: operators get exact values counted now,
everyone else the suppressed view (values about fewer than k people blanked), counted at most a
minute ago (``tower.indicators.public``).  Only operators (or the hub's
scheduler) take snapshots.  ``/metrics`` is for operators and for scrapers in
``BITGOEUL_METRICS_NETWORKS`` (see ``tower.metrics``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import (
    CsrfChecked,
    CurrentActor,
    SessionDep,
    SettingsDep,
    client_address,
)
from bitgoeul.errors import AccessDenied, NotAuthenticated
from bitgoeul.messages import msg
from bitgoeul.tower import actions, indicators, queries
from bitgoeul.tower.metrics import HubMetrics, may_scrape
from bitgoeul.tower.schemas import (
    DayPublic,
    IndicatorPublic,
    IndicatorsPublic,
    InstitutionPublic,
    SnapshotPublic,
)

router = APIRouter(prefix="/tower", tags=["tower"])
metrics_router = APIRouter(tags=["meta"])


def indicators_for(session: Session, actor: Actor) -> IndicatorsPublic:
    """Exact for operators, suppressed for everyone else."""
    exact = actor.is_operator
    shown = indicators.compute(session) if exact else indicators.public(session)
    return IndicatorsPublic(
        at=shown.at,
        exact=exact,
        k=shown.k,
        indicators=[
            IndicatorPublic(
                key=i.key,
                group=i.definition.group,
                unit=i.definition.unit,
                value=i.value,
                available=i.available,
                suppressed=i.suppressed,
                basis=i.basis if exact else None,
                target=i.definition.target,
                progress=i.progress,
            )
            for i in shown.items
        ],
        institutions=[
            InstitutionPublic(
                slug=row.slug,
                name=row.name,
                name_ko=row.name_ko,
                datasets=row.datasets,
                versions=row.versions,
            )
            for row in indicators.by_institution(session)
        ],
    )


@router.get("/indicators", response_model=IndicatorsPublic)
def get_indicators(session: SessionDep, actor: CurrentActor) -> IndicatorsPublic:
    """Every indicator now, with its target; small values about people suppressed for all but
    operators."""
    return indicators_for(session, actor)


@router.get("/history", response_model=list[DayPublic])
def get_history(
    session: SessionDep,
    actor: CurrentActor,
    days: Annotated[int, Query(ge=1, le=3660)] = 365,
) -> list[DayPublic]:
    """The daily snapshots of the last ``days`` days, oldest first."""
    rows = queries.history(session, days=days)
    if not actor.is_operator:
        rows = queries.public_history(rows)
    return [DayPublic(day=row.day, values=row.values) for row in rows]


@router.post("/snapshots", response_model=SnapshotPublic, status_code=status.HTTP_201_CREATED)
def take_snapshot(session: SessionDep, actor: CsrfChecked) -> SnapshotPublic:
    """Keep today's values (an operator; taking it again the same day refreshes the day)."""
    taken = actions.take_snapshot(session, actor=actor)
    return SnapshotPublic(
        day=taken.snapshot.day,
        taken_at=taken.snapshot.taken_at,
        created=taken.created,
        values=taken.snapshot.values,
    )


@metrics_router.get("/metrics", include_in_schema=True, response_class=Response)
def metrics(request: Request, actor: CurrentActor, settings: SettingsDep) -> Response:
    """Prometheus metrics of the hub's health: operators, or scrapers from
    BITGOEUL_METRICS_NETWORKS."""
    if not may_scrape(actor.is_operator, client_address(request), settings):
        if actor.is_anonymous:
            raise NotAuthenticated(
                msg(
                    "Send an operator's API token, or scrape from an address in "
                    "BITGOEUL_METRICS_NETWORKS, to read /metrics."
                )
            )
        raise AccessDenied(msg("Only the hub's operators read /metrics."))
    hub: HubMetrics = request.app.state.metrics
    return Response(generate_latest(hub.registry), media_type=CONTENT_TYPE_LATEST)
