"""Hangul syllables taken apart into jamo, arithmetically from their Unicode code points.

A precomposed syllable U+AC00..U+D7A3 is ``0xAC00 + (initial * 21 + medial) * 28 + final``;
decomposing it needs no table. Linkage compares names by their jamo, so a one-sound typo
(``ㅐ``/``ㅔ`` in 재/제) changes one jamo bigram instead of a whole syllable, and the initial-sound
rule (두음법칙: 리/이, 류/유, 림/임, 로/노, 녀/여) is applied before keys and encodings are made,
so 이영희 and 리영희 are the same name to every method. Pure functions, no I/O.
"""

from __future__ import annotations

HANGUL_FIRST = 0xAC00
HANGUL_LAST = 0xD7A3
_MEDIALS = 21
_FINALS = 28

# Compatibility jamo (U+3131..) so the parts read as ordinary letters.
INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
MEDIALS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")

_RIEUL = INITIALS.index("ㄹ")
_NIEUN = INITIALS.index("ㄴ")
_IEUNG = INITIALS.index("ㅇ")
# Medials before which an initial ㄹ or ㄴ becomes ㅇ at the start of a word: ㅣ ㅑ ㅕ ㅛ ㅠ ㅖ.
_Y_MEDIALS = frozenset(MEDIALS.index(v) for v in "ㅣㅑㅕㅛㅠㅖ")


def is_syllable(character: str) -> bool:
    return len(character) == 1 and HANGUL_FIRST <= ord(character) <= HANGUL_LAST


def split_syllable(syllable: str) -> tuple[int, int, int]:
    """(initial, medial, final) indices of a precomposed syllable; ValueError for anything else."""
    if not is_syllable(syllable):
        raise ValueError(f"not a precomposed Hangul syllable: {syllable!r}")
    code = ord(syllable) - HANGUL_FIRST
    return code // (_MEDIALS * _FINALS), (code // _FINALS) % _MEDIALS, code % _FINALS


def join_syllable(initial: int, medial: int, final: int = 0) -> str:
    if not (0 <= initial < len(INITIALS) and 0 <= medial < _MEDIALS and 0 <= final < _FINALS):
        raise ValueError(f"no syllable has jamo indices ({initial}, {medial}, {final})")
    return chr(HANGUL_FIRST + (initial * _MEDIALS + medial) * _FINALS + final)


def jamo(text: str) -> str:
    """The text with every syllable written as its jamo (김 → ㄱㅣㅁ); other characters kept."""
    parts: list[str] = []
    for character in text:
        if is_syllable(character):
            initial, medial, final = split_syllable(character)
            parts.append(INITIALS[initial] + MEDIALS[medial] + FINALS[final])
        else:
            parts.append(character)
    return "".join(parts)


def initial_sound_rule(syllable: str) -> str:
    """The word-initial form of a syllable (두음법칙): 리→이, 류→유, 라→나, 로→노, 녀→여.

    Both spellings of the surnames 이/리, 유/류, 임/림, 나/라, 노/로 occur in registers; this maps
    each to the form the standard language writes at the start of a word.
    """
    if not is_syllable(syllable):
        return syllable
    initial, medial, final = split_syllable(syllable)
    if initial == _RIEUL:
        initial = _IEUNG if medial in _Y_MEDIALS else _NIEUN
    elif initial == _NIEUN and medial in _Y_MEDIALS:
        initial = _IEUNG
    return join_syllable(initial, medial, final)
