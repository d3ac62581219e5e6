"""What the SDK returns: typed views of the hub's JSON.

The fields a program is likely to use are typed; anything else the hub sends is kept
(``extra="allow"``) and readable as an attribute or through ``model_extra``, so a newer hub
never breaks an older SDK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class _HubModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Organization(_HubModel):
    slug: str
    name: str
    name_ko: str = ""
    kind: str = ""
    description: str = ""
    website: str = ""


class User(_HubModel):
    """You, as ``me()`` and ``login()`` answer: your role and organization."""

    username: str
    role: str
    display_name: str = ""
    email: str = ""
    organization: Organization | None = None


class ApiToken(_HubModel):
    id: int
    name: str
    prefix: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class NewApiToken(ApiToken):
    """A token just created: ``token`` is the secret, shown this once."""

    token: str


class Dataset(_HubModel):
    """A dataset as search lists it; ``dataset(slug)`` adds ``versions`` and ``latest``."""

    slug: str
    title: str
    title_ko: str = ""
    description: str = ""
    publisher: str = ""
    publisher_name: str = ""
    sector: str = ""
    access_level: str = ""
    licence: str = ""
    keywords: list[str] = []
    latest_version: int | None = None


class DatasetList(_HubModel):
    """One page of search hits, the number of all hits, and facet counts."""

    items: list[Dataset]
    total: int
    facets: dict[str, Any] = {}


class DatasetVersion(_HubModel):
    """An immutable version of a dataset."""

    number: int
    source_filename: str = ""
    row_count: int = 0


class Preview(_HubModel):
    """The first rows of the latest version, as the policy lets you see them."""

    dataset: str = ""
    version: int | None = None
    columns: list[str] = []
    rows: list[list[Any]] = []


class QueryResult(_HubModel):
    """What the SQL gateway answered: rows as the policy lets you see them."""

    columns: list[str] = []
    rows: list[list[Any]] = []
    row_count: int = 0
    truncated: bool = False
    suppressed_groups: int = 0
    datasets: list[dict[str, Any]] = []
    elapsed_ms: float = 0.0


class AuditEntry(_HubModel):
    """One entry of the hash-chained audit log, as ``audit()`` lists them (newest first)."""

    seq: int
    at: datetime
    actor_name: str
    action: str
    outcome: str
    resource_type: str = ""
    resource_id: str = ""
    detail: dict[str, Any] = {}
