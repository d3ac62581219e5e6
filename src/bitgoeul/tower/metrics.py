"""The hub's own health for Prometheus (``GET /metrics``, text exposition format).

Two kinds of series, in a registry of the app's own (so two apps in one process never share
counters):

* HTTP traffic, counted by a middleware: requests by method, route *template* and status, and
  their latency (the template, ``/api/v1/datasets/{slug}``, not the path, so a scraper cannot
  be flooded with one series per URL);
* the hub's state, read from the database at each scrape by :class:`HubCollector`: jobs by
  status, the age of the oldest queued job, live workers and the oldest heartbeat, pending
  access requests, outputs in review, failed uploads of the last day, the audit log's length,
  the age of the tower's last snapshot, and whether the database answered at all.

Who may read it is decided in :func:`may_scrape`: an operator (bearer token or session), or a
scraper whose address is in ``BITGOEUL_METRICS_NETWORKS`` (loopback by default), so a
Prometheus on the same machine or a private network needs no operator token stored on it.  The
series hold counts and ages only: no dataset, project or person is named.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import IngestRun, IngestStatus
from bitgoeul.compute.models import Job, JobStatus, JobWorker, ReleaseStatus
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.governance.models import AccessRequest, RequestStatus
from bitgoeul.tower.models import TowerSnapshot

log = logging.getLogger(__name__)

WORKER_ALIVE_SECONDS = 60


class HubCollector(Collector):
    """The hub's state, read at each scrape (a dozen indexed counts)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("bitgoeul_database_up", "1 when the database answered the scrape")
        try:
            with self.sessions() as session:
                metrics = list(self._state(session))
        except SQLAlchemyError:
            log.exception("the metrics scrape could not read the database")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _state(self, session: Session) -> Iterator[Metric]:
        now = utcnow()
        jobs = GaugeMetricFamily("bitgoeul_jobs", "Jobs by status", labels=["status"])
        counted = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        for status in JobStatus:
            jobs.add_metric([status.value], int(counted.get(status, 0)))
        yield jobs
        oldest = session.scalar(
            select(func.min(Job.created_at)).where(Job.status == JobStatus.queued)
        )
        yield _gauge(
            "bitgoeul_job_queue_oldest_seconds",
            "Age of the oldest queued job (0 when none waits)",
            (now - oldest).total_seconds() if oldest else 0.0,
        )
        since = now - timedelta(seconds=WORKER_ALIVE_SECONDS)
        yield _gauge(
            "bitgoeul_job_workers_alive",
            f"Workers whose heartbeat is under {WORKER_ALIVE_SECONDS} s old",
            session.scalar(
                select(func.count()).select_from(JobWorker).where(JobWorker.heartbeat_at >= since)
            )
            or 0,
        )
        yield _gauge(
            "bitgoeul_access_requests_pending",
            "Access requests waiting for a steward",
            session.scalar(
                select(func.count())
                .select_from(AccessRequest)
                .where(AccessRequest.status == RequestStatus.pending)
            )
            or 0,
        )
        yield _gauge(
            "bitgoeul_releases_in_review",
            "Job outputs waiting for a steward's release review",
            session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.release_status == ReleaseStatus.in_review)
            )
            or 0,
        )
        yield _gauge(
            "bitgoeul_ingest_runs_failed_last_day",
            "Uploads that failed in the last 24 hours",
            session.scalar(
                select(func.count())
                .select_from(IngestRun)
                .where(
                    IngestRun.status == IngestStatus.failed,
                    IngestRun.started_at >= now - timedelta(days=1),
                )
            )
            or 0,
        )
        yield _gauge(
            "bitgoeul_audit_events",
            "Entries in the audit log",
            session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0,
        )
        last = session.scalar(select(func.max(TowerSnapshot.taken_at)))
        yield _gauge(
            "bitgoeul_tower_snapshot_age_seconds",
            "Age of the control tower's last daily snapshot (-1: none yet)",
            (now - last).total_seconds() if last else -1.0,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))


class HubMetrics:
    """The app's registry: HTTP traffic and the hub's state."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bitgoeul_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bitgoeul_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(HubCollector(sessions))

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_template(request)
            self.requests.labels(request.method, route, str(status)).inc()
            self.latency.labels(request.method, route).observe(time.perf_counter() - started)


def _route_template(request: Request) -> str:
    """The matched route's template with its router's prefix, "unmatched" for a 404 that
    matched no route.  FastAPI keeps the prefixed template in its own corner of the scope
    (``route.path`` lacks an included router's prefix); without it, the route's own path."""
    fastapi_scope = request.scope.get("fastapi")
    context = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    effective = getattr(context, "path", None)
    if isinstance(effective, str):
        return effective
    route = getattr(request.scope.get("route"), "path", None)
    return route if isinstance(route, str) else "unmatched"


def may_scrape(actor_is_operator: bool, address: str, settings: Settings) -> bool:
    """An operator, or a scraper in ``BITGOEUL_METRICS_NETWORKS``."""
    if actor_is_operator:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.metrics_network_list)
