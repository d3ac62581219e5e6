"""Domain errors.

Actions raise these; one handler in ``app.py`` maps them to HTTP, the CLI prints them.  Every
message says what was wrong, where, and what to do, and never echoes data the caller may not
see.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError as PydanticValidationError


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
    input as a whole (no field).
    """
    return [
        f"{prefix}{'.'.join(str(p) for p in e['loc']) or whole}: {e['msg']}" for e in exc.errors()
    ]
