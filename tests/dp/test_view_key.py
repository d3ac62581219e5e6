"""What a DP count or bounded copy is kept under names the donors a pool's view holds: a pool's
view reads the door's consent-filtered copy, whose SQL is the same before and after a
withdrawal, so a copy made before a withdrawal must never be found after it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.dp.actions import _view_sha256
from bitgoeul.engine import locked as engine
from bitgoeul.governance.decision import Decision
from bitgoeul.governance.doors import Passage
from bitgoeul.privacy.obligations import DonorFilter, Obligations

VIEW = engine.View("__bg_view", Path("copy.parquet"), "SELECT donor, kwh FROM {source}")


def _passage(donors: DonorFilter | None) -> Passage:
    obligations = Obligations(aggregate_only=True, donor_filter=donors)
    return Passage(
        Dataset(slug="pool"), DatasetVersion(number=1), Decision(True, "ok", obligations)
    )


def _donors(drop: set[str], epoch: int) -> DonorFilter:
    return DonorFilter(
        column="donor",
        keep=None,
        drop=frozenset(drop),
        epoch=epoch,
        tier="aggregates",
        included=10 - len(drop),
        excluded=len(drop),
    )


def test_a_withdrawal_changes_the_key_of_the_same_view_sql() -> None:
    before = _view_sha256(_passage(_donors(set(), 1)), VIEW)
    after = _view_sha256(_passage(_donors({"d3"}, 2)), VIEW)
    assert before != after


def test_the_same_donors_give_the_same_key_and_ordinary_data_keeps_its_old_key() -> None:
    assert _view_sha256(_passage(_donors({"d3"}, 2)), VIEW) == _view_sha256(
        _passage(_donors({"d3"}, 2)), VIEW
    )
    plain = hashlib.sha256(VIEW.select_sql.encode()).hexdigest()
    assert _view_sha256(_passage(None), VIEW) == plain
