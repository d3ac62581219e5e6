"""Pseudonyms: the keyed hash that hides direct identifiers, one key per scope (project).

The same identifier gets the same pseudonym everywhere inside one project, so joins work, and
a different one in every other project.  The key never leaves the hub: it is written only into
the views a door creates in the locked engine, which user SQL cannot read (no catalog
functions), and it is scrubbed from error messages.
"""

from __future__ import annotations

import hashlib
import hmac

PSEUDONYM_HEX_CHARS = 16


def pseudonym_key(secret: str, scope: str) -> str:
    """The per-scope key (hex): HMAC-SHA256 of the scope under the platform secret.

    Values are then pseudonymised inside DuckDB as ``sha256(key || value)``, truncated.
    """
    if not secret:
        raise ValueError("pseudonyms need the platform secret (settings.secret())")
    return hmac.new(secret.encode(), f"pseudonym:{scope}".encode(), hashlib.sha256).hexdigest()


def pseudonymise(key: str, value: object) -> str:
    """The same pseudonym DuckDB computes, for tests and for joining outside the gateway."""
    digest = hashlib.sha256(f"{key}{value}".encode()).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]
