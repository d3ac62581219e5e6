"""What crosses the control tower's API: the indicators now, and their daily history."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class IndicatorPublic(BaseModel):
    key: str
    group: str
    unit: str = Field(description="count, hours, days or epsilon")
    value: float | None = Field(
        description="None when not available on this hub, when there is nothing to measure "
        "yet, or when suppressed"
    )
    available: bool = Field(description="False: the package it reads is not on this hub")
    suppressed: bool = Field(description="True: too few people behind it to show outside")
    basis: int | None = Field(
        description="How many records the value rests on (operators only)", default=None
    )
    target: int | None = None
    progress: float | None = Field(default=None, description="value / target, 0..1")


class InstitutionPublic(BaseModel):
    slug: str
    name: str
    name_ko: str
    datasets: int
    versions: int


class IndicatorsPublic(BaseModel):
    at: datetime
    exact: bool = Field(description="True for operators; otherwise small counts are suppressed")
    k: int = Field(description="Values about fewer than k people are suppressed")
    indicators: list[IndicatorPublic]
    institutions: list[InstitutionPublic]


class DayPublic(BaseModel):
    day: date
    values: dict[str, float | None]


class SnapshotPublic(BaseModel):
    day: date
    taken_at: datetime
    created: bool
    values: dict[str, float | None]
