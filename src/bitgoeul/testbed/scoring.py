"""Scoring a testbed submission: metrics, reading the predictions, matching them to the test set.

A pure library with no database, like ``ingest``: the testbed's actions read a participant's
uploaded file with :func:`read_predictions`, score it against the benchmark's hidden labels with
:func:`score_predictions`, and put each test-set row on the public or the private leaderboard
with :func:`split_public_private`.

The labels are secret.  No error raised here contains a label value: errors name files, rows,
columns and ids (test-set ids are not secret, and a participant needs them to fix a submission),
and the participant's own values.  Rows are counted from 1, not counting a CSV header.

Metrics are plain numpy on whole arrays, so a million predictions score in a fraction of a
second; each is tested against scikit-learn's function of the same name.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import joined, msg

MetricKind = Literal["classification", "probability", "regression"]
Label = str | int | float | bool
Array = npt.NDArray[Any]

EXAMPLES_SHOWN = 5
ROWS_SHOWN_PER_ID = 4
VALUE_SHOWN_CHARS = 40
CHUNK_BYTES = 1024 * 1024
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"


# --- Metrics -------------------------------------------------------------------------------------


def _any_test_set(y_true: Array) -> None:
    """Most metrics can score any non-empty test set."""


@dataclass(frozen=True)
class Metric:
    """One way to score predictions against a test set's labels.

    ``kind`` says what is compared: predicted labels with labels (``"classification"``), scores
    with two labels (``"probability"``), numbers with numbers (``"regression"``).  ``compute``
    gets arrays already checked by :meth:`score`: same length, not empty, and finite float64
    wherever numbers are compared.  ``check_truth`` refuses a test set the metric cannot score,
    without naming a label.
    """

    name: str
    kind: MetricKind
    higher_is_better: bool
    description: str
    compute: Callable[[Array, Array], float] = field(repr=False, compare=False)
    check_truth: Callable[[Array], None] = field(default=_any_test_set, repr=False, compare=False)

    def check_test_set(self, y_true: Array) -> None:
        """Refuse a test set this metric cannot score; call it when a benchmark is set up."""
        labels = np.asarray(y_true)
        if self.kind == "regression":
            labels = _numbers(labels, self.name, what="The test set's labels")
        self.check_truth(labels)

    def score(self, y_true: Array, y_pred: Array) -> float:
        labels, predictions = _checked_arrays(self, np.asarray(y_true), np.asarray(y_pred))
        self.check_truth(labels)
        return float(self.compute(labels, predictions))


def _fail(message: str, **detail: Any) -> NoReturn:
    raise ValidationFailed(message, detail={"message": message, **detail} if detail else None)


def _numbers(values: Array, metric: str, *, what: str) -> npt.NDArray[np.float64]:
    if values.dtype.kind not in "biuf":
        _fail(msg("{what} must be numbers for {metric}.", what=what, metric=metric))
    numbers = values.astype(np.float64, copy=False)
    finite = np.isfinite(numbers)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        _fail(
            msg(
                "{what} hold {count} values that are not finite numbers (NaN or infinite), the "
                "first at position {position} in test-set order; {metric} needs finite numbers.",
                what=what,
                count=format(bad.size, ","),
                position=int(bad[0]) + 1,
                metric=metric,
            )
        )
    return numbers


def _is_text(values: Array) -> bool:
    return values.dtype.kind in "OUS"


def _checked_arrays(metric: Metric, y_true: Array, y_pred: Array) -> tuple[Array, Array]:
    if y_true.ndim != 1 or y_pred.ndim != 1:
        _fail(
            msg(
                "{metric} scores one prediction per row: pass one-dimensional arrays.",
                metric=metric.name,
            )
        )
    if y_true.size != y_pred.size:
        _fail(
            msg(
                "{metric} got {predictions} predictions for {rows} test-set rows; there must "
                "be one prediction per row.",
                metric=metric.name,
                predictions=format(y_pred.size, ","),
                rows=format(y_true.size, ","),
            )
        )
    if y_true.size == 0:
        _fail(msg("{metric} has no rows to score: the test set is empty.", metric=metric.name))
    if metric.kind == "regression":
        y_true = _numbers(y_true, metric.name, what=msg("The test set's labels"))
    if metric.kind != "classification":
        return y_true, _numbers(y_pred, metric.name, what=msg("The predictions"))
    if _is_text(y_true) != _is_text(y_pred):
        _fail(
            msg(
                "The predictions are {predicted} but this benchmark's labels are {labels}; "
                "{metric} compares them as they are.",
                predicted=_array_kind(y_pred),
                labels=_array_kind(y_true),
                metric=metric.name,
            )
        )
    return y_true, y_pred


def _array_kind(values: Array) -> str:
    return msg("text") if _is_text(values) else msg("numbers")


def _class_codes(y_true: Array, y_pred: Array) -> tuple[Array, Array, int]:
    """Both arrays as small integers, one per distinct label, and how many labels there are."""
    both = np.concatenate([y_true, y_pred])
    if both.dtype == object:
        # A dict is faster than sorting a million Python strings with np.unique.
        index: dict[Any, int] = {}
        codes = np.fromiter(
            (index.setdefault(value, len(index)) for value in both.tolist()),
            dtype=np.intp,
            count=both.size,
        )
        classes = len(index)
    else:
        _, codes = np.unique(both, return_inverse=True)
        classes = int(codes.max()) + 1
    return codes[: y_true.size], codes[y_true.size :], classes


def _accuracy(y_true: Array, y_pred: Array) -> float:
    return float(np.count_nonzero(y_true == y_pred) / y_true.size)


def _macro_f1(y_true: Array, y_pred: Array) -> float:
    """The unweighted mean of each label's F1, over every label in the test set or predictions."""
    true_codes, pred_codes, classes = _class_codes(y_true, y_pred)
    hits = np.bincount(true_codes[true_codes == pred_codes], minlength=classes)
    actual = np.bincount(true_codes, minlength=classes)
    predicted = np.bincount(pred_codes, minlength=classes)
    # Every label appears in one of the arrays, so no denominator is zero.
    return float(np.mean(2 * hits / (actual + predicted)))


