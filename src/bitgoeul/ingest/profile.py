"""Column profiles built incrementally, one Arrow batch at a time, in bounded memory.

Counts of nulls, min and max are exact.  Distinct counts and top values are exact until a
column has more than ``DISTINCT_CAP`` different values; past that, ``distinct`` is a lower bound
and ``distinct_exact`` is false.  Numeric histograms are drawn from a sample of up to
``HISTOGRAM_SAMPLE`` values spread over the whole file and scaled to the real count.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

DISTINCT_CAP = 10_000
TOP_VALUES = 10
HISTOGRAM_BINS = 10
HISTOGRAM_SAMPLE = 20_000
PER_BATCH_SAMPLE = 2_000


def json_value(value: Any) -> Any:
    """A Python value from Arrow as something ``json.dumps`` accepts without losing meaning."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return str(value)


@functools.lru_cache(maxsize=16)
def _spread(length: int) -> pa.Array:
    """``PER_BATCH_SAMPLE`` positions spread evenly over ``length`` rows."""
    step = length / PER_BATCH_SAMPLE
    return pa.array([int(index * step) for index in range(PER_BATCH_SAMPLE)], type=pa.int64())


def _every_other(length: int) -> pa.Array:
    return pa.array(range(0, length, 2), type=pa.int64())


class ColumnProfile:
    def __init__(self, field_type: str, arrow_type: pa.DataType) -> None:
        self.field_type = field_type
        self.arrow_type = arrow_type
        self.count = 0
        self.nulls = 0
        self.minimum: Any = None
        self.maximum: Any = None
        self.counts: Counter[Any] | None = Counter()
        self.distinct_floor = 0
        self.samples: list[pa.Array] = []
        self.numeric = field_type in {"integer", "number", "year"}
        # Text min/max cost as much as the rest of the profile: kept only while counted.
        self.text = pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
        self.orderable = self.numeric or field_type in {"string", "date", "datetime", "time"}
        self.countable = not (pa.types.is_nested(arrow_type) or field_type == "number")

    def update(self, values: pa.Array) -> None:
        self.count += len(values)
        self.nulls += values.null_count
        if pa.types.is_nested(values.type):
            self.countable = self.orderable = False  # lists and records: counts only
        if values.null_count == len(values):
            return
        if self.numeric:
            self._sample(values)
        if self.countable:
            self._count(values)
        if self.orderable and (self.counts is None or not self.countable) and not self.text:
            # While every value is counted, min and max come from the counts at the end.
            extremes = pc.min_max(values).as_py()
            self._extend(extremes["min"], extremes["max"])

    def _extend(self, low: Any, high: Any) -> None:
        if low is not None:
            self.minimum = low if self.minimum is None else min(self.minimum, low)
            self.maximum = high if self.maximum is None else max(self.maximum, high)

    @property
    def few_values(self) -> bool:
        """Whether every distinct value is still counted (so dictionary encoding pays off)."""
        return self.countable and self.counts is not None

    def _count(self, values: pa.Array) -> None:
        if self.counts is None:
            return  # past the cap: ``distinct_floor`` stays a lower bound
        tallies = pc.value_counts(pc.drop_null(values))
        if len(tallies) + len(self.counts) > DISTINCT_CAP and len(tallies) > DISTINCT_CAP // 2:
            # Clearly past the cap: no need to bring every value into Python first.
            self.distinct_floor = max(len(tallies), len(self.counts))
            self._drop_counts()
            return
        keys = tallies.field("values").to_pylist()
        numbers = tallies.field("counts").to_pylist()
        self.counts.update(dict(zip(keys, numbers, strict=True)))
        if len(self.counts) > DISTINCT_CAP:
            self.distinct_floor = len(self.counts)
            self._drop_counts()

    def _drop_counts(self) -> None:
        """Stop counting values; min and max so far are taken from the counts first."""
        if self.counts and self.orderable:
            self._extend(min(self.counts), max(self.counts))
        self.counts = None

    def _sample(self, values: pa.Array) -> None:
        present = pc.drop_null(values)
        if len(present) > PER_BATCH_SAMPLE:
            present = present.take(_spread(len(present)))
        self.samples.append(pc.cast(present, pa.float64(), safe=False))  # approximate
        if sum(len(sample) for sample in self.samples) > 2 * HISTOGRAM_SAMPLE:
            # Keep every other value: the sample stays spread over the whole file.
            self.samples = [sample.take(_every_other(len(sample))) for sample in self.samples]

    def result(self) -> dict[str, Any]:
        exact = self.counts is not None
        if self.counts and self.orderable:
            self._extend(min(self.counts), max(self.counts))
        described: dict[str, Any] = {
            "type": self.field_type,
            "count": self.count,
            "nulls": self.nulls,
            "distinct": len(self.counts) if self.counts is not None else self.distinct_floor,
            "distinct_exact": exact,
            "min": json_value(self.minimum),
            "max": json_value(self.maximum),
            "top": [],
        }
        if not self.countable and self.counts is not None and not self.counts:
            described["distinct"] = None
            described["distinct_exact"] = False
        if self.counts is not None and self.field_type != "number":
            described["top"] = [
                [json_value(value), count] for value, count in self.counts.most_common(TOP_VALUES)
            ]
        if self.numeric:
            described["histogram"] = self._histogram()
        return described

    def _histogram(self) -> dict[str, Any] | None:
        values = [
            value
            for sample in self.samples
            for value in sample.to_pylist()
            if value is not None and math.isfinite(value)
        ]
        if not values:
            return None
        low, high = min(values), max(values)
        width = (high - low) / HISTOGRAM_BINS or 1.0
        counts = [0] * HISTOGRAM_BINS
        for value in values:
            counts[min(int((value - low) / width), HISTOGRAM_BINS - 1)] += 1
        present = self.count - self.nulls
        scale = present / len(values)
        return {
            "edges": [low + width * index for index in range(HISTOGRAM_BINS + 1)],
            "counts": [round(count * scale) for count in counts],
            "approximate": len(values) < present,
        }


class TableProfile:
    def __init__(self, columns: dict[str, tuple[str, pa.DataType]]) -> None:
        self.columns = {
            name: ColumnProfile(field_type, arrow_type)
            for name, (field_type, arrow_type) in columns.items()
        }

    def update(self, batch: pa.RecordBatch) -> None:
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            self.columns[name].update(column)

    def few_valued_columns(self) -> list[str]:
        return [name for name, column in self.columns.items() if column.few_values]

    def result(self) -> dict[str, Any]:
        return {"columns": {name: column.result() for name, column in self.columns.items()}}
