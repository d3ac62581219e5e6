"""Audit action names: one enum per package, each value written once, stored as it always was."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

import bitgoeul.models  # noqa: F401  (every package's models, so every enum is defined)
from bitgoeul.audit.actions import record_event
from bitgoeul.audit.models import AuditAction, AuditEvent
from bitgoeul.catalog.models import CatalogAudit
from bitgoeul.compute.models import ComputeAudit


def _every_action() -> list[AuditAction]:
    return [member for family in AuditAction.__subclasses__() for member in family]


def test_every_package_that_audits_names_its_actions() -> None:
    families = {family.__module__.split(".")[1] for family in AuditAction.__subclasses__()}
    assert {"accounts", "catalog", "compute", "dp", "governance", "linkage", "query"} <= families
    assert "civic" in families
    assert "testbed" in families


def test_no_two_packages_write_the_same_action_name() -> None:
    values = [member.value for member in _every_action()]
    assert len(values) == len(set(values)), sorted(v for v in values if values.count(v) > 1)


@pytest.mark.parametrize("action", _every_action(), ids=str)
def test_each_name_is_lower_case_dotted_and_fits_the_column(action: AuditAction) -> None:
    assert re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", action.value)
    assert len(action.value) <= AuditEvent.__table__.c.action.type.length  # type: ignore[attr-defined]


def test_names_written_before_the_enums_still_read_back(db: Session) -> None:
    """The values are the strings the log has always stored: an old entry matches its member."""
    record_event(db, action=ComputeAudit.job_submitted, resource_type="job", resource_id=1)
    record_event(db, action=CatalogAudit.dataset_created, resource_type="dataset")
    db.commit()
    stored = [event.action for event in db.query(AuditEvent).order_by(AuditEvent.seq)]
    assert stored == ["job.submitted", "dataset.created"]
    assert [type(a) for a in stored] == [str, str]
    assert ComputeAudit("job.submitted") is ComputeAudit.job_submitted
