"""What crosses the governance API: projects, access requests, agreements, notifications."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bitgoeul.governance.models import ProjectRole, Purpose, RequestStatus
from bitgoeul.messages import msg

MAX_REQUEST_DAYS = 730


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clean_columns(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    names = [name.strip() for name in value]
    if any(not name for name in names):
        raise ValueError(msg("column names must not be empty"))
    if len(set(names)) != len(names):
        raise ValueError(msg("a column is named twice"))
    return names


class ProjectCreate(_Input):
    title: str = Field(min_length=1, max_length=300)
    purpose: Purpose
    justification: str = Field(min_length=1, max_length=20_000)
    starts_on: date | None = None
    ends_on: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> ProjectCreate:
        if self.starts_on and self.ends_on and self.starts_on > self.ends_on:
            raise ValueError(msg("starts_on must not be after ends_on"))
        return self


class MemberAdd(_Input):
    username: str = Field(min_length=1, max_length=64)
    role: ProjectRole = ProjectRole.member


class MemberPublic(BaseModel):
    username: str
    organization: str | None
    role: ProjectRole


class ProjectPublic(BaseModel):
    id: int
    title: str
    purpose: Purpose
    justification: str
    lead_organization: str
    starts_on: date | None
    ends_on: date | None
    created_at: datetime
    members: list[MemberPublic]


class AccessRequestCreate(_Input):
    project: int
    dataset: str = Field(min_length=1, max_length=100)
    columns: list[str] | None = Field(default=None, max_length=500)
    days: int = Field(default=90, ge=1, le=MAX_REQUEST_DAYS)
    note: str = Field(default="", max_length=5000)

    _columns = field_validator("columns")(_clean_columns)


class ApprovalConditions(_Input):
    """A steward's conditions; each left out takes the request's value."""

    columns: list[str] | None = Field(default=None, max_length=500)
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_REQUEST_DAYS)
    row_filter: str | None = Field(default=None, max_length=2000)
    grants_identifiers: bool = False
    confirm_test_set: bool = Field(
        default=False,
        description=(
            "Required to approve a request on a testbed's hidden test set: the steward "
            "confirms they know its rows are never shared."
        ),
    )

    _columns = field_validator("columns")(_clean_columns)


class Reason(_Input):
    reason: str = Field(min_length=1, max_length=5000)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(msg("give a reason the other side can act on"))
        return value.strip()


class AccessRequestPublic(BaseModel):
    id: int
    project: int
    project_title: str
    project_purpose: Purpose
    project_justification: str
    dataset: str
    dataset_is_test_set: bool = Field(
        default=False,
        description="The dataset is a testbed's hidden test set: its rows are never shared.",
    )
    status: RequestStatus
    requested_columns: list[str] | None
    requested_days: int
    note: str
    reason: str
    requested_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    agreement: int | None


class AgreementPublic(BaseModel):
    id: int
    request: int
    project: int
    project_title: str
    dataset: str
    columns: list[str] | None
    row_filter: str | None
    grants_identifiers: bool
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str
    active: bool


class NotificationPublic(BaseModel):
    id: int
    kind: str
    text: str
    link: str
    created_at: datetime
    read_at: datetime | None
