"""Combination keys: exact linkage the way Korea's pseudonymised-data combination works.

Each agency derives, for each record, one key per *key definition* (an ordered list of
normalised fields, e.g. name + birth date + phone) with HMAC-SHA256 under a secret that only
the key custodian holds. The service sees keys and serials, never the fields. A plain or salted
hash of a name and birth date is not used: the space of Korean names × birth dates is small
enough to enumerate, so anyone holding the hash could recover the fields; without the
custodian's secret the HMAC cannot be recomputed, which the dictionary-attack test shows.

Definitions cascade: records matched by the first definition are taken out before the second
is tried, so a looser key (name + birth date + district) only links what the stricter one
could not. A key that two records of one source share is ambiguous and links nothing.

What this does not protect against: a custodian who leaks the secret, or an agency that keeps
the keys of another agency's run. Keys are per project (the project id is in the HMAC message),
so keys from two projects cannot be joined with each other.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bitgoeul.linkage import normalise

_SEPARATOR = "\x1f"

Normaliser = Callable[[str | None], str | None]


def _birth_date_text(value: str | None) -> str | None:
    day = normalise.birth_date(value)
    return day.isoformat() if day else None


def _sex(value: str | None) -> str | None:
    cleaned = normalise.text(value)
    if cleaned is None:
        return None
    mapped = {"m": "M", "male": "M", "남": "M", "남자": "M", "1": "M", "3": "M",
              "f": "F", "female": "F", "여": "F", "여자": "F", "2": "F", "4": "F"}  # fmt: skip
    return mapped.get(cleaned.casefold())


def _surname(value: str | None) -> str | None:
    name = normalise.hangul_name(value)
    return name[0] if name else None


def _birth_month(value: str | None) -> str | None:
    day = normalise.birth_date(value)
    return f"{day:%Y-%m}" if day else None


def _phone_tail(value: str | None) -> str | None:
    number = normalise.phone(value)
    return number[-4:] if number else None


# The fields a key definition may use: the record's field each is read from, and how.
FIELDS: dict[str, tuple[str, Normaliser]] = {
    "name": ("name", normalise.hangul_name),
    "name_latin": ("name_latin", normalise.romanised_name),
    "birth_date": ("birth_date", _birth_date_text),
    "sex": ("sex", _sex),
    "phone": ("phone", normalise.phone),
    "district": ("district", normalise.district),
    # Coarser parts, for block keys (never for linking on their own).
    "surname": ("name", _surname),
    "birth_month": ("birth_date", _birth_month),
    "phone_tail": ("phone", _phone_tail),
}


@dataclass(frozen=True)
class KeyDefinition:
    """An ordered tuple of fields whose normalised values together make one key."""

    name: str
    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [f for f in self.fields if f not in FIELDS]
        if unknown or not self.fields:
            raise ValueError(
                f"key definition {self.name!r} names unknown fields {unknown}; "
                f"choose from {sorted(FIELDS)}"
            )


DEFAULT_CASCADE: tuple[KeyDefinition, ...] = (
    KeyDefinition("name_birth_phone", ("name", "birth_date", "phone")),
    KeyDefinition("name_birth_district", ("name", "birth_date", "district")),
)


def derive_key(
    secret: bytes, project: str, definition: KeyDefinition, record: Mapping[str, object]
) -> str | None:
    """The hex HMAC-SHA256 key of one record under one definition; ``None`` when a field is
    missing or unreadable (a record without a phone gets no name+birth+phone key)."""
    values: list[str] = []
    for field in definition.fields:
        source, normaliser = FIELDS[field]
        raw = record.get(source)
        if isinstance(raw, date):
            raw = raw.isoformat()
        value = normaliser(None if raw is None else str(raw))
        if value is None:
            return None
        values.append(value)
    message = _SEPARATOR.join((project, definition.name, *values)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def derive_keys(
    secret: bytes,
    project: str,
    cascade: Sequence[KeyDefinition],
    records: Sequence[Mapping[str, object]],
) -> list[dict[str, str | None]]:
    """Each record's key under each definition of the cascade (what an agency hands over,
    beside its serials)."""
    return [{d.name: derive_key(secret, project, d, record) for d in cascade} for record in records]


# Block keys for fuzzy linkage: records are compared when they share one of these.
DEFAULT_BLOCKS: tuple[KeyDefinition, ...] = (
    KeyDefinition("block_birth_date", ("birth_date",)),
    KeyDefinition("block_surname_birth_month", ("surname", "birth_month")),
    KeyDefinition("block_surname_phone_tail", ("surname", "phone_tail")),
    KeyDefinition("block_name", ("name",)),
)


def block_keys(
    secret: bytes,
    project: str,
    blocks: Sequence[KeyDefinition],
    records: Sequence[Mapping[str, object]],
) -> list[list[str | None]]:
    """Each record's keyed block keys, one per blocking pass."""
    return [[derive_key(secret, project, b, record) for b in blocks] for record in records]


@dataclass(frozen=True)
class ExactLink:
    left: int
    right: int
    definition: str


def link_exact(
    cascade: Sequence[KeyDefinition],
    left: Sequence[Mapping[str, str | None]],
    right: Sequence[Mapping[str, str | None]],
) -> list[ExactLink]:
    """One-to-one links between two sources' key lists, definition by definition.

    A key shared by two records of the same source is ambiguous and links nothing at that
    step; records linked at one step are not offered to the next.
    """
    links: list[ExactLink] = []
    linked_left: set[int] = set()
    linked_right: set[int] = set()
    for definition in cascade:
        left_index = _unique_index(left, definition.name, linked_left)
        right_index = _unique_index(right, definition.name, linked_right)
        for key, i in left_index.items():
            j = right_index.get(key)
            if j is not None:
                links.append(ExactLink(i, j, definition.name))
                linked_left.add(i)
                linked_right.add(j)
    return links


def _unique_index(
    keys: Sequence[Mapping[str, str | None]], definition: str, taken: set[int]
) -> dict[str, int]:
    index: dict[str, int] = {}
    ambiguous: set[str] = set()
    for position, record_keys in enumerate(keys):
        key = record_keys.get(definition)
        if key is None or position in taken:
            continue
        if key in index:
            ambiguous.add(key)
        index[key] = position
    for key in ambiguous:
        del index[key]
    return index
