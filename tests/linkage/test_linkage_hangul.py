"""Hangul syllables taken apart and put back together, and the initial-sound rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.linkage.hangul import (
    HANGUL_FIRST,
    HANGUL_LAST,
    initial_sound_rule,
    jamo,
    join_syllable,
    split_syllable,
)

syllables = st.integers(HANGUL_FIRST, HANGUL_LAST).map(chr)


@given(syllables)
def test_every_syllable_splits_into_jamo_that_join_back_to_it(syllable: str) -> None:
    assert join_syllable(*split_syllable(syllable)) == syllable


def test_a_name_is_written_as_its_jamo() -> None:
    assert jamo("김재민") == "ㄱㅣㅁㅈㅐㅁㅣㄴ"
    assert jamo("이 A") == "ㅇㅣ A"


def test_a_one_sound_typo_changes_one_jamo() -> None:
    differing = [a != b for a, b in zip(jamo("김재민"), jamo("김제민"), strict=True)]
    assert sum(differing) == 1


@pytest.mark.parametrize(
    ("written", "standard"),
    [("리", "이"), ("류", "유"), ("림", "임"), ("라", "나"), ("로", "노"), ("녀", "여"),
     ("이", "이"), ("김", "김"), ("박", "박"), ("x", "x")],
)  # fmt: skip
def test_the_initial_sound_rule_writes_surnames_one_way(written: str, standard: str) -> None:
    assert initial_sound_rule(written) == standard


@given(syllables)
def test_the_initial_sound_rule_is_idempotent(syllable: str) -> None:
    once = initial_sound_rule(syllable)
    assert initial_sound_rule(once) == once


def test_something_not_a_syllable_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not a precomposed Hangul syllable"):
        split_syllable("ㄱ")
