"""The testbed's metrics against scikit-learn's, on the same million rows, in the same run.

Generates a seeded test set (text ids, binary labels, regression values) and three submissions
in shuffled row order (predicted labels, probabilities rounded to three decimals so AUROC meets
many ties, regression values), then times each metric three ways: through
``scoring.score_predictions`` (parsing, matching a million ids, scoring), the bare metric on
aligned arrays, and scikit-learn's function on the same arrays.  Best of ``--repeat`` runs.

    python benchmarks/testbed.py                 # 1,000,000 rows
    python benchmarks/testbed.py --rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn import metrics as sk

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


if __name__ == "__main__":
    main()
