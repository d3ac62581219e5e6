"""A seeded generator of two agencies' records about partly the same people, with the truth.

Modelled on FEBRL-3's duplicate generator (Christen 2005): each duplicate carries 0–4
modifications drawn from the errors Korean registers show: a misheard vowel or final consonant
(재/제, 은/응), the initial-sound spelling of a surname (이/리, 유/류, 임/림, 노/로), given-name
syllables in the other order, a romanised name with surname and given name swapped or spelt
another way (Lee/Yi/Rhee), a mistyped birth-date digit or day and month swapped, a new phone
number or none, a move to another district; on top of that every source writes dates, phones
and districts in its own formats. Used by the tests and ``benchmarks/linkage.py``; the demo
city has its own population and keeps its truth on the hub's disk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from bitgoeul.linkage.hangul import join_syllable, split_syllable

# Approximate shares in per cent (Statistics Korea, 2015 census).
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("김", "Kim", 21.5), ("이", "Lee", 14.7), ("박", "Park", 8.4), ("최", "Choi", 4.7),
    ("정", "Jung", 4.3), ("강", "Kang", 2.3), ("조", "Cho", 2.1), ("윤", "Yoon", 2.1),
    ("장", "Jang", 2.0), ("임", "Lim", 1.7), ("한", "Han", 1.5), ("오", "Oh", 1.5),
    ("서", "Seo", 1.5), ("신", "Shin", 1.5), ("권", "Kwon", 1.4), ("황", "Hwang", 1.4),
    ("안", "Ahn", 1.4), ("송", "Song", 1.4), ("전", "Jeon", 1.1), ("홍", "Hong", 1.1),
    ("유", "Yoo", 1.1), ("고", "Ko", 0.9), ("문", "Moon", 0.9), ("양", "Yang", 0.9),
    ("손", "Son", 0.9), ("배", "Bae", 0.8), ("백", "Baek", 0.7), ("허", "Heo", 0.6),
    ("노", "Noh", 0.6), ("남", "Nam", 0.5),
)  # fmt: skip
_ROMAN_VARIANTS = {
    "Lee": ("Yi", "Rhee", "Ree"), "Park": ("Pak", "Bak"), "Jung": ("Jeong", "Chung"),
    "Yoo": ("Yu", "Ryu"), "Choi": ("Choe",), "Yoon": ("Yun",), "Lim": ("Im", "Rim"),
    "Kim": ("Gim",), "Noh": ("Roh", "No"), "Jeon": ("Jun", "Chun"), "Ahn": ("An",),
}  # fmt: skip
_INITIAL_VARIANTS = {"이": "리", "유": "류", "임": "림", "노": "로"}
_GIVEN = "민서준지현수영도하윤우진성예주은정혜경희철호석태연아원동재상훈"
_DISTRICTS = (("동구", "Dong-gu", 7), ("서구", "Seo-gu", 21), ("남구", "Nam-gu", 15),
              ("북구", "Buk-gu", 29), ("광산구", "Gwangsan-gu", 28))  # fmt: skip

_R_INITIALS = ("g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch",
               "k", "t", "p", "h")  # fmt: skip
_R_MEDIALS = ("a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u",
              "wo", "we", "wi", "yu", "eu", "ui", "i")  # fmt: skip
_R_FINALS = ("", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
             "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t")  # fmt: skip
# Vowels and finals confused by ear (medial and final indices): ㅐ/ㅔ, ㅒ/ㅖ, ㅚ/ㅙ/ㅞ;
# ㅇ/ㄴ, ㅁ/ㄴ.
_MEDIAL_SWAPS = {1: 5, 5: 1, 3: 7, 7: 3, 11: 10, 10: 15, 15: 11, 19: 20, 4: 8, 8: 4}
_FINAL_SWAPS = {21: 4, 4: 21, 16: 4, 0: 4}


def romanise(syllables: str) -> str:
    """Revised Romanisation, syllable by syllable (no sound changes across syllables)."""
    out = []
    for s in syllables:
        i, m, f = split_syllable(s)
        out.append(_R_INITIALS[i] + _R_MEDIALS[m] + _R_FINALS[f])
    return "".join(out)


@dataclass(frozen=True)
class Person:
    surname: str
    surname_latin: str
    given: str
    sex: str
    birth_date: date
    phone: str
    district: str


@dataclass(frozen=True)
class LinkageSet:
    left: list[dict[str, str | None]]
    right: list[dict[str, str | None]]
    truth: set[tuple[int, int]]  # (left index, right index) of the same person


def _person(rng: random.Random, phones: set[str]) -> Person:
    surname, latin, _ = rng.choices(SURNAMES, weights=[s[2] for s in SURNAMES])[0]
    given = rng.choice(_GIVEN) + rng.choice(_GIVEN)
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(78 * 365))
    while True:
        phone = f"010-{rng.randrange(2000, 10000)}-{rng.randrange(10000):04d}"
        if phone not in phones:
            phones.add(phone)
            break
    district = rng.choices(_DISTRICTS, weights=[d[2] for d in _DISTRICTS])[0][0]
    return Person(surname, latin, given, rng.choice("MF"), born, phone, district)


def _misheard(syllable: str, rng: random.Random) -> str:
    i, m, f = split_syllable(syllable)
    if m in _MEDIAL_SWAPS and (f not in _FINAL_SWAPS or rng.random() < 0.6):
        return join_syllable(i, _MEDIAL_SWAPS[m], f)
    return join_syllable(i, m, _FINAL_SWAPS.get(f, 0 if f else 4))


def _record(p: Person, rng: random.Random, latin_order: str) -> dict[str, str | None]:
    given_latin = romanise(p.given)
    given_latin = given_latin.capitalize()
    if rng.random() < 0.3:
        given_latin = f"{romanise(p.given[0]).capitalize()}-{romanise(p.given[1])}"
    latin = (
        f"{p.surname_latin} {given_latin}"
        if latin_order == "surname_first"
        else f"{given_latin} {p.surname_latin.upper()}"
    )
    style = rng.randrange(5)
    day = p.birth_date
    born = (
        day.isoformat(),
        f"{day:%Y%m%d}",
        f"{day:%Y.%m.%d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}년 {day.month}월 {day.day}일",
    )[style]
    a, b, c = p.phone.split("-")
    phone = (p.phone, a + b + c, f"+82-{a[1:]}-{b}-{c}", f"{a} {b} {c}")[rng.randrange(4)]
    latin_district = next(d[1] for d in _DISTRICTS if d[0] == p.district)
    district = (p.district, f"광주광역시 {p.district}", latin_district)[rng.randrange(3)]
    name = p.surname + (" " if rng.random() < 0.1 else "") + p.given
    return {"name": name, "name_latin": latin, "birth_date": born, "sex": p.sex,
            "phone": phone, "district": district}  # fmt: skip


def _corrupt(p: Person, rng: random.Random, phones: set[str]) -> tuple[Person, str]:
    """The person as another agency holds them after 0–4 FEBRL-3-like modifications; also the
    order of the romanised name."""
    order = "surname_first"
    count = rng.choices((0, 1, 2, 3, 4), weights=(15, 35, 30, 15, 5))[0]
    for _ in range(count):
        kind = rng.choice(("typo", "initial", "swap_given", "latin_order", "latin_spelling",
                           "birth_digit", "birth_day_month", "phone_new", "moved"))  # fmt: skip
        if kind == "typo":
            k = rng.randrange(2)
            given = p.given[:k] + _misheard(p.given[k], rng) + p.given[k + 1 :]
            p = Person(p.surname, p.surname_latin, given, p.sex, p.birth_date, p.phone, p.district)
        elif kind == "initial" and p.surname in _INITIAL_VARIANTS:
            p = Person(_INITIAL_VARIANTS[p.surname], p.surname_latin, p.given, p.sex,
                       p.birth_date, p.phone, p.district)  # fmt: skip
        elif kind == "swap_given":
            p = Person(p.surname, p.surname_latin, p.given[::-1], p.sex, p.birth_date, p.phone,
                       p.district)  # fmt: skip
        elif kind == "latin_order":
            order = "given_first"
        elif kind == "latin_spelling" and p.surname_latin in _ROMAN_VARIANTS:
            latin = rng.choice(_ROMAN_VARIANTS[p.surname_latin])
            p = Person(p.surname, latin, p.given, p.sex, p.birth_date, p.phone, p.district)
        elif kind == "birth_digit":
            text = f"{p.birth_date:%Y%m%d}"
            for _ in range(10):
                k = rng.randrange(2, 8)
                candidate = text[:k] + str(rng.randrange(10)) + text[k + 1 :]
                try:
                    day = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
                except ValueError:
                    continue
                p = Person(p.surname, p.surname_latin, p.given, p.sex, day, p.phone, p.district)
                break
        elif kind == "birth_day_month" and p.birth_date.day <= 12:
            day = date(p.birth_date.year, p.birth_date.day, p.birth_date.month)
            p = Person(p.surname, p.surname_latin, p.given, p.sex, day, p.phone, p.district)
        elif kind == "phone_new":
            phone = _person(rng, phones).phone
            p = Person(p.surname, p.surname_latin, p.given, p.sex, p.birth_date, phone, p.district)
        elif kind == "moved":
            others = [d[0] for d in _DISTRICTS if d[0] != p.district]
            p = Person(p.surname, p.surname_latin, p.given, p.sex, p.birth_date, p.phone,
                       rng.choice(others))  # fmt: skip
    return p, order


def generate(n_left: int, n_right: int, overlap: int, seed: int) -> LinkageSet:
    """Two sources of ``n_left`` and ``n_right`` records, ``overlap`` people in both."""
    if not 0 <= overlap <= min(n_left, n_right):
        raise ValueError(f"overlap must be between 0 and {min(n_left, n_right)}, not {overlap}")
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    phones: set[str] = set()
    people = [_person(rng, phones) for _ in range(n_left + n_right - overlap)]
    left_people = people[:n_left]
    right_people = people[:overlap] + people[n_left:]
    left = [_record(p, rng, "surname_first") for p in left_people]
    right_order = list(range(n_right))
    rng.shuffle(right_order)
    right: list[dict[str, str | None]] = [{} for _ in range(n_right)]
    truth: set[tuple[int, int]] = set()
    for source_index, position in enumerate(right_order):
        person = right_people[source_index]
        changed, order = _corrupt(person, rng, phones)
        right[position] = _record(changed, rng, order)
        if source_index < overlap:
            truth.add((source_index, position))
    return LinkageSet(left, right, truth)