def _check_label_type(positive_label: Label, y_true: Array, metric: str) -> None:
    label_is_text = isinstance(positive_label, str)
    if label_is_text != _is_text(y_true):
        kind = msg("text") if label_is_text else msg("a number")
        _fail(
            msg(
                "{metric}'s positive label {label} is {kind} but this benchmark's labels are "
                "{labels}; set the positive label to match.",
                metric=metric,
                label=repr(positive_label),
                kind=kind,
                labels=_array_kind(y_true),
            )
        )


def binary_f1(positive_label: Label = 1) -> Metric:
    """F1 of one label, ``positive_label``; every other label counts as negative.

    No positive rows and no positive predictions scores 0.0, as scikit-learn does.
    """

    def compute(y_true: Array, y_pred: Array) -> float:
        _check_label_type(positive_label, y_true, "f1")
        actual = y_true == positive_label
        predicted = y_pred == positive_label
        hits = np.count_nonzero(actual & predicted)
        total = np.count_nonzero(actual) + np.count_nonzero(predicted)
        return 2 * hits / total if total else 0.0

    return Metric(
        name="f1",
        kind="classification",
        higher_is_better=True,
        description=msg("F1 score of the positive label {label}.", label=repr(positive_label)),
        compute=compute,
    )


def auroc(positive_label: Label = 1) -> Metric:
    """Area under the ROC curve of a score for ``positive_label`` against the other label.

    Tied scores count half, as in scikit-learn's ``roc_auc_score`` (the trapezoid over distinct
    thresholds, which is the Mann-Whitney U statistic with average ranks).  Scores need only be
    ordered: they need not lie in [0, 1].
    """

    def check_truth(y_true: Array) -> None:
        _check_label_type(positive_label, y_true, "auroc")
        positive = y_true == positive_label
        negatives = y_true[~positive]
        if negatives.size == 0 or negatives.size == y_true.size:
            _fail(
                msg(
                    "auroc needs rows of both classes in the test set, and this test set holds "
                    "only one class (or none with the positive label); choose another metric or "
                    "test set."
                )
            )
        if not (negatives == negatives[0]).all():
            _fail(
                msg(
                    "auroc scores two classes, and this test set holds more than two; choose "
                    "macro_f1 or accuracy for a multi-class benchmark."
                )
            )

    def compute(y_true: Array, y_score: Array) -> float:
        positive = y_true == positive_label
        order = np.argsort(y_score)
        scores = y_score[order]
        starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
        positives = np.add.reduceat(positive[order].astype(np.int64), starts)
        negatives = np.diff(np.r_[starts, scores.size]) - positives
        below = np.cumsum(negatives) - negatives
        # Twice the Mann-Whitney U in integers: exact, and one rounding at the end.
        twice_u = int(np.sum(positives * (2 * below + negatives)))
        total_positive = int(positives.sum())
        total_negative = scores.size - total_positive
        return twice_u / (2 * total_positive * total_negative)

    return Metric(
        name="auroc",
        kind="probability",
        higher_is_better=True,
        description=msg(
            "Area under the ROC curve, the positive label being {label}.",
            label=repr(positive_label),
        ),
        compute=compute,
        check_truth=check_truth,
    )


