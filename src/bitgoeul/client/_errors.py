"""Errors the SDK raises: one class per HTTP status the hub answers with, carrying its detail.

The names mirror the server's domain errors (``bitgoeul.errors``), so a ``NotFound`` raised by an
action arrives in the SDK as a ``NotFound`` with the same message.
"""

from __future__ import annotations

from typing import Any

import httpx


class BitgoeulAPIError(Exception):
    """The hub answered with an error.  ``status`` is the HTTP status, ``detail`` its body."""

    def __init__(
        self, status: int, detail: Any, *, method: str = "", url: str = "", where: Any = None
    ) -> None:
        self.status = status
        self.detail = detail
        self.method = method
        self.url = url
        # Where in what you sent the problem is: for a SQL syntax error, ``line``, ``column``,
        # ``token``, and ``excerpt`` (that line of your SQL) with ``caret`` (a ^ under it).
        self.where: dict[str, Any] | None = where if isinstance(where, dict) else None
        text = f"{status} from {method} {url}: {_describe(detail)}".strip()
        if self.where and "excerpt" in self.where and "caret" in self.where:
            text += f"\n  {self.where['excerpt']}\n  {self.where['caret']}"
        super().__init__(text)

    @property
    def message(self) -> str:
        return _describe(self.detail)


class NotAuthenticated(BitgoeulAPIError):
    """401: no token, or an invalid, expired or revoked one.  Call ``login`` again."""


class AccessDenied(BitgoeulAPIError):
    """403: the policy decision said no; the message says why."""


class NotFound(BitgoeulAPIError):
    """404: no such dataset, token or page (or one you may not know exists)."""


class Conflict(BitgoeulAPIError):
    """409: the name is taken or the change clashes with the current state."""


class TooLarge(BitgoeulAPIError):
    """413: the upload is larger than the hub accepts (``max_upload_bytes``)."""


class ValidationFailed(BitgoeulAPIError):
    """422: bad input.  For an upload, ``report`` is the ingest error report."""

    @property
    def report(self) -> dict[str, Any] | None:
        return self.detail if isinstance(self.detail, dict) else None


class UploadHeld(BitgoeulAPIError):
    """202: the upload was read, but some columns fell back to text because of a few cells.

    Nothing is published yet.  ``run_id`` and ``columns`` (file, field, column, type, count,
    cells with row and value) say which; choose with ``Client.publish_ingest_run(run_id)`` or
    ``Client.discard_ingest_run(run_id)``.
    """

    @property
    def run_id(self) -> int:
        return int(self.detail["id"]) if isinstance(self.detail, dict) else 0

    @property
    def columns(self) -> list[dict[str, Any]]:
        found = self.detail.get("text_fallbacks") if isinstance(self.detail, dict) else None
        return list(found or [])

    @property
    def message(self) -> str:
        cells = "; ".join(
            f"{column.get('field')}: "
            + ", ".join(
                f"row {cell.get('row')} {cell.get('value')!r}" for cell in column.get("cells", [])
            )
            + f" (most cells are {column.get('type')})"
            for column in self.columns
        )
        return f"ingest run {self.run_id} waits for a choice; columns read as text: {cells}"


class RateLimited(BitgoeulAPIError):
    """429: too many attempts; wait ``retry_after`` seconds."""

    def __init__(
        self,
        status: int,
        detail: Any,
        *,
        method: str = "",
        url: str = "",
        retry_after: int = 0,
        where: Any = None,
    ) -> None:
        super().__init__(status, detail, method=method, url=url, where=where)
        self.retry_after = retry_after


class ServerError(BitgoeulAPIError):
    """5xx: the hub failed; the operator's logs say why."""


_BY_STATUS: dict[int, type[BitgoeulAPIError]] = {
    401: NotAuthenticated,
    403: AccessDenied,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    422: ValidationFailed,
}


def _describe(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, dict):
        return str(detail.get("message") or detail.get("detail") or detail)
    if isinstance(detail, list):  # FastAPI request validation: [{"loc", "msg", "type"}]
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg', '')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return str(detail)


def error_from_response(response: httpx.Response) -> BitgoeulAPIError:
    """The exception for an error response (the body is ``{"detail": ...}``)."""
    where = None
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
        where = body.get("where") if isinstance(body, dict) else None
    except ValueError:
        detail = response.text or response.reason_phrase
    method, url = response.request.method, str(response.request.url)
    status = response.status_code
    if status == 429:
        retry_after = response.headers.get("retry-after", "0")
        return RateLimited(
            status,
            detail,
            method=method,
            url=url,
            retry_after=int(retry_after) if retry_after.isdigit() else 0,
        )
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, BitgoeulAPIError)
    return cls(status, detail, method=method, url=url, where=where)
