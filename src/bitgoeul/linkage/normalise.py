"""Identifying fields written one way before any key or encoding is made.

Agencies write the same person differently: full-width digits, ``010-1234-5678`` or
``+82 10 1234 5678``, ``1956.03.02`` or ``560302``, ``광주광역시 북구`` or ``Buk-gu``, 리영희 or
이영희, ``Lee Younghee`` or ``YOUNGHEE RHEE``. Exact keys only match when both sides normalise
alike, so every method calls these functions, and each one returns ``None`` for a value it
cannot read rather than guessing. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bitgoeul.linkage.hangul import initial_sound_rule, is_syllable

_SPACES = re.compile(r"\s+")
_NOT_LATIN_LETTER = re.compile(r"[^a-z ]+")
_DIGITS = re.compile(r"\d+")
_REMARK = re.compile(r"[(\[（].*?[)\]）]")

# Romanisations of the common surnames (Revised Romanisation, McCune-Reischauer and the
# spellings people choose for passports) mapped to one form.
_SURNAME_ROMANISED = {
    "kim": "kim", "gim": "kim",
    "lee": "lee", "yi": "lee", "rhee": "lee", "ree": "lee", "i": "lee",
    "park": "park", "pak": "park", "bak": "park",
    "choi": "choi", "choe": "choi", "chey": "choi",
    "jeong": "jeong", "jung": "jeong", "chung": "jeong", "chong": "jeong",
    "kang": "kang", "gang": "kang",
    "cho": "cho", "jo": "cho",
    "yoon": "yun", "yun": "yun",
    "jang": "jang", "chang": "jang",
    "lim": "lim", "im": "lim", "rim": "lim",
    "han": "han",
    "oh": "oh", "o": "oh",
    "seo": "seo", "suh": "seo",
    "shin": "shin", "sin": "shin",
    "kwon": "kwon", "gwon": "kwon",
    "hwang": "hwang",
    "ahn": "ahn", "an": "ahn",
    "song": "song",
    "jeon": "jeon", "jun": "jeon", "chun": "jeon",
    "hong": "hong",
    "yu": "yu", "yoo": "yu", "ryu": "yu", "ryoo": "yu", "rhyu": "yu", "you": "yu",
    "ko": "ko", "go": "ko",
    "moon": "moon", "mun": "moon",
    "yang": "yang",
    "son": "son", "sohn": "son",
    "bae": "bae", "pae": "bae",
    "baek": "baek", "paik": "baek", "paek": "baek",
    "heo": "heo", "hur": "heo", "huh": "heo",
    "noh": "noh", "no": "noh", "roh": "noh", "ro": "noh",
    "nam": "nam",
    "na": "na", "ra": "na",
}  # fmt: skip

# Gwangju's five districts, by every way they are written.
_DISTRICTS = {
    "동구": "동구", "dong-gu": "동구", "donggu": "동구", "dong gu": "동구",
    "서구": "서구", "seo-gu": "서구", "seogu": "서구", "seo gu": "서구",
    "남구": "남구", "nam-gu": "남구", "namgu": "남구", "nam gu": "남구",
    "북구": "북구", "buk-gu": "북구", "bukgu": "북구", "buk gu": "북구",
    "광산구": "광산구", "gwangsan-gu": "광산구", "gwangsangu": "광산구", "gwangsan gu": "광산구",
}  # fmt: skip
_CITY_PREFIXES = (
    "광주광역시",
    "광주시",
    "광주",
    "gwangju-si",
    "gwangju metropolitan city",
    "gwangju",
)


def text(value: str | None) -> str | None:
    """NFKC (full-width forms to ASCII, compatibility jamo composed), trimmed, spaces collapsed."""
    if value is None:
        return None
    if not value.isascii():  # ASCII is already in NFKC
        value = unicodedata.normalize("NFKC", value)
    cleaned = " ".join(value.split())
    return cleaned or None


def hangul_name(value: str | None) -> str | None:
    """A Korean name as its syllables only, the first written by the initial-sound rule.

    ``리 영희``, ``이영희`` and ``이영희(본인)`` become ``이영희`` (a remark in brackets is
    dropped); a name with no Hangul syllable is ``None``.
    """
    cleaned = text(value)
    if cleaned is None:
        return None
    cleaned = _REMARK.sub("", cleaned)
    syllables = "".join(c for c in cleaned if is_syllable(c))
    if not syllables:
        return None
    return initial_sound_rule(syllables[0]) + syllables[1:]


def romanised_name(value: str | None) -> str | None:
    """A romanised name as lower-case tokens in sorted order, the surname spelt one way.

    ``RHEE Young-hee``, ``Younghee Lee`` and ``lee young hee`` all become ``lee younghee``:
    hyphens inside a given name are dropped, and sorting makes the order of surname and given
    name irrelevant.
    """
    cleaned = text(value)
    if cleaned is None:
        return None
    lowered = cleaned.casefold().replace("-", "").replace("'", "")
    tokens = _NOT_LATIN_LETTER.sub(" ", lowered).split()
    if not tokens:
        return None
    canonical = [_SURNAME_ROMANISED.get(token, token) for token in tokens]
    if len(canonical) > 2:
        # "young hee lee": keep the surname apart and join the given name's syllables.
        surnames = [t for t in tokens if t in _SURNAME_ROMANISED]
        if surnames:
            surname = surnames[0]
            rest = list(tokens)
            rest.remove(surname)
            canonical = [_SURNAME_ROMANISED[surname], "".join(rest)]
    return " ".join(sorted(canonical))


def birth_date(value: str | date | None, *, today: date | None = None) -> date | None:
    """A birth date from ISO, ``19560302``, ``1956.3.2``, ``1956/03/02``, ``1956년 3월 2일`` or
    the six-digit ``560302`` (a year after this one's two digits means the 1900s)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    cleaned = text(value)
    if cleaned is None:
        return None
    groups = _DIGITS.findall(cleaned)
    year: int
    if len(groups) == 1 and len(groups[0]) in (6, 8):
        digits = groups[0]
        if len(digits) == 8:
            year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
        else:
            reference = today or date.today()  # noqa: DTZ011 (a calendar day, no instant)
            short = int(digits[:2])
            year = 2000 + short if short <= reference.year % 100 else 1900 + short
            month, day = int(digits[2:4]), int(digits[4:])
    elif len(groups) == 3 and len(groups[0]) == 4:
        year, month, day = (int(g) for g in groups)
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def phone(value: str | None) -> str | None:
    """A Korean phone number as its national digits (``01012345678``), or ``None``."""
    cleaned = text(value)
    if cleaned is None:
        return None
    digits = "".join(_DIGITS.findall(cleaned))
    if cleaned.lstrip().startswith("+82") or (digits.startswith("82") and len(digits) >= 11):
        digits = "0" + digits[2:].lstrip("0")
    if not digits.startswith("0") or not 9 <= len(digits) <= 11:
        return None
    return digits


def district(value: str | None) -> str | None:
    """One of Gwangju's five districts in Hangul (``북구``), from Hangul or romanised text,
    with or without the city's name in front; ``None`` for anything else."""
    cleaned = text(value)
    if cleaned is None:
        return None
    lowered = cleaned.casefold()
    for prefix in _CITY_PREFIXES:
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) :].lstrip(" ,")
            break
    for candidate in (lowered, lowered.split(" ")[0], lowered.split(",")[0].strip()):
        if candidate in _DISTRICTS:
            return _DISTRICTS[candidate]
    first_word = lowered.split(" ")[0] if lowered else ""
    return _DISTRICTS.get(first_word)
