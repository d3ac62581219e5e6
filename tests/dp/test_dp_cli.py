"""``bitgoeul dp quote|release|budget|profile`` run the same actions as the API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City
from typer.testing import CliRunner, Result

from bitgoeul.cli import app
from bitgoeul.cli.context import console, err_console
from bitgoeul.config import Settings
from bitgoeul.dp import actions
from bitgoeul.dp.schemas import ProfileIn


@pytest.fixture
def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "_width", 200)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), obj=settings, catch_exceptions=False)

    return run


def test_a_researcher_quotes_and_releases_from_the_command_line(
    city: City, budgets: Budgets, invoke: Callable[..., Result]
) -> None:
    project = budgets(project=2)
    member = city.cast.actors["member"].username
    quoted = invoke(
        "dp", "quote", SURVEY, "--as", member, "--project", str(project),
        "--group-by", "district", "--measure", "count", "--measure", "mean:income",
        "--epsilon", "1", "--format", "json",
    )  # fmt: skip
    assert quoted.exit_code == 0, quoted.output
    quote = json.loads(quoted.output)
    assert quote["epsilon"] == 1.0
    released = invoke("dp", "release", quote["token"], "--as", member)
    assert released.exit_code == 0, released.output
    assert "ε 1 charged" in released.output
    assert f"project:{project}: ε 1 left of 2" in released.output
    again = invoke("dp", "release", quote["token"], "--as", member)
    assert "free" in again.output


def test_a_bad_measure_is_named(city: City, invoke: Callable[..., Result]) -> None:
    result = invoke(
        "dp", "quote", SURVEY, "--as", city.cast.actors["member"].username,
        "--measure", "median:income", "--epsilon", "1",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "median:income" in result.output


def test_a_steward_sets_budgets_and_profiles_from_the_command_line(
    city: City,
    budgets: Budgets,
    survey_profile: ProfileIn,
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    project = budgets(project=2)
    steward = city.cast.actors["steward_of_publisher"].username
    result = invoke(
        "dp", "budget", SURVEY, "--as", steward, "--project", str(project), "--epsilon", "3"
    )
    assert result.exit_code == 0, result.output
    assert f"project:{project}" in result.output
    assert "1000" in result.output
    changed = survey_profile.model_copy(update={"max_rows_per_person": 2})
    profile_file = tmp_path / "profile.json"
    profile_file.write_text(changed.model_dump_json(), encoding="utf-8")
    approved = invoke("dp", "profile", SURVEY, "--file", str(profile_file), "--as", steward)
    assert approved.exit_code == 0, approved.output
    assert json.loads(invoke("dp", "profile", SURVEY).output)["max_rows_per_person"] == 2


def test_partitions_from_the_command_line(
    city: City,
    budgets: Budgets,
    survey_profile: ProfileIn,
    invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:
    project = budgets(project=5)
    steward = city.cast.actors["steward_of_publisher"].username
    member = city.cast.actors["member"].username
    profile_file = tmp_path / "profile.json"
    partitioned = survey_profile.model_copy(update={"partition_column": "district"})
    profile_file.write_text(partitioned.model_dump_json(), encoding="utf-8")
    assert (
        invoke("dp", "profile", SURVEY, "--file", str(profile_file), "--as", steward).exit_code == 0
    )
    capped = invoke("dp", "budget", SURVEY, "--as", steward, "--partition", "Nam", "--epsilon", "2")
    assert capped.exit_code == 0, capped.output
    assert "partition:Nam" in capped.output
    quoted = invoke(
        "dp", "quote", SURVEY, "--as", member, "--project", str(project),
        "--partition", "Nam", "--measure", "count", "--epsilon", "0.5", "--format", "json",
    )  # fmt: skip
    assert quoted.exit_code == 0, quoted.output
    released = invoke("dp", "release", json.loads(quoted.output)["token"], "--as", member)
    assert "partition:Nam: ε 1.5 left of 2" in released.output
    unpartitioned = invoke(
        "dp", "quote", SURVEY, "--as", member, "--project", str(project),
        "--measure", "count", "--epsilon", "0.5",
    )  # fmt: skip
    assert unpartitioned.exit_code == 1
    assert "partitioned by 'district'" in unpartitioned.output


def test_a_steward_sets_a_delta_cap_and_a_quote_prints_the_threshold(
    db: Session,
    city: City,
    budgets: Budgets,
    invoke: Callable[..., Result],
    survey_profile: ProfileIn,
) -> None:
    project = budgets(project=2)
    steward = city.cast.actors["steward_of_publisher"]
    actions.set_profile(
        db,
        actor=steward,
        slug=SURVEY,
        profile=survey_profile.model_copy(
            update={
                "keys": {k: v for k, v in survey_profile.keys.items() if k != "age"},
                "threshold_keys": ["age"],
                "delta": 1e-9,
            }
        ),
    )
    alone = invoke("dp", "budget", SURVEY, "--as", steward.username, "--delta", "1e-6")
    assert alone.exit_code == 1
    assert "--epsilon" in alone.output
    capped = invoke(
        "dp", "budget", SURVEY, "--as", steward.username, "--project", str(project),
        "--epsilon", "2", "--delta", "1e-6",
    )  # fmt: skip
    assert capped.exit_code == 0, capped.output
    assert re.search(rf"project:{project} .*│ 1e-06 +│ 0 +│ 1e-06 +│", capped.output), capped.output
    quoted = invoke(
        "dp", "quote", SURVEY, "--as", city.cast.actors["member"].username,
        "--project", str(project), "--group-by", "age", "--measure", "count", "--epsilon", "1",
    )  # fmt: skip
    assert quoted.exit_code == 0, quoted.output
    assert re.search(
        r"Groups of age are released only when their noisy count reaches \d+", quoted.output
    )
    assert re.search(r"Cost: ε 1, δ [0-9.e-]+\.", quoted.output)
    assert f"project:{project}: ε 2 left of 2, δ 1e-06 left of 1e-06" in quoted.output
