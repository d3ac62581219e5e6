"""The synchronous SDK client: one method per thing a researcher or steward does over REST."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from bitgoeul.client._errors import error_from_response
from bitgoeul.client._models import (
    ApiToken,
    AuditEntry,
    Dataset,
    DatasetList,
    DatasetVersion,
    NewApiToken,
    Organization,
    Preview,
    QueryResult,
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
        target = Path(dest)
        url = f"{API}/datasets/{_seg(slug)}/download"
        params = _present(format=format, version=version)
        with self._http.stream("GET", url, params=params) as response:
            if response.is_error:
                response.read()
                raise error_from_response(response)
            if target.is_dir():
                target = target / _filename(response, f"{slug}.{format}")
            partial = target.with_name(target.name + ".part")
            with partial.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
            partial.replace(target)
        return target

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
        body = self._json("GET", "/catalog.jsonld")
        if not isinstance(body, dict):
            raise TypeError("the hub's catalog.jsonld is not a JSON object")
        return body

    # plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, API + path, **kwargs)
        if response.is_error:
            raise error_from_response(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()


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
