"""The CLK encoder's tokenizers compiled with Numba: a whole column at once, as token codes.

``clk.ClkEncoder`` hands each identifying column over as one array of Unicode code points
(``buf``) with each record's slice (``starts``), and these kernels return, for every record,
integer codes of the tokens that ``clk.TOKENIZERS`` would make from the same value, so that
the keyed hash is computed once per distinct token, never per record, and no Python runs per
value. Each code names one token string exactly (``clk`` turns a new code back into its
string before hashing it under the field's key):

- Hangul names: bigrams of jamo, ``a * 64 + b`` with ``_`` = 0 and a compatibility jamo
  U+3131..U+3163 = its code point − 0x3130;
- romanised names: bigrams over ``_`` = 0 and ``a``..``z`` = 1..26, ``a * 32 + b``;
- dates and phones: the positional digit ``"{i}{d}"`` = ``10 i + d``; a date's unordered
  month and day ``"md{a}-{b}"`` = ``80 + 32 a + b``.

A value with a character outside ASCII and the precomposed Hangul syllables is not tokenized
here but marked in ``fallback``: NFKC may change it (full-width digits, compatibility jamo),
so ``clk`` gives it to the Python tokenizer, which is the definition. On ASCII and Hangul
syllables NFKC changes nothing, and every rule below is the Python one (``normalise`` and
``hangul``) written over code points; ``tests/linkage/test_linkage_clk.py`` compares the
two on generated records.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from bitgoeul.linkage import hangul, normalise

HANGUL_SPACE = 64 * 64
LATIN_SPACE = 32 * 32
DIGIT_SPACE = 80 + 32 * 32

# Jamo of a syllable's initial, medial and final as symbol codes (code point − 0x3130); a
# syllable without a final has -1 there.
INITIAL_CODES = np.array([ord(c) - 0x3130 for c in hangul.INITIALS], dtype=np.int64)
MEDIAL_CODES = np.array([ord(c) - 0x3130 for c in hangul.MEDIALS], dtype=np.int64)
FINAL_CODES = np.array([ord(c) - 0x3130 if c else -1 for c in hangul.FINALS], dtype=np.int64)
Y_MEDIALS = np.array([i in hangul._Y_MEDIALS for i in range(21)], dtype=np.bool_)


def _word_code(word: str) -> int:
    """A word of up to 12 letters a..z as one integer (equal words, equal codes)."""
    code = 0
    for character in word.ljust(12, "`"):
        code = code * 27 + ord(character) - 96
    return code


_SURNAMES = sorted(normalise._SURNAME_ROMANISED.items(), key=lambda kv: _word_code(kv[0]))
SURNAME_KEYS = np.array([_word_code(k) for k, _ in _SURNAMES], dtype=np.int64)
# The canonical spellings, one row each, padded with 0.
SURNAME_VALUES = np.zeros((len(_SURNAMES), 12), dtype=np.int64)
SURNAME_LENGTHS = np.array([len(v) for _, v in _SURNAMES], dtype=np.int64)
for _row, (_, _value) in enumerate(_SURNAMES):
    SURNAME_VALUES[_row, : len(_value)] = [ord(c) for c in _value]


def hangul_symbol(code: int) -> str:
    return "_" if code == 0 else chr(0x3130 + code)


def latin_symbol(code: int) -> str:
    return "_" if code == 0 else chr(96 + code)


def hangul_token(code: int) -> str:
    return hangul_symbol(code >> 6) + hangul_symbol(code & 63)


def latin_token(code: int) -> str:
    return latin_symbol(code >> 5) + latin_symbol(code & 31)


def digit_token(code: int) -> str:
    if code < 80:
        return f"{code // 10}{code % 10}"
    rest = code - 80
    return f"md{rest >> 5}-{rest & 31}"


# Every bare token of each code space, by code ("" for a code no token has).
HANGUL_TOKENS = [hangul_token(code) for code in range(HANGUL_SPACE)]
LATIN_TOKENS = [latin_token(code) for code in range(LATIN_SPACE)]
DIGIT_TOKENS = [digit_token(code) for code in range(DIGIT_SPACE)]


@njit(cache=True, nogil=True)
def _plain(buf: Any, start: int, end: int) -> bool:  # pragma: no cover (compiled)
    """Only ASCII and precomposed Hangul syllables: text NFKC leaves as it is."""
    for p in range(start, end):
        c = buf[p]
        if c >= 128 and not (0xAC00 <= c <= 0xD7A3):
            return False
    return True


@njit(cache=True, nogil=True)
def hangul_tokens(
    buf: Any,
    starts: Any,
    mode: int,
    initials: Any,
    medials: Any,
    finals: Any,
    y_medials: Any,
    rieul: int,
    nieun: int,
    ieung: int,
) -> tuple[Any, Any, Any]:  # pragma: no cover (compiled; tested through ``clk``)
    """Jamo bigrams of ``normalise.hangul_name``: the whole name (mode 0), the surname (its
    first syllable, mode 1) or the given name (the rest, when there is one, mode 2)."""
    n = starts.size - 1
    longest = 0
    for i in range(n):
        longest = max(longest, starts[i + 1] - starts[i])
    rows = np.empty(3 * (starts[n] - starts[0]) + n, np.int64)
    codes = np.empty(rows.size, np.int64)
    fallback = np.zeros(n, np.bool_)
    syllables = np.empty(longest, np.int64)
    used = 0
    for i in range(n):
        s, e = starts[i], starts[i + 1]
        if not _plain(buf, s, e):
            fallback[i] = True
            continue
        count = 0
        p = s
        while p < e:
            c = buf[p]
            if c == 40 or c == 91:  # "(" or "[": a remark up to the nearest ")" or "]"
                q = p + 1
                while q < e and buf[q] != 41 and buf[q] != 93:
                    q += 1
                if q < e:
                    p = q + 1
                    continue
            if c >= 0xAC00:
                syllables[count] = c - 0xAC00
                count += 1
            p += 1
        if count == 0:
            continue
        first = syllables[0]
        initial, medial, final = first // 588, (first // 28) % 21, first % 28
        if initial == rieul:
            initial = ieung if y_medials[medial] else nieun
        elif initial == nieun and y_medials[medial]:
            initial = ieung
        syllables[0] = (initial * 21 + medial) * 28 + final
        lo, hi = 0, count
        if mode == 1:
            hi = 1
        elif mode == 2:
            lo = 1
        if lo >= hi:
            continue
        previous = 0
        for k in range(lo, hi):
            code = syllables[k]
            for jamo in (initials[code // 588], medials[(code // 28) % 21], finals[code % 28]):
                if jamo >= 0:
                    rows[used] = i
                    codes[used] = previous * 64 + jamo
                    used += 1
                    previous = jamo
        rows[used] = i
        codes[used] = previous * 64
        used += 1
    return rows[:used], codes[:used], fallback


@njit(cache=True, nogil=True)
def _less(chars: Any, a_start: int, a_len: int, b_start: int, b_len: int) -> bool:
    """String order of two words in ``chars`` (a prefix first)."""  # pragma: no cover
    for k in range(min(a_len, b_len)):
        x, y = chars[a_start + k], chars[b_start + k]
        if x != y:
            return bool(x < y)
    return a_len < b_len


@njit(cache=True, nogil=True)
def latin_tokens(
    buf: Any, starts: Any, keys: Any, values: Any, value_lengths: Any
) -> tuple[Any, Any, Any]:  # pragma: no cover (compiled; tested through ``clk``)
    """Bigrams of each word of ``normalise.romanised_name`` (ASCII values; others fall back)."""
    n = starts.size - 1
    longest = 0
    for i in range(n):
        longest = max(longest, starts[i + 1] - starts[i])
    rows = np.empty(2 * (starts[n] - starts[0]) + 2 * n + 16, np.int64)
    codes = np.empty(rows.size, np.int64)
    fallback = np.zeros(n, np.bool_)
    words = longest + 1
    chars = np.empty(5 * longest + 32, np.int64)
    word_start = np.empty(words, np.int64)
    word_len = np.empty(words, np.int64)
    surname = np.empty(words, np.int64)
    part_start = np.empty(words, np.int64)
    part_len = np.empty(words, np.int64)
    used = 0
    for i in range(n):
        s, e = starts[i], starts[i + 1]
        ascii_only = True
        for p in range(s, e):
            if buf[p] >= 128:
                ascii_only = False
                break
        if not ascii_only:
            fallback[i] = True
            continue
        count = 0
        length = 0
        w = 0
        for p in range(s, e):
            c = buf[p]
            if 65 <= c <= 90:
                c += 32
            if c == 45 or c == 39:  # "-" and "'" are dropped, joining what they separate
                continue
            if 97 <= c <= 122:
                if length == 0:
                    word_start[count] = w
                chars[w] = c
                w += 1
                length += 1
            elif length > 0:
                word_len[count] = length
                count += 1
                length = 0
        if length > 0:
            word_len[count] = length
            count += 1
        if count == 0:
            continue
        first_surname = -1
        for t in range(count):
            surname[t] = -1
            if word_len[t] <= 12:
                code = 0
                for k in range(12):
                    letter = chars[word_start[t] + k] - 96 if k < word_len[t] else 0
                    code = code * 27 + letter
                at = np.searchsorted(keys, code)
                if at < keys.size and keys[at] == code:
                    surname[t] = at
                    if first_surname < 0:
                        first_surname = t
        parts = 0
        if count > 2 and first_surname >= 0:
            # The surname apart, the other words joined into one given name.
            at = surname[first_surname]
            part_start[0] = w
            part_len[0] = value_lengths[at]
            for k in range(value_lengths[at]):
                chars[w] = values[at, k]
                w += 1
            part_start[1] = w
            joined = 0
            for t in range(count):
                if t != first_surname:
                    for k in range(word_len[t]):
                        chars[w] = chars[word_start[t] + k]
                        w += 1
                        joined += 1
            part_len[1] = joined
            parts = 2
        else:
            for t in range(count):
                if surname[t] >= 0:
                    at = surname[t]
                    part_start[t] = w
                    part_len[t] = value_lengths[at]
                    for k in range(value_lengths[at]):
                        chars[w] = values[at, k]
                        w += 1
                else:
                    part_start[t] = word_start[t]
                    part_len[t] = word_len[t]
            parts = count
        for a in range(1, parts):  # insertion sort: a name has a few words
            b = a
            while b > 0 and _less(
                chars, part_start[b], part_len[b], part_start[b - 1], part_len[b - 1]
            ):
                part_start[b], part_start[b - 1] = part_start[b - 1], part_start[b]
                part_len[b], part_len[b - 1] = part_len[b - 1], part_len[b]
                b -= 1
        if used + 2 * w + 2 * parts >= rows.size:
            grown = max(2 * rows.size, used + 2 * w + 2 * parts + 16)
            rows = np.concatenate((rows[:used], np.empty(grown - used, np.int64)))
            codes = np.concatenate((codes[:used], np.empty(grown - used, np.int64)))
        for t in range(parts):
            previous = 0
            for k in range(part_len[t]):
                letter = chars[part_start[t] + k] - 96
                rows[used] = i
                codes[used] = previous * 32 + letter
                used += 1
                previous = letter
            rows[used] = i
            codes[used] = previous * 32
            used += 1
    return rows[:used], codes[:used], fallback


@njit(cache=True, nogil=True)
def _number(buf: Any, start: int, length: int) -> int:  # pragma: no cover (compiled)
    """The digits' value, or 10**10 for more than nine significant digits (never a valid
    year, month or day)."""
    value = 0
    significant = 0
    for p in range(start, start + length):
        d = buf[p] - 48
        if significant > 0 or d > 0:
            significant += 1
            if significant > 9:
                return 10**10
        value = value * 10 + d
    return value


@njit(cache=True, nogil=True)
def parse_dates(buf: Any, starts: Any, this_century_until: int) -> tuple[Any, Any]:
    """``normalise.birth_date`` as (year, month, day) per record, year 0 when there is no
    date; ``this_century_until`` is this year's last two digits (a six-digit date after it
    is in the 1900s). Returns (dates (n, 3), fallback)."""  # pragma: no cover (compiled)
    n = starts.size - 1
    out = np.zeros((n, 3), np.int64)
    fallback = np.zeros(n, np.bool_)
    group_start = np.zeros(3, np.int64)
    group_len = np.zeros(3, np.int64)
    for i in range(n):
        s, e = starts[i], starts[i + 1]
        if not _plain(buf, s, e):
            fallback[i] = True
            continue
        groups = 0
        p = s
        while p < e:
            if 48 <= buf[p] <= 57:
                q = p
                while q < e and 48 <= buf[q] <= 57:
                    q += 1
                if groups < 3:
                    group_start[groups] = p
                    group_len[groups] = q - p
                groups += 1
                p = q
            else:
                p += 1
        if groups == 1 and (group_len[0] == 6 or group_len[0] == 8):
            g = group_start[0]
            if group_len[0] == 8:
                year = _number(buf, g, 4)
                month = _number(buf, g + 4, 2)
                day = _number(buf, g + 6, 2)
            else:
                short = _number(buf, g, 2)
                year = 2000 + short if short <= this_century_until else 1900 + short
                month = _number(buf, g + 2, 2)
                day = _number(buf, g + 4, 2)
        elif groups == 3 and group_len[0] == 4:
            year = _number(buf, group_start[0], 4)
            month = _number(buf, group_start[1], group_len[1])
            day = _number(buf, group_start[2], group_len[2])
        else:
            continue
        if not (1 <= year <= 9999 and 1 <= month <= 12 and day >= 1):
            continue
        if month == 2:
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            last = 29 if leap else 28
        elif month == 4 or month == 6 or month == 9 or month == 11:
            last = 30
        else:
            last = 31
        if day > last:
            continue
        out[i, 0] = year
        out[i, 1] = month
        out[i, 2] = day
    return out, fallback


@njit(cache=True, nogil=True)
def date_tokens(dates: Any) -> tuple[Any, Any]:  # pragma: no cover (compiled)
    """The eight positional digits of ``YYYYMMDD`` and the unordered month and day."""
    n = dates.shape[0]
    rows = np.empty(9 * n, np.int64)
    codes = np.empty(9 * n, np.int64)
    used = 0
    for i in range(n):
        year, month, day = dates[i, 0], dates[i, 1], dates[i, 2]
        if year == 0:
            continue
        number = year * 10000 + month * 100 + day
        for k in range(8):
            rows[used] = i
            codes[used] = (7 - k) * 10 + number % 10
            number //= 10
            used += 1
        rows[used] = i
        codes[used] = 80 + 32 * min(month, day) + max(month, day)
        used += 1
    return rows[:used], codes[:used]


@njit(cache=True, nogil=True)
def phone_tokens(buf: Any, starts: Any) -> tuple[Any, Any, Any]:  # pragma: no cover
    """The positional digits of the last eight of ``normalise.phone``'s national number."""
    n = starts.size - 1
    longest = 0
    for i in range(n):
        longest = max(longest, starts[i + 1] - starts[i])
    rows = np.empty(8 * n, np.int64)
    codes = np.empty(8 * n, np.int64)
    fallback = np.zeros(n, np.bool_)
    digits = np.empty(longest + 1, np.int64)
    used = 0
    for i in range(n):
        s, e = starts[i], starts[i + 1]
        if not _plain(buf, s, e):
            fallback[i] = True
            continue
        first = s
        while first < e and (buf[first] == 32 or 9 <= buf[first] <= 13 or 28 <= buf[first] <= 31):
            first += 1
        plus82 = (
            first + 2 < e and buf[first] == 43 and buf[first + 1] == 56 and buf[first + 2] == 50
        )
        count = 0
        for p in range(s, e):
            if 48 <= buf[p] <= 57:
                digits[count] = buf[p] - 48
                count += 1
        begin = 0
        if plus82 or (count >= 11 and digits[0] == 8 and digits[1] == 2):
            # "0" + digits[2:].lstrip("0"): the leading "0" is written over digits[begin].
            begin = 2
            while begin < count and digits[begin] == 0:
                begin += 1
            begin -= 1
            digits[begin] = 0
        length = count - begin
        if length < 9 or length > 11 or digits[begin] != 0:
            continue
        for k in range(8):
            rows[used] = i
            codes[used] = k * 10 + digits[count - 8 + k]
            used += 1
    return rows[:used], codes[:used], fallback


@njit(cache=True, nogil=True)
def set_bits(out: Any, rows: Any, ids: Any, table: Any) -> None:  # pragma: no cover
    """Every token's positions set in its record's packed filter (bit p in word p // 64)."""
    width = table.shape[1]
    for k in range(rows.size):
        row = rows[k]
        token = ids[k]
        for h in range(width):
            position = table[token, h]
            if position < 0:
                break
            out[row, position >> 6] |= np.uint64(1) << np.uint64(position & 63)