def _rmse(y_true: Array, y_pred: Array) -> float:
    return float(np.sqrt(np.mean(np.square(y_true - y_pred))))


def _mae(y_true: Array, y_pred: Array) -> float:
    return float(np.mean(np.abs(y_true - y_pred)))


def _refuse_zero_actuals(y_true: Array) -> None:
    # scikit-learn divides by a tiny epsilon instead (scores near 1e17 %), and dropping the rows
    # would quietly change the benchmark: a test set with a zero actual cannot use MAPE.
    if not np.all(y_true):
        _fail(
            msg(
                "mape is undefined for this test set: an actual value of zero has no "
                "percentage error. Choose mae or rmse for this benchmark."
            )
        )


def _mape(y_true: Array, y_pred: Array) -> float:
    return float(100 * np.mean(np.abs((y_true - y_pred) / y_true)))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in [
        Metric(
            name="accuracy",
            kind="classification",
            higher_is_better=True,
            description=msg("Share of rows whose predicted label is the true label."),
            compute=_accuracy,
        ),
        Metric(
            name="macro_f1",
            kind="classification",
            higher_is_better=True,
            description=msg("Unweighted mean of each label's F1 score."),
            compute=_macro_f1,
        ),
        binary_f1(1),
        auroc(1),
        Metric(
            name="rmse",
            kind="regression",
            higher_is_better=False,
            description=msg("Root mean squared error."),
            compute=_rmse,
        ),
        Metric(
            name="mae",
            kind="regression",
            higher_is_better=False,
            description=msg("Mean absolute error."),
            compute=_mae,
        ),
        Metric(
            name="mape",
            kind="regression",
            higher_is_better=False,
            description=msg("Mean absolute percentage error, in percent; refuses zero actuals."),
            compute=_mape,
            check_truth=_refuse_zero_actuals,
        ),
    ]
}


# --- Reading a submission ----------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = str(value.as_py() if isinstance(value, pa.Scalar) else value)
    if len(text) > VALUE_SHOWN_CHARS:
        text = text[:VALUE_SHOWN_CHARS] + "…"
    return repr(text)


def _file_error(
    filename: str,
    message: str,
    *,
    rule: str,
    row: int | None = None,
    column: str | None = None,
) -> ValidationFailed:
    return ValidationFailed(
        msg("{file}: {problem}", file=filename, problem=message),
        detail={"file": filename, "rule": rule, "row": row, "column": column, "message": message},
    )


def read_predictions(
    path: Path,
    *,
    id_column: str,
    prediction_column: str = "prediction",
    max_rows: int,
    kind: MetricKind | None = None,
) -> pa.Table:
    """A submission's ids (as text) and predictions, from a CSV (UTF-8) or Parquet file.

    The format is told by the content, not the name.  Pass the benchmark metric's ``kind`` to
    have numeric predictions parsed here (float64), so a bad value is reported against the
    uploaded file; without it, CSV predictions stay text and :func:`score_predictions` parses
    them.  Other columns are ignored.
    """
    name = path.name
    with path.open("rb") as stream:
        head = stream.read(len(PARQUET_MAGIC))
    if not head:
        raise _file_error(
            name, msg("the file is empty; upload a CSV or Parquet file."), rule="empty"
        )
    if head == PARQUET_MAGIC:
        table = _read_parquet(path, name, [id_column, prediction_column], max_rows)
    else:
        _check_utf8_text(path, name)
        table = _read_csv(path, name, [id_column, prediction_column], max_rows)
    if table.num_rows == 0:
        raise _file_error(
            name,
            msg("the file has a header but no prediction rows; add one row per test-set id."),
            rule="empty",
        )
    ids = _text_ids(table[id_column], name, id_column)
    predictions = table[prediction_column]
    _refuse_missing(predictions, name, prediction_column)
    if kind in ("probability", "regression"):
        predictions = _parsed_numbers(predictions, name, prediction_column)
    return pa.table({id_column: ids, prediction_column: predictions})


