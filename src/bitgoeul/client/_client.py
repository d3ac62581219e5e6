"""The synchronous SDK client: one method per thing a researcher or steward does over REST."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from bitgoeul.client._errors import error_from_response
from bitgoeul.client._models import (
    AccessRequest,
    Agreement,
    ApiToken,
    AuditEntry,
    Dataset,
    DatasetList,
    DatasetVersion,
    NewApiToken,
    Notification,
    Organization,
    Preview,
    Project,
    QueryResult,
    QueryRun,
    SavedQuery,
    User,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=300.0)  # uploads are validated before the answer
API = "/api/v1"

JSONFile = Mapping[str, Any] | str | Path


class Client:
    """A session with one hub.

    ``Client("https://hub.example", token=...)``; or ``login()`` with a username and password,
    which stores the token it receives.  Pass ``transport`` to use any httpx transport (e.g. a
    ``MockTransport`` in your own tests).  Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)
        self.token = token

    @property
    def token(self) -> str | None:
        return self._token

    @token.setter
    def token(self, value: str | None) -> None:
        self._token = value
        if value:
            self._http.headers["Authorization"] = f"Bearer {value}"
        else:
            self._http.headers.pop("Authorization", None)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "with a token" if self._token else "anonymous"
        return f"<bitgoeul.client.Client {self.base_url} {state}>"

    # accounts

    def login(self, username: str, password: str) -> User:
        """Exchange a username and password for a token, keep it, and return who you are."""
        body = self._json("POST", "/auth/token", json={"username": username, "password": password})
        self.token = str(body["access_token"])
        return self.me()

    def me(self) -> User:
        return User.model_validate(self._json("GET", "/me"))

    def tokens(self) -> list[ApiToken]:
        return [ApiToken.model_validate(item) for item in _items(self._json("GET", "/tokens"))]

    def create_token(self, name: str, *, expires_in_days: int | None = None) -> NewApiToken:
        """Create a token for yourself; its ``token`` is the secret, shown this once."""
        payload: dict[str, Any] = {"name": name}
        if expires_in_days is not None:
            payload["expires_in_days"] = expires_in_days
        return NewApiToken.model_validate(self._json("POST", "/tokens", json=payload))

    def revoke_token(self, id: int) -> None:
        self._request("DELETE", f"/tokens/{id}")

    def organizations(self) -> list[Organization]:
        body = self._json("GET", "/organizations")
        return [Organization.model_validate(item) for item in _items(body)]

    # catalog

    def datasets(
        self,
        q: str | None = None,
        sector: str | None = None,
        publisher: str | None = None,
        access_level: str | None = None,
        *,
        licence: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> DatasetList:
        """Search the catalog; every filter is optional.  Pages with ``limit`` and ``offset``."""
        params = _present(
            q=q,
            sector=sector,
            publisher=publisher,
            access_level=access_level,
            licence=licence,
            limit=limit,
            offset=offset,
        )
        return DatasetList.model_validate(self._json("GET", "/datasets", params=params))

    def dataset(self, slug: str) -> Dataset:
        return Dataset.model_validate(self._json("GET", f"/datasets/{_seg(slug)}"))

    def create_dataset(self, **metadata: Any) -> Dataset:
        """Create a dataset's catalog entry (``slug``, ``title``, ``publisher``, ``sector`` …)."""
        return Dataset.model_validate(self._json("POST", "/datasets", json=metadata))

    def upload(
        self,
        slug: str,
        path: str | Path,
        schema: JSONFile | None = None,
        column_classes: JSONFile | None = None,
        *,
        note: str = "",
    ) -> DatasetVersion:
        """Upload a file as the dataset's next version.

        ``schema`` and ``column_classes`` are a dict or the path of a JSON file.  A file that
        fails validation raises ``ValidationFailed`` whose ``report`` lists the errors.
        """
        source = Path(path)
        form: dict[str, str] = {"note": note} if note else {}
        if schema is not None:
            form["schema"] = _json_text(schema)
        if column_classes is not None:
            form["column_classes"] = _json_text(column_classes)
        with source.open("rb") as handle:
            body = self._json(
                "POST",
                f"/datasets/{_seg(slug)}/versions",
                data=form,
                files={"file": (source.name, handle)},
            )
        return DatasetVersion.model_validate(body)

    def preview(
        self, slug: str, *, version: int | None = None, limit: int | None = None
    ) -> Preview:
        """The first rows (``limit``, at most 100) of the latest or the given version."""
        params = _present(version=version, limit=limit)
        body = self._json("GET", f"/datasets/{_seg(slug)}/preview", params=params)
        return Preview.model_validate(body)

    def download(
        self,
        slug: str,
        dest: str | Path,
        format: str = "parquet",
        *,
        version: int | None = None,
    ) -> Path:
        """Stream the latest (or the given) version to ``dest``: a file, or a directory for it.

        ``format`` is ``parquet`` or ``csv``.  The file appears only when complete.
        """
        params = _present(format=format, version=version)
        return self._stream_to(
            dest, f"{slug}.{format}", "GET", f"/datasets/{_seg(slug)}/download", params=params
        )

    def query(
        self, sql: str, *, project: int | None = None, limit: int | None = None
    ) -> QueryResult:
        """Run one SELECT through the SQL gateway (datasets are named by slug in double quotes).

        ``project`` is the project whose agreements grant restricted or secure data.
        """
        payload: dict[str, Any] = {"sql": sql, "project": project}
        if limit is not None:
            payload["limit"] = limit
        return QueryResult.model_validate(self._json("POST", "/query", json=payload))

    def export(
        self,
        sql: str,
        dest: str | Path,
        format: str = "csv",
        *,
        project: int | None = None,
    ) -> Path:
        """Run one SELECT and stream its whole result to ``dest`` (a file, or a directory for it).

        ``format`` is ``csv`` or ``parquet``.  Every dataset the query reads must allow a
        download to you (under ``project``'s agreements for restricted data; secure data never
        leaves as rows).  The file appears only when complete.
        """
        return self._stream_to(
            dest,
            f"query.{format}",
            "POST",
            "/query/export",
            params={"format": format},
            json={"sql": sql, "project": project},
        )

    def history(self, *, limit: int | None = None, offset: int | None = None) -> list[QueryRun]:
        """Your own queries and exports, newest first, refused and failed ones included."""
        body = self._json("GET", "/query/history", params=_present(limit=limit, offset=offset))
        return [QueryRun.model_validate(item) for item in _items(body)]

    def saved_queries(self) -> list[SavedQuery]:
        """Your saved queries, by name."""
        body = self._json("GET", "/saved-queries")
        return [SavedQuery.model_validate(item) for item in _items(body)]

    def save_query(self, name: str, sql: str, *, project: int | None = None) -> SavedQuery:
        """Keep ``sql`` under ``name`` (unique among yours); it must parse as one SELECT."""
        payload: dict[str, Any] = {"name": name, "sql": sql}
        if project is not None:
            payload["project"] = project
        return SavedQuery.model_validate(self._json("POST", "/saved-queries", json=payload))

    def delete_saved_query(self, id: int) -> None:
        self._request("DELETE", f"/saved-queries/{id}")

    def audit(
        self,
        *,
        dataset: str | None = None,
        action: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[AuditEntry]:
        """Audit entries you may read, newest first (stewards: uses of their data)."""
        params = _present(dataset=dataset, action=action, limit=limit, offset=offset)
        return [
            AuditEntry.model_validate(e) for e in _items(self._json("GET", "/audit", params=params))
        ]

    def catalog_jsonld(self) -> dict[str, Any]:
        """The whole catalog as DCAT JSON-LD."""
        return self._object("GET", "/catalog.jsonld")

    # governance

    def projects(self) -> list[Project]:
        """The projects you are a member of (operators: every project)."""
        return [Project.model_validate(item) for item in _items(self._json("GET", "/projects"))]

    def project(self, id: int) -> Project:
        return Project.model_validate(self._json("GET", f"/projects/{id}"))

    def create_project(
        self,
        title: str,
        purpose: str,
        justification: str,
        *,
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> Project:
        """Open a project for your organization, with you as its lead.

        ``purpose`` is one of ``academic-research``, ``public-service-improvement``,
        ``commercial-product-development``, ``ai-model-training``, ``health-research`` and
        ``service-evaluation``.
        """
        payload: dict[str, Any] = {
            "title": title,
            "purpose": purpose,
            "justification": justification,
        }
        if starts_on is not None:
            payload["starts_on"] = starts_on.isoformat()
        if ends_on is not None:
            payload["ends_on"] = ends_on.isoformat()
        return Project.model_validate(self._json("POST", "/projects", json=payload))

    def add_project_member(self, project: int, username: str, *, role: str = "member") -> Project:
        """Add a user of any organization to a project you lead (``role``: member or lead)."""
        body = self._json(
            "POST", f"/projects/{project}/members", json={"username": username, "role": role}
        )
        return Project.model_validate(body)

    def request_access(
        self,
        project: int,
        dataset: str,
        *,
        columns: list[str] | None = None,
        days: int | None = None,
        note: str = "",
    ) -> AccessRequest:
        """Ask the publisher's stewards for a restricted or secure dataset for ``project``.

        ``columns`` narrows the request (all columns when left out); ``days`` is how long the
        agreement should last (the hub's default, 90, when left out).
        """
        payload: dict[str, Any] = {"project": project, "dataset": dataset}
        if columns is not None:
            payload["columns"] = list(columns)
        if days is not None:
            payload["days"] = days
        if note:
            payload["note"] = note
        return AccessRequest.model_validate(self._json("POST", "/access-requests", json=payload))

    def access_requests(self, status: str | None = None) -> list[AccessRequest]:
        """Requests you may see, newest first: your projects' and, for stewards, those for
        your organization's datasets.  ``status``: pending, approved, rejected or withdrawn."""
        body = self._json("GET", "/access-requests", params=_present(status=status))
        return [AccessRequest.model_validate(item) for item in _items(body)]

    def approve(
        self,
        request_id: int,
        *,
        columns: list[str] | None = None,
        expires_in_days: int | None = None,
        row_filter: str | None = None,
        grants_identifiers: bool = False,
    ) -> Agreement:
        """Approve a pending request (stewards of the publisher) and return the agreement.

        Each condition left out takes the request's value; ``columns`` and ``expires_in_days``
        may narrow the request, not widen it.  ``row_filter`` is a SQL condition over the
        dataset's columns that every row the project sees must meet.
        """
        payload: dict[str, Any] = {"grants_identifiers": grants_identifiers}
        if columns is not None:
            payload["columns"] = list(columns)
        if expires_in_days is not None:
            payload["expires_in_days"] = expires_in_days
        if row_filter is not None:
            payload["row_filter"] = row_filter
        body = self._json("POST", f"/access-requests/{request_id}/approve", json=payload)
        return Agreement.model_validate(body)

    def reject(self, request_id: int, reason: str) -> AccessRequest:
        """Reject a pending request with a reason the project can act on."""
        body = self._json("POST", f"/access-requests/{request_id}/reject", json={"reason": reason})
        return AccessRequest.model_validate(body)

    def withdraw(self, request_id: int) -> AccessRequest:
        """Withdraw a pending request (its requester or the project's lead)."""
        body = self._json("POST", f"/access-requests/{request_id}/withdraw")
        return AccessRequest.model_validate(body)

    def agreement(self, id: int) -> Agreement:
        return Agreement.model_validate(self._json("GET", f"/agreements/{id}"))

    def revoke_agreement(self, id: int, reason: str) -> Agreement:
        """End an agreement (the publisher's stewards, operators); the next use is refused."""
        body = self._json("POST", f"/agreements/{id}/revoke", json={"reason": reason})
        return Agreement.model_validate(body)

    def agreement_odrl(self, id: int) -> dict[str, Any]:
        """The agreement as an ODRL 2.2 Agreement (JSON-LD)."""
        return self._object("GET", f"/agreements/{id}/odrl")

    def dataset_odrl(self, slug: str) -> dict[str, Any]:
        """The ODRL 2.2 Offer for the dataset's access level (JSON-LD)."""
        return self._object("GET", f"/datasets/{_seg(slug)}/odrl")

    def notifications(self, *, unread: bool = False) -> list[Notification]:
        """Your notifications, newest first (only the unread ones with ``unread=True``)."""
        params = {"unread": "true"} if unread else {}
        body = self._json("GET", "/notifications", params=params)
        return [Notification.model_validate(item) for item in _items(body)]

    def mark_notifications_read(self) -> int:
        """Mark all your notifications read; returns how many were unread."""
        return int(self._json("POST", "/notifications/read")["marked_read"])

    # plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, API + path, **kwargs)
        if response.is_error:
            raise error_from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self._json(method, path, **kwargs)
        if not isinstance(body, dict):
            raise TypeError(f"the hub's answer to {method} {API}{path} is not a JSON object")
        return body

    def _stream_to(
        self, dest: str | Path, fallback: str, method: str, path: str, **kwargs: Any
    ) -> Path:
        """Stream a response body to ``dest`` (a file, or a directory for the hub's filename).

        The body goes to ``<name>.part`` first, renamed when complete, so a failed transfer
        never leaves a file that looks whole.
        """
        target = Path(dest)
        with self._http.stream(method, API + path, **kwargs) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            if target.is_dir():
                target = target / _filename(response, fallback)
            partial = target.with_name(target.name + ".part")
            try:
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            partial.replace(target)
        return target


def _present(**params: str | int | None) -> dict[str, str | int]:
    return {key: value for key, value in params.items() if value is not None}


def _seg(value: str) -> str:
    return quote(value, safe="")


def _items(body: Any) -> list[Any]:
    """List endpoints answer either a JSON list or ``{"items": [...]}``."""
    if isinstance(body, dict):
        return list(body.get("items", []))
    return list(body)


def _json_text(value: JSONFile) -> str:
    if isinstance(value, str | Path):
        return Path(value).read_text(encoding="utf-8")
    return json.dumps(dict(value), ensure_ascii=False)


def _filename(response: httpx.Response, fallback: str) -> str:
    disposition = response.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            name = Path(value.strip('"')).name
            if name:
                return name
    return fallback
