"""Agreements act on the next decision: approval grants, expiry and revocation take it away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from governance_city import City
from sqlalchemy.orm import Session

from bitgoeul.catalog.models import AccessLevel
from bitgoeul.errors import AccessDenied, NotFound
from bitgoeul.governance import actions
from bitgoeul.governance.decision import DataAction, decide
from bitgoeul.governance.models import Agreement
from bitgoeul.governance.queries import decision_context
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions


def _agreement(
    db: Session, city: City, level: AccessLevel = AccessLevel.restricted, **conditions: object
) -> Agreement:
    request = actions.request_access(
        db,
        actor=city.actors["project_member"],
        data=AccessRequestCreate(project=city.project_id, dataset=city.datasets[level].slug),
    )
    return actions.approve_request(
        db,
        actor=city.actors["steward_of_publisher"],
        request_id=request.id,
        conditions=ApprovalConditions(**conditions),  # type: ignore[arg-type]
    )


def _query(db: Session, city: City, level: AccessLevel, action: DataAction = DataAction.query):
    dataset = city.datasets[level]
    actor = city.actors["project_member"]
    context = decision_context(
        db, actor=actor, dataset=dataset, version=None, project_id=city.project_id
    )
    return decide(actor, action, dataset, context=context)


def test_without_an_agreement_the_project_member_is_refused(db: Session, city: City) -> None:
    decision = _query(db, city, AccessLevel.restricted)
    assert not decision.allowed
    assert "no active agreement" in decision.reason


def test_an_approval_grants_the_next_query_with_its_conditions(db: Session, city: City) -> None:
    agreement = _agreement(db, city, columns=["customer_id", "kwh"], row_filter="kwh > 0")
    decision = _query(db, city, AccessLevel.restricted)
    assert decision.allowed
    ob = decision.obligations
    assert ob.agreement_id == agreement.id
    assert ob.visible_columns == ["customer_id", "kwh"]
    assert ob.pseudonymise_columns == ["customer_id"]
    assert ob.pseudonym_scope == f"project:{city.project_id}"
    assert ob.row_filter == "kwh > 0"


def test_expiry_takes_effect_at_once(db: Session, city: City) -> None:
    agreement = _agreement(db, city)
    assert _query(db, city, AccessLevel.restricted).allowed
    agreement.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()
    assert not _query(db, city, AccessLevel.restricted).allowed


def test_revocation_stops_the_next_query(db: Session, city: City) -> None:
    agreement = _agreement(db, city)
    assert _query(db, city, AccessLevel.restricted).allowed
    actions.revoke_agreement(
        db, actor=city.actors["operator"], agreement_id=agreement.id, reason="Breach reported."
    )
    decision = _query(db, city, AccessLevel.restricted)
    assert not decision.allowed
    assert "no active agreement" in decision.reason


def test_a_revoked_agreement_cannot_be_revoked_twice(db: Session, city: City) -> None:
    agreement = _agreement(db, city)
    steward = city.actors["steward_of_publisher"]
    actions.revoke_agreement(db, actor=steward, agreement_id=agreement.id, reason="Ended.")
    with pytest.raises(Exception, match="revoked already"):
        actions.revoke_agreement(db, actor=steward, agreement_id=agreement.id, reason="Again.")


def test_a_secure_agreement_allows_aggregates_only(db: Session, city: City) -> None:
    _agreement(db, city, AccessLevel.secure)
    query = _query(db, city, AccessLevel.secure)
    assert query.allowed
    assert query.obligations.aggregate_only
    assert sorted(query.obligations.forbidden_output_columns) == ["customer_id", "income_band"]
    assert not _query(db, city, AccessLevel.secure, DataAction.download).allowed
    assert not _query(db, city, AccessLevel.secure, DataAction.preview).allowed


def test_an_agreement_granting_identifiers_leaves_them_in_clear(db: Session, city: City) -> None:
    _agreement(db, city, grants_identifiers=True)
    assert _query(db, city, AccessLevel.restricted).obligations.pseudonymise_columns == []


def test_another_members_project_gives_an_outsider_nothing(db: Session, city: City) -> None:
    _agreement(db, city)
    dataset = city.datasets[AccessLevel.restricted]
    outsider = city.actors["member_of_other_org"]
    context = decision_context(
        db, actor=outsider, dataset=dataset, version=None, project_id=city.project_id
    )
    assert not context.is_project_member
    decision = decide(outsider, DataAction.query, dataset, context=context)
    assert not decision.allowed
    assert "not a member" in decision.reason


def test_an_unknown_project_is_not_found(db: Session, city: City) -> None:
    with pytest.raises(NotFound):
        decision_context(
            db,
            actor=city.actors["project_member"],
            dataset=city.datasets[AccessLevel.restricted],
            version=None,
            project_id=12345,
        )


def test_the_context_carries_the_latest_versions_column_classes(db: Session, city: City) -> None:
    context = decision_context(
        db,
        actor=city.actors["project_member"],
        dataset=city.datasets[AccessLevel.restricted],
        version=None,
        project_id=None,
    )
    assert context.column_classes["customer_id"] == "direct_identifier"
    assert context.agreement is None


def test_a_citizen_cannot_open_a_project(db: Session, city: City) -> None:
    from bitgoeul.governance.models import Purpose
    from bitgoeul.governance.schemas import ProjectCreate

    with pytest.raises(AccessDenied):
        actions.create_project(
            db,
            actor=city.actors["citizen"],
            data=ProjectCreate(
                title="Mine", purpose=Purpose.academic_research, justification="Curiosity."
            ),
        )
