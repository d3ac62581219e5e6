"""Pseudonyms and the decision's view of a dataset version.

Pseudonyms are the keyed hash that hides direct identifiers, one key per scope (project).

The same identifier gets the same pseudonym everywhere inside one project, so joins work, and
a different one in every other project.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bitgoeul.catalog.models import DatasetVersion
from bitgoeul.governance.decision import Obligations

PSEUDONYM_HEX_CHARS = 16


def pseudonym_key(secret: str, scope: str) -> str:
    """The per-scope key (hex): HMAC-SHA256 of the scope under the platform secret.

    Values are then pseudonymised inside DuckDB as ``sha256(key || value)``, truncated; the key
    is only ever in the view definitions, which user SQL cannot read (no catalog functions),
    and it is scrubbed from error messages.
    """
    return hmac.new(secret.encode(), f"pseudonym:{scope}".encode(), hashlib.sha256).hexdigest()


def pseudonymise(key: str, value: object) -> str:
    """The same pseudonym DuckDB computes, for tests and for joining outside the gateway."""
    digest = hashlib.sha256(f"{key}{value}".encode()).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def schema_fields(version: DatasetVersion) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = version.table_schema.get("fields", [])
    return fields


def classified_columns(version: DatasetVersion, classification: str) -> list[str]:
    """The (lower-cased) names of the version's columns of one class."""
    return [
        str(f["name"]).lower()
        for f in schema_fields(version)
        if f.get("classification") == classification
    ]


def policy_view_sql(
    version: DatasetVersion, policy: Obligations, *, key: str, keep: set[str]
) -> tuple[str, set[str]]:
    """The decision's view of a version: a SELECT over ``{source}`` with only the visible
    columns (and ``keep``), direct identifiers pseudonymised under ``key``, and the agreement's
    row filter; plus the names of the columns it leaves out.  The gateway and the job inputs
    both read data through it, so a job sees exactly what a query would."""
    names = [str(f["name"]) for f in schema_fields(version)]
    visible = (
        set(names) if policy.visible_columns is None else set(policy.visible_columns) & set(names)
    )
    pseudonymised = {c.lower() for c in policy.pseudonymise_columns}
    parts: list[str] = []
    for name in names:
        if name not in visible and name.lower() not in keep:
            continue
        if name.lower() in pseudonymised:
            parts.append(
                f"substr(sha256('{key}' || CAST({quote_identifier(name)} AS VARCHAR)), 1, "
                f"{PSEUDONYM_HEX_CHARS}) AS {quote_identifier(name)}"
            )
        else:
            parts.append(quote_identifier(name))
    where = f" WHERE ({policy.row_filter})" if policy.row_filter else ""
    select = ", ".join(parts) if parts else "NULL AS no_visible_columns"
    return f"SELECT {select} FROM {{source}}{where}", set(names) - visible
