"""The SDK walks a linkage against a real hub: proposed by a researcher, approved by both
publishers' stewards, run by the key custodian, its report read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.linkage.linkage_city import build_city, project_body

from bitgoeul.client import AccessDenied, Client, LinkageProject, LinkageReview, LinkageRun
from bitgoeul.config import Settings


def test_a_linkage_from_proposal_to_report_through_the_sdk(
    db: Session, settings: Settings, app: Any, tmp_path: Path, hub_url: str
) -> None:
    city = build_city(db, settings, app, tmp_path)

    def as_(who: str) -> Client:
        return Client(hub_url, token=city.tokens[who])

    body = project_body("exact")
    with as_("researcher") as researcher:
        project = researcher.create_linkage_project(
            body["title"],
            method="exact",
            custodian="kisa",
            sources=body["sources"],
            purpose=body["purpose"],
        )
        assert isinstance(project, LinkageProject)
        assert project.awaiting == ["cnuh", "kepco"]
        with pytest.raises(AccessDenied):
            researcher.approve_linkage(project.id)
    for steward in ("kepco_steward", "hospital_steward"):
        with as_(steward) as client:
            approved = client.approve_linkage(project.id, note="for the heat-wave study")
    assert approved.awaiting == []
    with as_("custodian") as custodian:
        run = custodian.run_linkage(project.id)
    assert isinstance(run, LinkageRun)
    assert run.status == "succeeded"
    with as_("custodian") as custodian:
        review = custodian.linkage_review(run.id)
        assert isinstance(review, LinkageReview)
        assert review.pairs
        assert all(p.stratum.startswith("key:") for p in review.pairs)
        labelled = custodian.label_linkage_pairs(run.id, {p.id: True for p in review.pairs})
        assert labelled.report["quality"]["source"] == "clerical"
        assert labelled.report["quality"]["precision"] == 1.0
    with as_("researcher") as researcher:
        with pytest.raises(AccessDenied):
            researcher.linkage_review(run.id)
        again = researcher.linkage_run(run.id)
        assert again.linked_dataset == run.linked_dataset
        assert again.report["method"] == "exact"
        assert researcher.linkage_project(project.id).id == project.id
