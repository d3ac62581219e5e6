"""How different institutions write down the same person: typos and format differences.

Real registers disagree in small ways: a name typed with a space after the surname, a vowel
misheard on the phone (ㅐ/ㅔ), 이 written 리; a phone number with or without hyphens; a birth
date as ``19560302`` or ``1956.03.02``; a lot-number address instead of a road-name one.
Record linkage is tested against exactly these differences, so they are made on purpose here,
each from the caller's seeded generator.
"""

from __future__ import annotations

import random
from datetime import date

from bitgoeul.demo.population import Household

_HANGUL_BASE = 0xAC00
_MEDIALS = 21
_FINALS = 28
# Vowels (medial indices) people confuse by ear: ㅐ/ㅔ, ㅒ/ㅖ, ㅢ→ㅣ, ㅚ/ㅙ/ㅞ.
_VOWEL_SWAPS = {1: 5, 5: 1, 3: 7, 7: 3, 19: 20, 11: 10, 10: 15, 15: 11}
# Final consonants confused by ear: ㅇ/ㄴ, ㅁ/ㄴ.
_FINAL_SWAPS = {21: 4, 4: 21, 16: 4}
# Surnames with two accepted spellings (the initial-sound rule).
_SURNAME_SPELLINGS = {"이": "리", "유": "류", "임": "림", "노": "로", "라": "나"}


def _split(syllable: str) -> tuple[int, int, int] | None:
    code = ord(syllable) - _HANGUL_BASE
    if not 0 <= code < 11172:
        return None
    return code // (_MEDIALS * _FINALS), (code // _FINALS) % _MEDIALS, code % _FINALS


def _join(initial: int, medial: int, final: int) -> str:
    return chr(_HANGUL_BASE + (initial * _MEDIALS + medial) * _FINALS + final)


def misheard(syllable: str, rng: random.Random) -> str:
    """The syllable with one sound swapped for a similar one, or itself when none fits."""
    parts = _split(syllable)
    if parts is None:
        return syllable
    initial, medial, final = parts
    options = []
    if medial in _VOWEL_SWAPS:
        options.append(_join(initial, _VOWEL_SWAPS[medial], final))
    if final in _FINAL_SWAPS:
        options.append(_join(initial, medial, _FINAL_SWAPS[final]))
    if final == 0:
        options.append(_join(initial, medial, 21))  # a stray ㅇ final
    return rng.choice(options) if options else syllable


def name_as_typed(name: str, surname: str, rng: random.Random, *, error_rate: float) -> str:
    """A name as a clerk might type it; unchanged with probability ``1 - error_rate``."""
    if rng.random() >= error_rate:
        return name
    given = name[len(surname) :]
    kind = rng.choices(("space", "sound", "surname", "swap"), weights=(4, 4, 2, 1))[0]
    if kind == "space":
        return f"{surname} {given}"
    if kind == "surname" and surname in _SURNAME_SPELLINGS:
        return _SURNAME_SPELLINGS[surname] + given
    if kind == "swap" and len(given) == 2:
        return surname + given[::-1]
    position = rng.randrange(len(given))
    return surname + given[:position] + misheard(given[position], rng) + given[position + 1 :]


def phone_as(phone: str, style: str) -> str:
    """``010-1234-5678`` in one of the styles registers use."""
    a, b, c = phone.split("-")
    if style == "digits":
        return a + b + c
    if style == "spaces":
        return f"{a} {b} {c}"
    if style == "dots":
        return f"{a}.{b}.{c}"
    if style == "international":
        return f"+82-{a[1:]}-{b}-{c}"
    return phone


def date_as(day: date, style: str) -> str:
    if style == "digits":
        return f"{day:%Y%m%d}"
    if style == "dots":
        return f"{day:%Y.%m.%d}"
    if style == "short":
        return f"{day:%y%m%d}"
    if style == "slashes":
        return f"{day.year}/{day.month}/{day.day}"
    return day.isoformat()


def address_as(household: Household, rng: random.Random, *, lot_share: float = 0.3) -> str:
    """The household's road-name address, sometimes its older lot-number form or shortened."""
    roll = rng.random()
    if roll < lot_share:
        return household.lot_address
    if roll < lot_share + 0.15:
        unit = f" {household.unit}" if household.unit else ""
        return f"광주 {household.district_ko} {household.road}{household.building_no}{unit}"
    return household.road_address
