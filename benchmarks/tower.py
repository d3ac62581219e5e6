"""The control tower on a busy hub: its pages with a year of daily snapshots, the indicators
API, the Prometheus scrape, computing every indicator and taking the day's snapshot; and the
civic support threshold's count of active users over a long audit log.

Fills a fresh database (a temporary SQLite file, and a PostgreSQL database
``bitgoeul_bench_tower`` unless ``--no-postgres``) with the seed's scale of the programme
(1,000 supported startups, 5,150 trainees) and, by ``--scale``, query runs, jobs, access
requests, civic problems and audit entries, written as rows the packages' actions would leave
(bulk inserts, so the fill is quick); then 365 daily snapshots.  Requests go through the app
in-process (FastAPI's TestClient), as an anonymous visitor (``/tower``) and as an operator
with a bearer token (``/hub/tower``, ``/metrics``).  The public page is timed twice: with the
counts it keeps for a minute (what nearly every visitor gets) and with the counts made afresh
(the first visitor of each minute).  Target: a tower page in < 300 ms.

    python benchmarks/tower.py                    # both backends, scale 1
    python benchmarks/tower.py --no-postgres --scale 0.2
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.app import create_app
from bitgoeul.audit.models import AuditEvent
from bitgoeul.civic import queries as civic_queries
from bitgoeul.civic.models import CivicProblem
from bitgoeul.civic.states import ProblemState
from bitgoeul.compute.models import Job, JobStatus, ReleaseStatus
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade
from bitgoeul.db.base import utcnow
from bitgoeul.governance.models import AccessRequest, Project, Purpose, RequestStatus
from bitgoeul.programmes.models import (
    ApplicationStatus,
    Cohort,
    Course,
    Enrolment,
    EnrolmentStatus,
    SupportApplication,
)
from bitgoeul.query.models import QueryRun, RunKind
from bitgoeul.query.models import RunStatus as QueryStatus
from bitgoeul.tower import actions as tower_actions
from bitgoeul.tower import indicators
from bitgoeul.tower.indicators import DEFINITIONS
from bitgoeul.tower.models import TowerSnapshot

BENCH_DB = "bitgoeul_bench_tower"
STARTUPS = 1_000
TRAINEES = 5_150
CHUNK = 20_000


@dataclass(frozen=True)
class Timing:
    backend: str
    what: str
    runs: list[float]

    def row(self) -> str:
        ms = sorted(r * 1000 for r in self.runs)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        return (
            f"| {self.backend} | {self.what} | {len(ms)} | {statistics.median(ms):.1f} | "
            f"{p95:.1f} | {ms[-1]:.1f} |"
        )


def _bulk(session: Session, model: type[Any], rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` in chunks (made as they are inserted: half a million dicts at once
    would hold some 500 MB)."""
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, CHUNK)):
        session.execute(insert(model), chunk)
    session.commit()


