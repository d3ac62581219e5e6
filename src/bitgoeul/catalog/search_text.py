"""Turning catalogue text and search queries into the same tokens, for both databases.

The full-text engines (SQLite FTS5 with the ``ascii`` tokenizer, PostgreSQL's ``simple``
configuration) only split on spaces and ASCII punctuation and fold ASCII case.  Everything
language-aware happens here, once, in Python, so both backends index exactly the same tokens:

* text is normalised (NFKD, combining marks dropped, NFC, case-folded), so ``Électricité``,
  ``electricite`` and ``ELECTRICITE`` are the same token;
* runs of letters and digits become tokens; a run is cut where Hangul meets other scripts
  (``AI허브`` → ``ai`` + ``허브``);
* Korean has no spaces inside compounds (``전력사용량`` is "electricity use amount"), so each
  Hangul run becomes its overlapping character bigrams plus its last character:
  ``전력사용량`` → ``전력 력사 사용 용량 량``.  A query run is turned into the same bigrams,
  which must appear consecutively (a phrase), so ``사용량`` matches ``전력사용량``.

Queries never reach the engines as user syntax: :func:`fts5_query` and :func:`tsquery` build
the engine's query language from these tokens alone (letters and digits), so quotes, ``*``,
``NEAR``, ``OR`` or parentheses typed by a user are just separators.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Tokens longer than this are cut (PostgreSQL refuses lexemes over 2 KiB; nobody types them).
MAX_TOKEN_CHARS = 60
# The indexed text of one field is bounded so one huge description cannot bloat the index.
MAX_FIELD_TOKENS = 4000
# Query terms beyond this are ignored (a pasted paragraph should not make a slow query).
MAX_QUERY_TERMS = 12

_WORD = re.compile(r"[^\W_]+")
_HANGUL = (
    "\u1100-\u11ff"  # jamo
    "\u3130-\u318f"  # compatibility jamo
    "\ua960-\ua97f"  # jamo extended-A
    "\uac00-\ud7a3"  # syllables
    "\ud7b0-\ud7ff"  # jamo extended-B
)
_SCRIPT_RUN = re.compile(f"[{_HANGUL}]+|[^{_HANGUL}]+")


def _is_hangul(run: str) -> bool:
    return bool(re.match(f"[{_HANGUL}]", run))


def fold(text: str) -> str:
    """Normalise text for matching: compatibility forms, no accents, case-folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", stripped).casefold()


@dataclass(frozen=True)
class Term:
    """One query term: a word, or the bigrams of one Hangul run (matched as a phrase)."""

    tokens: tuple[str, ...]
    hangul: bool


def _runs(text: str) -> Iterable[tuple[str, bool]]:
    for word in _WORD.findall(fold(text)):
        for run in _SCRIPT_RUN.findall(word):
            yield run[:MAX_TOKEN_CHARS] if not _is_hangul(run) else run, _is_hangul(run)


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def index_tokens(text: str) -> list[str]:
    """The tokens a document contributes to the index, in order."""
    tokens: list[str] = []
    for run, hangul in _runs(text):
        if hangul:
            tokens.extend(_bigrams(run))
            if len(run) > 1:
                # The last syllable alone, so a one-syllable query ("량") finds it by prefix.
                tokens.append(run[-1])
        else:
            tokens.append(run)
        if len(tokens) >= MAX_FIELD_TOKENS:
            break
    return tokens[:MAX_FIELD_TOKENS]


def index_text(*fields: str) -> str:
    """Space-separated index tokens of several fields (what ``search_*`` columns hold)."""
    return " ".join(token for field in fields for token in index_tokens(field))


def query_terms(query: str) -> list[Term]:
    """The terms of a user's query; empty when it has no letters or digits."""
    terms: list[Term] = []
    for run, hangul in _runs(query):
        tokens = tuple(_bigrams(run)) if hangul else (run,)
        terms.append(Term(tokens=tokens, hangul=hangul))
        if len(terms) >= MAX_QUERY_TERMS:
            break
    return terms


def _prefix_wanted(term: Term, *, last: bool) -> bool:
    # A single syllable only exists as the start of a bigram or the end of a run: prefix it.
    # The last term is what the user is still typing: prefix it too.
    return last or (term.hangul and len(term.tokens) == 1 and len(term.tokens[0]) == 1)


def fts5_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: every term required; Hangul bigrams as one phrase."""
    parts = []
    for i, term in enumerate(terms):
        phrase = " ".join(term.tokens).replace('"', '""')
        star = " *" if _prefix_wanted(term, last=i == len(terms) - 1) else ""
        parts.append(f'"{phrase}"{star}')
    return " AND ".join(parts)


def tsquery(terms: list[Term]) -> str:
    """A PostgreSQL ``to_tsquery('simple', …)`` expression equivalent to :func:`fts5_query`."""
    parts = []
    for i, term in enumerate(terms):
        star = ":*" if _prefix_wanted(term, last=i == len(terms) - 1) else ""
        lexemes = [t.replace("\\", "\\\\").replace("'", "''") for t in term.tokens]
        if len(lexemes) == 1:
            parts.append(f"'{lexemes[0]}'{star}")
        else:
            # Only the last bigram of a phrase is a prefix, as in FTS5.
            inner = " <-> ".join(f"'{lexeme}'" for lexeme in lexemes[:-1])
            parts.append(f"({inner} <-> '{lexemes[-1]}'{star})")
    return " & ".join(parts)