def _check_utf8_text(path: Path, name: str) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as stream:
        first = stream.read(CHUNK_BYTES)
        if b"\x00" in first:
            raise _file_error(
                name,
                msg(
                    "the file is neither CSV nor Parquet: it holds binary data. It looks like "
                    "an Excel or ZIP file: save it as 'CSV UTF-8'."
                )
                if first.startswith(ZIP_MAGIC)
                else msg(
                    "the file is neither CSV nor Parquet: it holds binary data. Save it as "
                    "'CSV UTF-8' or Parquet."
                ),
                rule="format",
            )
        chunk = first
        while chunk:
            final = len(chunk) < CHUNK_BYTES
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as error:
                line = lines_before + chunk.count(b"\n", 0, max(error.start, 0)) + 1
                raise _not_utf8(name, first, line) from None
            lines_before += chunk.count(b"\n")
            chunk = stream.read(CHUNK_BYTES)


def _not_utf8(name: str, sample: bytes, line: int) -> ValidationFailed:
    try:
        codecs.getincrementaldecoder("cp949")().decode(sample, final=len(sample) < CHUNK_BYTES)
    except UnicodeDecodeError:
        return _file_error(
            name,
            msg(
                "the file is not UTF-8 text (the first undecodable byte is on line {line}). "
                "Save it as 'CSV UTF-8' or Parquet and upload it again.",
                line=line,
            ),
            rule="encoding",
        )
    return _file_error(
        name,
        msg(
            "the file is not UTF-8 text (the first undecodable byte is on line {line}). It "
            "looks like CP949/EUC-KR, which Excel's plain 'CSV' format uses for Korean. Save "
            "it as 'CSV UTF-8' or Parquet and upload it again.",
            line=line,
        ),
        rule="encoding",
    )


def _read_csv(path: Path, name: str, columns: list[str], max_rows: int) -> pa.Table:
    with path.open(encoding="utf-8-sig", newline="") as text:
        header = next(csv.reader(text), [])
    if not any(cell.strip() for cell in header):
        raise _file_error(
            name, msg("the file is empty; the first line must name the columns."), rule="empty"
        )
    _require_header(header, columns, name)
    options = pacsv.ConvertOptions(
        include_columns=columns, column_types=dict.fromkeys(columns, pa.string())
    )
    batches = []
    rows = 0
    try:
        with pacsv.open_csv(path, convert_options=options) as reader:
            for batch in reader:
                rows += batch.num_rows
                _refuse_too_many(rows, max_rows, name)
                batches.append(batch)
            schema = reader.schema
    except pa.ArrowInvalid as error:
        raise _csv_parse_error(path, name, len(header), error) from None
    return pa.Table.from_batches(batches, schema=schema)


def _require_header(names: list[str], columns: list[str], name: str) -> None:
    found = ", ".join(repr(column) for column in names) or msg("none")
    for column in columns:
        count = names.count(column)
        if count == 0:
            raise _file_error(
                name,
                msg(
                    "there is no column {column}; the columns found are {found}. Name the "
                    "columns {wanted} in the first line.",
                    column=repr(column),
                    found=found,
                    wanted=", ".join(repr(c) for c in columns),
                ),
                rule="missing_column",
                column=column,
            )
        if count > 1:
            raise _file_error(
                name,
                msg(
                    "the column {column} appears {count} times in the header; keep one.",
                    column=repr(column),
                    count=count,
                ),
                rule="duplicate_column",
                column=column,
            )


def _refuse_too_many(rows: int, max_rows: int, name: str) -> None:
    if rows > max_rows:
        raise _file_error(
            name,
            msg(
                "the file has more than {rows} rows, the most this benchmark accepts (one per "
                "test-set id).",
                rows=format(max_rows, ","),
            ),
            rule="too_many_rows",
        )


