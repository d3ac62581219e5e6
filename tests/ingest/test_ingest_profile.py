"""Column profiles: nulls, distinct, min/max, top values and histograms."""

from __future__ import annotations

import json
from collections.abc import Callable

import pyarrow as pa
import pytest

from bitgoeul.ingest import profile as profiling
from bitgoeul.ingest.pipeline import IngestResult

Upload = Callable[..., IngestResult]


def test_a_profile_counts_nulls_distinct_values_and_extremes(upload: Upload) -> None:
    result = upload("a.csv", "구,나이\n북구,30\n북구,\n남구,50\n")
    columns = result.profile["columns"]
    assert columns["구"]["nulls"] == 0
    assert columns["구"]["distinct"] == 2
    assert columns["구"]["top"] == [["북구", 2], ["남구", 1]]
    assert (columns["나이"]["min"], columns["나이"]["max"], columns["나이"]["nulls"]) == (30, 50, 1)


def test_a_numeric_column_has_a_histogram_that_counts_every_value(upload: Upload) -> None:
    content = "x\n" + "".join(f"{i / 10}\n" for i in range(100))
    histogram = upload("a.csv", content).profile["columns"]["x"]["histogram"]
    assert len(histogram["edges"]) == len(histogram["counts"]) + 1
    assert sum(histogram["counts"]) == 100
    assert histogram["approximate"] is False


def test_the_profile_is_json_serialisable(upload: Upload) -> None:
    result = upload("a.csv", "d,t,x\n2024-01-01,2024-01-01 10:00:00,nan\n")
    json.dumps(result.profile, allow_nan=False)


def test_past_the_cap_distinct_is_marked_as_not_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiling, "DISTINCT_CAP", 10)
    column = profiling.ColumnProfile("integer", pa.int64())
    column.update(pa.array(range(100)))
    described = column.result()
    assert described["distinct_exact"] is False
    assert described["distinct"] >= 10
    assert described["top"] == []
