"""Cryptographic long-term keys (CLK): Bloom-filter encodings for privacy-preserving fuzzy
linkage.

Each agency turns every record into one bit vector of ``length`` bits. Each identifying field
is cut into n-grams (a Korean name into bigrams of its jamo, so 김재민/김제민 differ in two
bigrams, not in a whole syllable); each n-gram sets ``hashes`` bits whose positions come from
HMAC-SHA256 under a key of its own for that field, derived from the custodian's secret with
HKDF (``info`` names the project and the field). The double-hashing scheme (``h1 + i·h2``) is
not used: its positions can be recovered by pattern mining (Kroll & Steinmetzer 2015). Two
encodings of similar records share many set bits, compared with the Dice coefficient
(``similarity.py``).

Hardening, chosen per project: ``balanced`` filters (the filter followed by its complement,
then permuted under a key: every encoding has exactly ``length`` ones, so no bit's frequency
tells anything), ``xor_fold`` (the two halves XORed), and optional BLIP noise (each bit flipped
with probability ``blip``; randomised response).

What this does not protect against: an attacker who holds the custodian's secret can encode a
dictionary of names and re-identify; without hardening, frequent n-grams (김, 이) leave frequent
bit patterns that a frequency attack on a known surname distribution may align, which is what
``benchmarks/linkage.py`` tries and reports. Encodings are only compared inside the hub and are
deleted after the run.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, cast

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bitgoeul.linkage import clk_kernels as kernels
from bitgoeul.linkage import hangul, normalise
from bitgoeul.linkage.hangul import jamo

Hardening = Literal["none", "balanced", "xor_fold"]
Tokenizer = Callable[[str], list[str]]
Packed = npt.NDArray[np.uint64]


# The normalisers, remembered per value: a name is read by the surname's and the given name's
# tokenizers, a birth date by its tokenizer and by the salt.
_hangul_name = functools.lru_cache(maxsize=1 << 16)(normalise.hangul_name)
_birth_date = functools.lru_cache(maxsize=1 << 16)(normalise.birth_date)


def _bigrams(value: str) -> list[str]:
    padded = f"_{value}_"
    return [padded[i : i + 2] for i in range(len(padded) - 1)]


def _name_tokens(value: str) -> list[str]:
    name = _hangul_name(value)
    return _bigrams(jamo(name)) if name else []


def _surname_tokens(value: str) -> list[str]:
    name = _hangul_name(value)
    return _bigrams(jamo(name[0])) if name else []


def _given_name_tokens(value: str) -> list[str]:
    name = _hangul_name(value)
    return _bigrams(jamo(name[1:])) if name and len(name) > 1 else []


def _latin_tokens(value: str) -> list[str]:
    name = normalise.romanised_name(value)
    if not name:
        return []
    return [gram for part in name.split(" ") for gram in _bigrams(part)]


def _date_tokens(value: str) -> list[str]:
    day = _birth_date(value)
    if day is None:
        return []
    # Positional digits: one mistyped digit changes one token of eight; the unordered month and
    # day keep a date whose day and month were swapped close.
    digits = [f"{i}{d}" for i, d in enumerate(_date_digits(day))]
    month_day = sorted((day.month, day.day))
    return [*digits, f"md{month_day[0]}-{month_day[1]}"]


def _date_digits(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"[-8:]


def _phone_tokens(value: str) -> list[str]:
    number = normalise.phone(value)
    if number is None:
        return []
    tail = number[-8:]
    return [f"{i}{d}" for i, d in enumerate(tail)]


def _whole(normaliser: Callable[[str | None], str | None]) -> Tokenizer:
    def tokens(value: str) -> list[str]:
        cleaned = normaliser(value)
        return [cleaned] if cleaned else []

    return tokens


TOKENIZERS: dict[str, Tokenizer] = {
    "hangul_name": _name_tokens,
    "hangul_surname": _surname_tokens,
    "hangul_given_name": _given_name_tokens,
    "latin_name": _latin_tokens,
    "date": _date_tokens,
    "phone": _phone_tokens,
    "district": _whole(normalise.district),
    "text": _whole(lambda v: (normalise.text(v) or "").casefold() or None),
}


@dataclass(frozen=True)
class FieldEncoding:
    """How one field enters the filter: its tokenizer and how many bits each token sets."""

    field: str
    tokenizer: str
    hashes: int = 10
    # Attribute salting: the positions of this field's tokens also depend on the record's birth
    # year or month, so the bits of a frequent surname scatter over the cohorts instead of
    # forming one group as frequent as the surname (the frequency attack's foothold).
    salt: Literal["", "birth_year", "birth_month_day"] = ""

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(
                f"field {self.field!r}: unknown tokenizer {self.tokenizer!r}; "
                f"choose from {sorted(TOKENIZERS)}"
            )
        if not 1 <= self.hashes <= 64:
            raise ValueError(f"field {self.field!r}: hashes must be 1..64, not {self.hashes}")


@dataclass(frozen=True)
class ClkSchema:
    fields: tuple[FieldEncoding, ...]
    length: int = 1024
    hardening: Hardening = "none"
    blip: float = 0.0

    def __post_init__(self) -> None:
        if self.length < 64 or self.length & (self.length - 1) or self.length > 65536:
            raise ValueError(f"length must be a power of two from 64 to 65536, not {self.length}")
        if not 0.0 <= self.blip < 0.5:
            raise ValueError(f"blip must be in [0, 0.5), not {self.blip}")

    @property
    def encoded_bits(self) -> int:
        """Bits per encoding after hardening."""
        if self.hardening == "balanced":
            return self.length * 2
        if self.hardening == "xor_fold":
            return self.length // 2
        return self.length


DEFAULT_THRESHOLD = 0.7

DEFAULT_SCHEMA = ClkSchema(
    # Weights chosen on the FEBRL-3-like set so that a shared name alone (Korea's given names
    # repeat) stays below the threshold. The surname's bigrams are salted with the birth year:
    # without it, the bits of 김 (about a fifth of people) form one group the frequency attack
    # finds. The romanised name adds one bit per bigram, which survives a Hangul typo.
    fields=(
        FieldEncoding("name", "hangul_surname", 5, salt="birth_year"),
        FieldEncoding("name", "hangul_given_name", 6),
        FieldEncoding("name_latin", "latin_name", 1),
        FieldEncoding("birth_date", "date", 12),
        FieldEncoding("phone", "phone", 6),
        FieldEncoding("district", "district", 4),
        FieldEncoding("sex", "text", 4),
    )
)


def field_key(secret: bytes, project: str, field_name: str) -> bytes:
    """The field's own HMAC key: HKDF-SHA256 of the custodian's secret, per project and field."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"bitgoeul-clk\x1f{project}\x1f{field_name}".encode(),
    ).derive(secret)


