"""What the SDK returns: typed views of the hub's JSON.

The fields a program is likely to use are typed; anything else the hub sends is kept
(``extra="allow"``) and readable as an attribute or through ``model_extra``, so a newer hub
never breaks an older SDK.
"""

from __future__ import annotations

from datetime import date, datetime
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


class ProjectMember(_HubModel):
    """Someone working on a project: ``lead`` (may add members) or ``member``."""

    username: str
    role: str
    organization: str | None = None


class Project(_HubModel):
    """A project: the purpose data is used for, its lead organization and its members."""

    id: int
    title: str
    purpose: str
    justification: str = ""
    lead_organization: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    created_at: datetime | None = None
    members: list[ProjectMember] = []


class AccessRequest(_HubModel):
    """A project's request for a restricted or secure dataset, and the steward's answer.

    ``status`` is ``pending``, ``approved``, ``rejected`` or ``withdrawn``; ``reason`` is the
    steward's reason for a rejection; ``agreement`` is the agreement an approval made.
    """

    id: int
    project: int
    dataset: str
    status: str
    project_title: str = ""
    requested_columns: list[str] | None = None
    requested_days: int = 0
    note: str = ""
    reason: str = ""
    requested_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None
    agreement: int | None = None


class Agreement(_HubModel):
    """The conditions under which a project uses a dataset, until it expires or is revoked."""

    id: int
    request: int
    project: int
    dataset: str
    columns: list[str] | None = None
    row_filter: str | None = None
    grants_identifiers: bool = False
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    active: bool = False


class Notification(_HubModel):
    """A message from the hub to you (a request answered, an agreement revoked …)."""

    id: int
    kind: str
    text: str
    link: str = ""
    created_at: datetime
    read_at: datetime | None = None


class QueryRun(_HubModel):
    """One of your queries or exports, as ``history()`` lists them (newest first).

    ``status`` is ``ok``, ``refused`` (the policy said no) or ``failed``; ``error`` says why.
    """

    id: int
    sql: str
    status: str
    created_at: datetime
    kind: str = ""
    project: int | None = None
    datasets: list[str] = []
    rows_returned: int | None = None
    suppressed_groups: int | None = None
    duration_ms: int | None = None
    error: str | None = None


class SavedQuery(_HubModel):
    """A query you keep under a name; running it later is checked like any other query."""

    id: int
    name: str
    sql: str
    project: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
