"""The demo testbed's tasks: their training and hidden test sets, and the baselines that run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Through the module: pytest would collect a bare ``testbed_tables`` as a test.
from bitgoeul.demo import generate_population, testbed_data
from bitgoeul.demo.population import Population
from bitgoeul.demo.source_files import Table
from bitgoeul.demo.testbed_baselines import BASELINE_DESCRIPTIONS, baseline_predictions
from bitgoeul.demo.testbed_data import (
    DEMO_TASKS,
    DemoTask,
    holdout_create_request,
    write_testbed_files,
)
from bitgoeul.errors import ValidationFailed
from bitgoeul.testbed.scoring import METRICS, score_predictions

SMALL = 300
SEED = 7
DEFAULT_PEOPLE = 2000
DEFAULT_SEED = 20260101
TASK_IDS = [task.slug for task in DEMO_TASKS]


@pytest.fixture(scope="module")
def small_city() -> Population:
    return generate_population(SMALL, SEED)


@pytest.fixture(scope="module")
def tables(small_city: Population) -> dict[str, Table]:
    return testbed_data.testbed_tables(small_city, SEED)


@pytest.fixture(scope="module")
def default_tables() -> dict[str, Table]:
    return testbed_data.testbed_tables(
        generate_population(DEFAULT_PEOPLE, DEFAULT_SEED), DEFAULT_SEED
    )


def _score(task: DemoTask, tables: dict[str, Table], predictions: pa.Table) -> float:
    truth = pa.table(tables[task.test.slug])
    return score_predictions(
        task.metric,
        predictions,
        truth,
        id_column=task.id_column,
        label_column=task.label_column,
    ).value


def _baseline_score(task: DemoTask, tables: dict[str, Table]) -> float:
    test = pa.table(tables[task.test.slug]).drop_columns([task.label_column])
    predictions = baseline_predictions(task.slug, pa.table(tables[task.training.slug]), test)
    return _score(task, tables, predictions)


def _constant(task: DemoTask, tables: dict[str, Table], value: float) -> pa.Table:
    ids = tables[task.test.slug][task.id_column]
    return pa.table({task.id_column: ids, "prediction": [value] * len(ids)})


def _training_mean(task: DemoTask, tables: dict[str, Table]) -> float:
    return float(np.mean(tables[task.training.slug][task.label_column]))


def test_every_task_has_a_known_metric_a_baseline_and_matching_dataset_slugs() -> None:
    for task in DEMO_TASKS:
        assert task.metric in METRICS
        assert task.slug in BASELINE_DESCRIPTIONS
        assert task.training.slug == f"{task.slug}-train"
        assert task.test.slug == f"{task.slug}-test"
        assert task.training.publisher == task.test.publisher == task.publisher
        assert not task.training.column_classes
        assert not task.test.column_classes


def test_the_test_set_is_requested_as_a_holdout_and_the_training_set_is_not() -> None:
    for task in DEMO_TASKS:
        assert holdout_create_request(task.test).holdout is True
        assert task.training.create_request().holdout is False


@pytest.mark.parametrize("slug", TASK_IDS)
def test_training_and_test_sets_share_their_columns_id_first_label_last(
    slug: str, tables: dict[str, Table]
) -> None:
    task = next(t for t in DEMO_TASKS if t.slug == slug)
    training, test = tables[task.training.slug], tables[task.test.slug]
    assert list(training) == list(test)
    assert next(iter(training)) == "id"
    assert list(training)[-1] == task.label_column
    for table in (training, test):
        for values in table.values():
            assert {type(v) for v in values} <= {str, int, float}


@pytest.mark.parametrize("slug", TASK_IDS)
def test_ids_are_unique_text_and_never_in_both_sets(slug: str, tables: dict[str, Table]) -> None:
    task = next(t for t in DEMO_TASKS if t.slug == slug)
    training = tables[task.training.slug]["id"]
    test = tables[task.test.slug]["id"]
    assert all(isinstance(i, str) for i in training + test)
    assert len(set(training)) == len(training)
    assert len(set(test)) == len(test)
    assert not set(training) & set(test)
    assert test, "every task has a test set"


def test_electricity_labels_are_positive_so_mape_can_score_them(tables: dict[str, Table]) -> None:
    task = DEMO_TASKS[0]
    for table in (tables[task.training.slug], tables[task.test.slug]):
        assert min(table["kwh"]) > 0
    METRICS["mape"].check_test_set(np.asarray(tables[task.test.slug]["kwh"]))


def test_each_household_has_one_test_day_so_no_feature_shows_another_test_label(
    tables: dict[str, Table],
) -> None:
    test = tables["next-day-household-electricity-test"]
    assert len(set(test["household"])) == len(test["household"])


@pytest.mark.parametrize("slug", ["hospital-readmission-30d", "wellbeing-risk-living-alone"])
def test_binary_labels_are_0_and_1_with_both_classes_in_both_sets(
    slug: str, tables: dict[str, Table]
) -> None:
    task = next(t for t in DEMO_TASKS if t.slug == slug)
    for table in (tables[task.training.slug], tables[task.test.slug]):
        assert set(table[task.label_column]) == {0, 1}


def test_the_same_seed_gives_the_same_tables_and_another_seed_others(
    small_city: Population, tables: dict[str, Table]
) -> None:
    assert testbed_data.testbed_tables(small_city, SEED) == tables
    other = testbed_data.testbed_tables(generate_population(SMALL, SEED + 1), SEED + 1)
    for slug, table in tables.items():
        assert other[slug] != table, slug


def test_the_files_are_written_as_parquet_named_after_the_specs(
    small_city: Population, tables: dict[str, Table], tmp_path: Path
) -> None:
    paths = write_testbed_files(small_city, tmp_path, SEED)
    for task in DEMO_TASKS:
        for spec in (task.training, task.test):
            assert paths[spec.slug].name == spec.filename
            assert pq.read_table(paths[spec.slug]).to_pydict() == tables[spec.slug]


def test_a_baseline_refuses_test_inputs_that_hold_the_label(tables: dict[str, Table]) -> None:
    task = DEMO_TASKS[0]
    with pytest.raises(ValidationFailed, match="label column 'kwh'"):
        baseline_predictions(
            task.slug, pa.table(tables[task.training.slug]), pa.table(tables[task.test.slug])
        )


def test_a_baseline_predicts_every_test_row_once(tables: dict[str, Table]) -> None:
    for task in DEMO_TASKS:
        test = pa.table(tables[task.test.slug]).drop_columns([task.label_column])
        predictions = baseline_predictions(task.slug, pa.table(tables[task.training.slug]), test)
        assert predictions.column_names == ["id", "prediction"]
        assert predictions["id"].to_pylist() == tables[task.test.slug]["id"]


# In the small city the regression baselines already beat the training mean by far; its test
# sets of a few dozen discharges and households are too small for a stable AUROC or F1, which
# are checked on the default city below.


@pytest.mark.parametrize("slug", ["next-day-household-electricity", "hourly-population-flow"])
def test_regression_baselines_beat_the_training_mean_in_a_small_city(
    slug: str, tables: dict[str, Table]
) -> None:
    task = next(t for t in DEMO_TASKS if t.slug == slug)
    trivial = _score(task, tables, _constant(task, tables, _training_mean(task, tables)))
    assert _baseline_score(task, tables) < 0.5 * trivial


def test_baselines_score_in_sensible_ranges_in_the_default_city(
    default_tables: dict[str, Table],
) -> None:
    by_slug = {task.slug: task for task in DEMO_TASKS}
    scores = {task.slug: _baseline_score(task, default_tables) for task in DEMO_TASKS}
    print(scores)  # shown with -s: the numbers the docs' leaderboard quotes

    electricity = by_slug["next-day-household-electricity"]
    mean_kwh = _training_mean(electricity, default_tables)
    assert scores[electricity.slug] < 25
    assert scores[electricity.slug] < 0.5 * _score(
        electricity, default_tables, _constant(electricity, default_tables, mean_kwh)
    )

    assert 0.62 < scores["hospital-readmission-30d"] < 0.9

    wellbeing = by_slug["wellbeing-risk-living-alone"]
    everyone = _score(wellbeing, default_tables, _constant(wellbeing, default_tables, 1))
    assert scores[wellbeing.slug] > everyone + 0.1

    flow = by_slug["hourly-population-flow"]
    mean_people = _training_mean(flow, default_tables)
    assert scores[flow.slug] < 0.5 * _score(
        flow, default_tables, _constant(flow, default_tables, mean_people)
    )