HmacStates = tuple["hashlib._Hash", "hashlib._Hash"]


def hmac_states(key: bytes) -> HmacStates:
    """SHA-256 after absorbing the key XOR ipad and the key XOR opad (RFC 2104): the part of
    HMAC-SHA256 that depends on the key only, computed once per field key."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    return inner, outer


def hmac_sha256(inner: hashlib._Hash, outer: hashlib._Hash, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message`` from the key's states: H(K⊕opad ‖ H(K⊕ipad ‖ message)),
    equal to ``hmac.digest(key, message, "sha256")`` at a third of its cost (the two key
    blocks are not hashed again for every token)."""
    first = inner.copy()
    first.update(message)
    second = outer.copy()
    second.update(first.digest())
    return second.digest()


def token_positions(key: bytes, token: str, count: int, length: int) -> npt.NDArray[np.int64]:
    """``count`` bit positions of one token: little-endian 16-bit words of HMAC-SHA256(key,
    token ‖ block) reduced modulo ``length`` (a power of two, so unbiased)."""
    words: list[npt.NDArray[np.uint16]] = []
    block = 0
    while sum(len(w) for w in words) < count:
        digest = hmac.new(key, token.encode() + bytes([block]), hashlib.sha256).digest()
        words.append(np.frombuffer(digest, dtype="<u2"))
        block += 1
    return (np.concatenate(words)[:count].astype(np.int64)) % length


