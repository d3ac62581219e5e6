"""What crosses the linkage API: projects, approvals, runs and their reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bitgoeul.linkage.models import LinkageMethod, RunStatus
from bitgoeul.messages import msg

# The identifying fields a source may map its columns to (see ``keys.FIELDS``).
IDENTIFYING_FIELDS = ("name", "name_latin", "birth_date", "sex", "phone", "district")


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkageSource(_Input):
    dataset: str = Field(min_length=1, max_length=100, description="the dataset's slug")
    version: int | None = Field(default=None, ge=1, description="None: the latest version")
    fields: dict[str, str] = Field(
        description="identifying field → the dataset's column, e.g. {'name': '성명'}"
    )
    attributes: list[str] = Field(
        default_factory=list, description="columns the linked dataset carries from this source"
    )

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(IDENTIFYING_FIELDS))
        if unknown:
            raise ValueError(
                msg(
                    "unknown identifying fields {unknown}; choose from {choices}",
                    unknown=unknown,
                    choices=list(IDENTIFYING_FIELDS),
                )
            )
        if not value:
            raise ValueError(msg("map at least one identifying field to a column"))
        return value


class KeyDefinitionIn(_Input):
    name: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    fields: list[str] = Field(min_length=1)


class LinkageProjectCreate(_Input):
    title: str = Field(min_length=1, max_length=300)
    purpose: str = Field(default="", max_length=20_000)
    method: LinkageMethod
    custodian: str = Field(min_length=1, max_length=100, description="the key custodian's slug")
    project_id: int | None = Field(default=None, description="the research project it serves")
    sources: list[LinkageSource] = Field(min_length=2, max_length=8)
    key_definitions: list[KeyDefinitionIn] | None = Field(
        default=None, description="exact linkage: the cascade (default: name+birth+phone, "
        "then name+birth+district)"
    )  # fmt: skip
    threshold: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Bloom: the Dice threshold (default 0.7); probabilistic: the match "
        "probability (default 0.9)",
    )


class LinkageApprove(_Input):
    note: str = Field(default="", max_length=2000)


class ApprovalPublic(BaseModel):
    organization: str
    approved_by: str | None
    approved_at: datetime
    note: str


class LinkageProjectPublic(BaseModel):
    id: int
    title: str
    purpose: str
    method: LinkageMethod
    custodian: str
    project_id: int | None
    sources: list[dict[str, Any]]
    key_definitions: list[Any]
    threshold: float
    publishers: list[str]
    approvals: list[ApprovalPublic]
    awaiting: list[str]
    created_at: datetime


class LinkageRunPublic(BaseModel):
    id: int
    linkage_project_id: int
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    linked_dataset: str | None
    report: dict[str, Any]
    error: str


class LinkageReviewLabel(_Input):
    pair: int = Field(description="the review pair's id")
    match: bool = Field(description="true: the two records are the same person")


class LinkageReviewLabels(_Input):
    labels: list[LinkageReviewLabel] = Field(min_length=1, max_length=1000)


class LinkageReviewPairPublic(BaseModel):
    id: int
    dataset: str  # the linked source (the other record is the anchor's)
    stratum: str
    score: float | None
    match: bool | None
    anchor: dict[str, str | None]  # the anchor record's identifying fields, as the source holds
    record: dict[str, str | None]  # the linked source's record's identifying fields


class LinkageReviewPublic(BaseModel):
    run_id: int
    anchor: str  # the anchor dataset
    pairs: list[LinkageReviewPairPublic]
    quality: dict[str, Any]
