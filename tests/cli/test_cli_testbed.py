"""The AI+ testbed from the shell: a researcher's team joins KEPCO's next-day demand task,
downloads the test inputs, submits predictions and a model, and reads the leaderboard; the
steward organizes; the operator re-runs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from tests.cli.outcomes import ok, refused
from tests.testbed.bench_city import (  # noqa: F401
    LABELS,
    TASK,
    Bench,
    api,
    bench,
    cast,
    predictions_csv,
)
from typer.testing import Result

from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.db.base import utcnow

Invoke = Callable[..., Result]
RESEARCHER, STEWARD, OPERATOR, RIVAL = "researcher", "kepco-steward", "hub-operator", "teammate"
pytestmark = pytest.mark.usefixtures("bench")
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
print("predicted", inputs.num_rows, "rows; columns", inputs.column_names, flush=True)
"""


def _file(tmp_path: Path, content: bytes, name: str = "predictions.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.fixture
def test_set(request: pytest.FixtureRequest) -> str:
    """The hidden test set's slug; a model reads ``<slug>.parquet``."""
    city: Bench = request.getfixturevalue("bench")
    return str(city.test_set.slug)


@pytest.fixture
def team(invoke: Invoke) -> str:
    ok(invoke("testbed", "join", TASK, "--team", "Gwangju Forecasters", "--as", RESEARCHER))
    return "Gwangju Forecasters"


def test_the_task_list_names_the_task_its_metric_and_phase(invoke: Invoke) -> None:
    listed = ok(invoke("testbed", "tasks"))
    assert TASK in listed
    assert "mae" in listed
    assert "development" in listed


def test_show_says_what_to_predict_and_where_a_model_finds_its_inputs(
    invoke: Invoke, test_set: str
) -> None:
    shown = ok(invoke("testbed", "show", TASK))
    assert "Mean absolute error" in shown
    assert "lower is better" in shown
    assert f"$BITGOEUL_INPUT_DIR/{test_set}.parquet" in shown
    assert "3 submissions per team per UTC day" in shown
    assert "Organizer baseline (baseline)" in shown


def test_a_good_file_is_scored_and_its_score_printed(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, predictions_csv(shift=2.5))
    submitted = ok(invoke("testbed", "submit", TASK, str(path), "--as", RESEARCHER))
    assert "Submission 1 scored: public mae 2.5, on 40 rows (sha256 " in submitted
    assert "has 2 submission(s) left today (UTC)" in submitted
    assert "private" not in submitted  # hidden until the deadline

    shown = ok(invoke("testbed", "submission", "1", "--as", RESEARCHER))
    assert "hidden until the deadline" in shown
    assert "predictions.csv" in shown
    history = ok(invoke("testbed", "history", TASK, "--as", RESEARCHER))
    assert "1 submission(s)" in history
    assert "2.5" in history


def test_a_file_without_an_id_column_is_refused_with_the_reason(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    body = "".join(f"{value}\n" for value in ["prediction", *LABELS.values()]).encode()
    line = refused(
        invoke("testbed", "submit", TASK, str(_file(tmp_path, body)), "--as", RESEARCHER)
    )
    assert "'id'" in line
    for label in LABELS.values():
        assert str(label) not in line
    assert "0 submission(s)" in ok(invoke("testbed", "history", TASK, "--as", RESEARCHER))


def test_the_fourth_submission_of_the_day_is_refused(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    path = _file(tmp_path, predictions_csv(shift=1.0))
    for _ in range(3):
        ok(invoke("testbed", "submit", TASK, str(path), "--as", RESEARCHER))
    line = refused(invoke("testbed", "submit", TASK, str(path), "--as", RESEARCHER))
    assert "has used its 3 submissions for today (UTC)" in line


def test_submitting_without_a_team_says_how_to_join(invoke: Invoke, tmp_path: Path) -> None:
    path = _file(tmp_path, predictions_csv())
    line = refused(invoke("testbed", "submit", TASK, str(path), "--as", RESEARCHER))
    assert f"bitgoeul testbed join {TASK} --team NAME" in line


def test_the_leaderboard_shows_each_team_and_the_baseline_unranked(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    ok(invoke("testbed", "submit", TASK, str(_file(tmp_path, predictions_csv(shift=1.0))),
              "--as", RESEARCHER))  # fmt: skip
    ok(invoke("testbed", "submit", TASK, str(_file(tmp_path, predictions_csv(shift=3.0))),
              "--as", STEWARD))  # fmt: skip
    board = ok(invoke("testbed", "leaderboard", TASK))
    assert "Public leaderboard of next-day-demand (mae, lower is better)" in board
    rows = [line for line in board.splitlines() if "Gwangju Forecasters" in line]
    assert len(rows) == 1
    assert rows[0].split("│")[1].strip() == "1"
    baseline = [line for line in board.splitlines() if "Organizer baseline" in line]
    assert baseline[0].split("│")[1].strip() == "baseline"
    assert "revealed at the deadline" in ok(invoke("testbed", "leaderboard", TASK, "--private"))


def test_an_invited_teammate_joins_by_accepting_and_shares_the_history(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    invited = ok(invoke("testbed", "invite", TASK, "teammate", "--as", RESEARCHER))
    assert "Invited teammate to team Gwangju Forecasters (invitation 1)" in invited
    assert "join when they accept" in invited
    # Not a member yet: a pending invitation lets no one submit.
    refused(invoke("testbed", "submit", TASK, str(_file(tmp_path, predictions_csv())),
                   "--as", "teammate"))  # fmt: skip
    listed = ok(invoke("testbed", "invitations", "--as", "teammate"))
    assert "Gwangju Forecasters" in listed
    assert "pending" in listed
    assert "There is no testbed invitation 1 for you" in refused(
        invoke("testbed", "accept", "1", "--as", "rival-researcher")
    )
    joined = ok(invoke("testbed", "accept", "1", "--as", "teammate"))
    assert f"You joined team Gwangju Forecasters of task {TASK}" in joined
    ok(invoke("testbed", "submit", TASK, str(_file(tmp_path, predictions_csv())),
              "--as", "teammate"))  # fmt: skip
    assert "1 submission(s)" in ok(invoke("testbed", "history", TASK, "--as", RESEARCHER))
    line = refused(invoke("testbed", "invite", TASK, "teammate", "--as", "rival-researcher"))
    assert "no team" in line


def test_an_invitation_is_declined_and_not_sent_again(invoke: Invoke, team: str) -> None:
    ok(invoke("testbed", "invite", TASK, "teammate", "--as", RESEARCHER))
    assert "Declined invitation 1" in ok(invoke("testbed", "decline", "1", "--as", "teammate"))
    assert "declined" in ok(invoke("testbed", "invitations", "--as", "teammate"))
    line = refused(invoke("testbed", "invite", TASK, "teammate", "--as", RESEARCHER))
    assert "declined your team's invitation" in line


def test_a_task_with_terms_is_joined_by_accepting_them(invoke: Invoke, tmp_path: Path) -> None:
    terms = tmp_path / "terms.txt"
    terms.write_text("Use the inputs for this task only.", encoding="utf-8")
    ok(invoke("testbed", "update", TASK, "--terms-file", str(terms), "--as", STEWARD))
    assert "Use the inputs for this task only." in ok(invoke("testbed", "show", TASK))
    line = refused(invoke("testbed", "join", TASK, "--team", "Mates", "--as", RESEARCHER))
    assert "has terms" in line
    ok(invoke("testbed", "join", TASK, "--team", "Mates", "--accept-terms", "--as", RESEARCHER))
    terms.write_text("Use the inputs for this task only; delete them at the end.", "utf-8")
    ok(invoke("testbed", "update", TASK, "--terms-file", str(terms), "--as", STEWARD))
    accepted = ok(invoke("testbed", "accept-terms", TASK, "--as", RESEARCHER))
    assert f"You accepted the terms of task {TASK}" in accepted


def test_the_test_inputs_download_has_no_label(invoke: Invoke, team: str, tmp_path: Path) -> None:
    target = tmp_path / "inputs.csv"
    ok(invoke("testbed", "inputs", TASK, "--as", RESEARCHER, "--output", str(target)))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == len(LABELS)
    assert set(rows[0]) == {"id", "household", "prev_kwh"}
    ok(invoke("testbed", "inputs", TASK, "--as", RESEARCHER, "--format", "parquet",
              "--output", str(tmp_path)))  # fmt: skip
    assert (tmp_path / f"{TASK}-test-inputs.parquet").is_file()


def test_the_test_inputs_are_for_participants_only(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "downloads"
    target.mkdir()
    refused(invoke("testbed", "inputs", TASK, "--as", RESEARCHER, "--output", str(target)))
    assert not list(target.iterdir())


def test_an_operator_reruns_a_file_and_it_matches(
    invoke: Invoke, team: str, tmp_path: Path
) -> None:
    ok(invoke("testbed", "submit", TASK, str(_file(tmp_path, predictions_csv(shift=0.5))),
              "--as", RESEARCHER))  # fmt: skip
    rerun = ok(invoke("testbed", "rerun", "1", "--as", OPERATOR))
    assert "public 0.5 (was 0.5)" in rerun
    assert "matches: true" in rerun
    line = refused(invoke("testbed", "rerun", "1", "--as", RESEARCHER))
    assert "Only operators" in line


def test_a_steward_creates_a_task_from_a_json_file(
    invoke: Invoke, test_set: str, tmp_path: Path
) -> None:
    now = utcnow()
    body = {
        "slug": "next-day-demand-2",
        "title": "Next-day demand, second round",
        "sector": "energy",
        "problem": "Predict tomorrow's use again.",
        "metric": "rmse",
        "test_dataset": test_set,
        "label_column": "kwh",
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "final_phase_at": (now + timedelta(days=5)).isoformat(),
        "deadline": (now + timedelta(days=9)).isoformat(),
    }
    spec = tmp_path / "task.json"
    spec.write_text(json.dumps(body), encoding="utf-8")
    created = ok(invoke("testbed", "create", "--file", str(spec), "--as", STEWARD))
    assert "Created task next-day-demand-2" in created
    assert "next-day-demand-2" in ok(invoke("testbed", "tasks"))

    refused(invoke("testbed", "create", "--file", str(spec), "--as", RESEARCHER))
    spec.write_text(json.dumps({**body, "slug": "x-2", "metric": "rmse", "deadline": "soon"}))
    line = refused(invoke("testbed", "create", "--file", str(spec), "--as", STEWARD))
    assert "deadline" in line


@needs_sandbox
def test_a_model_folder_is_accepted_as_a_running_job(
    invoke: Invoke, team: str, test_set: str, tmp_path: Path
) -> None:
    ok(invoke("credits", "grant", "gist-lab", "--as", OPERATOR, "--cpu-hours", "10"))
    code = tmp_path / "model"
    code.mkdir()
    (code / "predict.py").write_text(dedent(PREDICT.format(test_file=f"{test_set}.parquet")))
    submitted = ok(invoke("testbed", "submit", TASK, str(code), "--as", RESEARCHER,
                          "--memory-mb", "512", "--time-limit", "60"))  # fmt: skip
    assert (
        "Submitted model 1 to task next-day-demand for team Gwangju Forecasters: job" in submitted
    )
    assert "running" in ok(invoke("testbed", "submission", "1", "--as", RESEARCHER))


@pytest.mark.skipif(sandbox_support().available, reason="this machine can sandbox jobs")
def test_without_a_sandbox_a_model_is_refused_with_the_reason(
    invoke: Invoke, team: str, test_set: str, tmp_path: Path
) -> None:
    ok(invoke("credits", "grant", "gist-lab", "--as", OPERATOR, "--cpu-hours", "10"))
    code = tmp_path / "model"
    code.mkdir()
    (code / "predict.py").write_text(dedent(PREDICT.format(test_file=f"{test_set}.parquet")))
    line = refused(invoke("testbed", "submit", TASK, str(code), "--as", RESEARCHER))
    assert "cannot run jobs right now" in line
    assert sandbox_support().reason in line


@needs_sandbox
def test_a_model_runs_with_wait_and_its_score_and_log_come_back(
    invoke: Invoke, team: str, test_set: str, tmp_path: Path
) -> None:
    ok(invoke("credits", "grant", "gist-lab", "--as", OPERATOR, "--cpu-hours", "10"))
    code = tmp_path / "model"
    code.mkdir()
    (code / "predict.py").write_text(dedent(PREDICT.format(test_file=f"{test_set}.parquet")))
    submitted = ok(invoke("testbed", "submit", TASK, str(code), "--as", RESEARCHER,
                          "--memory-mb", "512", "--time-limit", "60", "--wait"))  # fmt: skip
    assert "Submission 1 scored: public mae" in submitted
    assert "predicted 40 rows; columns ['id', 'household', 'prev_kwh']" in submitted
    ok(invoke("credits", "grant", "kepco", "--as", OPERATOR, "--cpu-hours", "10"))
    rerun = ok(invoke("testbed", "rerun", "1", "--as", OPERATOR, "--wait"))  # the organizer pays
    assert "matches: true" in rerun


def test_the_organizer_extends_the_deadline_and_raises_the_daily_limit(invoke: Invoke) -> None:
    changed = ok(
        invoke(
            "testbed", "update", TASK, "--deadline", "2099-12-31T18:00:00+09:00",
            "--daily-limit", "9", "--as", "kepco-steward",
        )
    )  # fmt: skip
    assert "deadline 2099-12-31 09:00 UTC" in changed
    assert "9 submissions a day" in changed


def test_a_participant_cannot_change_a_task_and_a_time_needs_a_zone(invoke: Invoke) -> None:
    assert "Only the organizer" in refused(
        invoke("testbed", "update", TASK, "--daily-limit", "99", "--as", RESEARCHER)
    )
    assert "give a time zone" in refused(
        invoke("testbed", "update", TASK, "--deadline", "2099-12-31", "--as", "kepco-steward")
    )
