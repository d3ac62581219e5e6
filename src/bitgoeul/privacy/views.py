"""The decision's view of a dataset version: the one place obligations become SQL.

``view_sql`` turns a version's fields and a decision's ``Obligations`` into the SELECT a door
reads the version through: only the visible columns, direct identifiers pseudonymised with the
scope's key, the agreement's row filter, and for donated data only the rows of donors whose
consent covers the use (``DonorFilter``).  Preview, download, query, export, job inputs and the
testbed's test inputs all read through it, on the locked engine (``bitgoeul.engine``), so a
researcher sees the same rows whichever door they use.  The SQL is the platform's own: column
names come from the version's Table Schema, the row filter was checked when the agreement was
made (``governance.row_filter``), the key is hex.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bitgoeul.engine.sql import quote_name, quote_text
from bitgoeul.privacy.obligations import DonorFilter, Obligations
from bitgoeul.privacy.pseudonyms import PSEUDONYM_HEX_CHARS

SOURCE = "{source}"

Fields = Sequence[dict[str, Any]]


def schema_fields(table_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A Table Schema's fields (``[]`` when it has none)."""
    fields = table_schema.get("fields", [])
    return [f for f in fields if isinstance(f, dict) and "name" in f]


def column_classes(fields: Fields) -> dict[str, str]:
    """Column name → class (``direct_identifier``, ``quasi_identifier``, ``sensitive``,
    ``other``), as the version's schema says."""
    return {str(f["name"]): str(f.get("classification") or "other") for f in fields}


def classified_columns(fields: Fields, classification: str) -> list[str]:
    """The (lower-cased) names of the columns of one class."""
    return [str(f["name"]).lower() for f in fields if f.get("classification") == classification]


def _key_table(keys: frozenset[str]) -> str:
    """A one-column subquery of ``keys``.  Written as one string literal split at commas (the
    platform's donor keys are letters and digits), because DuckDB tests ``x IN (a, b, ...)``
    and ``NOT IN`` one literal at a time: with 10,000 keys over a million rows that took
    minutes, where the subquery is one hash join.  Keys holding a comma are listed one by one."""
    ordered = sorted(keys)
    if any("," in key for key in ordered):
        return f"SELECT unnest([{', '.join(quote_text(k) for k in ordered)}])"
    return f"SELECT unnest(string_split({quote_text(','.join(ordered))}, ','))"


def donor_condition(donors: DonorFilter) -> str:
    """The rows of the donors a consent covers: ``IN`` the covered ones, or ``NOT IN`` the
    others, whichever list is shorter (a missing donor key is never covered)."""
    column = quote_name(donors.column)
    if donors.keep is not None:
        if not donors.keep:
            return "FALSE"
        return f"{column} IN ({_key_table(donors.keep)})"
    if not donors.drop:
        return f"{column} IS NOT NULL"
    return f"({column} IS NOT NULL AND {column} NOT IN ({_key_table(donors.drop)}))"


def view_sql(
    fields: Fields, obligations: Obligations, *, key: str, keep: set[str] | None = None
) -> tuple[str, set[str]]:
    """A SELECT over ``{source}`` applying ``obligations``, and the names of the columns it
    leaves out.  ``keep`` names hidden columns to keep anyway (the person column the disclosure
    rules count people by, never shown)."""
    keep = keep or set()
    names = [str(f["name"]) for f in fields]
    visible = (
        set(names)
        if obligations.visible_columns is None
        else set(obligations.visible_columns) & set(names)
    )
    pseudonymised = {c.lower() for c in obligations.pseudonymise_columns}
    if pseudonymised and not key:
        raise ValueError("pseudonymising columns needs a key (privacy.pseudonym_key)")
    parts: list[str] = []
    for name in names:
        if name not in visible and name.lower() not in keep:
            continue
        column = quote_name(name)
        if name.lower() in pseudonymised:
            parts.append(
                f"substr(sha256('{key}' || CAST({column} AS VARCHAR)), 1, {PSEUDONYM_HEX_CHARS}) "
                f"AS {column}"
            )
        else:
            parts.append(column)
    conditions = [f"({obligations.row_filter})"] if obligations.row_filter else []
    if obligations.donor_filter is not None:
        conditions.append(donor_condition(obligations.donor_filter))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    select = ", ".join(parts) if parts else "NULL AS no_visible_columns"
    return f"SELECT {select} FROM {SOURCE}{where}", set(names) - visible
