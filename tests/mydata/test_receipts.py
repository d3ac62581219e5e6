"""Consent receipts: ISO/IEC TS 27560 records in DPV JSON-LD, signed with Ed25519, anchored in
the audit chain, and failing verification when any field changes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.mydata.conftest import DonorCity, consent_of

from bitgoeul.audit.queries import verify_chain
from bitgoeul.config import Settings
from bitgoeul.models import AuditEvent
from bitgoeul.mydata import actions, receipts
from bitgoeul.mydata.models import ConsentEvent, Receipt


def _receipt(db: Session, town: DonorCity, citizen: int = 0) -> Receipt:
    return db.scalars(
        select(Receipt).where(Receipt.consent_id == consent_of(db, town, citizen))
    ).first()  # type: ignore[return-value]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every leaf of a JSON document, as a path."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))]
    return [prefix]


def _changed(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(document)
    node: Any = copied
    for step in path[:-1]:
        node = node[step]
    old = node[path[-1]]
    node[path[-1]] = old + 1 if isinstance(old, int) and not isinstance(old, bool) else f"{old}x"
    return copied


def test_a_receipt_verifies_offline_and_names_the_consent(db: Session, town: DonorCity) -> None:
    receipt = _receipt(db, town)
    document = json.loads(json.dumps(receipt.document))  # as a file would carry it
    result = receipts.verify(document)
    assert result.valid, result.reason
    assert document["schema_version"] == "ISO/IEC TS 27560:2023"
    assert document["@type"] == "dpv:ConsentRecord"
    assert document["event"]["dpv:hasConsentStatus"]["@id"] == "dpv:ConsentGiven"
    assert {p["@id"] for p in document["dpv:hasPurpose"]} == {
        "dpv:AcademicResearch",
        "dpv:ResearchAndDevelopment",
    }
    assert document["notice"]["en"].startswith("I donate my data")
    assert document["notice"]["ko"] != document["notice"]["en"]


def test_changing_any_field_of_a_receipt_fails_its_verification(
    db: Session, town: DonorCity
) -> None:
    document = _receipt(db, town).document
    leaves = [p for p in _paths(document) if p[0] != "proof"]
    assert len(leaves) > 20
    for path in leaves:
        assert not receipts.verify(_changed(document, path)).valid, path
    # A field added or removed breaks it too.
    assert not receipts.verify({**document, "extra": 1}).valid
    assert not receipts.verify({k: v for k, v in document.items() if k != "notice"}).valid


def test_a_receipt_signed_by_another_key_fails_against_the_hubs_key(
    db: Session, town: DonorCity, tmp_path: Any
) -> None:
    document = _receipt(db, town).document
    hub_key = document["proof"]["publicKeyBase64"]
    forged = receipts.sign(
        {k: v for k, v in document.items() if k != "proof"}, receipts.signing_key(tmp_path)
    )
    assert receipts.verify(forged).valid  # intact, but whose?
    assert not receipts.verify(forged, trusted_key=hub_key).valid
    assert receipts.verify(document, trusted_key=hub_key).valid


@pytest.mark.parametrize("bad", [None, [], {"proof": "x"}, {"proof": {"publicKeyBase64": "!!"}}])
def test_a_malformed_receipt_is_refused_with_a_reason(bad: Any) -> None:
    result = receipts.verify(bad)
    assert not result.valid
    assert result.reason


def test_every_consent_event_gets_a_receipt_anchored_in_the_audit_chain(
    db: Session, settings: Settings, town: DonorCity
) -> None:
    consent_id = consent_of(db, town, 2)
    actions.renew_consent(
        db, settings=settings, actor=town.citizens[2], consent_id=consent_id, days=30
    )
    actions.withdraw_consent(db, settings=settings, actor=town.citizens[2], consent_id=consent_id)
    events = db.scalars(
        select(ConsentEvent).where(ConsentEvent.consent_id == consent_id).order_by(ConsentEvent.id)
    ).all()
    assert [e.kind.value for e in events] == ["given", "renewed", "withdrawn"]
    assert all(e.text_en and e.text_ko for e in events)
    for event in events:
        receipt = db.scalars(select(Receipt).where(Receipt.event_id == event.id)).one()
        anchor = db.scalars(select(AuditEvent).where(AuditEvent.hash == receipt.audit_hash)).one()
        assert anchor.action == f"mydata.consent_{event.kind.value}"
        assert (
            anchor.detail["receipt_sha256"] == receipt.sha256 == receipts.digest(receipt.document)
        )
    assert verify_chain(db).ok


def test_a_consent_event_is_never_changed_nor_deleted(db: Session, town: DonorCity) -> None:
    event = db.scalars(
        select(ConsentEvent).where(ConsentEvent.consent_id == consent_of(db, town, 0))
    ).first()
    assert event is not None
    shown = event.text_en
    event.text_en = "I consent to anything."
    with pytest.raises(ValueError, match="append-only"):
        db.commit()
    db.rollback()
    db.delete(event)
    with pytest.raises(ValueError, match="append-only"):
        db.commit()
    db.rollback()
    db.refresh(event)
    assert event.text_en == shown