def fill(session: Session, scale: float) -> dict[str, int]:
    """A busy hub's rows; returns how many of each were written."""
    now = utcnow()
    hub = Organization(slug="hub", name="AI hub", kind=OrganizationKind.operator)
    session.add(hub)
    session.flush()
    _bulk(
        session,
        Organization,
        (
            {"slug": f"startup-{i}", "name": f"Startup {i}", "kind": OrganizationKind.company}
            for i in range(STARTUPS)
        ),
    )
    startups = list(session.scalars(select(Organization.id).where(Organization.kind == "company")))
    _bulk(
        session,
        User,
        (
            {
                "username": f"trainee{i}",
                "password_hash": "not-a-real-hash",
                "role": Role.citizen,
                "organization_id": startups[i % len(startups)] if i < STARTUPS else None,
            }
            for i in range(TRAINEES)
        ),
    )
    users = list(session.scalars(select(User.id).order_by(User.id)))
    project = Project(
        title="Load study",
        purpose=Purpose.academic_research,
        justification="benchmark",
        lead_organization_id=startups[0],
    )
    session.add(project)
    session.flush()
    _bulk(
        session,
        SupportApplication,
        (
            {
                "organization_id": org,
                "applicant_id": users[i],
                "summary": "GPU credits for a demand model",
                "employees": 7,
                "gpu_hours": Decimal(10),
                "status": ApplicationStatus.approved,
                "granted_gpu_hours": Decimal(10),
                "decided_at": now,
            }
            for i, org in enumerate(startups)
        ),
    )
    course = Course(slug="ai-basics", title="AI basics")
    session.add(course)
    session.flush()
    cohort = Cohort(
        course_id=course.id,
        name="2026",
        starts_on=now.date(),
        ends_on=now.date() + timedelta(days=90),
        capacity=TRAINEES,
    )
    session.add(cohort)
    session.flush()
    _bulk(
        session,
        Enrolment,
        (
            {
                "cohort_id": cohort.id,
                "user_id": user_id,
                "status": EnrolmentStatus.completed,
                "completed_at": now,
            }
            for user_id in users
        ),
    )
    counts = {
        "query_runs": round(200_000 * scale),
        "jobs": round(20_000 * scale),
        "access_requests": round(5_000 * scale),
        "civic_problems": round(2_000 * scale),
        "audit_events": round(500_000 * scale),
    }
    _bulk(
        session,
        QueryRun,
        (
            {
                "user_id": users[i % len(users)],
                "kind": RunKind.query,
                "sql": "SELECT 1",
                "sql_sha256": "0" * 64,
                "status": QueryStatus.refused if i % 17 == 0 else QueryStatus.ok,
                "duration_ms": 5,
            }
            for i in range(counts["query_runs"])
        ),
    )
    _bulk(
        session,
        Job,
        (
            {
                "project_id": project.id,
                "organization_id": startups[i % len(startups)],
                "status": JobStatus.succeeded,
                "executor": "local",
                "environment": "default",
                "entrypoint": "main.py",
                "cpus": 1,
                "memory_mb": 512,
                "time_limit_s": 60,
                "code_sha256": "0" * 64,
                "release_status": ReleaseStatus.not_required,
                "used_cpu_hours": Decimal("0.5"),
                "used_gpu_hours": Decimal("0.1"),
            }
            for i in range(counts["jobs"])
        ),
    )
    dataset_id = _one_dataset(session, hub.id)
    _bulk(
        session,
        AccessRequest,
        (
            {
                "project_id": project.id,
                "dataset_id": dataset_id,
                "requested_days": 30,
                "status": RequestStatus.approved if i % 3 else RequestStatus.rejected,
                "created_at": now - timedelta(days=10),
                "decided_at": now - timedelta(days=10 - i % 9),
            }
            for i in range(counts["access_requests"])
        ),
    )
    states = list(ProblemState)
    _bulk(
        session,
        CivicProblem,
        (
            {
                "title": f"Problem {i}",
                "description": "benchmark",
                "district": "Nam-gu",
                "state": states[i % len(states)],
                "supports": i % 50,
            }
            for i in range(counts["civic_problems"])
        ),
    )
    _bulk(
        session,
        AuditEvent,
        (
            {
                "seq": i + 1,
                "at": now - timedelta(minutes=i % (180 * 24 * 60)),
                "actor_id": users[i % len(users)],
                "actor_name": "trainee",
                "action": "auth.login",
                "prev_hash": f"{i:064x}",
                "hash": f"{i + 1:064x}",
            }
            for i in range(counts["audit_events"])
        ),
    )
    keys = [d.key for d in DEFINITIONS]
    _bulk(
        session,
        TowerSnapshot,
        (
            {
                "day": now.date() - timedelta(days=back),
                "values": {k: float(365 - back + i) for i, k in enumerate(keys)},
                "bases": dict.fromkeys(keys, 365 - back),
            }
            for back in range(1, 366)
        ),
    )
    counts.update(startups=STARTUPS, trainees=TRAINEES, snapshots=365)
    return counts


