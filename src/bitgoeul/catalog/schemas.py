"""What crosses the catalog API: Create/Update inputs and Public/Summary outputs."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bitgoeul.catalog.models import AccessLevel, IngestStatus, Sector
from bitgoeul.governance.decision import ColumnClass
from bitgoeul.messages import msg

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"
LICENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DatasetKind(StrEnum):
    """What the catalog lists: ordinary datasets, or testbeds' hidden test sets."""

    dataset = "dataset"
    test_set = "test_set"


class UpdateFrequency(StrEnum):
    """How often a dataset gets a new version (mapped to the EU frequency vocabulary)."""

    continuous = "continuous"
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"
    irregular = "irregular"
    never = "never"
    unknown = "unknown"


def _clean_keywords(value: list[str]) -> list[str]:
    seen: list[str] = []
    for keyword in value:
        cleaned = " ".join(keyword.split())
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    return seen


def _check_email(value: str) -> str:
    value = value.strip()
    if value and not _EMAIL.match(value):
        raise ValueError(msg("contact_email must look like name@example.org, or be empty"))
    return value


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("keywords", check_fields=False)
    @classmethod
    def _keywords(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_keywords(value)

    @field_validator("contact_email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else _check_email(value)

    @model_validator(mode="after")
    def _period_in_order(self) -> _Metadata:
        start = getattr(self, "temporal_start", None)
        end = getattr(self, "temporal_end", None)
        if start is not None and end is not None and start > end:
            raise ValueError(msg("temporal_start must not be after temporal_end"))
        return self


class DatasetCreate(_Metadata):
    """A new dataset's metadata.  ``publisher`` defaults to the steward's organization."""

    slug: str | None = Field(
        default=None,
        pattern=SLUG_PATTERN,
        description="URL name (a-z, 0-9, hyphens); made from the title when left out.",
    )
    title: str = Field(min_length=1, max_length=300)
    title_ko: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=20_000)
    description_ko: str = Field(default="", max_length=20_000)
    publisher: str | None = Field(default=None, description="Slug of the publishing organization.")
    sector: Sector
    keywords: list[str] = Field(default_factory=list, max_length=30)
    licence: str = Field(default="CC-BY-4.0", pattern=LICENCE_PATTERN)
    access_level: AccessLevel = AccessLevel.registered
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str = Field(default="", max_length=200)
    update_frequency: UpdateFrequency = UpdateFrequency.unknown
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    min_group_size: int = Field(default=10, ge=1, le=10_000)
    dominance_n: int = Field(default=2, ge=1, le=100)
    dominance_k: float = Field(default=0.9, gt=0, le=1)
    holdout: bool = Field(
        default=False,
        description="A testbed's hidden test set: no door lets its rows out to participants.",
    )


class DatasetUpdate(_Metadata):
    """Changed metadata fields only; slug and publisher stay as they are."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    title_ko: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    description_ko: str | None = Field(default=None, max_length=20_000)
    sector: Sector | None = None
    keywords: list[str] | None = Field(default=None, max_length=30)
    licence: str | None = Field(default=None, pattern=LICENCE_PATTERN)
    access_level: AccessLevel | None = None
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str | None = Field(default=None, max_length=200)
    update_frequency: UpdateFrequency | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    min_group_size: int | None = Field(default=None, ge=1, le=10_000)
    dominance_n: int | None = Field(default=None, ge=1, le=100)
    dominance_k: float | None = Field(default=None, gt=0, le=1)
    holdout: bool | None = None


class VersionSummary(BaseModel):
    number: int
    source_filename: str
    source_format: str
    row_count: int
    parquet_bytes: int
    note: str
    created_at: datetime


class VersionPublic(VersionSummary):
    """One immutable version.  ``profile`` is withheld from callers who may not see rows."""

    dataset: str
    source_encoding: str
    source_sha256: str
    source_bytes: int
    parquet_sha256: str
    table_schema: dict[str, Any]
    profile: dict[str, Any] | None
    profile_withheld: str = Field(default="", description="Why the profile is not shown.")


class DatasetSummary(BaseModel):
    """One search hit."""

    slug: str
    title: str
    title_ko: str
    description: str
    description_ko: str = ""
    publisher: str
    publisher_name: str
    publisher_name_ko: str
    sector: Sector
    access_level: AccessLevel
    licence: str
    keywords: list[str]
    latest_version: int | None
    updated_at: datetime
    holdout: bool = False


class DatasetPublic(BaseModel):
    """A dataset's full metadata, its versions, and the latest version's schema and profile."""

    slug: str
    title: str
    title_ko: str
    description: str
    description_ko: str
    publisher: str
    publisher_name: str
    publisher_name_ko: str
    sector: Sector
    keywords: list[str]
    licence: str
    access_level: AccessLevel
    temporal_start: date | None
    temporal_end: date | None
    spatial: str
    update_frequency: str
    contact_name: str
    contact_email: str
    min_group_size: int
    dominance_n: int
    dominance_k: float
    holdout: bool
    created_at: datetime
    updated_at: datetime
    versions: list[VersionSummary]
    latest: VersionPublic | None


class FacetCount(BaseModel):
    value: str
    label: str
    count: int


class SearchResults(BaseModel):
    """A page of hits, the number of all hits, and facet counts for the same query.

    Each facet is counted with the text query and every *other* facet's filter applied, so a
    chosen sector still shows the other sectors one could switch to.
    """

    items: list[DatasetSummary]
    total: int
    facets: dict[str, list[FacetCount]]
    limit: int
    offset: int


class IngestRunPublic(BaseModel):
    id: int
    dataset: str
    status: IngestStatus
    source_filename: str
    bytes_total: int
    bytes_done: int
    rows_done: int
    error_report: dict[str, Any] | None
    # While ``awaiting_choice`` (and after, as the record): the columns read as text because of
    # a few cells: file, field, column, type (what most cells are), count, present, cells
    # (row, value; the first few).
    text_fallbacks: list[dict[str, Any]] = []
    version: int | None
    started_at: datetime
    finished_at: datetime | None


class AppliedObligations(BaseModel):
    """What the decision obliged a preview or download to do, said to the person reading it:
    under which project and agreement, the columns left out, the rows kept, the identifiers
    replaced by per-project pseudonyms.  Empty lists and nulls: nothing was changed."""

    project: int | None = None
    agreement: int | None = None
    hidden_columns: list[str] = []
    row_filter: str | None = None
    pseudonymised_columns: list[str] = []


class Preview(BaseModel):
    dataset: str
    version: int
    columns: list[str]
    rows: list[list[Any]]
    applied: AppliedObligations = Field(default_factory=AppliedObligations)


class ColumnClassesUpdate(BaseModel):
    """New classes for some columns of the latest version; the rest keep theirs."""

    classes: dict[str, ColumnClass] = Field(min_length=1, max_length=1000)
