"""The testbed's metrics against scikit-learn's, on the same million rows, in the same run.

Generates a seeded test set (text ids, binary labels, regression values) and three submissions
in shuffled row order (predicted labels, probabilities rounded to three decimals so AUROC meets
many ties, regression values), then times each metric three ways: through
``scoring.score_predictions`` (parsing, matching a million ids, scoring), the bare metric on
aligned arrays, and scikit-learn's function on the same arrays.  Best of ``--repeat`` runs.

Then the whole submission, as a participant waits for it: a fresh hub (SQLite, local files)
with the test set published as a hidden dataset and a task on it; a predictions CSV of the same
rows is submitted through ``testbed.actions.submit_predictions`` (kept, read, matched, scored on
the public and the private part, stored and audited), beside the same work done by hand with
PyArrow and scikit-learn (read the CSV, join it to the labels on the id, the metric).

    python benchmarks/testbed.py                 # 1,000,000 rows
    python benchmarks/testbed.py --rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sklearn import metrics as sk

from bitgoeul.accounts import actions as accounts
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.catalog import actions as catalog
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade
from bitgoeul.db.base import utcnow
from bitgoeul.storage import make_store
from bitgoeul.testbed import actions as testbed
from bitgoeul.testbed.schemas import TaskCreate
from bitgoeul.testbed.scoring import METRICS, score_predictions

SKLEARN: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": sk.accuracy_score,
    "macro_f1": lambda t, p: sk.f1_score(t, p, average="macro"),
    "f1": sk.f1_score,
    "auroc": sk.roc_auc_score,
    "rmse": sk.root_mean_squared_error,
    "mae": sk.mean_absolute_error,
    "mape": lambda t, p: 100 * sk.mean_absolute_percentage_error(t, p),
}


def generate(rows: int, seed: int) -> tuple[pa.Table, dict[str, pa.Table]]:
    """The test set, and one submission per metric kind, its rows shuffled."""
    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise("case-", pc.cast(pa.array(np.arange(rows)), pa.string()), "")
    label = rng.integers(0, 2, rows)
    value = rng.uniform(1.0, 100.0, rows)
    probability = np.round(np.clip(0.3 * label + 0.7 * rng.random(rows), 0.0, 1.0), 3)
    truth = pa.table({"id": ids, "label": label, "value": value})
    order = pa.array(rng.permutation(rows))
    predictions = {
        "classification": (probability > 0.5).astype(np.int64),
        "probability": probability,
        "regression": value + rng.normal(0.0, 5.0, rows),
    }
    submissions = {
        kind: pa.table({"id": ids.take(order), "prediction": pa.array(values).take(order)})
        for kind, values in predictions.items()
    }
    return truth, {**submissions, "raw": pa.table(predictions)}


def best_of(repeat: int, run: Callable[[], float]) -> tuple[float, float]:
    """The shortest time of ``repeat`` runs, and the value the last run returned."""
    times = []
    value = math.nan
    for _ in range(repeat):
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument(
        "--no-submission", action="store_true", help="skip the whole-submission table"
    )
    args = parser.parse_args()

    truth, submissions = generate(args.rows, args.seed)
    raw = submissions["raw"]
    print(f"{args.rows:,} rows, best of {args.repeat}\n")
    header = (
        f"{'metric':<10} {'Bitgoeul align+score s':>23} {'Bitgoeul metric s':>18} "
        f"{'scikit-learn s':>15}  {'equal?':<7} value"
    )
    print(header)
    print("-" * len(header))
    for name, metric in METRICS.items():
        label_column = "value" if metric.kind == "regression" else "label"
        y_true = truth[label_column].to_numpy()
        y_pred = raw[metric.kind].to_numpy()
        whole, scored = best_of(
            args.repeat,
            lambda name=name, label_column=label_column, kind=metric.kind: (
                score_predictions(
                    name, submissions[kind], truth, id_column="id", label_column=label_column
                ).value
            ),
        )
        bare, value = best_of(
            args.repeat, lambda metric=metric, t=y_true, p=y_pred: metric.score(t, p)
        )
        theirs, reference = best_of(
            args.repeat, lambda name=name, t=y_true, p=y_pred: float(SKLEARN[name](t, p))
        )
        equal = math.isclose(scored, reference, rel_tol=1e-9) and math.isclose(
            value, reference, rel_tol=1e-9
        )
        print(
            f"{name:<10} {whole:>23.3f} {bare:>18.3f} {theirs:>15.3f}  "
            f"{'yes' if equal else 'NO':<7} {value:.6f}"
        )
    if not args.no_submission:
        submission_table(args.rows, args.repeat, args.seed)


def _hub_with_task(
    folder: Path, truth: pa.Table, label_column: str, metric: str
) -> tuple[Settings, Any, Actor]:
    """A fresh hub holding the test set as a hidden dataset, a task on it and a team."""
    settings = Settings(data_dir=folder / "hub", environment=Environment.test)
    upgrade(settings)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    store = make_store(settings)
    with sessions() as session:
        publisher = accounts.create_organization(
            session, slug="kepco", name="KEPCO", kind=OrganizationKind.agency
        )
        lab = accounts.create_organization(
            session, slug="lab", name="Lab", kind=OrganizationKind.research
        )
        users = {
            role: accounts.create_user(
                session,
                username=f"bench-{role.value}",
                password="a-long-benchmark-password",  # noqa: S106 - a throwaway hub
                role=role,
                organization_id=(publisher if role == Role.steward else lab).id,
                settings=settings,
            )
            for role in (Role.steward, Role.member)
        }
        steward = Actor.for_user(users[Role.steward], via="cli")
        member = Actor.for_user(users[Role.member], via="cli")
        catalog.create_dataset(
            session,
            actor=steward,
            data=DatasetCreate(
                slug="bench-test-set",
                title="Benchmark test set",
                sector=Sector.energy,
                access_level=AccessLevel.open,
                holdout=True,
            ),
        )
        source = folder / "test-set.parquet"
        pq.write_table(truth.select(["id", label_column]), source)
        catalog.publish_version(
            session,
            settings=settings,
            store=store,
            actor=steward,
            slug="bench-test-set",
            source=source,
            filename=source.name,
        )
        now = utcnow()
        testbed.create_task(
            session,
            settings=settings,
            store=store,
            actor=steward,
            data=TaskCreate(
                slug="bench",
                title="Benchmark",
                sector=Sector.energy,
                problem="Timing.",
                metric=metric,
                test_dataset="bench-test-set",
                label_column=label_column,
                daily_limit=1000,
                opens_at=now - timedelta(days=1),
                final_phase_at=now + timedelta(days=1),
                deadline=now + timedelta(days=2),
            ),
        )
        testbed.create_team(session, actor=member, task_slug="bench", name="Bench team")
    return settings, sessions, member


def submission_table(rows: int, repeat: int, seed: int) -> None:
    truth, submissions = generate(rows, seed)
    print(f"\nA whole submission of {rows:,} predictions (CSV), best of {repeat}\n")
    header = (
        f"{'metric':<8} {'Bitgoeul 1st s':>15} {'Bitgoeul next s':>16} "
        f"{'PyArrow+sklearn s':>18}  {'CSV MB':>7}"
    )
    print(header)
    print("-" * len(header))
    for metric, label_column, kind in (
        ("rmse", "value", "regression"),
        ("auroc", "label", "probability"),
    ):
        with tempfile.TemporaryDirectory() as name:
            first, later, reference, size = _time_submission(
                Path(name), truth, submissions[kind], metric, label_column, repeat
            )
        print(f"{metric:<8} {first:>15.3f} {later:>16.3f} {reference:>18.3f}  {size:>7.1f}")


def _time_submission(
    folder: Path,
    truth: pa.Table,
    predictions: pa.Table,
    metric: str,
    label_column: str,
    repeat: int,
) -> tuple[float, float, float, float]:
    settings, sessions, member = _hub_with_task(folder, truth, label_column, metric)
    upload = folder / "predictions.csv"
    pacsv.write_csv(predictions, upload)
    store = make_store(settings)

    def submit() -> float:
        with sessions() as session:
            done = testbed.submit_predictions(
                session,
                settings=settings,
                store=store,
                actor=member,
                task_slug="bench",
                upload=upload,
                filename=upload.name,
            )
            return float(done.public_score or math.nan)

    def by_hand() -> float:
        predicted = pacsv.read_csv(
            upload, convert_options=pacsv.ConvertOptions(column_types={"id": pa.string()})
        )
        joined = truth.select(["id", label_column]).join(predicted, "id")
        return float(
            SKLEARN[metric](joined[label_column].to_numpy(), joined["prediction"].to_numpy())
        )

    first, _ = best_of(1, submit)  # hashes every id for the public/private split
    later, _ = best_of(repeat, submit)  # the split is kept on the hub's disk
    reference, _ = best_of(repeat, by_hand)
    return first, later, reference, upload.stat().st_size / 1e6


if __name__ == "__main__":
    main()
