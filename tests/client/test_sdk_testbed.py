"""The SDK in the AI+ testbed, against a hub served as ``bitgoeul serve`` serves it: a lab's
team joins KEPCO's next-day demand task, downloads the inputs, submits predictions and a model,
reads the leaderboard; the operator re-runs a submission."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from tests.testbed.bench_city import (  # noqa: F401
    LABELS,
    TASK,
    Bench,
    api,
    bench,
    cast,
    predictions_csv,
)

from bitgoeul.client import AccessDenied, Client, NotFound, RateLimited, ValidationFailed
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.db.base import utcnow

needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

PREDICT = """
import os, pathlib, pyarrow.parquet as pq
inputs = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "{test_file}")
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "predictions.csv"
with out.open("w") as f:
    f.write("id,prediction\\n")
    for row in inputs.to_pylist():
        f.write(f"{{row['id']}},{{row['prev_kwh']}}\\n")
print("predicted", inputs.num_rows, "rows", flush=True)
"""


@pytest.fixture
def city(request: pytest.FixtureRequest) -> Bench:
    found: Bench = request.getfixturevalue("bench")
    return found


def _as(hub_url: str, city: Bench, who: str) -> Iterator[Client]:
    with Client(hub_url, token=city.cast.tokens[who]) as client:
        yield client


@pytest.fixture
def researcher(hub_url: str, city: Bench) -> Iterator[Client]:
    yield from _as(hub_url, city, "member")


@pytest.fixture
def steward(hub_url: str, city: Bench) -> Iterator[Client]:
    yield from _as(hub_url, city, "steward_of_publisher")


@pytest.fixture
def operator(hub_url: str, city: Bench) -> Iterator[Client]:
    yield from _as(hub_url, city, "operator")


@pytest.fixture
def team(researcher: Client) -> int:
    return researcher.join_testbed(TASK, "Gwangju Forecasters").id


def test_tasks_are_listed_and_read(researcher: Client, city: Bench) -> None:
    assert [t.slug for t in researcher.testbed_tasks()] == [TASK]
    task = researcher.testbed_task(TASK)
    assert task.metric == "mae"
    assert not task.higher_is_better
    assert task.phase == "development"
    assert task.test_inputs_file == f"{city.test_set.slug}.parquet"
    assert "kwh" not in task.input_columns


def test_joining_makes_a_team_and_an_invited_teammate_joins_it(
    researcher: Client, team: int, hub_url: str, city: Bench
) -> None:
    mine = researcher.my_testbed_team(TASK)
    assert mine is not None
    assert mine.id == team
    assert mine.members == ["researcher"]
    invitation = researcher.invite_to_testbed_team(TASK, team, "teammate")
    assert invitation.status == "pending"
    for teammate in _as(hub_url, city, "teammate"):
        assert teammate.my_testbed_team(TASK) is None  # not a member until they accept
        (waiting,) = teammate.testbed_invitations(pending=True)
        assert (waiting.id, waiting.team, waiting.invited_by) == (
            invitation.id,
            "Gwangju Forecasters",
            "researcher",
        )
        joined = teammate.accept_testbed_invitation(invitation.id)
        assert joined.members == ["researcher", "teammate"]
        assert teammate.testbed_invitations(pending=True) == []
    for rival in _as(hub_url, city, "rival"):
        assert rival.my_testbed_team(TASK) is None
        with pytest.raises(NotFound):
            rival.decline_testbed_invitation(invitation.id)


def test_an_invitee_declines_and_a_task_with_terms_is_joined_by_accepting_them(
    researcher: Client, steward: Client, hub_url: str, city: Bench
) -> None:
    steward.update_testbed_task(TASK, terms="Use the inputs for this task only.")
    task = researcher.testbed_task(TASK)
    assert task.terms == "Use the inputs for this task only."
    assert task.test_access_level == "open"
    with pytest.raises(ValidationFailed):
        researcher.join_testbed(TASK, "Gwangju Forecasters")
    team = researcher.join_testbed(TASK, "Gwangju Forecasters", accept_terms=True)
    assert team.terms_accepted is True
    invitation = researcher.invite_to_testbed_team(TASK, team.id, "teammate")
    for teammate in _as(hub_url, city, "teammate"):
        assert teammate.decline_testbed_invitation(invitation.id).status == "declined"
    steward.update_testbed_task(TASK, terms="Use the inputs for this task only; delete them.")
    mine = researcher.my_testbed_team(TASK)
    assert mine is not None
    assert mine.terms_accepted is False
    assert researcher.accept_testbed_terms(TASK).terms_accepted is True


def test_a_good_file_is_scored_at_once(researcher: Client, team: int, tmp_path: Path) -> None:
    path = tmp_path / "predictions.csv"
    path.write_bytes(predictions_csv(shift=2.5))
    submission = researcher.submit_predictions(TASK, path, description="last week's values")
    assert submission.status == "scored"
    assert submission.finished
    assert submission.public_score == pytest.approx(2.5)
    assert submission.private_score is None
    assert submission.rows == len(LABELS)
    assert len(submission.content_sha256) == 64
    assert submission.submissions_left_today == 2
    assert [s.id for s in researcher.testbed_history(TASK)] == [submission.id]
    assert researcher.testbed_submission(submission.id).description == "last week's values"


def test_a_file_without_the_id_column_is_refused_precisely(researcher: Client, team: int) -> None:
    body = "prediction\n" + "".join(f"{v}\n" for v in LABELS.values())
    with pytest.raises(ValidationFailed) as refused:
        researcher.submit_predictions(TASK, body.encode())
    assert "'id'" in refused.value.message
    assert researcher.testbed_history(TASK) == []


def test_the_fourth_submission_of_the_day_is_rate_limited(researcher: Client, team: int) -> None:
    for shift in (1.0, 2.0, 3.0):
        researcher.submit_predictions(TASK, predictions_csv(shift=shift))
    with pytest.raises(RateLimited) as limited:
        researcher.submit_predictions(TASK, predictions_csv())
    assert "has used its 3 submissions for today (UTC)" in limited.value.message


def test_the_leaderboard_ranks_teams_and_shows_the_baseline(
    researcher: Client, steward: Client, team: int
) -> None:
    researcher.submit_predictions(TASK, predictions_csv(shift=1.0))
    baseline = steward.submit_predictions(TASK, predictions_csv(shift=0.5))
    assert baseline.is_baseline
    board = researcher.leaderboard(TASK)
    assert board.revealed
    assert [(r.rank, r.team, r.is_baseline) for r in board.rows] == [
        (None, "Organizer baseline", True),
        (1, "Gwangju Forecasters", False),
    ]
    private = researcher.leaderboard(TASK, board="private")
    assert not private.revealed
    assert private.rows == []


def test_the_test_inputs_have_no_label(researcher: Client, team: int, tmp_path: Path) -> None:
    saved = researcher.test_inputs(TASK, tmp_path)
    assert saved == tmp_path / f"{TASK}-test-inputs.csv"
    with saved.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(LABELS)
    assert set(rows[0]) == {"id", "household", "prev_kwh"}
    parquet = researcher.test_inputs(TASK, tmp_path / "inputs.parquet", format="parquet")
    assert parquet.read_bytes()[:4] == b"PAR1"


def test_an_operator_reruns_a_file_and_it_matches(
    researcher: Client, operator: Client, team: int
) -> None:
    submission = researcher.submit_predictions(TASK, predictions_csv(shift=0.75))
    rerun = operator.rerun_submission(submission.id)
    assert rerun.status == "scored"
    assert rerun.matches is True
    assert rerun.public_score == rerun.original_public_score
    assert [r.id for r in operator.reruns(submission.id)] == [rerun.id]
    with pytest.raises(AccessDenied):
        researcher.rerun_submission(submission.id)


def test_a_steward_creates_a_task_with_datetimes(steward: Client, city: Bench) -> None:
    now = utcnow()
    task = steward.create_testbed_task(
        {"slug": "demand-round-2", "title": "Demand, round two", "sector": "energy"},
        problem="Predict tomorrow's use.",
        metric="rmse",
        test_dataset=city.test_set.slug,
        label_column="kwh",
        opens_at=now - timedelta(days=1),
        final_phase_at=now + timedelta(days=3),
        deadline=now + timedelta(days=6),
    )
    assert task.slug == "demand-round-2"
    assert task.organizer == "kepco"


def _model(tmp_path: Path, city: Bench) -> Path:
    code = tmp_path / "model"
    code.mkdir()
    (code / "predict.py").write_text(
        dedent(PREDICT.format(test_file=f"{city.test_set.slug}.parquet"))
    )
    return code


@needs_sandbox
def test_a_model_is_accepted_as_a_running_job(
    researcher: Client, operator: Client, team: int, tmp_path: Path, city: Bench
) -> None:
    operator.grant_credits("gist-lab", cpu_hours=10)
    submission = researcher.submit_model(
        TASK, _model(tmp_path, city), memory_mb=512, time_limit_s=60, description="persistence"
    )
    assert submission.kind == "model"
    assert submission.job is not None
    assert len(submission.content_sha256) == 64
    assert submission.description == "persistence"


@pytest.mark.skipif(sandbox_support().available, reason="this machine can sandbox jobs")
def test_without_a_sandbox_a_model_is_refused_with_the_reason(
    researcher: Client, operator: Client, team: int, tmp_path: Path, city: Bench
) -> None:
    operator.grant_credits("gist-lab", cpu_hours=10)
    with pytest.raises(ValidationFailed) as caught:
        researcher.submit_model(TASK, _model(tmp_path, city), time_limit_s=60)
    assert "cannot run jobs right now" in str(caught.value)
    assert sandbox_support().reason in str(caught.value)


@needs_sandbox
def test_a_model_is_scored_when_its_job_ends(
    researcher: Client, operator: Client, team: int, tmp_path: Path, city: Bench
) -> None:
    operator.grant_credits("gist-lab", cpu_hours=10)
    submission = researcher.submit_model(TASK, _model(tmp_path, city), time_limit_s=60)
    assert submission.status == "running"
    done = researcher.wait_for_submission(submission.id, timeout=60, poll_seconds=0.1)
    assert done.status == "scored", done.error
    assert done.public_score is not None
    assert "predicted 40 rows" in done.log_excerpt


def test_the_organizer_moves_the_deadline_through_the_sdk(steward: Client, city: Bench) -> None:
    later = city.task.deadline + timedelta(days=5)
    changed = steward.update_testbed_task(TASK, deadline=later, daily_limit=7)
    assert changed.daily_limit == 7
    assert changed.deadline == later


def test_a_participant_cannot_move_the_deadline(researcher: Client) -> None:
    with pytest.raises(AccessDenied):
        researcher.update_testbed_task(TASK, daily_limit=99)
