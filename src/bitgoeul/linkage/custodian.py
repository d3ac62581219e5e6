"""The key custodian's secret: what combination keys and encodings are made under.

In Korea's pseudonymised-data combination a designated agency holds the key; here the secret
of each custodian organization is 32 random bytes in ``<data dir>/custodians/<slug>.key``
(mode 0600), made on first use and never in the database, the audit log or a dataset. The hub
process reads it to run a linkage on the agencies' behalf.

What this does not protect against: anyone who can read the hub's data directory can read the
secret (the same holds for the hub's own signing secret); an operator who needs the agencies to
derive keys themselves must hand each of them the secret out of band.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from bitgoeul.config import Settings

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def secret_path(settings: Settings, custodian: str) -> Path:
    if not _SLUG.fullmatch(custodian):
        raise ValueError(f"not an organization slug: {custodian!r}")
    return settings.ensure_data_dir() / "custodians" / f"{custodian}.key"


def custodian_secret(settings: Settings, custodian: str) -> bytes:
    """The custodian's secret, made on first use (exclusively, so two runs agree)."""
    path = secret_path(settings, custodian)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(handle, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()
