"""What the audit API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    actor_name: str
    action: str
    outcome: str
    resource_type: str
    resource_id: str
    organization_id: int | None
    detail: dict[str, Any]
    hash: str


class ChainReportPublic(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str
