"""What the server says to people, in their language.

Domain code writes a message in English with :func:`msg`: ``msg("There is no dataset
'{slug}'.", slug=slug)``.  The result is a :class:`Message`, a ``str`` holding the English
text (so logs, the audit log and English clients see exactly what they always did) that also
remembers its template and values.  Where the message meets a person (the error handler, a
page, a notification) :func:`translate` looks the template up in the Korean catalog and fills
in the values, themselves translated when they are messages.

The catalogs are gettext ``.po`` files read with Babel, one per package (the *domain*):
``src/bitgoeul/locales/ko/LC_MESSAGES/<package>.po``.  ``tests/test_messages.py`` extracts every
``msg("...")`` with Babel's extractor and fails, naming them, on messages without a Korean
translation, translations whose ``{placeholders}`` differ, and entries nothing uses.  To start a
catalog's entries for new messages::

    pybabel extract -k msg -o /tmp/new.pot src/bitgoeul/<package>
    pybabel update -i /tmp/new.pot -D <package> -d src/bitgoeul/locales -l ko
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ko")
SOURCE_LANGUAGE = "en"


class Message(str):
    """English text that remembers how it was made, so it can be said in another language."""

    template: str
    values: Mapping[str, Any]

    def __new__(cls, template: str, values: Mapping[str, Any]) -> Message:
        made = super().__new__(cls, template.format(**values) if values else template)
        made.template = template
        made.values = dict(values)
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Message, (self.template, self.values))


def msg(template: str, /, **values: Any) -> Message:
    """A message for a person: ``template`` in English with ``{name}`` placeholders."""
    return Message(template, values)


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every domain's translations for ``lang``, English template → translated template."""
    folder = LOCALES_DIR / lang / "LC_MESSAGES"
    merged: dict[str, str] = {}
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for entry in read_po(handle, locale=lang, domain=path.stem):
                if entry.id and isinstance(entry.id, str) and entry.string and not entry.fuzzy:
                    merged[entry.id] = str(entry.string)
    return merged


def translate(text: Any, lang: str) -> str:
    """``text`` said in ``lang``: a :class:`Message` (or a plain string that is a catalog
    entry) is translated; anything else, or anything the catalog lacks, stays English."""
    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES:
        return str(text)
    translations = catalog(lang)
    if isinstance(text, Message):
        template = translations.get(text.template)
        if template is None:
            if not text.values:
                return str(text)
            template = text.template  # the English words, with their values said in lang
        values = {name: translate(value, lang) for name, value in text.values.items()}
        return template.format(**values) if values else template
    if isinstance(text, str):
        return translations.get(text, text)
    return str(text)


