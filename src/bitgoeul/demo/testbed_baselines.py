"""The baselines of the demo testbed's tasks: small models that really run, for the first
leaderboard row of each task in ``testbed_data``.

``baseline_predictions(task_slug, training, test_inputs)`` fits the task's baseline on the
training table and predicts every test row; the testbed service scores the result against the
hidden labels like any participant's submission.  It sees the test set's inputs only, never its
labels (it refuses a table that has them), so a baseline's score is what an honest participant
would get.  Plain numpy on Arrow tables, no scikit-learn: the package does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bitgoeul.demo.testbed_data import (
    DEMO_TASK_BY_SLUG,
    ELECTRICITY,
    FLOW,
    ID_COLUMN,
    READMISSION,
    WELLBEING,
)
from bitgoeul.errors import ValidationFailed

Matrix = npt.NDArray[np.float64]

BASELINE_DESCRIPTIONS: dict[str, str] = {
    ELECTRICITY: "Ordinary least squares on the previous day's, last week's same weekday's and "
    "the last seven days' mean use, with a weekend term.",
    READMISSION: "Logistic regression (Newton's method, light L2 penalty) on every column, "
    "standardised, with text columns one-hot encoded.",
    WELLBEING: "Flags a household when one or two usage features pass thresholds chosen to "
    "maximise F1 on the training set.",
    FLOW: "Ordinary least squares on the same hour's population the day before and a week "
    "before, fitted separately for weekdays and weekends.",
}


def _column(table: pa.Table, name: str) -> Matrix:
    return np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)


def _columns(table: pa.Table, names: list[str]) -> Matrix:
    return np.column_stack([_column(table, name) for name in names])


def _least_squares(x: Matrix, y: Matrix) -> Matrix:
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    return np.asarray(coefficients, dtype=np.float64)


# --- Electricity: OLS on the lags ----------------------------------------------------------------


def _electricity_design(table: pa.Table) -> Matrix:
    lags = _columns(
        table, ["kwh_previous_day", "kwh_same_weekday_last_week", "kwh_mean_last_7_days"]
    )
    weekend = _column(table, "is_weekend")
    return np.column_stack([np.ones(len(weekend)), lags, weekend, weekend * lags[:, 2]])


def _electricity(training: pa.Table, test: pa.Table) -> Matrix:
    coefficients = _least_squares(_electricity_design(training), _column(training, "kwh"))
    predicted = _electricity_design(test) @ coefficients
    # Every household draws at least its standby load; a non-positive forecast is never right.
    return np.maximum(predicted, 0.5)


# --- Readmission: logistic regression -----------------------------------------------------------


def _encoded(training: pa.Table, test: pa.Table, label: str) -> tuple[Matrix, Matrix]:
    """Both tables as numbers: numeric columns as they are, text one-hot on training's values."""
    train_parts: list[Matrix] = []
    test_parts: list[Matrix] = []
    for name in training.column_names:
        if name in (ID_COLUMN, label):
            continue
        kind = training.schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            train_values = np.asarray(training[name].to_pylist(), dtype=object)
            test_values = np.asarray(test[name].to_pylist(), dtype=object)
            # One level is left out as the reference, as usual for a model with an intercept.
            for level in sorted(set(train_values.tolist()))[1:]:
                train_parts.append((train_values == level).astype(np.float64)[:, None])
                test_parts.append((test_values == level).astype(np.float64)[:, None])
        else:
            train_parts.append(_column(training, name)[:, None])
            test_parts.append(_column(test, name)[:, None])
    x_train, x_test = np.hstack(train_parts), np.hstack(test_parts)
    mean, spread = x_train.mean(axis=0), x_train.std(axis=0)
    spread[spread == 0] = 1.0
    return (x_train - mean) / spread, (x_test - mean) / spread


def _logistic_fit(x: Matrix, y: Matrix, penalty: float = 1.0, steps: int = 30) -> Matrix:
    """Weights (intercept first) by Newton's method on the L2-penalised log-likelihood."""
    design = np.column_stack([np.ones(len(x)), x])
    weights = np.zeros(design.shape[1])
    ridge = penalty * np.eye(design.shape[1])
    ridge[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(design @ weights)))
        gradient = design.T @ (p - y) + ridge @ weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return weights


def _readmission(training: pa.Table, test: pa.Table) -> Matrix:
    label = "readmitted_30d"
    x_train, x_test = _encoded(training, test, label)
    weights = _logistic_fit(x_train, _column(training, label))
    return np.asarray(1 / (1 + np.exp(-(weights[0] + x_test @ weights[1:]))), dtype=np.float64)


# --- Wellbeing: thresholds chosen for F1 ----------------------------------------------------------

_WELLBEING_FEATURES = [
    "mean_daily_kwh",
    "night_day_ratio",
    "longest_standby_hours",
    "flat_hour_share",
    "morning_start_hour",
    "peak_to_mean",
]


