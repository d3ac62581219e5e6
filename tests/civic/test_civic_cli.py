"""``bitgoeul civic ...`` runs the same actions as the API: the whole way from the command line,
a refusal as one line and exit 1, and the escalation of overdue triage."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.civic.civic_city import CivicCity
from tests.civic.photo_files import GPS, jpeg_with_exif
from typer.testing import CliRunner, Result

from bitgoeul.cli import app
from bitgoeul.cli.context import console, err_console
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow


@pytest.fixture
def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "_width", 200)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), obj=settings, catch_exceptions=False)

    return run


def _name(civic: CivicCity, who: str) -> str:
    return civic.actor(who).username


def test_the_whole_way_from_the_command_line(
    civic: CivicCity, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    photo = tmp_path / "lamp.jpg"
    photo.write_bytes(jpeg_with_exif())
    posted = invoke(
        "civic", "post", "--title", "Street lamp out for a month",
        "--description", "The lamp at the corner of the school road is out since November.",
        "--district", "Seo-gu", "--photo", str(photo), "--as", _name(civic, "citizen"),
    )  # fmt: skip
    assert posted.exit_code == 0, posted.output
    problem_id = posted.output.split("Posted problem #", 1)[1].split(".", 1)[0]
    for resident in ("resident0", "resident1", "resident2"):
        supported = invoke("civic", "support", problem_id, "--as", _name(civic, resident))
        assert supported.exit_code == 0, supported.output
    assert "triage" in supported.output
    operator = _name(civic, "operator")
    steward = _name(civic, "steward_of_publisher")
    steps = [
        ("triage", problem_id, "--accept", "kepco", "--as", operator),
        ("propose-metric", problem_id, "--metric", "mae", "--indicator", "Outage minutes",
         "--dataset", civic.indicator.slug, "--column", "minutes", "--period", "month",
         "--baseline", "50", "--target", "20", "--as", steward),
        ("agree-metric", problem_id, "--as", operator),
        ("open-challenge", problem_id, "--test-dataset", civic.test_set.slug,
         "--label-column", "kwh", "--final-phase-at", "2030-01-10", "--deadline", "2030-02-01",
         "--as", steward),
        ("start-pilot", problem_id, "--description", "New lamps with sensors.", "--as", steward),
        ("measure", problem_id, "--as", steward),
    ]  # fmt: skip
    for step in steps:
        result = invoke("civic", *step)
        assert result.exit_code == 0, result.output
    assert "Progress: 50%" in result.output
    assert f"Testbed task: civic-{problem_id}" in result.output
    shown = json.loads(invoke("civic", "show", problem_id, "--format", "json").output)
    assert shown["state"] == "pilot"
    counts = json.loads(invoke("civic", "counts", "--format", "json").output)
    assert counts["pilots"] == 1
    listed = invoke("civic", "list", "--state", "pilot")
    assert "Street lamp out for a month" in listed.output
    with civic.store.open(_photo_key(civic)) as f:
        assert GPS not in f.read()


def _photo_key(civic: CivicCity) -> str:
    from sqlalchemy import select

    from bitgoeul.civic.models import CivicPhoto

    return civic._db.scalars(select(CivicPhoto.key)).one()


def test_a_refusal_is_one_line_and_exit_one(
    civic: CivicCity, invoke: Callable[..., Result]
) -> None:
    problem_id = str(civic.post())
    refused = invoke("civic", "triage", problem_id, "--accept", "kepco", "--as",
                     _name(civic, "member"))  # fmt: skip
    assert refused.exit_code == 1
    assert "Only operators (the city's triage) may accept it" in refused.output
    both = invoke("civic", "triage", problem_id, "--accept", "kepco", "--decline", "no",
                  "--as", _name(civic, "operator"))  # fmt: skip
    assert both.exit_code == 1
    assert "exactly one of" in both.output


def test_escalate_tells_operators_of_overdue_triage_once(
    civic: CivicCity, db: Session, invoke: Callable[..., Result]
) -> None:
    problem_id = civic.post()
    civic.to_triage(problem_id)
    civic.problem(problem_id).triage_due_at = utcnow() - timedelta(hours=3)
    db.commit()
    assert f"Escalated: #{problem_id}" in invoke("civic", "escalate").output
    assert "No triage newly past its deadline." in invoke("civic", "escalate").output
    assert "(overdue)" in invoke("civic", "list", "--overdue").output
