"""The query gateway against raw DuckDB, on the same Parquet, in the same run.

Generates a seeded Parquet file of N meter readings (default 20 million rows) and a small
district table into ``./.bench``, registers both as open datasets (created through the catalog
action; the versions point at the generated files, skipping a 20-million-row re-ingest), starts
the app under uvicorn on 127.0.0.1 and runs group-by, join and window queries through the full
gateway (HTTP, bearer token, the door's decision and audit, parse + allowlist + rewrite +
round trip, the SHA-256 integrity check of each file, a new connection on the locked engine per
query, history) and through a plain DuckDB connection with the same threads and memory limit.
Then the median added latency of small queries, and queries per second with 20 concurrent
clients.

    python benchmarks/gateway.py                 # 20,000,000 rows
    python benchmarks/gateway.py --rows 2000000 --repeat 3
"""

from __future__ import annotations

import argparse
import secrets
import socket
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import uvicorn
from sqlalchemy.orm import Session

from bitgoeul.accounts.actions import create_api_token, create_user
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role
from bitgoeul.app import create_app
from bitgoeul.catalog.actions import create_dataset
from bitgoeul.catalog.models import AccessLevel, DatasetVersion, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.engine.locked import Limits
from bitgoeul.storage.integrity import file_sha256

BENCH_DIR = Path(".bench")
READINGS = "bench-meter-readings"
DISTRICTS = "bench-districts"

LARGE = {
    "group-by": 'SELECT district, hour, count(*) AS n, avg(kwh) AS kwh FROM "{r}" '
    "GROUP BY district, hour ORDER BY district, hour",
    "join": 'SELECT d.region, count(*) AS n, sum(r.kwh) AS kwh FROM "{r}" r '
    'JOIN "{d}" d ON r.district = d.district GROUP BY d.region ORDER BY d.region',
    "window": "SELECT district, hour, total, rank() OVER (PARTITION BY district ORDER BY "
    'total DESC) AS place FROM (SELECT district, hour, sum(kwh) AS total FROM "{r}" '
    "GROUP BY district, hour) ORDER BY district, place",
}
SMALL = 'SELECT region, count(*) AS n FROM "{d}" GROUP BY region ORDER BY region'


def generate(rows: int) -> tuple[Path, Path]:
    BENCH_DIR.mkdir(exist_ok=True)
    readings = BENCH_DIR / f"readings-{rows}.parquet"
    districts = BENCH_DIR / "districts.parquet"
    conn = duckdb.connect()
    if not readings.exists():
        # hash(i) is deterministic: the same file every run.
        conn.execute(
            f"COPY (SELECT i AS household_id, 'D' || (hash(i) % 25)::VARCHAR AS district, "
            f"(i % 24)::INTEGER AS hour, ((hash(i * 7) % 100000) / 100.0)::DOUBLE AS kwh "
            f"FROM range({rows}) t(i)) TO '{readings}' (FORMAT parquet)"
        )
    conn.execute(
        "COPY (SELECT 'D' || i::VARCHAR AS district, 'R' || (i % 5)::VARCHAR AS region "
        f"FROM range(25) t(i)) TO '{districts}' (FORMAT parquet)"
    )
    conn.close()
    return readings, districts