def _f1(flags: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    true_positives = float(np.sum(flags & truth))
    flagged, positives = float(np.sum(flags)), float(np.sum(truth))
    if true_positives == 0:
        return 0.0
    return 2 * true_positives / (flagged + positives)


Rule = tuple[int, float, float]  # feature index, direction (+1: above, -1: below), threshold


def _passes(x: Matrix, rule: Rule) -> npt.NDArray[np.bool_]:
    feature, direction, threshold = rule
    return np.asarray(direction * (x[:, feature] - threshold) >= 0, dtype=np.bool_)


def _candidate_rules(x: Matrix) -> list[Rule]:
    rules: list[Rule] = []
    for feature in range(x.shape[1]):
        # Thresholds at the training values' quantiles: enough to find the best, few enough to
        # try every pair.
        cuts = np.unique(np.quantile(x[:, feature], np.linspace(0.02, 0.98, 49)))
        rules.extend((feature, direction, float(cut)) for direction in (1.0, -1.0) for cut in cuts)
    return rules


def _wellbeing(training: pa.Table, test: pa.Table) -> Matrix:
    x_train = _columns(training, _WELLBEING_FEATURES)
    truth = _column(training, "at_risk") == 1
    rules = _candidate_rules(x_train)
    passes = [_passes(x_train, rule) for rule in rules]
    best_score, best = -1.0, [rules[0]]
    for i, first in enumerate(passes):
        score = _f1(first, truth)
        if score > best_score:
            best_score, best = score, [rules[i]]
    # A second rule only when it helps: both must hold (a household low *and* flat, say).
    single = best[0]
    single_passes = _passes(x_train, single)
    for j, second in enumerate(passes):
        score = _f1(single_passes & second, truth)
        if score > best_score + 1e-9:
            best_score, best = score, [single, rules[j]]
    x_test = _columns(test, _WELLBEING_FEATURES)
    flags = np.ones(len(x_test), dtype=np.bool_)
    for rule in best:
        flags &= _passes(x_test, rule)
    return flags.astype(np.float64)


# --- Population flow: OLS on the lags, by day type ----------------------------------------------


def _flow(training: pa.Table, test: pa.Table) -> Matrix:
    def design(table: pa.Table) -> Matrix:
        lags = _columns(table, ["population_previous_day", "population_previous_week"])
        return np.column_stack([np.ones(len(lags)), lags])

    x_train, y_train = design(training), _column(training, "population")
    x_test = design(test)
    # A Monday looks like last Monday, not like Sunday: weekdays and weekends get their own fit,
    # and so does the first weekday after a weekend.
    predicted = np.zeros(len(x_test))
    for group in ("monday", "weekday", "weekend"):
        in_train = _day_group(training) == group
        in_test = _day_group(test) == group
        if not in_test.any():
            continue
        if in_train.sum() < x_train.shape[1]:
            in_train = np.ones(len(x_train), dtype=np.bool_)
        coefficients = _least_squares(x_train[in_train], y_train[in_train])
        predicted[in_test] = x_test[in_test] @ coefficients
    return np.maximum(predicted, 0.0)


def _day_group(table: pa.Table) -> npt.NDArray[np.str_]:
    day = _column(table, "day_of_week")
    return np.where(day == 0, "monday", np.where(day >= 5, "weekend", "weekday"))


# --- Entry point ---------------------------------------------------------------------------------

_BASELINES: dict[str, Callable[[pa.Table, pa.Table], Matrix]] = {
    ELECTRICITY: _electricity,
    READMISSION: _readmission,
    WELLBEING: _wellbeing,
    FLOW: _flow,
}


def baseline_predictions(task_slug: str, training: pa.Table, test_inputs: pa.Table) -> pa.Table:
    """Fit the task's baseline on the training table and predict every test row.

    Returns a table with the columns ``id`` and ``prediction``.  ``test_inputs`` holds the
    test set's columns without the label column; a table that has it is refused, so the
    baseline can never be scored on what it has seen.
    """
    if task_slug not in _BASELINES:
        raise ValidationFailed(
            f"There is no demo baseline for the task {task_slug!r}; the demo tasks are "
            f"{', '.join(sorted(_BASELINES))}."
        )
    task = DEMO_TASK_BY_SLUG[task_slug]
    if task.label_column in test_inputs.column_names:
        raise ValidationFailed(
            f"The test inputs of {task_slug!r} hold the label column {task.label_column!r}; "
            "a baseline must not see the test labels. Drop that column before predicting."
        )
    missing = [
        name
        for name in training.column_names
        if name != task.label_column and name not in test_inputs.column_names
    ]
    if task.label_column not in training.column_names or missing:
        raise ValidationFailed(
            f"The tables do not fit the task {task_slug!r}: the training table needs the label "
            f"column {task.label_column!r}, and the test inputs every other training column "
            f"(missing: {', '.join(missing) or 'none'})."
        )
    predictions = _BASELINES[task_slug](training, test_inputs)
    # Labels to F1 are 0 and 1, so its predictions are too (scores for AUROC stay numbers).
    values = pa.array(predictions.astype(np.int64) if task.metric == "f1" else predictions)
    return pa.table({ID_COLUMN: test_inputs[ID_COLUMN], "prediction": values})
