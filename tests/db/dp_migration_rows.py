"""A database holding one row of every DP table (and the dataset they hang on), for the DP
migrations' tests: each upgrades over it and downgrades again without losing a row."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, text

from bitgoeul.config import Settings
from bitgoeul.db import make_engine

TABLES = ("dp_profiles", "dp_budgets", "dp_releases", "dp_person_rows")


def fill(settings: Settings) -> None:
    engine = make_engine(settings)
    now = datetime.now(UTC)
    meta = MetaData()
    names = ("organizations", "datasets", "dataset_versions", *TABLES)
    tables = {name: Table(name, meta, autoload_with=engine) for name in names}
    rows = {
        "organizations": {
            "id": 1, "slug": "hospital", "name": "Hospital", "name_ko": "병원",
            "kind": "agency", "description": "", "website": "", "created_at": now,
        },
        "datasets": {
            "id": 1, "slug": "visits", "title": "Visits", "title_ko": "", "description": "",
            "description_ko": "", "publisher_id": 1, "sector": "healthcare", "keywords": [],
            "licence": "KOGL-1", "access_level": "secure", "spatial": "",
            "update_frequency": "monthly", "contact_name": "", "contact_email": "",
            "min_group_size": 10, "created_at": now, "updated_at": now, "search_title": "",
            "search_document": "", "dominance_n": 2, "dominance_k": 0.85, "holdout": False,
        },
        "dataset_versions": {
            "id": 1, "dataset_id": 1, "number": 1, "source_filename": "v.csv",
            "source_format": "csv", "source_encoding": "utf-8", "source_sha256": "0" * 64,
            "source_bytes": 1, "object_key": "v.parquet", "parquet_sha256": "0" * 64,
            "parquet_bytes": 1, "row_count": 1, "table_schema": {"fields": []}, "profile": {},
            "note": "", "created_at": now,
        },
        "dp_profiles": {
            "id": 1, "dataset_id": 1, "person_column": "patient", "max_rows_per_person": 4,
            "keys": {"district": ["Buk"]}, "measures": {}, "updated_at": now,
        },
        "dp_budgets": {
            "id": 1, "dataset_id": 1, "scope": "dataset", "cap_micro": 5_000_000,
            "spent_micro": 1_000_000, "reserved_micro": 0, "updated_at": now,
        },
        "dp_releases": {
            "id": 1, "request_sha256": "a" * 64, "measurement_sha256": "b" * 64,
            "dataset_id": 1, "version_id": 1, "status": "spent", "cost_micro": 1_000_000,
            "request": {}, "answer": {"columns": [], "rows": []}, "created_at": now,
        },
        "dp_person_rows": {
            "id": 1, "version_id": 1, "person_column": "patient", "view_sha256": "c" * 64,
            "max_rows": 3, "counted_at": now,
        },
    }  # fmt: skip
    with engine.begin() as conn:
        for name, values in rows.items():
            columns = tables[name].columns
            conn.execute(
                tables[name].insert().values({k: v for k, v in values.items() if k in columns})
            )
    engine.dispose()


def counts(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings)
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
            for name in TABLES
        }
    engine.dispose()
    return counts
