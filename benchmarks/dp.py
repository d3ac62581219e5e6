"""The DP door: quote latency, and a release against the same aggregate in raw DuckDB.

Generates a seeded Parquet file of N hospital visits (default 10 million rows: a patient id,
about three visits per patient, one of five districts, one of ten age bands, a cost) into
``./.bench``, registers it as a secure dataset (the version points at the generated file, as
``benchmarks/gateway.py`` does), approves a DP profile (the patient as the privacy unit, at most
four rows per person; districts and age bands as public keys; cost bounded to [0, 500 000]) and
an ε budget, then measures, in process:

* a quote: the door's decision and audit entry, the plan, OpenDP's scale and accuracy for each
  measurement, the signed token (each quote asks for a different ε, so OpenDP's binary search
  for the scale runs every time; nothing is cached);
* a release of count and sum(cost) per district and age band: the door, the budget
  reservation under lock, the integrity check of the file, the bounded aggregate on the locked
  engine, OpenDP's noise, the debit and its audit entries.  The first release on a version
  counts the most rows any person has (once per version); when that is within the profile's
  limit (``--max-rows``, default 20: the generated patients have at most 16 visits) releases
  read the version's file as it is; otherwise (``--max-rows 4``) that first release also
  writes the bounded copy (at most m rows per person, by a per-person window, once) and
  later releases read the copy;
* the same count and sum per district and age band on a plain DuckDB connection with the same
  threads and memory limit, without contribution bounding (what an analyst would type).

With ``--threshold-keys`` the age band is a key released with a threshold (no public key set,
δ 1e-7 per release): the count is OpenDP's threshold measurement over the bands in the data.

    python benchmarks/dp.py                  # 10,000,000 rows
    python benchmarks/dp.py --rows 1000000 --repeat 3
    python benchmarks/dp.py --threshold-keys
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import duckdb

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, OrganizationKind, Role
from bitgoeul.app import create_app
from bitgoeul.catalog.actions import create_dataset
from bitgoeul.catalog.models import AccessLevel, DatasetVersion, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.dp import actions
from bitgoeul.dp.actions import RELEASE_LIMITS
from bitgoeul.dp.schemas import DpRequest, MeasureBounds, ProfileIn
from bitgoeul.storage.integrity import file_sha256

BENCH_DIR = Path(".bench")
SLUG = "bench-hospital-visits"
DISTRICTS = ["Dong-gu", "Seo-gu", "Nam-gu", "Buk-gu", "Gwangsan-gu"]
AGE_BANDS = [f"{10 * i}-{10 * i + 9}" for i in range(10)]


def generate(rows: int) -> Path:
    BENCH_DIR.mkdir(exist_ok=True)
    path = BENCH_DIR / f"visits-{rows}.parquet"
    if not path.exists():
        districts = "['" + "', '".join(DISTRICTS) + "']"
        bands = "['" + "', '".join(AGE_BANDS) + "']"
        with duckdb.connect() as conn:
            # hash() is deterministic: the same file every run.
            conn.execute(
                f"COPY (SELECT 'P' || (hash(i) % {max(rows // 3, 1)})::VARCHAR AS patient_id, "
                f"{districts}[1 + (hash(i * 3) % 5)::INTEGER] AS district, "
                f"{bands}[1 + (hash(i * 5) % 10)::INTEGER] AS age_band, "
                f"((hash(i * 7) % 50000000) / 100.0)::DOUBLE AS cost "
                f"FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)"
            )
    return path


def register(app_state: object, path: Path, max_rows: int, threshold_keys: bool = False) -> Actor:
    """The secure dataset, its DP profile and budget; the steward who releases."""
    sessionmaker = app_state.sessionmaker  # type: ignore[attr-defined]
    store = app_state.store  # type: ignore[attr-defined]
    with sessionmaker() as session:
        org = Organization(slug="bench", name="Bench", kind=OrganizationKind.agency)
        session.add(org)
        session.flush()
        operator = Actor(user_id=None, username="bench", role=Role.operator, organization_id=None)
        dataset = create_dataset(
            session,
            actor=operator,
            data=DatasetCreate(
                title=SLUG,
                sector=Sector.healthcare,
                access_level=AccessLevel.secure,
                publisher="bench",
            ),
        )
        key = f"bench/{path.name}"
        store.put_file(key, path)
        with duckdb.connect() as conn:
            count = conn.execute(f"SELECT count(*) FROM '{path}'").fetchall()[0][0]
        classes = {"patient_id": "direct_identifier", "cost": "sensitive"}
        session.add(
            DatasetVersion(
                dataset_id=dataset.id,
                number=1,
                source_filename=path.name,
                source_format="parquet",
                source_sha256="0" * 64,
                source_bytes=path.stat().st_size,
                object_key=key,
                parquet_sha256=file_sha256(path),
                parquet_bytes=path.stat().st_size,
                row_count=int(count),
                table_schema={
                    "fields": [
                        {"name": name, "type": "string", "classification": classes.get(name)}
                        for name in ("patient_id", "district", "age_band", "cost")
                    ]
                },
            )
        )
        session.commit()
        actions.set_profile(
            session,
            actor=operator,
            slug=SLUG,
            profile=ProfileIn(
                person_column="patient_id",
                max_rows_per_person=max_rows,
                keys=(
                    {"district": list(DISTRICTS)}
                    if threshold_keys
                    else {"district": list(DISTRICTS), "age_band": list(AGE_BANDS)}
                ),
                measures={"cost": MeasureBounds(lower=0, upper=500_000)},
                threshold_keys=["age_band"] if threshold_keys else [],
                delta=1e-7 if threshold_keys else None,
            ),
        )
        actions.set_budget(
            session, actor=operator, slug=SLUG, project_id=None, epsilon=1e6, delta=0.01
        )
        return operator


def request(epsilon: float) -> DpRequest:
    return DpRequest(
        dataset=SLUG,
        group_by=["district", "age_band"],
        measures=[{"kind": "count"}, {"kind": "sum", "column": "cost"}],  # type: ignore[list-item]
        epsilon=epsilon,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quotes", type=int, default=50)
    parser.add_argument("--max-rows", type=int, default=20)
    parser.add_argument(
        "--threshold-keys",
        action="store_true",
        help="release the age bands with a threshold instead of from a public key set",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    path = generate(args.rows)
    print(f"data: {args.rows:,} rows in {path} ({time.perf_counter() - started:.1f} s)")
    settings = Settings(data_dir=BENCH_DIR / f"data-{time.time_ns()}")
    app = create_app(settings)
    actor = register(app.state, path.resolve(), args.max_rows, args.threshold_keys)
    sessionmaker = app.state.sessionmaker
    store = app.state.store

    quote_times: list[float] = []
    with sessionmaker() as session:
        for i in range(args.quotes):
            began = time.perf_counter()
            actions.quote(session, settings=settings, actor=actor, request=request(0.5 + i / 1e4))
            quote_times.append(time.perf_counter() - began)

    raw = duckdb.connect(
        config={"threads": RELEASE_LIMITS.threads, "memory_limit": RELEASE_LIMITS.memory_limit}
    )
    raw_sql = (
        f"SELECT district, age_band, count(*), sum(cost) FROM read_parquet('{path.resolve()}') "
        "GROUP BY district, age_band"
    )
    release_times: list[float] = []
    raw_times: list[float] = []
    with sessionmaker() as session:
        token = actions.quote(session, settings=settings, actor=actor, request=request(0.9)).token
        began = time.perf_counter()
        actions.release(session, settings=settings, store=store, actor=actor, token=token)
        first = time.perf_counter() - began
        for i in range(args.repeat):
            token = actions.quote(
                session, settings=settings, actor=actor, request=request(1.0 + i / 1e4)
            ).token
            order = ("dp", "raw") if i % 2 == 0 else ("raw", "dp")
            for which in order:
                began = time.perf_counter()
                if which == "dp":
                    actions.release(
                        session, settings=settings, store=store, actor=actor, token=token
                    )
                    release_times.append(time.perf_counter() - began)
                else:
                    raw.execute(raw_sql).fetchall()
                    raw_times.append(time.perf_counter() - began)

    quote_ms = sorted(t * 1000 for t in quote_times)
    release = statistics.median(release_times)
    plain = statistics.median(raw_times)
    best, best_plain = min(release_times), min(raw_times)
    print(f"{'measure':<52}{'median':>12}")
    print(f"{'quote (p50)':<52}{quote_ms[len(quote_ms) // 2]:>9.1f} ms")
    print(f"{'quote (p95)':<52}{quote_ms[int(len(quote_ms) * 0.95) - 1]:>9.1f} ms")
    print(f"{'first release on the version (counts rows/person)':<52}{first * 1000:>9.0f} ms")
    print(f"{'release: count + sum by district x age band':<52}{release * 1000:>9.0f} ms")
    print(f"{'raw DuckDB: the same aggregate, unbounded':<52}{plain * 1000:>9.0f} ms")
    print(f"{'release / raw DuckDB':<52}{release / plain:>11.2f}x")
    # On a shared machine the medians carry other people's load; the fastest of each is the
    # steadier comparison.
    print(f"{'release, fastest':<52}{best * 1000:>9.0f} ms")
    print(f"{'raw DuckDB, fastest':<52}{best_plain * 1000:>9.0f} ms")
    print(f"{'fastest release / fastest raw DuckDB':<52}{best / best_plain:>11.2f}x")


if __name__ == "__main__":
    main()
