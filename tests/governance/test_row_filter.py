"""Row filters: plain conditions over known columns pass; anything else is ValidationFailed."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitgoeul.errors import ValidationFailed
from bitgoeul.governance.row_filter import check_row_filter

COLUMNS = ["district", "kwh", "year"]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("kwh > 0", "kwh > 0"),
        ("district = '북구' and year >= 2023", "district = '북구' AND year >= 2023"),
        ("district IN ('북구', '남구')", "district IN ('북구', '남구')"),
        ("lower(district) LIKE 'b%' OR kwh IS NULL", "LOWER(district) LIKE 'b%' OR kwh IS NULL"),
        ("year BETWEEN 2020 AND 2023 -- recent", "year BETWEEN 2020 AND 2023"),
    ],
)
def test_plain_conditions_pass_in_canonical_form(text: str, canonical: str) -> None:
    assert check_row_filter(text, COLUMNS) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "1=1; DROP TABLE datasets",
        "kwh IN (SELECT kwh FROM other)",
        "EXISTS (SELECT 1)",
        "read_csv('/etc/passwd') IS NOT NULL",
        "other.kwh > 1",
        "secret > 1",
        "kwh",
        "kwh > 0 UNION SELECT 1",
        "getenv('HOME') = 'x'",
    ],
)
def test_anything_but_a_plain_condition_over_known_columns_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed, match="row_filter"):
        check_row_filter(text, COLUMNS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_random_text_never_raises_anything_but_validation_failed(text: str) -> None:
    try:
        result = check_row_filter(text, COLUMNS)
    except ValidationFailed:
        return
    assert isinstance(result, str)
    assert ";" not in result


SQLISH = st.lists(
    st.sampled_from(
        [
            "kwh",
            "district",
            "year",
            "secret",
            "(",
            ")",
            "'x'",
            "1",
            "=",
            ">",
            "AND",
            "OR",
            "NOT",
            "IN",
            "SELECT",
            "FROM",
            ";",
            ",",
            "read_csv",
            "IS",
            "NULL",
            "--",
            "/*",
            "*/",
        ]
    ),
    max_size=12,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(SQLISH)
def test_sql_like_fragments_never_raise_anything_but_validation_failed(text: str) -> None:
    with contextlib.suppress(ValidationFailed):
        check_row_filter(text, COLUMNS)