def _csv_parse_error(path: Path, name: str, width: int, error: Exception) -> ValidationFailed:
    """Arrow's CSV errors carry no row number, so find the first row of another width."""
    with path.open(encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        next(reader, None)
        row = 0
        for cells in reader:
            if not cells:
                continue  # Arrow skips blank lines too.
            row += 1
            if len(cells) != width:
                return _file_error(
                    name,
                    msg(
                        "row {row} (line {line}) has {fields} fields but the header has "
                        "{width}; quote values that contain commas.",
                        row=row,
                        line=reader.line_num,
                        fields=len(cells),
                        width=width,
                    ),
                    rule="parse",
                    row=row,
                )
    return _file_error(
        name,
        msg(
            "the file could not be read as CSV ({problem}); save it as 'CSV UTF-8' and upload "
            "it again.",
            problem=str(error),
        ),
        rule="parse",
    )


def _read_parquet(path: Path, name: str, columns: list[str], max_rows: int) -> pa.Table:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError):
        raise _file_error(
            name,
            msg("the file starts like Parquet but could not be read as Parquet; write it again."),
            rule="format",
        ) from None
    _require_header(parquet.schema_arrow.names, columns, name)
    _refuse_too_many(parquet.metadata.num_rows, max_rows, name)
    try:
        table = parquet.read(columns=columns)
    except (pa.ArrowException, OSError) as error:
        raise _file_error(
            name,
            msg(
                "the Parquet file could not be read ({problem}); write it again.",
                problem=str(error),
            ),
            rule="format",
        ) from None
    return _decoded(table)


def _decoded(table: pa.Table) -> pa.Table:
    """Dictionary-encoded (categorical) columns as plain values."""
    for index, column in enumerate(table.columns):
        if pa.types.is_dictionary(column.type):
            plain = column.cast(column.type.value_type)
            table = table.set_column(index, table.field(index).name, plain)
    return table


