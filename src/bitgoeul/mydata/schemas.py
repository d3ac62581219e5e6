"""What crosses the My Data API: sources, previews, donations, consents, receipts, uses,
campaigns, and the counts the control tower reads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from bitgoeul.governance.models import Purpose
from bitgoeul.mydata.models import ConsentStatus, DonationStatus, EventKind, Tier

MAX_DAYS = 3650


class SourcePublic(BaseModel):
    slug: str
    title: str
    title_ko: str
    description: str
    description_ko: str
    items: list[str]
    pool: str  # the pooled dataset's slug
    connected: bool = False  # the asker's verified identity is known at this source
    agency: str | None = None  # the publishing organization of the records, if any


class Preview(BaseModel):
    """Exactly what would be donated: the items and every row, numbered from 0."""

    source: str
    columns: list[str]
    rows: list[list[Any]]


class ConsentIn(BaseModel):
    purposes: list[Purpose] = Field(min_length=1)
    projects: list[int] = Field(default_factory=list, max_length=100)
    tier: Tier = Tier.aggregates
    days: int = Field(default=365, ge=1, le=MAX_DAYS, description="How long the consent lasts.")
    retention_days: int = Field(
        default=30,
        ge=0,
        le=MAX_DAYS,
        description="How long the raw rows are kept after the consent ends.",
    )
    campaign: str | None = Field(default=None, max_length=100)

    @field_validator("purposes")
    @classmethod
    def _distinct(cls, value: list[Purpose]) -> list[Purpose]:
        return list(dict.fromkeys(value))


class ConsentCreate(ConsentIn):
    donation: int


class DonationCreate(BaseModel):
    source: str = Field(max_length=100)
    items: list[str] | None = Field(
        default=None,
        description="The items (columns) to donate; all the source offers if left out.",
    )
    drop_rows: list[int] = Field(
        default_factory=list, description="Row numbers of the preview to leave out."
    )
    consent: ConsentIn | None = None


class EventPublic(BaseModel):
    id: int
    kind: EventKind
    at: datetime
    text_en: str
    text_ko: str
    epoch: int
    receipt: int | None


NOT_RECALLED = (
    "Withdrawal applies from the next use. Results already released from your data "
    "(aggregates, approved job outputs, models trained before you withdrew) are not recalled."
)
NOT_RECALLED_KO = (
    "철회는 다음 이용부터 적용됩니다. 이미 공개된 결과(집계, 승인된 작업 산출물, 철회 전에 "
    "학습된 모델)는 회수되지 않습니다."
)


class ConsentPublic(BaseModel):
    id: int
    donation: int
    source: str
    purposes: list[str]
    projects: list[int]
    tier: Tier
    starts_at: datetime
    ends_at: datetime
    retention_days: int
    status: ConsentStatus
    ended_at: datetime | None
    events: list[EventPublic]
    # A withdrawn consent: what withdrawal does not undo, in English and Korean.
    not_recalled: str = ""
    not_recalled_ko: str = ""


class DonationPublic(BaseModel):
    id: int
    source: str
    pool: str
    origin: str
    items: list[str]
    row_count: int
    dropped_rows: int
    status: DonationStatus
    created_at: datetime
    deleted_at: datetime | None
    consents: list[ConsentPublic]


class ReceiptPublic(BaseModel):
    id: int
    consent: int
    sha256: str
    audit_hash: str
    document: dict[str, Any]


class UsePublic(BaseModel):
    """One use of a donor's data, from the audit log."""

    at: datetime
    source: str
    pool: str
    project: int | None
    project_title: str
    purpose: str
    organization: str
    door: str  # query, job, download...
    tier: str
    consent_epoch: int | None
    audit_seq: int


class CampaignCreate(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,98}$")
    source: str = Field(max_length=100)
    purpose: Purpose
    target_donors: int = Field(ge=1, le=10_000_000)
    title: str = Field(min_length=1, max_length=300)
    title_ko: str = Field(min_length=1, max_length=300)
    explanation: str = Field(min_length=1, max_length=5000)
    explanation_ko: str = Field(min_length=1, max_length=5000)
    starts_on: date
    ends_on: date


class CampaignPublic(BaseModel):
    slug: str
    source: str
    purpose: str
    target_donors: int
    donors: int  # donors whose active consent names the campaign's purpose
    title: str
    title_ko: str
    explanation: str
    explanation_ko: str
    starts_on: date
    ends_on: date


class DonorCounts(BaseModel):
    """For the control tower."""

    donors: int  # residents with at least one active donation
    active_consents: int
    donations: int
    by_source: dict[str, int]  # source slug -> donors with an active consent