def translate_tree(value: Any, lang: str) -> Any:
    """Every message inside a JSON-like ``value`` (an error's structured detail) translated."""
    if lang == SOURCE_LANGUAGE:
        return value
    if isinstance(value, Message):
        return translate(value, lang)
    if isinstance(value, dict):
        return {key: translate_tree(item, lang) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [translate_tree(item, lang) for item in value]
    return value


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template fills in."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def preferred_language(accept_language: str | None, offered: Iterable[str] = LANGUAGES) -> str:
    """The first language of an ``Accept-Language`` header that is offered, else English.

    ``ko-KR,ko;q=0.9,en;q=0.5`` → ``ko``; weights are honoured, ``*`` and unknown tags skipped.
    """
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in offered and weight > 0:
            choices.append((-weight, position, primary))
    return min(choices)[2] if choices else SOURCE_LANGUAGE


# Reading stored English back --------------------------------------------------------------
#
# Some messages are stored as English text before anyone reads them (a job's failure reason,
# an output check's finding in the database): their template and values are gone.  ``reread``
# matches such a text against the catalog's templates and gives the message back, so a page
# or an API answer can say it in the reader's language.


_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@cache
def _rereadable() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """Every template with placeholders as its literal pieces and the names between them, the
    most specific (most literal text) first.  Left out: templates with format specs
    (``{n:,}``: a value could not be formatted again from text), with two placeholders side by
    side (no text tells where one ends) and with little literal text (``{a}: {b}`` would
    read any text as itself)."""
    found = []
    for template in catalog("ko"):
        if "{" not in template or any(
            spec or conversion
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name
        ):
            continue
        pieces = _FIELD.split(template)  # literal, name, literal, name, ..., literal
        literals, names = tuple(pieces[0::2]), tuple(pieces[1::2])
        if not names or any(not piece for piece in literals[1:-1]):
            continue
        if sum(len(piece) for piece in literals) < 12:
            continue
        found.append((template, literals, names))
    found.sort(key=lambda item: -sum(len(piece) for piece in item[1]))
    return tuple(found)


def _values_in(text: str, literals: tuple[str, ...], names: tuple[str, ...]) -> dict[str, str]:
    """The values that fill ``literals`` in to make ``text``, each up to the first place the
    next literal follows (one pass, no backtracking: user text inside a stored message, a
    file name, cannot make this slow); empty when ``text`` is not made so."""
    first, last = literals[0], literals[-1]
    if not text.startswith(first) or not text.endswith(last):
        return {}
    end = len(text) - len(last)
    position = len(first)
    values: dict[str, str] = {}
    for index, name in enumerate(names):
        if index + 1 < len(names):
            found = text.find(literals[index + 1], position + 1, end)
            if found < 0:
                return {}
            value, position = text[position:found], found + len(literals[index + 1])
        else:
            value = text[position:end]
        if not value or values.setdefault(name, value) != value:
            return {}
    return values


def reread(text: str, *, depth: int = 3) -> str:
    """``text`` as the :class:`Message` it was made from, when it is a catalog template filled
    in (its values read back, themselves reread); else ``text`` unchanged."""
    if isinstance(text, Message) or not isinstance(text, str) or not text or depth <= 0:
        return text
    if text in catalog("ko"):
        return Message(text, {})
    for template, literals, names in _rereadable():
        values = _values_in(text, literals, names)
        if values and template.format(**values) == text:
            return Message(
                template, {name: reread(value, depth=depth - 1) for name, value in values.items()}
            )
    return text


def said(text: Any, lang: str) -> str:
    """A message, or English stored before as text, said in ``lang``."""
    if text is None:
        return ""
    return translate(reread(text) if isinstance(text, str) else text, lang)


def joined(parts: Iterable[Any], separator: str = "; ") -> Message:
    """Several messages read as one (``a; b; c``), each said in the reader's language."""
    values = {f"part{i}": part for i, part in enumerate(parts)}
    return Message(separator.join("{" + name + "}" for name in values), values)


# Messages kept as English text ------------------------------------------------------------

_LETTERS = re.compile(r"[A-Za-z]")


@cache
def _stored_patterns(lang: str) -> tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...]:
    """Each translated template as a pattern that matches the English it makes; most
    specific (longest literal text) first."""
    found: list[tuple[int, re.Pattern[str], tuple[str, ...], str]] = []
    for template, translated in catalog(lang).items():
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            continue
        if any(spec or conversion for _, _, spec, conversion in parsed):
            continue
        literal = "".join(text for text, _, _, _ in parsed)
        names = tuple(name for _, name, _, _ in parsed if name is not None)
        if not names or len(_LETTERS.findall(literal)) < 3 or len(set(names)) != len(names):
            continue
        body = "".join(
            re.escape(text) + ("(.+?)" if name is not None else "") for text, name, _, _ in parsed
        )
        found.append((len(literal), re.compile(body, re.DOTALL), names, translated))
    found.sort(key=lambda entry: -entry[0])
    return tuple((pattern, names, translated) for _, pattern, names, translated in found)


def translate_stored(text: Any, lang: str, *, depth: int = 3) -> str:
    """A message that was kept as its English text (an audit entry's reason, a query's error
    in the history) said in ``lang``: the text is matched against the catalog's templates and
    the values found in it are translated in turn.  Text no template makes stays as it is."""
    if isinstance(text, Message) or not isinstance(text, str):
        return translate(text, lang)
    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES or not text:
        return text
    exact = catalog(lang).get(text)
    if exact is not None:
        return exact
    if depth <= 0:
        return text
    for pattern, names, translated in _stored_patterns(lang):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = {
            name: translate_stored(value, lang, depth=depth - 1)
            for name, value in zip(names, found.groups(), strict=True)
        }
        try:
            return translated.format(**values)
        except (KeyError, IndexError, ValueError):
            return text
    return text


