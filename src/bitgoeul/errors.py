"""Domain errors.

Actions raise these; one handler in ``app.py`` maps them to HTTP, the CLI prints them.  Every
message says what was wrong, where, and what to do, and never echoes data the caller may not
see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails

from bitgoeul.messages import Message, msg


class BitgoeulError(Exception):
    status_code = 400

    def __init__(self, message: str, *, detail: Any = None, where: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail if detail is not None else message
        # Where in the caller's input the problem is (a SQL syntax error's line and column),
        # sent beside ``detail`` as ``where``.
        self.where = where


class NotAuthenticated(BitgoeulError):
    status_code = 401


class AccessDenied(BitgoeulError):
    status_code = 403


class NotFound(BitgoeulError):
    status_code = 404


class Conflict(BitgoeulError):
    status_code = 409


class TooLarge(BitgoeulError):
    status_code = 413


class ValidationFailed(BitgoeulError):
    """Bad input.  ``detail`` may carry a structured report (e.g. an ingest error report)."""

    status_code = 422


class RateLimited(BitgoeulError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def validation_problems(
    exc: PydanticValidationError, *, prefix: str = "", whole: str = "form"
) -> list[str]:
    """Pydantic's complaints, one ``field: message`` each, for a person to act on.

    ``prefix`` names where the fields sit (``"spec."``); ``whole`` names a complaint about the
    input as a whole (no field).  Each is a :class:`~bitgoeul.messages.Message`, so a Korean
    page or API answer says it in Korean (:func:`pydantic_problem`).
    """
    return [
        msg(
            "{field}: {problem}",
            field=f"{prefix}{'.'.join(str(p) for p in e['loc']) or whole}",
            problem=pydantic_problem(e),
        )
        for e in exc.errors()
    ]


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
    "string_too_short": lambda c: msg(
        "Should have at least {min_length} characters", min_length=c["min_length"]
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
