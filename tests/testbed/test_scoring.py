"""The testbed's scoring library: metrics against scikit-learn, reading and matching submissions.

Each metric is checked against scikit-learn's function on random arrays (Hypothesis), then the
edges: a test set a metric cannot score, submission files that cannot be read, submissions that
do not match the test set, and, throughout, that no error ever shows a label.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from bitgoeul.errors import ValidationFailed
from bitgoeul.testbed.scoring import (
    METRICS,
    align,
    auroc,
    binary_f1,
    read_predictions,
    score_parts,
    score_predictions,
    split_public_private,
)

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SIZES = st.integers(1, 300)


def _close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-12)


def _paired(values: st.SearchStrategy[Any], *, min_size: int = 1) -> Any:
    """Two arrays of one random length."""
    return st.integers(min_size, 300).flatmap(
        lambda n: st.tuples(
            st.lists(values, min_size=n, max_size=n), st.lists(values, min_size=n, max_size=n)
        )
    )


REAL = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
NONZERO = st.builds(
    lambda sign, size: sign * size, st.sampled_from([-1.0, 1.0]), st.floats(1e-3, 1e4)
)


# --- Each metric equals scikit-learn's ----------------------------------------------------------


@PROPERTY
@given(_paired(st.integers(0, 4)))
def test_accuracy_equals_scikit_learn(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    assert _close(METRICS["accuracy"].score(y_true, y_pred), sk.accuracy_score(y_true, y_pred))


@PROPERTY
@given(_paired(st.integers(0, 5)))
def test_macro_f1_equals_scikit_learn_on_many_classes(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    expected = sk.f1_score(y_true, y_pred, average="macro")
    assert _close(METRICS["macro_f1"].score(y_true, y_pred), expected)


@PROPERTY
@given(_paired(st.sampled_from(["버스", "bike", "walk"])))
def test_macro_f1_equals_scikit_learn_on_text_labels(pair: tuple[list[str], list[str]]) -> None:
    y_true, y_pred = np.array(pair[0], dtype=object), np.array(pair[1], dtype=object)
    expected = sk.f1_score(y_true, y_pred, average="macro")
    assert _close(METRICS["macro_f1"].score(y_true, y_pred), expected)


@PROPERTY
@given(_paired(st.integers(0, 1)))
def test_f1_equals_scikit_learn_including_no_positives(pair: tuple[list[int], list[int]]) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    expected = sk.f1_score(y_true, y_pred, zero_division=0.0)
    assert _close(METRICS["f1"].score(y_true, y_pred), expected)


def test_f1_scores_the_positive_label_it_is_given() -> None:
    y_true = np.array(["yes", "no", "yes", "yes", "no"], dtype=object)
    y_pred = np.array(["yes", "yes", "no", "yes", "no"], dtype=object)
    expected = sk.f1_score(y_true, y_pred, pos_label="no")
    assert _close(binary_f1("no").score(y_true, y_pred), expected)


def test_f1_refuses_a_positive_label_of_another_type() -> None:
    with pytest.raises(ValidationFailed, match="positive label 1 is a number but"):
        METRICS["f1"].score(np.array(["yes", "no"], dtype=object), np.array(["no", "no"]))


def _binary_with_both_classes(n: int) -> st.SearchStrategy[list[int]]:
    """Random 0/1 labels with at least one of each, somewhere."""
    return st.lists(st.integers(0, 1), min_size=n - 2, max_size=n - 2).flatmap(
        lambda labels: st.permutations([*labels, 0, 1])
    )


@PROPERTY
@given(
    st.integers(2, 300).flatmap(
        lambda n: st.tuples(
            _binary_with_both_classes(n),
            # Few distinct scores, so most examples have ties within and across classes.
            st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0]), min_size=n, max_size=n),
        )
    )
)
def test_auroc_equals_scikit_learn_with_tied_scores(pair: tuple[list[int], list[float]]) -> None:
    y_true, y_score = np.array(pair[0]), np.array(pair[1])
    assert _close(METRICS["auroc"].score(y_true, y_score), sk.roc_auc_score(y_true, y_score))


@PROPERTY
@given(
    st.integers(2, 300).flatmap(
        lambda n: st.tuples(_binary_with_both_classes(n), st.lists(REAL, min_size=n, max_size=n))
    )
)
def test_auroc_equals_scikit_learn_with_any_real_scores(
    pair: tuple[list[int], list[float]],
) -> None:
    y_true, y_score = np.array(pair[0]), np.array(pair[1])
    assert _close(METRICS["auroc"].score(y_true, y_score), sk.roc_auc_score(y_true, y_score))


def test_auroc_with_text_labels_takes_the_given_positive_label() -> None:
    y_true = np.array(["sick", "well", "sick", "well", "well"], dtype=object)
    y_score = np.array([0.9, 0.2, 0.4, 0.4, 0.1])
    expected = sk.roc_auc_score(y_true == "sick", y_score)
    assert _close(auroc("sick").score(y_true, y_score), expected)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("rmse", sk.root_mean_squared_error),
        ("mae", sk.mean_absolute_error),
        ("mape", lambda t, p: 100 * sk.mean_absolute_percentage_error(t, p)),
    ],
)
@PROPERTY
@given(pair=_paired(NONZERO))
def test_regression_metrics_equal_scikit_learn(
    name: str, reference: Callable[[Any, Any], float], pair: tuple[list[float], list[float]]
) -> None:
    y_true, y_pred = np.array(pair[0]), np.array(pair[1])
    assert math.isclose(
        METRICS[name].score(y_true, y_pred), reference(y_true, y_pred), rel_tol=1e-9
    )


def test_every_metric_is_registered_under_its_own_name() -> None:
    assert set(METRICS) == {"accuracy", "macro_f1", "f1", "auroc", "rmse", "mae", "mape"}
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.kind in ("classification", "probability", "regression")
        assert metric.higher_is_better == (metric.kind != "regression")


# --- Test sets a metric cannot score -------------------------------------------------------------


def test_auroc_refuses_a_test_set_of_one_class() -> None:
    with pytest.raises(ValidationFailed, match="only one class"):
        METRICS["auroc"].score(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))


def test_auroc_refuses_a_test_set_of_three_classes() -> None:
    with pytest.raises(ValidationFailed, match="more than two"):
        METRICS["auroc"].check_test_set(np.array([0, 1, 2]))


def test_mape_refuses_a_test_set_with_a_zero_actual_without_saying_which() -> None:
    with pytest.raises(ValidationFailed, match="actual value of zero") as caught:
        METRICS["mape"].score(np.array([12.5, 0.0, 3.0]), np.array([12.0, 1.0, 3.0]))
    assert "12.5" not in caught.value.message
    assert "3.0" not in caught.value.message


def test_a_metric_refuses_nan_predictions_and_arrays_of_different_lengths() -> None:
    with pytest.raises(ValidationFailed, match="not finite"):
        METRICS["rmse"].score(np.array([1.0, 2.0]), np.array([1.0, np.nan]))
    with pytest.raises(ValidationFailed, match="2 predictions for 3 test-set rows"):
        METRICS["accuracy"].score(np.array([1, 0, 1]), np.array([1, 0]))
    with pytest.raises(ValidationFailed, match="no rows"):
        METRICS["mae"].score(np.array([]), np.array([]))


# --- Reading a submission -------------------------------------------------------------------------


def _write(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


def test_a_csv_submission_keeps_ids_as_text_and_parses_probabilities(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", "\ufeffid,note,prediction\n007,a,0.25\n8,b, 1e-1\n".encode())
    table = read_predictions(path, id_column="id", max_rows=10, kind="probability")
    assert table.column_names == ["id", "prediction"]
    assert table["id"].to_pylist() == ["007", "8"]
    assert table["prediction"].to_pylist() == [0.25, 0.1]


def test_a_parquet_submission_is_recognised_by_its_content(tmp_path: Path) -> None:
    path = tmp_path / "named-like-a.csv"
    pq.write_table(pa.table({"id": [1, 2], "prediction": [0.5, 0.75]}), path)
    table = read_predictions(path, id_column="id", max_rows=10, kind="probability")
    assert table["id"].to_pylist() == ["1", "2"]
    assert table["prediction"].to_pylist() == [0.5, 0.75]


def test_a_missing_column_is_named_with_the_columns_found(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", b"row_id,score\n1,0.5\n")
    with pytest.raises(ValidationFailed) as caught:
        read_predictions(path, id_column="id", max_rows=10)
    assert caught.value.message.startswith("sub.csv: there is no column 'id'")
    assert "'row_id', 'score'" in caught.value.message


def test_an_unparseable_prediction_names_its_row_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", b"id,prediction\n1,0.5\n2,0.7\n3,high\n")
    with pytest.raises(ValidationFailed) as caught:
        read_predictions(path, id_column="id", max_rows=10, kind="probability")
    assert caught.value.message == (
        "sub.csv: row 3 of column 'prediction' holds 'high', which is not a number."
    )
    assert caught.value.detail["row"] == 3


def test_a_nan_or_empty_prediction_names_its_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", b"id,prediction\n1,0.5\n2,NaN\n")
    with pytest.raises(ValidationFailed, match=r"row 2 of column 'prediction'.*finite"):
        read_predictions(path, id_column="id", max_rows=10, kind="regression")
    path = _write(tmp_path, "sub.csv", b"id,prediction\n1,0.5\n2,\n")
    with pytest.raises(ValidationFailed, match="the first is row 2"):
        read_predictions(path, id_column="id", max_rows=10)


def test_a_row_with_extra_fields_names_its_row_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", b"id,prediction\n1,0.5\n2,0,5\n")
    with pytest.raises(
        ValidationFailed, match=r"row 2 \(line 3\) has 3 fields but the header has 2"
    ):
        read_predictions(path, id_column="id", max_rows=10)


def test_too_many_rows_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", b"id,prediction\n1,0\n2,1\n3,0\n")
    with pytest.raises(ValidationFailed, match="more than 2 rows"):
        read_predictions(path, id_column="id", max_rows=2)


def test_an_empty_file_and_a_header_alone_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="the file is empty"):
        read_predictions(_write(tmp_path, "a.csv", b""), id_column="id", max_rows=2)
    with pytest.raises(ValidationFailed, match="no prediction rows"):
        read_predictions(_write(tmp_path, "b.csv", b"id,prediction\n"), id_column="id", max_rows=2)


def test_a_cp949_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = _write(tmp_path, "sub.csv", "id,prediction\n1,0.5\n2,고양이\n".encode("cp949"))
    with pytest.raises(ValidationFailed) as caught:
        read_predictions(path, id_column="id", max_rows=10)
    assert "not UTF-8 text (the first undecodable byte is on line 3)" in caught.value.message
    assert "CP949" in caught.value.message


def test_binary_garbage_is_neither_csv_nor_parquet(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    with pytest.raises(ValidationFailed, match="neither CSV nor Parquet"):
        read_predictions(_write(tmp_path, "sub.csv", png), id_column="id", max_rows=10)
    with pytest.raises(ValidationFailed, match="could not be read as Parquet"):
        read_predictions(_write(tmp_path, "p.parquet", b"PAR1garbage"), id_column="id", max_rows=1)


# --- Matching a submission to the test set --------------------------------------------------------

TRUTH = pa.table(
    {
        "id": ["t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08"],
        "label": [
            "secret-heron",
            "secret-otter",
            "secret-heron",
            "secret-lynx",
            "secret-otter",
            "secret-heron",
            "secret-lynx",
            "secret-otter",
        ],
    }
)
LABELS = set(TRUTH["label"].to_pylist())


def _submission(ids: list[Any], predictions: list[Any] | None = None) -> pa.Table:
    return pa.table({"id": ids, "prediction": predictions or ["guess"] * len(ids)})


def test_align_orders_predictions_by_the_test_sets_ids() -> None:
    truth = pa.table({"id": [3, 1, 2], "label": [30, 10, 20]})
    predictions = pa.table({"id": ["1", "2", "3"], "prediction": [11, 21, 31]})
    y_true, y_pred = align(predictions, truth, id_column="id", label_column="label")
    assert y_true.tolist() == [30, 10, 20]
    assert y_pred.tolist() == [31, 11, 21]


def test_duplicated_ids_are_counted_with_their_rows() -> None:
    ids = ["t01", "t02", "t02", "t03", "t04", "t04", "t04", "t05", "t06", "t07", "t08"]
    with pytest.raises(ValidationFailed) as caught:
        align(_submission(ids), TRUTH, id_column="id", label_column="label")
    assert "2 ids appear on more than one row ('t02' on rows 2, 3; 't04' on rows 5, 6, 7)" in (
        caught.value.message
    )
    assert caught.value.detail["duplicated_ids"]["rows"] == 3


def test_missing_ids_are_counted_with_the_first_few() -> None:
    with pytest.raises(ValidationFailed) as caught:
        align(_submission(["t08"]), TRUTH, id_column="id", label_column="label")
    assert "7 test-set ids have no prediction ('t01', 't02', 't03', 't04', 't05')" in (
        caught.value.message
    )
    assert caught.value.detail["missing_ids"]["count"] == 7


def test_unknown_ids_are_counted_with_their_rows() -> None:
    ids = [*TRUTH["id"].to_pylist(), "x1", "x2"]
    with pytest.raises(ValidationFailed) as caught:
        align(_submission(ids), TRUTH, id_column="id", label_column="label")
    assert "2 rows have ids that are not in the test set ('x1' on row 9; 'x2' on row 10)" in (
        caught.value.message
    )
    assert "no prediction" not in caught.value.message


def _errors_from_bad_submissions() -> list[ValidationFailed]:
    """Every way a submission can fail against TRUTH, each error caught."""
    all_ids = TRUTH["id"].to_pylist()
    attempts: list[Callable[[], object]] = [
        lambda: align(
            _submission(["t01", "t01", "zz"]), TRUTH, id_column="id", label_column="label"
        ),
        lambda: align(_submission(all_ids[:3]), TRUTH, id_column="id", label_column="label"),
        lambda: align(pa.table({"id": all_ids}), TRUTH, id_column="id", label_column="label"),
        lambda: score_predictions(
            "accuracy",
            _submission(all_ids, [None] * 8),
            TRUTH,
            id_column="id",
            label_column="label",
        ),
        lambda: score_predictions(
            "auroc", _submission(all_ids), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            auroc("secret-heron"),
            _submission(all_ids, [0.5] * 8),
            TRUTH,
            id_column="id",
            label_column="label",
        ),
        lambda: score_predictions(
            "rmse", _submission(all_ids, ["1"] * 8), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            "f1", _submission(all_ids), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            "auroc", _submission(all_ids, [0.5] * 8), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            "brier", _submission(all_ids), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            "macro_f1", _submission(all_ids[1:]), TRUTH, id_column="id", label_column="label"
        ),
        lambda: score_predictions(
            auroc("secret-heron"),
            _submission(all_ids, [0.5] * 8),
            pa.table({"id": all_ids, "label": ["secret-heron"] * 8}),
            id_column="id",
            label_column="label",
        ),
        lambda: METRICS["mape"].check_test_set(np.array([7.25, 0.0])),
    ]
    errors = []
    for attempt in attempts:
        with pytest.raises(ValidationFailed) as caught:
            attempt()
        errors.append(caught.value)
    return errors


def test_no_error_message_ever_shows_a_label() -> None:
    errors = _errors_from_bad_submissions()
    assert len(errors) == 13
    for error in errors:
        shown = f"{error.message} {error.detail!r}"
        assert not [label for label in [*LABELS, "7.25"] if label in shown], shown


def test_score_predictions_matches_text_predictions_to_integer_labels() -> None:
    truth = pa.table({"id": [1, 2, 3, 4], "label": [1, 0, 1, 1]})
    predictions = pa.table({"id": ["4", "3", "2", "1"], "prediction": ["1", "0", " 0", "1"]})
    score = score_predictions("f1", predictions, truth, id_column="id", label_column="label")
    assert score.metric == "f1"
    assert score.rows == 4
    assert score.higher_is_better
    assert _close(score.value, sk.f1_score([1, 0, 1, 1], [1, 0, 0, 1]))


def test_score_predictions_names_the_row_of_a_prediction_that_is_not_a_label() -> None:
    truth = pa.table({"id": [1, 2], "label": [1, 0]})
    predictions = pa.table({"id": ["1", "2"], "prediction": ["1", "yes"]})
    with pytest.raises(ValidationFailed, match="row 2 of column 'prediction' holds 'yes'"):
        score_predictions("accuracy", predictions, truth, id_column="id", label_column="label")


# --- Public and private leaderboards --------------------------------------------------------------


def test_the_split_is_the_same_every_time_and_in_any_order() -> None:
    ids = [f"row-{i}" for i in range(2000)]
    mask = split_public_private(ids, seed="bench-7", public_fraction=0.3)
    again = split_public_private(list(reversed(ids)), seed="bench-7", public_fraction=0.3)
    assert mask.tolist() == list(reversed(again.tolist()))
    other = split_public_private(ids, seed="bench-8", public_fraction=0.3)
    assert mask.tolist() != other.tolist()


def test_the_split_gives_about_the_public_fraction() -> None:
    mask = split_public_private(range(20_000), seed="s", public_fraction=0.3)
    assert abs(mask.mean() - 0.3) < 0.02
    assert not split_public_private(["a", "b"], seed="s", public_fraction=0.0).any()
    assert split_public_private(["a", "b"], seed="s", public_fraction=1.0).all()


def test_integer_and_text_ids_split_alike() -> None:
    numbers = split_public_private([1, 2, 3, 40], seed="s", public_fraction=0.5)
    texts = split_public_private(["1", "2", "3", "40"], seed="s", public_fraction=0.5)
    assert numbers.tolist() == texts.tolist()


def test_the_split_refuses_an_empty_seed_or_a_fraction_outside_zero_to_one() -> None:
    with pytest.raises(ValidationFailed, match="needs a seed"):
        split_public_private(["a"], seed="", public_fraction=0.5)
    with pytest.raises(ValidationFailed, match="between 0 and 1"):
        split_public_private(["a"], seed="s", public_fraction=1.5)


# --- Scoring the two parts ------------------------------------------------------------------------


@PROPERTY
@given(
    values=st.lists(st.tuples(REAL, REAL), min_size=2, max_size=200),
    seed=st.text(min_size=1, max_size=12),
    shuffle=st.randoms(use_true_random=False),
)
def test_each_part_scores_exactly_its_own_rows_whatever_the_submission_order(
    values: list[tuple[float, float]], seed: str, shuffle: Any
) -> None:
    ids = [f"r{i}" for i in range(len(values))]
    public = split_public_private(ids, seed=seed, public_fraction=0.5)
    if public.all() or not public.any():
        public = np.array([i % 2 == 0 for i in range(len(ids))])
    truth = pa.table({"id": ids, "y": [v[0] for v in values]})
    order = list(range(len(ids)))
    shuffle.shuffle(order)
    predictions = pa.table(
        {"id": [ids[i] for i in order], "prediction": [values[i][1] for i in order]}
    )
    first, second = score_parts(
        "mae", predictions, truth, public=public, id_column="id", label_column="y"
    )
    y = np.array([v[0] for v in values])
    p = np.array([v[1] for v in values])
    assert _close(first.value, float(sk.mean_absolute_error(y[public], p[public])))
    assert _close(second.value, float(sk.mean_absolute_error(y[~public], p[~public])))
    assert first.rows + second.rows == len(ids)


def test_a_split_that_does_not_fit_the_test_set_is_refused() -> None:
    truth = pa.table({"id": ["a", "b"], "y": [1.0, 2.0]})
    predictions = pa.table({"id": ["a", "b"], "prediction": [1.0, 2.0]})
    with pytest.raises(ValidationFailed, match="does not match the test set"):
        score_parts(
            "mae",
            predictions,
            truth,
            public=np.array([True]),
            id_column="id",
            label_column="y",
        )
