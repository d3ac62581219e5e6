"""Identifying fields written one way, whatever the source's format."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.linkage import normalise


@given(st.text())
def test_no_text_makes_a_normaliser_raise(value: str) -> None:
    for function in (
        normalise.text,
        normalise.hangul_name,
        normalise.romanised_name,
        normalise.birth_date,
        normalise.phone,
        normalise.district,
    ):
        function(value)


@given(st.dates(date(1900, 1, 1), date(2026, 12, 31)))
def test_a_birth_date_reads_the_same_in_every_register_format(day: date) -> None:
    written = [
        day.isoformat(),
        f"{day:%Y%m%d}",
        f"{day:%Y.%m.%d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}년 {day.month}월 {day.day}일",
        f"{day:%Y-%m-%d}".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]
    assert {normalise.birth_date(w) for w in written} == {day}


def test_a_six_digit_date_is_in_this_century_only_up_to_this_year() -> None:
    today = date(2026, 12, 5)
    assert normalise.birth_date("560302", today=today) == date(1956, 3, 2)
    assert normalise.birth_date("100302", today=today) == date(2010, 3, 2)


@pytest.mark.parametrize("value", ["2023-02-30", "19561302", "1956", "", "어제"])
def test_an_impossible_date_is_none(value: str) -> None:
    assert normalise.birth_date(value) is None


@given(st.integers(1000, 9999), st.integers(0, 9999))
def test_a_mobile_number_reads_the_same_in_every_format(middle: int, last: int) -> None:
    a, b, c = "010", f"{middle:04d}", f"{last:04d}"
    written = [f"{a}-{b}-{c}", a + b + c, f"{a} {b} {c}", f"{a}.{b}.{c}", f"+82-{a[1:]}-{b}-{c}",
               f"+82 10 {b} {c}"]  # fmt: skip
    assert {normalise.phone(w) for w in written} == {a + b + c}


@pytest.mark.parametrize("value", ["12345", "call me", "+1 555 0100 2000 99"])
def test_something_that_is_not_a_korean_phone_is_none(value: str) -> None:
    assert normalise.phone(value) is None


@pytest.mark.parametrize("value", ["이영희", "리영희", "리 영희", " 이영희 ", "이영희(본인)"])
def test_a_korean_name_is_written_one_way(value: str) -> None:
    assert normalise.hangul_name(value) == "이영희"


def test_a_name_without_hangul_is_none() -> None:
    assert normalise.hangul_name("Lee Younghee") is None


@pytest.mark.parametrize(
    "value", ["Lee Younghee", "Younghee LEE", "RHEE Young-hee", "Yi Younghee", "young hee lee"]
)
def test_a_romanised_name_is_the_same_in_either_order_and_spelling(value: str) -> None:
    assert normalise.romanised_name(value) == "lee younghee"


@pytest.mark.parametrize(
    "value",
    ["북구", "광주광역시 북구", "광주 북구", "Buk-gu", "BUK-GU", "buk gu", "북구 용봉로 77"],
)
def test_a_district_is_written_in_hangul(value: str) -> None:
    assert normalise.district(value) == "북구"


def test_a_place_outside_gwangju_is_no_district() -> None:
    assert normalise.district("서울 강남구") is None
