"""Quoting for the few places that write SQL text for DuckDB themselves (views, the disclosure
columns, DP aggregates, the output checks): a name between double quotes, a text between single
quotes, each with its own quote doubled.  User SQL never goes this way: the gateway prints it
from a checked tree (``query/rewrite.py``)."""

from __future__ import annotations


def quote_name(name: str) -> str:
    """``name`` as a SQL identifier, whatever characters it holds."""
    return '"' + name.replace('"', '""') + '"'


def quote_text(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
