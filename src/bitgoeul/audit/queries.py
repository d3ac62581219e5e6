"""Reading and verifying the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.audit.actions import GENESIS_HASH, canonical_payload, chain_hash
from bitgoeul.audit.models import AuditEvent
from bitgoeul.messages import msg


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the log in order; name the first entry whose link or content does not hold."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq > last_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(
                    False, checked, expected_seq, msg("entry {seq} is missing", seq=expected_seq)
                )
            if event.prev_hash != prev_hash:
                return ChainReport(
                    False, checked, event.seq, msg("its link to the previous entry is broken")
                )
            payload = canonical_payload(
                seq=event.seq,
                at=event.at,
                actor_id=event.actor_id,
                actor_name=event.actor_name,
                action=event.action,
                outcome=event.outcome,
                resource_type=event.resource_type,
                resource_id=event.resource_id,
                organization_id=event.organization_id,
                detail=event.detail,
            )
            if chain_hash(prev_hash, payload) != event.hash:
                return ChainReport(False, checked, event.seq, msg("its content was changed"))
            prev_hash = event.hash
            expected_seq += 1
            checked += 1
            last_seq = event.seq
