"""Validating an upload against the Table Schema the steward declared."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bitgoeul.errors import ValidationFailed
from bitgoeul.ingest.pipeline import IngestResult, read_preview

Upload = Callable[..., IngestResult]
Rejected = Callable[..., dict[str, Any]]


def schema(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"fields": list(fields)}


def test_values_that_fit_the_declared_types_are_stored_in_those_types(upload: Upload) -> None:
    declared = schema(
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "number"},
        {"name": "day", "type": "date", "format": "%d/%m/%Y"},
    )
    result = upload("a.csv", "id,amount,day\n007,3,31/12/2024\n", declared_schema=declared)
    assert read_preview(result.parquet_path)[1] == [["007", 3.0, "2024-12-31"]]
    assert result.table_schema["fields"][2]["format"] == "%d/%m/%Y"


def test_a_type_violation_names_row_column_value_and_rule(rejected: Rejected) -> None:
    declared = schema({"name": "id", "type": "integer"}, {"name": "age", "type": "integer"})
    report = rejected("a.csv", "id,age\n1,30\n2,서른\n3,40\n", declared_schema=declared)
    assert report["errors"] == [
        {
            "row": 3,
            "column": 2,
            "field": "age",
            "value": "서른",
            "rule": "type",
            "message": "Row 3, column 'age': '서른' is not a valid integer.",
        }
    ]


@pytest.mark.parametrize(
    ("constraints", "content", "rule", "row"),
    [
        ({"required": True}, "v\n1\n\n", "required", 3),
        ({"minimum": 0}, "v\n1\n-1\n", "minimum", 3),
        ({"maximum": 10}, "v\n11\n1\n", "maximum", 2),
        ({"enum": [1, 2]}, "v\n1\n3\n", "enum", 3),
        ({"unique": True}, "v\n1\n2\n1\n", "unique", 4),
    ],
)
def test_each_integer_constraint_is_enforced_at_the_right_row(
    rejected: Rejected, constraints: dict[str, Any], content: str, rule: str, row: int
) -> None:
    declared = schema({"name": "v", "type": "integer", "constraints": constraints})
    report = rejected("a.csv", content.replace("\n\n", '\n""\n'), declared_schema=declared)
    assert [(e["rule"], e["row"]) for e in report["errors"]] == [(rule, row)]


@pytest.mark.parametrize(
    ("constraints", "value", "rule"),
    [
        ({"pattern": "[0-9]{5}"}, "6100", "pattern"),
        ({"maxLength": 3}, "abcd", "maxLength"),
        ({"minLength": 2}, "a", "minLength"),
        ({"enum": ["M", "F"]}, "X", "enum"),
    ],
)
def test_each_text_constraint_is_enforced(
    rejected: Rejected, constraints: dict[str, Any], value: str, rule: str
) -> None:
    declared = schema({"name": "v", "type": "string", "constraints": constraints})
    report = rejected("a.csv", f"v\n{value}\n", declared_schema=declared)
    assert report["counts_by_rule"] == {rule: 1}
    assert report["errors"][0]["value"] == value


def test_a_date_minimum_is_compared_as_a_date(rejected: Rejected) -> None:
    declared = schema({"name": "d", "type": "date", "constraints": {"minimum": "2000-01-01"}})
    report = rejected("a.csv", "d\n2001-01-01\n1999-12-31\n", declared_schema=declared)
    assert report["errors"][0]["row"] == 3


def test_the_report_lists_the_first_errors_and_counts_them_all(rejected: Rejected) -> None:
    declared = schema({"name": "n", "type": "integer"})
    content = "n\n" + "x\n" * 250
    report = rejected("a.csv", content, declared_schema=declared, error_limit=10)
    assert len(report["errors"]) == 10
    assert report["error_count"] == 250
    assert report["counts_by_rule"] == {"type": 250}
    assert report["truncated"] is True
    assert [e["row"] for e in report["errors"]] == list(range(2, 12))


def test_a_column_missing_from_the_file_is_named(rejected: Rejected) -> None:
    declared = schema({"name": "a"}, {"name": "b"})
    report = rejected("a.csv", "a\n1\n", declared_schema=declared)
    assert report["errors"][0]["rule"] == "missing-column"
    assert report["errors"][0]["field"] == "b"


def test_a_column_the_schema_does_not_declare_is_named(rejected: Rejected) -> None:
    report = rejected("a.csv", "a,zzz\n1,2\n", declared_schema=schema({"name": "a"}))
    assert (report["errors"][0]["rule"], report["errors"][0]["column"]) == ("extra-column", 2)


@pytest.mark.parametrize(
    ("descriptor", "named"),
    [
        ({"fields": [{"name": "a", "type": "integr"}]}, "field 'a'"),
        ({"fields": [{"name": "a"}, {"name": "a"}]}, "field 'a'"),
        ({"fields": [{"type": "string"}]}, "field number 1"),
        ({"fields": [{"name": "a", "type": "string", "constraints": {"minimum": 1}}]}, "'a'"),
        ({"fields": [{"name": "a", "type": "integer", "constraints": {"bogus": 1}}]}, "'a'"),
        ({"fields": []}, "fields"),
        ({"fields": [{"name": "a", "type": "date", "constraints": {"minimum": "soon"}}]}, "'a'"),
        ({"fields": [{"name": "a", "type": "integer", "constraints": {"enum": ["x"]}}]}, "'a'"),
        ({"fields": [{"name": "a", "constraints": {"pattern": "(?=x)"}}]}, "'a'"),
    ],
)
def test_a_bad_schema_descriptor_is_rejected_naming_the_field(
    upload: Upload, descriptor: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationFailed, match="declared Table Schema is not valid") as caught:
        upload("a.csv", "a\n1\n", declared_schema=descriptor)
    assert named in caught.value.message
    assert caught.value.detail["errors"][0]["rule"] == "schema"


def test_the_stewards_column_class_wins_over_the_suggestion(upload: Upload) -> None:
    result = upload("a.csv", "phone,x\n010-1234-5678,1\n", column_classes={"phone": "other"})
    phone = result.table_schema["fields"][0]
    assert phone["classification"] == "other"
    assert phone["suggested_classification"] == "direct_identifier"


def test_an_unknown_column_class_is_rejected(rejected: Rejected) -> None:
    report = rejected("a.csv", "a\n1\n", column_classes={"a": "secret"})
    assert report["errors"][0]["rule"] == "column-class"
