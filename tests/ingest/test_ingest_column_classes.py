"""Column classes suggested from names and values."""

from __future__ import annotations

import pyarrow as pa
import pytest

from bitgoeul.ingest.column_classes import suggest_class


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("성명", "direct_identifier"),
        ("patient_name", "direct_identifier"),
        ("휴대폰번호", "direct_identifier"),
        ("email", "direct_identifier"),
        ("주민등록번호", "direct_identifier"),
        ("도로명주소", "direct_identifier"),
        ("birth_date", "quasi_identifier"),
        ("age", "quasi_identifier"),
        ("성별", "quasi_identifier"),
        ("행정동", "quasi_identifier"),
        ("우편번호", "quasi_identifier"),
        ("diagnosis_code", "sensitive"),
        ("월소득", "sensitive"),
        ("monthly_kwh", "other"),
    ],
)
def test_a_column_name_suggests_its_class(name: str, expected: str) -> None:
    assert suggest_class(name, "string", None).classification == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["900101-1234567", "850505-2345678"], "direct_identifier"),
        (["010-1234-5678", "01098765432"], "direct_identifier"),
        (["a@example.kr", "b@example.com"], "direct_identifier"),
        (["김민준", "이서연", "박지호"], "direct_identifier"),
        (["광주광역시 북구 용봉로 77", "광주광역시 동구 필문대로 309"], "direct_identifier"),
        (["J45", "E11.9", "I10"], "sensitive"),
        (["남", "여", "여"], "quasi_identifier"),
        (["용봉동", "풍암동"], "quasi_identifier"),
        (["광산구", "북구"], "quasi_identifier"),
        (["red", "green"], "other"),
    ],
)
def test_values_suggest_a_class_when_the_name_does_not(values: list[str], expected: str) -> None:
    suggestion = suggest_class("c7", "string", pa.array(values))
    assert suggestion.classification == expected
    assert ("sampled values" in suggestion.reason) == (expected != "other")


def test_the_reason_names_the_column() -> None:
    assert "'전화'" in suggest_class("전화", "string", None).reason
