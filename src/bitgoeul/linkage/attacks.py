"""The attacks the linkage methods are tested against, run by the tests and by
``benchmarks/linkage.py`` so that their failure is measured, not assumed.

* ``dictionary_attack``: someone holding the exact keys but not the custodian's secret
  enumerates candidate identities (every name × birth date × phone they can think of: here the
  true population itself, the strongest dictionary) and hashes them the ways a careless design
  would (plain SHA-256, SHA-256 with a public salt, HMAC under a guessed key). A key that
  matches re-identifies a person.
* ``frequency_attack``: someone holding the Bloom-filter encodings and the surname distribution
  (김 21.5 %, 이 14.7 %, …) mines bit positions that are set together far more often than chance
  (positions one frequent n-gram sets), groups them, aligns the group whose support is closest
  to the most frequent surname's share with that surname, and guesses that the records with
  those bits carry it. Success is measured against the truth as precision and lift over the
  surname's base rate.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bitgoeul.linkage.clk import Packed, unpack
from bitgoeul.linkage.keys import KeyDefinition, derive_key


@dataclass(frozen=True)
class DictionaryResult:
    keys: int
    guesses: int
    recovered: int  # keys whose person the attacker identified


def dictionary_attack(
    keys: Sequence[str | None],
    dictionary: Sequence[Mapping[str, object]],
    definition: KeyDefinition,
    project: str,
    guessed_secrets: Sequence[bytes] = (b"", b"secret", b"bitgoeul", b"0" * 32),
) -> DictionaryResult:
    """How many of ``keys`` the attacker recovers by hashing every dictionary entry with plain
    SHA-256, salted SHA-256 (the project as salt) and HMAC under each guessed secret."""
    targets = {k for k in keys if k is not None}
    found: set[str] = set()
    guesses = 0
    for entry in dictionary:
        plain_key = derive_key(b"", project, definition, entry)
        if plain_key is None:
            continue
        # The same normalised message the custodian's HMAC covers, hashed without the secret.
        message = _message(entry, definition, project)
        candidates = [
            hashlib.sha256(message).hexdigest(),
            hashlib.sha256(project.encode() + message).hexdigest(),
            *(hmac.new(s, message, hashlib.sha256).hexdigest() for s in guessed_secrets),
        ]
        guesses += len(candidates)
        found.update(c for c in candidates if c in targets)
    return DictionaryResult(len(targets), guesses, len(found))


def _message(entry: Mapping[str, object], definition: KeyDefinition, project: str) -> bytes:
    from datetime import date

    from bitgoeul.linkage.keys import FIELDS

    values = []
    for name in definition.fields:
        source, normaliser = FIELDS[name]
        raw = entry.get(source)
        raw = raw.isoformat() if isinstance(raw, date) else raw
        values.append(normaliser(None if raw is None else str(raw)) or "")
    return "\x1f".join((project, definition.name, *values)).encode()


@dataclass(frozen=True)
class FrequencyResult:
    surname_share: float  # the base rate: guessing at random is right this often
    guessed: int  # records the attacker says carry the surname
    precision: float
    recall: float

    @property
    def lift(self) -> float:
        return self.precision / self.surname_share if self.surname_share else 0.0

    @property
    def succeeded(self) -> bool:
        """Re-identification worth the name: most guesses right and at least twice the base
        rate, on a meaningful share of the surname's bearers."""
        return self.precision >= 0.5 and self.lift >= 2.0 and self.recall >= 0.2


def frequency_attack(
    encodings: Packed, has_surname: npt.NDArray[np.bool_], surname_share: float
) -> FrequencyResult:
    """Align the bit group whose support best matches ``surname_share`` with the surname."""
    bits = unpack(encodings).astype(np.float32)
    n = len(bits)
    frequency = bits.mean(axis=0)
    together = (bits.T @ bits) / n
    expected = np.outer(frequency, frequency)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(expected > 0, together / expected, 0.0)
    np.fill_diagonal(lift, 0.0)
    # Positions strongly tied to each other, each set in at least half the surname's share.
    strong = (lift >= 1.8) & (together >= surname_share * 0.5)
    best: npt.NDArray[np.bool_] | None = None
    best_gap = np.inf
    for seed in np.argsort(-strong.sum(axis=1))[:64].tolist():
        group = np.flatnonzero(strong[seed])
        if len(group) < 3:
            continue
        group = np.append(group, seed)
        guess = bits[:, group].mean(axis=1) >= 0.8
        gap = abs(guess.mean() - surname_share)
        if gap < best_gap:
            best, best_gap = guess, gap
    if best is None or not best.any():
        return FrequencyResult(surname_share, 0, 0.0, 0.0)
    correct = int((best & has_surname).sum())
    return FrequencyResult(
        surname_share,
        int(best.sum()),
        correct / int(best.sum()),
        correct / max(int(has_surname.sum()), 1),
    )