def _one_dataset(session: Session, publisher_id: int) -> int:
    from bitgoeul.catalog.models import AccessLevel, Dataset, Sector

    dataset = Dataset(
        slug="meters",
        title="Meters",
        publisher_id=publisher_id,
        sector=Sector.energy,
        licence="CC-BY-4.0",
        access_level=AccessLevel.restricted,
    )
    session.add(dataset)
    session.flush()
    return dataset.id


def _timed(function: Callable[[], object], runs: int) -> list[float]:
    function()  # warm: templates compiled, caches filled
    taken = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        taken.append(time.perf_counter() - started)
    return taken


def bench(backend: str, settings: Settings, scale: float, runs: int) -> list[Timing]:
    upgrade(settings)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    with sessions() as session:
        counts = fill(session, scale)
        operator = account_actions.create_user(
            session,
            username="op",
            password="bench-" + "x" * 20,
            role=Role.operator,
            settings=settings,
        )
        _token, bearer = account_actions.create_api_token(
            session, actor=Actor.for_user(operator, via="cli"), name="bench"
        )
    print(f"{backend}: filled in {time.perf_counter() - started:.1f} s: {counts}")
    timings: list[Timing] = []

    def add(what: str, function: Callable[[], object], n: int = runs) -> None:
        timings.append(Timing(backend, what, _timed(function, n)))

    with sessions() as session:
        add("indicators.compute", lambda: indicators.compute(session))
        add(
            "take_snapshot (today's row)",
            lambda: tower_actions.take_snapshot(session, actor=None),
            max(3, runs // 4),
        )
        add(
            "civic active users (audit log)",
            lambda: civic_queries.active_users(session, settings=settings),
            max(3, runs // 4),
        )
    app = create_app(settings, migrate=False)
    operator_headers = {"Authorization": f"Bearer {bearer}", "accept": "text/html"}
    with TestClient(app) as client:

        def get(path: str, headers: dict[str, str] | None = None) -> Callable[[], object]:
            def call() -> object:
                response = client.get(path, headers=headers or {"accept": "text/html"})
                assert response.status_code == 200, (path, response.status_code)
                return response

            return call

        page = client.get("/tower", headers={"accept": "text/html"}).text
        assert page.count("<polyline") >= 20, "the public page draws the year"
        add("GET /tower (anonymous, 365 days, counts kept)", get("/tower"))
        fresh = get("/tower")

        def counted_afresh() -> object:
            indicators.forget_public()  # as when the kept minute has passed
            return fresh()

        add("GET /tower (anonymous, 365 days, counted afresh)", counted_afresh)
        add("GET /hub/tower (operator, 365 days)", get("/hub/tower", operator_headers))
        add("GET /api/v1/tower/indicators", get("/api/v1/tower/indicators"))
        add("GET /api/v1/tower/history?days=365", get("/api/v1/tower/history?days=365"))
        add("GET /metrics (operator)", get("/metrics", operator_headers))
    engine.dispose()
    return timings


def _pg_admin(url: str, sql: str) -> None:
    admin = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1: 200k query runs ...")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per path")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    timings: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="bench-tower-") as tmp:
        sqlite = Settings(
            environment=Environment.test,
            data_dir=Path(tmp) / "sqlite",
            secret_key="bench-" + "x" * 40,
        )
        timings += bench("SQLite", sqlite, args.scale, args.runs)
        if not args.no_postgres:
            _pg_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            _pg_admin(args.postgres_url, f'CREATE DATABASE "{BENCH_DB}"')
            pg = Settings(
                environment=Environment.test,
                data_dir=Path(tmp) / "pg",
                database_url=args.postgres_url.rsplit("/", 1)[0] + "/" + BENCH_DB,
                secret_key="bench-" + "x" * 40,
            )
            try:
                timings += bench("PostgreSQL", pg, args.scale, args.runs)
            finally:
                _pg_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

    print(f"\nscale {args.scale}, {args.runs} timed runs per line (after one warm-up)\n")
    print("| backend | what | runs | median ms | p95 ms | max ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for timing in timings:
        print(timing.row())


if __name__ == "__main__":
    main()
