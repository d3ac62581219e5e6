"""Catalog search latency on SQLite (FTS5) and PostgreSQL (GIN tsvector).

Creates N synthetic datasets with Korean and English titles in a temporary SQLite database and
in a fresh PostgreSQL database ``bitgoeul_bench_search``, then runs a mix of queries, with and
without facet filters, through ``search_datasets`` and through the HTTP API (in-process), and
prints p50/p95/max per backend.  Target: p95 < 50 ms.

    python benchmarks/search.py                       # both backends, 10,000 datasets
    python benchmarks/search.py --no-postgres --count 2000
    python benchmarks/search.py --postgres-url postgresql://postgres@db:5432/postgres
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bitgoeul.accounts.models import Organization, OrganizationKind
from bitgoeul.app import create_app
from bitgoeul.catalog.actions import refresh_search_fields
from bitgoeul.catalog.models import AccessLevel, Dataset, Sector
from bitgoeul.catalog.queries import search_datasets
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade

BENCH_DB = "bitgoeul_bench_search"

PUBLISHERS = [
    ("kepco", "Korea Electric Power Corporation", "한국전력공사", Sector.energy),
    ("kpx", "Korea Power Exchange", "한국전력거래소", Sector.energy),
    ("skt", "SK Telecom", "SK텔레콤", Sector.telecom),
    ("cnuh", "Chonnam National University Hospital", "전남대학교병원", Sector.healthcare),
    ("gwangju", "Gwangju Metropolitan City", "광주광역시", Sector.public_administration),
    ("lge", "LG Electronics", "LG전자", Sector.consumer_electronics),
    ("naver", "Naver Business Platform", "네이버클라우드", Sector.commerce),
]
DISTRICTS = [
    ("Dong-gu", "동구"),
    ("Seo-gu", "서구"),
    ("Nam-gu", "남구"),
    ("Buk-gu", "북구"),
    ("Gwangsan-gu", "광산구"),
]
TOPICS = [
    ("household electricity use", "가구별 전력사용량", Sector.energy),
    ("system demand and marginal price", "계통 수요 및 한계가격", Sector.energy),
    ("distribution grid outages", "배전망 정전 이력", Sector.energy),
    ("population flow", "유동인구", Sector.telecom),
    ("subscriber activity", "가입자 활동", Sector.telecom),
    ("outpatient visits", "외래 진료 기록", Sector.healthcare),
    ("laboratory results", "임상 검사 결과", Sector.healthcare),
    ("civil complaints", "민원 접수 현황", Sector.public_administration),
    ("bus ridership", "버스 승차 인원", Sector.mobility),
    ("air quality", "대기질 측정", Sector.environment),
    ("appliance usage events", "가전 사용 이벤트", Sector.consumer_electronics),
    ("place visit counts", "장소 방문 횟수", Sector.commerce),
]
GRAINS = [("Hourly", "시간별"), ("Daily", "일별"), ("Monthly", "월별"), ("Yearly", "연도별")]
LICENCES = ["CC-BY-4.0", "KOGL-1", "KOGL-3", "CC0-1.0", "Proprietary"]

QUERIES: list[dict[str, Any]] = [
    {"q": "전력"},
    {"q": "사용량"},
    {"q": "광산구 유동인구"},
    {"q": "버스 승차"},
    {"q": "electricity"},
    {"q": "bus ridership"},
    {"q": "elec"},
    {"q": "hourly outages"},
    {"q": "민원", "sector": "public-administration"},
    {"q": "grid", "access_level": "open"},
    {"q": "visits", "publisher": "cnuh"},
    {"q": "전력", "licence": "KOGL-1", "sector": "energy"},
    {"q": ""},
    {"q": "", "sector": "energy"},
    {"q": "", "publisher": "skt", "access_level": "registered"},
    {"q": "nothing-matches-this"},
]


def seed(session: Session, count: int, rng: random.Random) -> None:
    orgs = []
    for slug, name, name_ko, _sector in PUBLISHERS:
        org = Organization(slug=slug, name=name, name_ko=name_ko, kind=OrganizationKind.agency)
        session.add(org)
        orgs.append(org)
    session.flush()
    for i in range(count):
        topic, topic_ko, sector = rng.choice(TOPICS)
        district, district_ko = rng.choice(DISTRICTS)
        grain, grain_ko = rng.choice(GRAINS)
        year = rng.randint(2015, 2025)
        publisher = rng.choice(
            [o for o, p in zip(orgs, PUBLISHERS, strict=True) if p[3] == sector] or orgs
        )
        dataset = Dataset(
            slug=f"ds-{i:05d}",
            title=f"{grain} {topic}, {district} {year}",
            title_ko=f"{district_ko} {year}년 {grain_ko} {topic_ko}",
            description=(
                f"{grain} {topic} recorded in {district}, Gwangju, during {year}. "
                f"{district_ko}의 {year}년 {grain_ko} {topic_ko} 자료입니다."
            ),
            publisher_id=publisher.id,
            sector=sector,
            keywords=[topic.split()[0], topic_ko.split()[0], district_ko],
            licence=rng.choice(LICENCES),
            access_level=rng.choice(list(AccessLevel)),
            spatial=f"Gwangju {district}",
            update_frequency="monthly",
        )
        refresh_search_fields(dataset, publisher)
        session.add(dataset)
        if i % 2000 == 1999:
            session.flush()
    session.commit()


@dataclass
class Timing:
    label: str
    samples: list[float]

    def row(self) -> str:
        ms = sorted(s * 1000 for s in self.samples)
        p50 = statistics.median(ms)
        p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
        return f"| {self.label} | {len(ms)} | {p50:.1f} | {p95:.1f} | {ms[-1]:.1f} |"


def measure(run: Callable[[dict[str, Any]], None], rounds: int) -> list[float]:
    for query in QUERIES:  # warm caches and plans
        run(query)
    samples = []
    for _ in range(rounds):
        for query in QUERIES:
            start = time.perf_counter()
            run(query)
            samples.append(time.perf_counter() - start)
    return samples


def bench(name: str, settings: Settings, count: int, rounds: int) -> list[Timing]:
    upgrade(settings)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    started = time.perf_counter()
    with sessions() as session:
        seed(session, count, random.Random(20261124))
    print(f"{name}: seeded {count} datasets in {time.perf_counter() - started:.1f} s")
    # What autovacuum / PRAGMA optimize do on a live hub: fresh planner statistics.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE datasets" if name == "PostgreSQL" else "ANALYZE"))

    def direct(query: dict[str, Any]) -> None:
        with sessions() as session:
            search_datasets(session, limit=20, **query)

    timings = [Timing(f"{name}, search_datasets", measure(direct, rounds))]
    app = create_app(settings, migrate=False)
    with TestClient(app) as client:

        def over_http(query: dict[str, Any]) -> None:
            response = client.get("/api/v1/datasets", params={**query, "limit": 20})
            response.raise_for_status()

        timings.append(Timing(f"{name}, GET /api/v1/datasets", measure(over_http, rounds)))
    app.state.engine.dispose()
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
    parser.add_argument("--count", type=int, default=10_000, help="synthetic datasets")
    parser.add_argument("--rounds", type=int, default=15, help="passes over the query mix")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    timings: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        sqlite = Settings(
            environment=Environment.test,
            data_dir=Path(tmp) / "sqlite",
            secret_key="bench-" + "x" * 40,
        )
        timings += bench("SQLite", sqlite, args.count, args.rounds)
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
                timings += bench("PostgreSQL", pg, args.count, args.rounds)
            finally:
                _pg_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')

    print(f"\n{args.count} datasets, {len(QUERIES)} queries x {args.rounds} rounds, limit 20\n")
    print("| backend, path | queries | p50 ms | p95 ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for timing in timings:
        print(timing.row())


if __name__ == "__main__":
    main()