# Pydantic's complaints ------------------------------------------------------------------


def validation_problems(
    exc: PydanticValidationError, *, prefix: str = "", whole: str = "form"
) -> list[str]:
    """Pydantic's complaints, one ``field: message`` each, for a person to act on.

    ``prefix`` names where the fields sit (``"spec."``); ``whole`` names a complaint about the
    input as a whole (no field).  Each is a :class:`Message`, so a Korean page or API answer
    says it in Korean (:func:`pydantic_problem`).
    """
    return [
        msg("{field}: {problem}", field=_field_name(e, prefix, whole), problem=pydantic_problem(e))
        for e in exc.errors()
    ]


def _field_name(error: ErrorDetails, prefix: str, whole: str) -> str:
    return prefix + (".".join(str(p) for p in error["loc"]) or whole)


def pydantic_problem(error: ErrorDetails) -> str:
    """One of pydantic's complaints as a message (its English words for the kinds a form
    meets; a validator's own ``ValueError(msg(...))`` as it was written)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        raised = ctx.get("error")
        said = raised.args[0] if isinstance(raised, Exception) and raised.args else None
        if isinstance(said, Message):
            return said
        return str(said) if said is not None else error["msg"]
    made = _PROBLEMS.get(kind)
    if made is None:
        return error["msg"]
    return made({k: str(v).replace(" or ", ", ") for k, v in ctx.items()})


_DATE = {"date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"}
_DATETIME = {"datetime_parsing", "datetime_type", "datetime_from_date_parsing"}
_PROBLEMS: dict[str, Callable[[dict[str, str]], Message]] = {
    "missing": lambda c: msg("Field required"),
    "string_too_long": lambda c: msg(
        "Should have at most {max_length} characters", max_length=c["max_length"]
    ),
    "string_too_short": lambda c: (
        msg("Should not be empty")
        if c["min_length"] == "1"
        else msg("Should have at least {min_length} characters", min_length=c["min_length"])
    ),
    "too_long": lambda c: msg("Should have at most {max_length} items", max_length=c["max_length"]),
    "too_short": lambda c: msg(
        "Should have at least {min_length} items", min_length=c["min_length"]
    ),
    **dict.fromkeys(
        ("int_parsing", "int_type", "int_from_float"), lambda c: msg("Should be a whole number")
    ),
    **dict.fromkeys(
        ("float_parsing", "float_type", "decimal_parsing", "decimal_type"),
        lambda c: msg("Should be a number"),
    ),
    "bool_parsing": lambda c: msg("Should be true or false"),
    "greater_than_equal": lambda c: msg("Should be at least {ge}", ge=c["ge"]),
    "greater_than": lambda c: msg("Should be greater than {gt}", gt=c["gt"]),
    "less_than_equal": lambda c: msg("Should be at most {le}", le=c["le"]),
    "less_than": lambda c: msg("Should be less than {lt}", lt=c["lt"]),
    **dict.fromkeys(_DATE, lambda c: msg("Should be a date, written as 2026-12-31")),
    **dict.fromkeys(
        _DATETIME, lambda c: msg("Should be a date and time, written as 2026-12-31T09:00")
    ),
    **dict.fromkeys(
        ("enum", "literal_error"),
        lambda c: msg("Should be one of: {expected}", expected=c["expected"]),
    ),
    "string_pattern_mismatch": lambda c: msg(
        "Should match the pattern {pattern}", pattern=c["pattern"]
    ),
    "extra_forbidden": lambda c: msg("Is not a field this takes"),
    "json_invalid": lambda c: msg("Is not valid JSON"),
    "string_type": lambda c: msg("Should be text"),
    "list_type": lambda c: msg("Should be a list"),
    "dict_type": lambda c: msg("Should be an object"),
    "url_parsing": lambda c: msg("Should be a web address (https://...)"),
}