def _text_ids(ids: Any, where: str, column: str) -> pa.Array:
    if not (
        pa.types.is_string(ids.type)
        or pa.types.is_large_string(ids.type)
        or pa.types.is_integer(ids.type)
    ):
        raise _file_error(
            where,
            msg(
                "the id column {column} holds {type}; ids must be text or integers.",
                column=repr(column),
                type=str(ids.type),
            ),
            rule="type",
            column=column,
        )
    text = pc.cast(ids, pa.string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    _refuse_missing(text, where, column)
    return text


def _refuse_missing(values: Any, where: str, column: str) -> None:
    missing = pc.is_null(values)
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        missing = pc.or_(missing, pc.equal(pc.utf8_length(values), 0))
    rows = np.flatnonzero(missing.to_numpy(zero_copy_only=False))
    if rows.size:
        raise _file_error(
            where,
            (
                msg(
                    "{count} row has no value in column {column}, the first is row {row}; "
                    "every row needs one.",
                    count=format(rows.size, ","),
                    column=repr(column),
                    row=int(rows[0]) + 1,
                )
                if rows.size == 1
                else msg(
                    "{count} rows have no value in column {column}, the first is row {row}; "
                    "every row needs one.",
                    count=format(rows.size, ","),
                    column=repr(column),
                    row=int(rows[0]) + 1,
                )
            ),
            rule="missing_value",
            row=int(rows[0]) + 1,
            column=column,
        )


def _parsed_numbers(values: Any, where: str, column: str) -> pa.ChunkedArray:
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        values = pc.utf8_trim_whitespace(values)
    elif not (
        pa.types.is_integer(values.type)
        or pa.types.is_floating(values.type)
        or pa.types.is_decimal(values.type)
    ):
        raise _file_error(
            where,
            msg(
                "the column {column} holds {type}; it must hold numbers.",
                column=repr(column),
                type=str(values.type),
            ),
            rule="type",
            column=column,
        )
    numbers = _cast_or_fail(values, pa.float64(), where, column, wanted=msg("a number"))
    finite = pc.is_finite(numbers).to_numpy(zero_copy_only=False)
    if not finite.all():
        row = int(np.argmin(finite)) + 1
        raise _file_error(
            where,
            msg(
                "row {row} of column {column} holds {value}; predictions must be finite "
                "numbers (not NaN or infinite).",
                row=row,
                column=repr(column),
                value=_shown(numbers[row - 1]),
            ),
            rule="not_finite",
            row=row,
            column=column,
        )
    return numbers


def _cast_or_fail(values: Any, to: Any, where: str, column: str, *, wanted: str) -> Any:
    try:
        return pc.cast(values, to)
    except pa.ArrowInvalid:
        # Halve the range that holds a failure: about twice the work of one cast.
        low, high = 0, len(values)
        while high - low > 1:
            middle = (low + high) // 2
            try:
                pc.cast(values[low:middle], to)
            except pa.ArrowInvalid:
                high = middle
            else:
                low = middle
        row = low + 1
        raise _file_error(
            where,
            msg(
                "row {row} of column {column} holds {value}, which is not {wanted}.",
                row=row,
                column=repr(column),
                value=_shown(values[low]),
                wanted=wanted,
            ),
            rule="parse",
            row=row,
            column=column,
        ) from None


# --- Matching a submission to the test set -----------------------------------------------------


def _ids_shown(ids: Any, rows: npt.NDArray[np.intp]) -> str:
    return ", ".join(_shown(ids[int(row)]) for row in rows[:EXAMPLES_SHOWN])


def _rows_shown(rows: Sequence[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:ROWS_SHOWN_PER_ID])
    return shown + (", …" if len(rows) > ROWS_SHOWN_PER_ID else "")


def _require_table_columns(table: pa.Table, columns: list[str], what: str) -> None:
    for column in columns:
        if column not in table.column_names:
            found = ", ".join(repr(name) for name in table.column_names) or msg("none")
            _fail(
                msg(
                    "{what} have no column {column}; the columns found are {found}.",
                    what=what,
                    column=repr(column),
                    found=found,
                ),
                column=column,
            )


def _id_codes(predicted_ids: pa.Array, test_ids: pa.Array) -> tuple[Array, Array, int]:
    """Both tables' ids as integers, equal where the ids are, from one pass of one hash table."""
    both = pa.concat_arrays([predicted_ids, test_ids]).dictionary_encode()
    codes = both.indices.to_numpy()
    return codes[: len(predicted_ids)], codes[len(predicted_ids) :], len(both.dictionary)


def _duplicates(ids: pa.Array, codes: Array, distinct: int) -> dict[str, Any] | None:
    """Ids on more than one row, with their rows, in the order they first appear."""
    rows = np.arange(codes.size)
    first = np.full(distinct, codes.size)
    first[codes[::-1]] = rows[::-1]  # Of repeated indices the last assignment wins.
    first_of_row = first[codes]
    repeated = np.flatnonzero(first_of_row != rows)
    if repeated.size == 0:
        return None
    firsts = np.unique(first_of_row[repeated])
    examples = []
    for row in firsts[:EXAMPLES_SHOWN]:
        later = repeated[first_of_row[repeated] == row] + 1
        examples.append({"id": ids[int(row)].as_py(), "rows": [int(row) + 1, *later.tolist()]})
    return {"count": int(firsts.size), "rows": int(repeated.size), "examples": examples}


def align(
    predictions: pa.Table,
    truth: pa.Table,
    *,
    id_column: str,
    label_column: str,
    prediction_column: str = "prediction",
) -> tuple[Array, Array]:
    """The test set's labels and the matching predictions, both in the test set's id order.

    Refuses a submission unless it holds exactly one row per test-set id, listing every kind of
    mismatch at once with counts and the first few ids (and their rows in the submission).
    Ids are compared as text, so ``7`` in one table matches ``"7"`` in the other.
    """
    _require_table_columns(predictions, [id_column, prediction_column], msg("The predictions"))
    _require_table_columns(truth, [id_column, label_column], msg("The test set's labels"))
    predicted_ids = _text_ids(predictions[id_column], msg("The predictions"), id_column)
    test_ids = _text_ids(truth[id_column], msg("The test set"), id_column)
    predicted, tested, distinct = _id_codes(predicted_ids, test_ids)
    test_duplicates = _duplicates(test_ids, tested, distinct)
    if test_duplicates:
        _fail(
            msg(
                "The test set has {count} ids on more than one row; the benchmark's organizer "
                "must fix its test set.",
                count=format(test_duplicates["count"], ","),
            ),
            duplicated_ids=test_duplicates,
        )
    problems: list[str] = []
    detail: dict[str, Any] = {}
    duplicates = _duplicates(predicted_ids, predicted, distinct)
    if duplicates:
        shown = joined(
            [
                msg(
                    "{id} on rows {rows}",
                    id=_shown(example["id"]),
                    rows=_rows_shown(example["rows"]),
                )
                for example in duplicates["examples"]
            ]
        )
        problems.append(
            msg("{count} id appears on more than one row ({shown})", count=1, shown=shown)
            if duplicates["count"] == 1
            else msg(
                "{count} ids appear on more than one row ({shown})",
                count=format(duplicates["count"], ","),
                shown=shown,
            )
        )
        detail["duplicated_ids"] = duplicates
    in_test_set = np.zeros(distinct, dtype=np.bool_)
    in_test_set[tested] = True
    unknown = np.flatnonzero(~in_test_set[predicted])
    if unknown.size:
        shown = joined(
            [
                msg("{id} on row {row}", id=_shown(predicted_ids[int(row)]), row=int(row) + 1)
                for row in unknown[:EXAMPLES_SHOWN]
            ]
        )
        problems.append(
            msg("{count} row has an id that is not in the test set ({shown})", count=1, shown=shown)
            if unknown.size == 1
            else msg(
                "{count} rows have ids that are not in the test set ({shown})",
                count=format(unknown.size, ","),
                shown=shown,
            )
        )
        detail["unknown_ids"] = {
            "count": int(unknown.size),
            "examples": [
                {"id": predicted_ids[int(row)].as_py(), "row": int(row) + 1}
                for row in unknown[:EXAMPLES_SHOWN]
            ],
        }
    row_of = np.full(distinct, -1)
    row_of[predicted] = np.arange(predicted.size)
    positions = row_of[tested]
    missing = np.flatnonzero(positions < 0)
    if missing.size:
        problems.append(
            msg(
                "{count} test-set id has no prediction ({shown})",
                count=1,
                shown=_ids_shown(test_ids, missing),
            )
            if missing.size == 1
            else msg(
                "{count} test-set ids have no prediction ({shown})",
                count=format(missing.size, ","),
                shown=_ids_shown(test_ids, missing),
            )
        )
        detail["missing_ids"] = {
            "count": int(missing.size),
            "examples": [test_ids[int(row)].as_py() for row in missing[:EXAMPLES_SHOWN]],
        }
    if problems:
        _fail(
            msg(
                "The predictions do not match the test set: {problems}. Submit exactly one row "
                "for each test-set id.",
                problems=joined(problems),
            ),
            **detail,
        )
    labels = truth[label_column]
    if labels.null_count:
        _fail(
            msg(
                "The test set has {count} rows without a label; the benchmark's organizer "
                "must fix its test set.",
                count=format(labels.null_count, ","),
            )
        )
    matched = predictions[prediction_column].take(positions)
    return _as_numpy(labels), _as_numpy(matched)


def _as_numpy(values: Any) -> Array:
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return np.asarray(values.to_numpy(zero_copy_only=False))


# --- Scoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    metric: str
    value: float
    rows: int
    higher_is_better: bool


def metric_named(metric: str | Metric) -> Metric:
    if isinstance(metric, Metric):
        return metric
    if metric not in METRICS:
        _fail(
            msg(
                "There is no metric '{metric}'; choose one of {metrics}.",
                metric=metric,
                metrics=", ".join(sorted(METRICS)),
            )
        )
    return METRICS[metric]


def _describe(data_type: Any) -> str:
    if pa.types.is_boolean(data_type):
        return msg("true or false")
    if pa.types.is_integer(data_type):
        return msg("an integer")
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return msg("a number")
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return msg("text")
    return str(data_type)


def _typed_predictions(
    metric: Metric, predictions: pa.Table, truth: pa.Table, label_column: str, column: str
) -> tuple[pa.Table, pa.Table]:
    """Predictions parsed to what the metric compares with the labels, errors by row."""
    where = msg("The predictions")
    predictions = _decoded(predictions)
    truth = _decoded(truth)
    values = predictions[column]
    _refuse_missing(values, where, column)
    if metric.kind == "classification":
        label_type = truth.schema.field(label_column).type
        if values.type == label_type:
            return predictions, truth
        if pa.types.is_string(values.type) and not pa.types.is_string(label_type):
            values = pc.utf8_trim_whitespace(values)
        typed = _cast_or_fail(
            values,
            label_type,
            where,
            column,
            wanted=msg("{kind}, as the labels are", kind=_describe(label_type)),
        )
        index = predictions.schema.get_field_index(column)
        return predictions.set_column(index, column, typed), truth
    typed = _parsed_numbers(values, where, column)
    if metric.kind == "regression":
        labels = truth[label_column]
        if not (pa.types.is_integer(labels.type) or pa.types.is_floating(labels.type)):
            _fail(
                msg(
                    "The test set's labels must be numbers for {metric}; choose a "
                    "classification metric for this benchmark.",
                    metric=metric.name,
                )
            )
        truth = truth.set_column(
            truth.schema.get_field_index(label_column), label_column, labels.cast(pa.float64())
        )
    index = predictions.schema.get_field_index(column)
    return predictions.set_column(index, column, typed), truth


def _aligned(
    chosen: Metric,
    predictions: pa.Table,
    truth: pa.Table,
    *,
    id_column: str,
    label_column: str,
    prediction_column: str,
) -> tuple[Array, Array]:
    _require_table_columns(predictions, [id_column, prediction_column], msg("The predictions"))
    _require_table_columns(truth, [id_column, label_column], msg("The test set's labels"))
    predictions, truth = _typed_predictions(
        chosen, predictions, truth, label_column, prediction_column
    )
    return align(
        predictions,
        truth,
        id_column=id_column,
        label_column=label_column,
        prediction_column=prediction_column,
    )


def score_predictions(
    metric: str | Metric,
    predictions: pa.Table,
    truth: pa.Table,
    *,
    id_column: str,
    label_column: str,
    prediction_column: str = "prediction",
) -> Score:
    """Score a submission against the test set's labels with a metric of :data:`METRICS`."""
    chosen = metric_named(metric)
    y_true, y_pred = _aligned(
        chosen,
        predictions,
        truth,
        id_column=id_column,
        label_column=label_column,
        prediction_column=prediction_column,
    )
    return Score(
        metric=chosen.name,
        value=chosen.score(y_true, y_pred),
        rows=int(y_true.size),
        higher_is_better=chosen.higher_is_better,
    )


def score_parts(
    metric: str | Metric,
    predictions: pa.Table,
    truth: pa.Table,
    *,
    public: npt.NDArray[np.bool_],
    id_column: str,
    label_column: str,
    prediction_column: str = "prediction",
) -> tuple[Score, Score]:
    """A submission's scores on the public and the private part of the test set.

    ``public`` marks, in the test set's row order, the rows of the public part (see
    :func:`split_public_private`).  The submission must still cover every test-set id: which
    part an id belongs to is never revealed by an error.
    """
    chosen = metric_named(metric)
    if public.shape != (truth.num_rows,):
        _fail(msg("The public/private split does not match the test set; set the task up again."))
    y_true, y_pred = _aligned(
        chosen,
        predictions,
        truth,
        id_column=id_column,
        label_column=label_column,
        prediction_column=prediction_column,
    )
    scores = []
    for part in (public, ~public):
        scores.append(
            Score(
                metric=chosen.name,
                value=chosen.score(y_true[part], y_pred[part]),
                rows=int(part.sum()),
                higher_is_better=chosen.higher_is_better,
            )
        )
    return scores[0], scores[1]


# --- Public and private leaderboards -----------------------------------------------------------


def split_public_private(
    ids: Sequence[str | int], *, seed: str, public_fraction: float
) -> npt.NDArray[np.bool_]:
    """Which test-set rows score the public leaderboard (``True``); the rest score the private one.

    Each id's place comes from sha256 of the benchmark's secret seed and the id (as text, so
    ``7`` and ``"7"`` agree), not from its position: the same test set always splits the same
    way, whatever the order of its rows, and a participant can neither choose nor predict it.
    """
    if not seed:
        _fail(msg("The split needs a seed: set the benchmark's secret split seed."))
    if not 0.0 <= public_fraction <= 1.0:
        _fail(
            msg(
                "The public fraction must lie between 0 and 1, not {fraction}.",
                fraction=public_fraction,
            )
        )
    # The first 8 bytes of the hash as a number in [0, 2**64), below the cut for public rows.
    cut = int(public_fraction * 2**64)
    key = seed.encode() + b"\x00"
    return np.fromiter(
        (
            int.from_bytes(hashlib.sha256(key + str(row_id).encode()).digest()[:8], "big") < cut
            for row_id in ids
        ),
        dtype=np.bool_,
        count=len(ids),
    )
