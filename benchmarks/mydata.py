"""The consent filter's cost: a gateway query over a donated-data pool against the same query
over the same Parquet published as an ordinary dataset, in the same run.

Generates a seeded Parquet file of N donated meter readings (default 1,000,000 rows from
100,000 donors) into ``./.bench``, and sets up a hub with a My Data source whose pool is that
file, and an identical dataset that is not a pool (same access level, same column classes, the
same file).  The donors' accounts, donations and consents are written in bulk (a fraction of
them withdrawn, so the filter has donors to leave out); the versions point at the generated
file (skipping a re-ingest).  A researcher's project with an approved agreement on both then
runs the same aggregate query through the whole gateway (``query.actions.run_query``: the
door's decision with the consent epoch read fresh and the coverage per tier, the audit entry,
parse + allowlist + rewrite, the integrity check, the locked engine, history) on each,
alternately.  Printed: the median of each, the ratio, and the first query after a consent
change (the coverage recomputed from the database).

    python benchmarks/mydata.py                       # 1,000,000 rows, 100,000 donors
    python benchmarks/mydata.py --rows 200000 --donors 20000 --excluded 0.5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role, User
from bitgoeul.app import create_app
from bitgoeul.catalog.actions import create_dataset
from bitgoeul.catalog.models import AccessLevel, DatasetVersion, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions, ProjectCreate
from bitgoeul.mydata import actions as mydata
from bitgoeul.mydata.models import (
    Consent,
    ConsentStatus,
    Donation,
    DonationStatus,
    MyDataSource,
    Tier,
)
from bitgoeul.query.actions import run_query
from bitgoeul.storage.integrity import file_sha256

BENCH_DIR = Path(".bench")
POOL = "bench-donated-electricity"
PLAIN = "bench-electricity"
QUERY = (
    'SELECT district, month, count(*) AS n, avg(kwh) AS kwh FROM "{d}" '
    "GROUP BY district, month ORDER BY district, month"
)
ITEM_FIELDS = [
    {"name": "district", "type": "string"},
    {"name": "month", "type": "integer"},
    {"name": "kwh", "type": "number"},
]


def donor(i: int) -> str:
    return f"d{i:023d}"


def generate(rows: int, donors: int) -> Path:
    BENCH_DIR.mkdir(exist_ok=True)
    path = BENCH_DIR / f"donated-{rows}-{donors}.parquet"
    if not path.exists():
        # hash(i) is deterministic: the same file every run.
        with duckdb.connect() as conn:
            conn.execute(
                f"COPY (SELECT 'd' || lpad((i % {donors})::VARCHAR, 23, '0') AS donor, "
                "'D' || (hash(i % " + str(donors) + ") % 25)::VARCHAR AS district, "
                "((i // " + str(donors) + ") % 12 + 1)::BIGINT AS month, "
                f"((hash(i * 7) % 100000) / 100.0)::DOUBLE AS kwh FROM range({rows}) t(i)) "
                f"TO '{path}' (FORMAT parquet)"
            )
    return path


def _version(session: Session, dataset_id: int, key: str, path: Path, rows: int) -> None:
    session.add(
        DatasetVersion(
            dataset_id=dataset_id,
            number=1,
            source_filename=path.name,
            source_format="parquet",
            source_sha256="0" * 64,
            source_bytes=path.stat().st_size,
            object_key=key,
            parquet_sha256=file_sha256(path),  # every door verifies the file against it
            parquet_bytes=path.stat().st_size,
            row_count=rows,
            table_schema={
                "fields": [
                    {"name": "donor", "type": "string", "classification": "direct_identifier"},
                    *({**f, "classification": "other"} for f in ITEM_FIELDS),
                ]
            },
        )
    )


def set_up(
    settings: Settings, state: object, path: Path, rows: int, donors: int, excluded: float
) -> tuple[Actor, int, Actor, int]:
    """The hub, the two datasets, the donors and their consents, a project with agreements.
    Returns the researcher, the project, a withdrawing donor and their consent."""
    sessionmaker = state.sessionmaker  # type: ignore[attr-defined]
    store = state.store  # type: ignore[attr-defined]
    with sessionmaker() as session:
        session: Session
        hub = Organization(slug="bench-hub", name="Bench hub", kind=OrganizationKind.operator)
        lab = Organization(slug="bench-lab", name="Bench lab", kind=OrganizationKind.research)
        session.add_all([hub, lab])
        session.flush()
        operator = Actor(user_id=None, username="bench", role=Role.operator, organization_id=None)
        for slug in (POOL, PLAIN):
            dataset = create_dataset(
                session,
                actor=operator,
                data=DatasetCreate(
                    slug=slug,
                    title=slug,
                    sector=Sector.energy,
                    access_level=AccessLevel.secure,
                    publisher="bench-hub",
                ),
            )
            key = f"bench/{slug}/{path.name}"
            store.put_file(key, path)
            _version(session, dataset.id, key, path, rows)
        session.commit()
        mydata.create_source(
            session,
            actor=operator,
            slug="bench-meter",
            title="Meter readings",
            title_ko="계량 기록",
            pool_slug=POOL,
            items=[str(f["name"]) for f in ITEM_FIELDS],
            item_fields=ITEM_FIELDS,
        )
        source_id = session.query(MyDataSource.id).filter_by(slug="bench-meter").scalar()
        locked = "!"  # no password signs in: the benchmark acts through actors
        steward = User(username="bench-steward", password_hash=locked, role=Role.steward)
        member = User(username="bench-researcher", password_hash=locked, role=Role.member)
        steward.organization_id = hub.id
        member.organization_id = lab.id
        session.add_all([steward, member])
        session.flush()
        first = session.execute(
            insert(User).returning(User.id),
            [
                {"username": f"bench-donor-{i}", "password_hash": locked, "role": Role.citizen}
                for i in range(donors)
            ],
        ).scalars()
        user_ids = list(first)
        now = datetime.now(UTC)
        donation_ids = list(
            session.execute(
                insert(Donation).returning(Donation.id),
                [
                    {
                        "user_id": user_ids[i],
                        "source_id": source_id,
                        "donor_key": donor(i),
                        "origin": "source",
                        "items": [f["name"] for f in ITEM_FIELDS],
                        "row_count": rows // donors,
                        "status": DonationStatus.active,
                    }
                    for i in range(donors)
                ],
            ).scalars()
        )
        step = round(1 / excluded) if excluded else 0
        session.execute(
            insert(Consent),
            [
                {
                    "donation_id": donation_ids[i],
                    "user_id": user_ids[i],
                    "purposes": [Purpose.academic_research.value],
                    "projects": [],
                    "tier": Tier.aggregates,
                    "starts_at": now - timedelta(days=1),
                    "ends_at": now + timedelta(days=365),
                    "status": (
                        ConsentStatus.withdrawn if step and i % step == 1 else ConsentStatus.active
                    ),
                }
                for i in range(donors)
            ],
        )
        session.commit()
        researcher = Actor.for_user(member, via="cli")
        hub_steward = Actor.for_user(steward, via="cli")
        project = governance.create_project(
            session,
            actor=researcher,
            data=ProjectCreate(
                title="Bench", purpose=Purpose.academic_research, justification="Benchmark."
            ),
        )
        for slug in (POOL, PLAIN):
            request = governance.request_access(
                session,
                actor=researcher,
                data=AccessRequestCreate(project=project.id, dataset=slug),
            )
            governance.approve_request(
                session,
                actor=hub_steward,
                request_id=request.id,
                conditions=ApprovalConditions(),
            )
        # A donor who will withdraw during the run (the coverage is then recomputed).
        leaving = 0
        consent_id = session.query(Consent.id).filter_by(donation_id=donation_ids[leaving]).scalar()
        assert consent_id is not None
        return (
            researcher,
            project.id,
            Actor.for_user(session.get(User, user_ids[leaving]), via="cli"),
            consent_id,
        )


def paired(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of each, run alternately (the order flips every round)."""
    times: tuple[list[float], list[float]] = ([], [])
    for round_ in range(repeat):
        order = ((0, first), (1, second)) if round_ % 2 == 0 else ((1, second), (0, first))
        for index, call in order:
            started = time.perf_counter()
            call()
            times[index].append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--donors", type=int, default=100_000)
    parser.add_argument(
        "--excluded", type=float, default=0.1, help="share of donors whose consent is withdrawn"
    )
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()

    started = time.perf_counter()
    path = generate(args.rows, args.donors).resolve()
    print(
        f"data: {args.rows:,} rows of {args.donors:,} donors "
        f"({time.perf_counter() - started:.1f} s)"
    )
    settings = Settings(data_dir=BENCH_DIR / f"mydata-{time.time_ns()}")
    app = create_app(settings)
    started = time.perf_counter()
    researcher, project_id, leaving, consent_id = set_up(
        settings, app.state, path, args.rows, args.donors, args.excluded
    )
    print(
        f"hub with {args.donors:,} donations and consents ({time.perf_counter() - started:.1f} s)"
    )

    def ask(slug: str) -> Callable[[], object]:
        def run() -> object:
            with app.state.sessionmaker() as session:
                return run_query(
                    session,
                    settings=settings,
                    store=app.state.store,
                    actor=researcher,
                    sql=QUERY.format(d=slug),
                    project_id=project_id,
                )

        return run

    pooled, plain = ask(POOL)(), ask(PLAIN)()
    n_pool = sum(row[2] for row in pooled.rows)  # type: ignore[attr-defined]
    n_plain = sum(row[2] for row in plain.rows)  # type: ignore[attr-defined]
    print(f"rows counted: pool {n_pool:,} (consenting donors only), plain {n_plain:,}")
    with_filter, without = paired(ask(POOL), ask(PLAIN), args.repeat)
    print(
        f"median of {args.repeat}: pool {with_filter * 1000:.1f} ms, same file not a pool "
        f"{without * 1000:.1f} ms, ratio {with_filter / without:.3f} "
        f"({(with_filter / without - 1) * 100:+.1f} %)"
    )
    with app.state.sessionmaker() as session:
        mydata.withdraw_consent(session, settings=settings, actor=leaving, consent_id=consent_id)
    started = time.perf_counter()
    ask(POOL)()
    print(
        f"first pool query after a withdrawal (coverage of {args.donors:,} consents re-read): "
        f"{(time.perf_counter() - started) * 1000:.1f} ms"
    )
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
