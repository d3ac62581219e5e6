"""Full-text index DDL per backend.  Filled in by the catalog search work."""

from __future__ import annotations

from typing import Any


def create(op: Any) -> None:
    return None


def drop(op: Any) -> None:
    return None
