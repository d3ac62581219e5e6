"""Domain errors.

Actions raise these; one handler in ``app.py`` maps them to HTTP, the CLI prints them.  Every
message says what was wrong, where, and what to do, and never echoes data the caller may not
see.
"""

from __future__ import annotations

from typing import Any


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
