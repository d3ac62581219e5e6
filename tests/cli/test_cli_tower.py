"""The tower from the shell: the daily snapshot (once per day, refreshed when run again) and
the indicators, with the packages not on the hub said to be not available."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.catalog.conftest import _user
from tests.cli.outcomes import ok, refused
from typer.testing import Result

from bitgoeul.accounts.models import Role
from bitgoeul.tower.indicators import indicators_not_installed
from bitgoeul.tower.models import TowerSnapshot

Invoke = Callable[..., Result]


def test_the_snapshot_is_kept_once_a_day(invoke: Invoke, db: Session) -> None:
    assert "Kept the snapshot of" in ok(invoke("tower", "snapshot"))
    assert "Refreshed the snapshot of" in ok(invoke("tower", "snapshot"))
    assert db.scalar(select(func.count()).select_from(TowerSnapshot)) == 1


def test_only_an_operator_takes_it_as_a_person(invoke: Invoke, db: Session) -> None:
    _user(db, "researcher", Role.member, None)
    _user(db, "hub-operator", Role.operator, None)
    db.commit()
    assert "operators" in refused(invoke("tower", "snapshot", "--as", "researcher"))
    assert "Refreshed" not in ok(invoke("tower", "snapshot", "--as", "hub-operator"))


def test_the_indicators_are_printed_with_their_targets(invoke: Invoke) -> None:
    out = ok(invoke("tower", "indicators"))
    assert "datasets: 0" in out
    assert "trainees: 0 of 5,150 (0.0%)" in out
    for key in indicators_not_installed():
        assert f"{key}: not available" in out