def register(settings: Settings, app_state: object, readings: Path, districts: Path) -> str:
    """The two datasets, and a researcher's bearer token: queries are measured as a signed-in
    user's, so token lookup and the query-history row are part of every gateway call."""
    sessionmaker = app_state.sessionmaker  # type: ignore[attr-defined]
    store = app_state.store  # type: ignore[attr-defined]
    with sessionmaker() as session:
        session: Session
        org = Organization(slug="bench", name="Bench", kind=OrganizationKind.agency)
        session.add(org)
        session.flush()
        steward = Actor(user_id=None, username="bench", role=Role.operator, organization_id=None)
        for slug, path in ((READINGS, readings), (DISTRICTS, districts)):
            dataset = create_dataset(
                session,
                actor=steward,
                data=DatasetCreate(
                    title=slug,
                    sector=Sector.energy,
                    access_level=AccessLevel.open,
                    publisher="bench",
                ),
            )
            key = f"bench/{path.name}"
            store.put_file(key, path)
            with duckdb.connect() as conn:
                count = conn.execute(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
                columns = conn.execute(f"DESCRIBE SELECT * FROM '{path}'").fetchall()
            session.add(
                DatasetVersion(
                    dataset_id=dataset.id,
                    number=1,
                    source_filename=path.name,
                    source_format="parquet",
                    source_sha256="0" * 64,
                    source_bytes=path.stat().st_size,
                    object_key=key,
                    # The real digest: every door verifies the file against it.
                    parquet_sha256=file_sha256(path),
                    parquet_bytes=path.stat().st_size,
                    row_count=int(count),
                    table_schema={
                        "fields": [
                            {"name": c[0], "type": "string", "classification": "other"}
                            for c in columns
                        ]
                    },
                )
            )
        session.commit()
        user = create_user(
            session,
            username="bench-researcher",
            password=secrets.token_urlsafe(16),  # never used: the benchmark sends a token
            role=Role.member,
            organization_id=org.id,
            settings=settings,
        )
        _token, plaintext = create_api_token(
            session, actor=Actor.for_user(user, via="cli"), name="bench"
        )
        return plaintext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def paired(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median seconds of each, run alternately (the order flips every round), so drift in
    the machine's speed falls on both alike."""
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
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--small-repeat", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=25)
    args = parser.parse_args()

    started = time.perf_counter()
    readings, districts = generate(args.rows)
    print(f"data: {args.rows:,} rows in {readings} ({time.perf_counter() - started:.1f} s)")
    data_dir = BENCH_DIR / f"data-{time.time_ns()}"
    settings = Settings(data_dir=data_dir)
    app = create_app(settings)
    token = register(settings, app.state, readings.resolve(), districts.resolve())
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    limits = Limits()
    raw = duckdb.connect(config={"threads": limits.threads, "memory_limit": limits.memory_limit})
    r_path = str(app.state.store.local_path(f"bench/{readings.name}"))
    d_path = str(app.state.store.local_path(f"bench/{districts.name}"))

    def raw_sql(template: str) -> str:
        return template.replace('"{r}"', f"read_parquet('{r_path}')").replace(
            '"{d}"', f"read_parquet('{d_path}')"
        )

    def gateway_sql(template: str) -> str:
        return template.replace("{r}", READINGS).replace("{d}", DISTRICTS)

    base = f"http://127.0.0.1:{port}/api/v1/query"
    with httpx.Client(timeout=600, headers=auth) as client:

        def via_gateway(template: str) -> Callable[[], object]:
            def call() -> object:
                response = client.post(base, json={"sql": gateway_sql(template)})
                response.raise_for_status()
                return response.json()

            return call

        def via_raw(template: str) -> Callable[[], object]:
            return lambda: raw.execute(raw_sql(template)).fetchall()

        print(f"\n{'query':<10} {'raw DuckDB s':>13} {'gateway s':>10} {'ratio':>6}")
        for name, template in LARGE.items():
            gateway_rows = via_gateway(template)()["rows"]  # type: ignore[index]
            assert len(gateway_rows) == len(via_raw(template)())  # type: ignore[arg-type]
            raw_s, gate_s = paired(via_raw(template), via_gateway(template), args.repeat)
            print(f"{name:<10} {raw_s:>13.3f} {gate_s:>10.3f} {gate_s / raw_s:>6.2f}")

        raw_small, gate_small = paired(via_raw(SMALL), via_gateway(SMALL), args.small_repeat)
        print(
            f"\nsmall query median: raw {raw_small * 1000:.2f} ms, gateway "
            f"{gate_small * 1000:.2f} ms, added {(gate_small - raw_small) * 1000:.2f} ms"
        )

    def client_loop(_: int) -> int:
        with httpx.Client(timeout=120, headers=auth) as own:
            for _ in range(args.per_client):
                own.post(base, json={"sql": gateway_sql(SMALL)}).raise_for_status()
        return args.per_client

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        done = sum(pool.map(client_loop, range(args.clients)))
    elapsed = time.perf_counter() - started
    print(f"{args.clients} concurrent clients: {done} small queries, {done / elapsed:.1f} q/s")
    server.should_exit = True
    thread.join(timeout=10)


if __name__ == "__main__":
    main()