@dataclass
class ClkEncoder:
    """Encodes records under one schema and secret; remembers each token's positions for the
    encoder's lifetime (one agency's batch), so a surname's HMACs are computed once, not once
    per person.

    Work per record is compiled (``clk_kernels``): each identifying column is handed over as
    one array of code points, tokenized into integer token codes, the codes mapped to token
    ids through a lookup table per field (a new code is turned back into its token string and
    hashed under the field's key once), and the bits set in the packed filters. A value that
    NFKC could change (anything but ASCII and Hangul syllables), and the whole-value
    tokenizers (districts, free text: few distinct values), go through ``TOKENIZERS`` in
    Python; both paths give a token the same id, so encodings do not depend on the path.
    """

    schema: ClkSchema
    secret: bytes
    project: str
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    _keys: list[bytes] = field(default_factory=list, init=False)
    _token_ids: dict[tuple[int, str], int] = field(default_factory=dict, init=False)
    _tokens: dict[tuple[int, str], list[str]] = field(default_factory=dict, init=False)
    _value_ids: dict[tuple[int, str, str], list[int]] = field(default_factory=dict, init=False)
    # Tokens given an id and not yet hashed: (slot, token), hashed in one batch by ``_table``.
    _pending: list[tuple[int, str]] = field(default_factory=list, init=False)
    # Per slot: token code (salt index × the tokenizer's code space + bare code) → token id.
    _lookups: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict, init=False)
    # Salt strings by index; index 0 is "no salt" (a record without a readable birth date).
    _salt_names: list[str] = field(default_factory=lambda: [""], init=False)
    _salt_of: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        # A new batch starts with nothing remembered (and memory from the last one freed).
        _hangul_name.cache_clear()
        _birth_date.cache_clear()
        # One key per field and tokenizer, so a name's surname and given-name parts hash apart.
        self._keys = [
            field_key(self.secret, self.project, f"{f.field}/{f.tokenizer}/{f.salt}")
            for f in self.schema.fields
        ]
        self._hmac_states: list[HmacStates] = [hmac_states(key) for key in self._keys]
        width = max(f.hashes for f in self.schema.fields)
        self._table_rows: npt.NDArray[np.int64] = np.zeros((0, width), dtype=np.int64)
        self._permutation: npt.NDArray[np.int64] | None = None
        if self.schema.hardening == "balanced":
            seed = hmac.new(self.secret, f"permute\x1f{self.project}".encode(), "sha256")
            permuter = np.random.default_rng(int.from_bytes(seed.digest(), "big"))
            self._permutation = permuter.permutation(self.schema.length * 2)
        # Salt index of each birth year (1..9999) and unordered month-day (32 a + b); 0 = none.
        self._salt_of = {
            "birth_year": np.zeros(10_000, np.int64),
            "birth_month_day": np.zeros(32 * 32, np.int64),
        }

    def _token_id(self, slot: int, encoding: FieldEncoding, token: str) -> int:
        token_id = self._token_ids.get((slot, token))
        if token_id is None:
            token_id = len(self._token_ids)
            self._token_ids[(slot, token)] = token_id
            self._pending.append((slot, token))
        return token_id

    def _ids(self, slot: int, encoding: FieldEncoding, value: str, salt: str) -> list[int]:
        cached = self._value_ids.get((slot, value, salt))
        if cached is not None:
            return cached
        tokens = self._tokens.get((slot, value))
        if tokens is None:
            tokens = TOKENIZERS[encoding.tokenizer](value)
            self._tokens[(slot, value)] = tokens
        ids = [
            self._token_id(slot, encoding, f"{salt}\x1f{bare}" if salt else bare) for bare in tokens
        ]
        self._value_ids[(slot, value, salt)] = ids
        return ids

    def encode(self, records: Sequence[Mapping[str, object]], *, batch: int = 50_000) -> Packed:
        """One packed encoding per record: an (n, bits / 64) array of uint64, made ``batch``
        records at a time so that the working arrays (a few hundred bit positions per record)
        stay bounded whatever the number of records; tokens stay remembered across batches."""
        if len(records) <= batch:
            return self._encode_batch(records)
        parts = [
            self._encode_batch(records[start : start + batch])
            for start in range(0, len(records), batch)
        ]
        return np.concatenate(parts)

    def _encode_batch(self, records: Sequence[Mapping[str, object]]) -> Packed:
        n = len(records)
        columns: dict[str, _Column] = {}
        parsed: dict[str, npt.NDArray[np.int64]] = {}

        def column(name: str) -> _Column:
            found = columns.get(name)
            if found is None:
                found = columns[name] = _Column.of([r.get(name) for r in records])
            return found

        def dates(name: str) -> npt.NDArray[np.int64]:
            found = parsed.get(name)
            if found is None:
                found = parsed[name] = column(name).dates()
            return found

        # The kernels run on a worker thread (they release the GIL) while this one reads the
        # next column out of the records and maps the previous slot's codes to token ids. One
        # thread per batch (about 0.1 ms), so nothing is shared with a forked worker process.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="clk-kernels") as kernel_thread:
            jobs: list[Future[_Tokens] | None] = []
            for encoding in self.schema.fields:
                values = column(encoding.field)
                day = dates(encoding.field) if encoding.tokenizer == "date" else None
                jobs.append(
                    kernel_thread.submit(_tokenize, encoding.tokenizer, values, day)
                    if encoding.tokenizer in _SPACES
                    else None
                )
            row_parts: list[npt.NDArray[np.int64]] = []
            id_parts: list[npt.NDArray[np.int64]] = []
            for slot, (encoding, job) in enumerate(zip(self.schema.fields, jobs, strict=True)):
                salt = self._salts(encoding.salt, dates("birth_date")) if encoding.salt else None
                values = column(encoding.field)
                if job is None:  # whole values: few distinct ones, tokenized in Python once each
                    rows, ids = self._python_ids(slot, encoding, values.texts, salt, None)
                    row_parts.append(rows)
                    id_parts.append(ids)
                    continue
                rows, codes, fallback = job.result()
                space, names = _SPACES[encoding.tokenizer]
                row_parts.append(rows)
                id_parts.append(self._code_ids(slot, encoding, rows, codes, salt, space, names))
                if fallback.any():
                    rows, ids = self._python_ids(
                        slot, encoding, values.texts, salt, np.flatnonzero(fallback)
                    )
                    row_parts.append(rows)
                    id_parts.append(ids)
        packed = np.zeros((n, self.schema.length // 64), dtype=np.uint64)
        if row_parts:
            table = self._table()
            kernels.set_bits(packed, np.concatenate(row_parts), np.concatenate(id_parts), table)
        if self.schema.hardening == "none" and self.schema.blip == 0:
            return packed
        return self._harden(unpack(packed))

    def _salts(self, kind: str, dates: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each record's salt index for ``kind`` (0 where its birth date is unreadable)."""
        valid = dates[:, 0] > 0
        if kind == "birth_year":
            keys = dates[:, 0]
        else:
            keys = 32 * np.minimum(dates[:, 1], dates[:, 2]) + np.maximum(dates[:, 1], dates[:, 2])
        keys = np.where(valid, keys, 0)
        table = self._salt_of[kind]
        for key in np.unique(keys[valid & (table[keys] == 0)]).tolist():
            name = f"y{key}" if kind == "birth_year" else f"md{key >> 5}-{key & 31}"
            table[key] = len(self._salt_names)
            self._salt_names.append(name)
        return np.where(valid, table[keys], 0)

    def _code_ids(
        self,
        slot: int,
        encoding: FieldEncoding,
        rows: npt.NDArray[np.int64],
        codes: npt.NDArray[np.int64],
        salt: npt.NDArray[np.int64] | None,
        space: int,
        names: Sequence[str],
    ) -> npt.NDArray[np.int64]:
        """Token ids of token codes; a code not seen before is written out as its token
        (``names[bare code]``, after its salt) and given an id, hashed with the batch's other
        new tokens."""
        full = codes if salt is None else salt[rows] * space + codes
        need = space * (len(self._salt_names) if salt is not None else 1)
        lookup = self._lookups.get(slot)
        if lookup is None or lookup.size < need:
            grown = np.full(need, -1, dtype=np.int64)
            if lookup is not None:
                grown[: lookup.size] = lookup
            lookup = self._lookups[slot] = grown
        ids = lookup[full]
        missing = ids < 0
        if missing.any():
            # The distinct new codes, by marking them in a mask of the code space.
            mask = np.zeros(lookup.size, dtype=np.bool_)
            mask[full[missing]] = True
            new = np.flatnonzero(mask)
            salt_of, bare_of = np.divmod(new, space)
            salt_names, token_ids = self._salt_names, self._token_ids
            if salt is None:
                keys = [(slot, names[bare]) for bare in bare_of.tolist()]
            else:
                keys = [
                    (
                        slot,
                        f"{salt_names[salt_index]}\x1f{names[bare]}" if salt_index else names[bare],
                    )
                    for salt_index, bare in zip(salt_of.tolist(), bare_of.tolist(), strict=True)
                ]
            # Distinct codes are distinct tokens; one may already have an id (from a value
            # tokenized in Python), the others get the next ones and wait to be hashed.
            fresh = [key for key in keys if key not in token_ids]
            token_ids.update(
                zip(fresh, range(len(token_ids), len(token_ids) + len(fresh)), strict=True)
            )
            self._pending.extend(fresh)
            assigned = np.fromiter(map(token_ids.__getitem__, keys), np.int64, len(keys))
            lookup[new] = assigned
            ids = lookup[full]
        return ids

    def _python_ids(
        self,
        slot: int,
        encoding: FieldEncoding,
        texts: list[str],
        salt: npt.NDArray[np.int64] | None,
        which: npt.NDArray[np.int64] | None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(record, token id) of the records ``which`` (every record for None), tokenized by
        ``TOKENIZERS`` once per distinct (value, salt)."""
        chosen = np.arange(len(texts), dtype=np.int64) if which is None else which
        values = texts if which is None else [texts[i] for i in which.tolist()]
        keys: Sequence[object] = (
            values if salt is None else list(zip(values, salt[chosen].tolist(), strict=True))
        )
        index: dict[object, int] = dict.fromkeys(keys, 0)
        for position, key in enumerate(index):
            index[key] = position
        entry_of = np.fromiter(map(index.__getitem__, keys), np.int64, count=len(keys))
        ids_per_entry: list[list[int]] = []
        for key in index:
            value, salt_index = (cast(str, key), 0) if salt is None else cast(tuple[str, int], key)
            ids_per_entry.append(
                self._ids(slot, encoding, value, self._salt_names[salt_index]) if value else []
            )
        lengths = np.fromiter((len(x) for x in ids_per_entry), np.int64, len(ids_per_entry))
        flat_ids = np.fromiter((i for x in ids_per_entry for i in x), np.int64, int(lengths.sum()))
        starts = np.cumsum(lengths) - lengths
        per_row = lengths[entry_of]
        total = int(per_row.sum())
        within = np.arange(total) - np.repeat(np.cumsum(per_row) - per_row, per_row)
        ids = flat_ids[np.repeat(starts[entry_of], per_row) + within]
        return np.repeat(chosen, per_row), ids

    def _table(self) -> npt.NDArray[np.int64]:
        """Token positions as one matrix, rows padded with -1 to the widest token; extended
        only by the tokens new since the last batch, hashed together: one HMAC-SHA256 per
        token (from the key's padded states, ``hmac_sha256``; a second block only for a field
        with more than 16 bits per token), the 16-bit words read with one NumPy view, exactly as
        ``token_positions`` reads them."""
        pending, self._pending = self._pending, []
        if not pending:
            return self._table_rows
        width = max(f.hashes for f in self.schema.fields)
        blocks = (width + 15) // 16
        suffixes = [bytes([block]) for block in range(blocks)]
        states = self._hmac_states
        digests = b"".join(
            [
                hmac_sha256(*states[slot], token.encode() + suffix)
                for slot, token in pending
                for suffix in suffixes
            ]
        )
        words = np.frombuffer(digests, dtype="<u2").reshape(len(pending), blocks * 16)
        grown = (words[:, :width].astype(np.int64)) % self.schema.length
        hashes = np.array([self.schema.fields[slot].hashes for slot, _ in pending])
        grown[np.arange(width)[None, :] >= hashes[:, None]] = -1
        self._table_rows = np.concatenate([self._table_rows, grown])
        return self._table_rows

    def _harden(self, bits: npt.NDArray[np.bool_]) -> Packed:
        if self.schema.hardening == "balanced":
            permutation = self._permutation
            if permutation is None:  # pragma: no cover (set for every balanced schema)
                raise RuntimeError("balanced hardening without its permutation")
            bits = np.concatenate([bits, ~bits], axis=1)[:, permutation]
        elif self.schema.hardening == "xor_fold":
            half = bits.shape[1] // 2
            bits = bits[:, :half] ^ bits[:, half:]
        if self.schema.blip > 0:
            bits = bits ^ (self.rng.random(bits.shape) < self.schema.blip)
        return pack(bits)


_HANGUL_MODES = {"hangul_name": 0, "hangul_surname": 1, "hangul_given_name": 2}
# The compiled tokenizers' code spaces and the bare token of each code.
_SPACES: dict[str, tuple[int, list[str]]] = {
    **dict.fromkeys(_HANGUL_MODES, (kernels.HANGUL_SPACE, kernels.HANGUL_TOKENS)),
    "latin_name": (kernels.LATIN_SPACE, kernels.LATIN_TOKENS),
    "phone": (kernels.DIGIT_SPACE, kernels.DIGIT_TOKENS),
    "date": (kernels.DIGIT_SPACE, kernels.DIGIT_TOKENS),
}
# (record of each token, token code, records left to the Python tokenizers)
_Tokens = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]


def _tokenize(tokenizer: str, values: _Column, dates: npt.NDArray[np.int64] | None) -> _Tokens:
    """One column's token codes from its compiled tokenizer (run on the kernel thread)."""
    if tokenizer in _HANGUL_MODES:
        return kernels.hangul_tokens(
            values.buf, values.starts, _HANGUL_MODES[tokenizer],
            kernels.INITIAL_CODES, kernels.MEDIAL_CODES, kernels.FINAL_CODES,
            kernels.Y_MEDIALS, hangul._RIEUL, hangul._NIEUN, hangul._IEUNG,
        )  # fmt: skip
    if tokenizer == "latin_name":
        return kernels.latin_tokens(
            values.buf, values.starts,
            kernels.SURNAME_KEYS, kernels.SURNAME_VALUES, kernels.SURNAME_LENGTHS,
        )  # fmt: skip
    if tokenizer == "phone":
        return kernels.phone_tokens(values.buf, values.starts)
    if dates is None:  # pragma: no cover (dates are parsed for every date field)
        raise ValueError("a date field without its parsed dates")
    rows, codes = kernels.date_tokens(dates)
    return rows, codes, np.zeros(len(values.texts), dtype=np.bool_)


def as_text(raw: object) -> str:
    """The text a field's value is tokenized from: ``""`` for None, a date (or a datetime) as
    its calendar day ``YYYY-MM-DD``, anything else as ``str``."""
    if raw is None:
        return ""
    if isinstance(raw, date):
        return f"{raw.year:04d}-{raw.month:02d}-{raw.day:02d}"
    return str(raw)


@dataclass
class _Column:
    """One field of a batch: each value's text, and all of them as one array of code points
    (``buf``) with each value's slice ``starts[i]:starts[i + 1]``."""

    texts: list[str]
    buf: npt.NDArray[np.uint32]
    starts: npt.NDArray[np.int64]

    @classmethod
    def of(cls, raw: list[object]) -> _Column:
        try:
            joined = "".join(raw)  # type: ignore[arg-type]
            texts: list[str] = raw  # type: ignore[assignment]
        except TypeError:
            texts = [as_text(value) for value in raw]
            joined = "".join(texts)
        starts = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)), out=starts[1:])
        buf = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return cls(texts, buf, starts)

    def dates(self) -> npt.NDArray[np.int64]:
        """``normalise.birth_date`` of each value as (year, month, day), year 0 for none."""
        this_year = date.today().year  # noqa: DTZ011 (a calendar day, no instant)
        out, fallback = kernels.parse_dates(self.buf, self.starts, this_year % 100)
        for i in np.flatnonzero(fallback).tolist():
            day = _birth_date(self.texts[i])
            if day is not None:
                out[i] = (day.year, day.month, day.day)
        return out  # type: ignore[no-any-return]


def pack(bits: npt.NDArray[np.bool_]) -> Packed:
    """Bits (n, L) to uint64 words (n, L / 64), bit i of a row in word i // 64."""
    packed = np.packbits(bits, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack(packed: Packed) -> npt.NDArray[np.bool_]:
    as_bytes = np.ascontiguousarray(packed.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, bitorder="little").astype(np.bool_)
