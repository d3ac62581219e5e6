"""Jobs and credits from the shell: a researcher submits code next to the data, follows it and
gets the results; a steward reviews held outputs; the operator grants credits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from textwrap import dedent

import pytest
from fastapi import FastAPI
from tests.cli.outcomes import ok, refused
from typer.testing import Result

from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support

Invoke = Callable[..., Result]
STEWARD, RESEARCHER, COLLEAGUE = "kepco-steward", "researcher", "colleague"
RESTRICTED, OPEN = "clinic-visits", "district-population"
pytestmark = pytest.mark.usefixtures("city", "operator")
needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

COUNT_ROWS = """
import os, pathlib, pyarrow.parquet as pq
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
rows = {p.stem: pq.read_metadata(p).num_rows for p in sorted(src.glob("*.parquet"))}
(out / "counts.txt").write_text(repr(rows))
print("code folder:", sorted(os.listdir(".")), flush=True)
print("counted", rows, flush=True)
"""

STEPS = """
import time
for i in range(3):
    print("step", i, flush=True)
    time.sleep(0.2)
"""

MEAN_AGE = """
import os, pathlib, pyarrow.parquet as pq
t = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "clinic-visits.parquet")
ages = t.column("age").to_pylist()
(pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "summary.txt").write_text(
    f"mean age over all visits: {sum(ages) / len(ages):.1f}\\n"
)
print("done")
"""


@pytest.fixture
def project(invoke: Invoke) -> int:
    """The researcher's project, with an agreement on the restricted clinic visits, and 10
    CPU-hours for the lab granted by the operator."""
    ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Clinic load",
            "--purpose", "health-research", "--justification", "Plan clinic staffing.",
        )
    )  # fmt: skip
    ok(invoke("request", "create", "--as", RESEARCHER, "--project", "1", "--dataset", RESTRICTED))
    ok(invoke("request", "approve", "1", "--as", STEWARD))
    ok(invoke("credits", "grant", "gist-lab", "--as", "operator", "--cpu-hours", "10"))
    return 1


def _code(tmp_path: Path, script: str) -> Path:
    """A folder of code with a cache and a Git folder that must not travel with it."""
    folder = tmp_path / "code"
    (folder / "__pycache__").mkdir(parents=True)
    (folder / "__pycache__" / "main.cpython-312.pyc").write_bytes(b"\0")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "main.py").write_text(dedent(script))
    return folder


def _submit(invoke: Invoke, source: Path, *options: str) -> Result:
    return invoke(
        "job", "submit", str(source), "--as", RESEARCHER, "--project", "1",
        "--entrypoint", "main.py", "--memory-mb", "512", "--time-limit", "60", *options,
    )  # fmt: skip


@pytest.fixture
def scheduler(app: FastAPI) -> Iterator[JobRunner]:
    """The hub's scheduler running in the background, as under ``bitgoeul serve``."""
    runner: JobRunner = app.state.job_runner
    runner.poll_seconds = 0.1
    runner.start()
    yield runner
    runner.stop()


@needs_sandbox
def test_a_folder_on_open_data_runs_with_wait_and_its_outputs_download(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    submitted = ok(_submit(invoke, _code(tmp_path, COUNT_ROWS), "--dataset", OPEN, "--wait"))
    assert "Submitted job 1 (queued) for project 1 on district-population v1" in submitted
    assert "Job 1 succeeded (exit code 0)" in submitted
    assert "counts.txt" in submitted
    assert "log.txt" in submitted

    shown = ok(invoke("job", "show", "1", "--as", RESEARCHER))
    assert "succeeded" in shown
    assert "district-population v1" in shown
    assert "main.py" in shown
    assert "yours" in shown

    log = ok(invoke("job", "logs", "1", "--as", RESEARCHER))
    assert "code folder: ['main.py']" in log  # no __pycache__, no .git
    assert "counted {'district-population': 3}" in log

    downloads = tmp_path / "results"
    copied = ok(invoke("job", "outputs", "1", "--as", RESEARCHER, "--download", str(downloads)))
    assert "Copied 2 file(s)" in copied
    assert (downloads / "counts.txt").read_text() == "{'district-population': 3}"

    listed = ok(invoke("job", "list", "--as", RESEARCHER, "--project", "1"))
    assert "1 job" in listed
    assert "succeeded" in listed
    assert "1 job" not in ok(invoke("job", "list", "--as", STEWARD))


@needs_sandbox
def test_logs_follow_prints_what_the_job_prints_until_it_ends(
    invoke: Invoke, project: int, tmp_path: Path, scheduler: JobRunner
) -> None:
    submitted = ok(_submit(invoke, _code(tmp_path, STEPS)))
    assert "bitgoeul job logs 1 --follow" in submitted
    followed = ok(invoke("job", "logs", "1", "-f", "--as", RESEARCHER))
    assert followed.splitlines() == ["step 0", "step 1", "step 2"]
    assert "succeeded" in ok(invoke("job", "show", "1", "--as", RESEARCHER))


@needs_sandbox
def test_arguments_reach_the_entry_point_in_order(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    script = "import sys, json\nprint(json.dumps(sys.argv[1:]))\n"
    ok(_submit(invoke, _code(tmp_path, script), "--arg", "--epochs", "--arg", "3", "--wait"))
    log = ok(invoke("job", "logs", "1", "--as", RESEARCHER))
    assert json.loads(log) == ["--epochs", "3"]


@needs_sandbox
def test_a_dataset_without_an_agreement_is_refused_with_the_reason(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    error = refused(_submit(invoke, _code(tmp_path, COUNT_ROWS), "--dataset", "income-survey"))
    assert "income-survey" in error
    assert "0 jobs" in ok(invoke("job", "list", "--as", RESEARCHER))


@needs_sandbox
def test_a_job_beyond_the_credits_left_is_refused_and_nothing_is_debited(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    error = refused(
        _submit(invoke, _code(tmp_path, COUNT_ROWS), "--cpus", "2", "--time-limit", "86400")
    )
    assert "does not have the credits for this job" in error
    assert "gist-lab has 10 CPU-hours" in ok(invoke("credits", "show", "--as", RESEARCHER))


def test_a_path_that_is_not_code_isrefused(invoke: Invoke, project: int, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not code")
    assert "neither a folder nor a .zip or .tar.gz" in refused(_submit(invoke, notes))
    assert "no folder or archive" in refused(_submit(invoke, tmp_path / "missing"))


def test_bad_resources_are_named_as_options(invoke: Invoke, project: int, tmp_path: Path) -> None:
    error = refused(_submit(invoke, _code(tmp_path, COUNT_ROWS), "--time-limit", "0"))
    assert "--time-limit" in error


@needs_sandbox
def test_cancelling_a_queued_job_refunds_it_in_full(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    ok(_submit(invoke, _code(tmp_path, COUNT_ROWS)))
    assert "has 9.98" in ok(invoke("credits", "show", "--as", RESEARCHER))
    cancelled = ok(invoke("job", "cancel", "1", "--as", RESEARCHER))
    assert "Cancelled job 1 before it started" in cancelled
    balance = ok(invoke("credits", "show", "--as", RESEARCHER))
    assert "gist-lab has 10 CPU-hours" in balance
    assert "job refund" in balance
    assert "already finished" in refused(invoke("job", "cancel", "1", "--as", RESEARCHER))
    assert "cancelled" in ok(invoke("job", "show", "1", "--as", RESEARCHER))


@needs_sandbox
def test_held_outputs_leave_after_context_and_the_stewards_approval(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    ran = ok(_submit(invoke, _code(tmp_path, MEAN_AGE), "--dataset", RESTRICTED, "--wait"))
    assert "held" in ran
    assert "Job 1 succeeded" in ran
    assert "held until the release review" in refused(
        invoke("job", "logs", "1", "--as", RESEARCHER)
    )
    assert "held until the release review" in refused(
        invoke("job", "outputs", "1", "--as", RESEARCHER, "--download", str(tmp_path / "out"))
    )

    assert "summary.txt" not in ok(invoke("job", "show", "1", "--as", RESEARCHER))
    blank = refused(invoke("job", "release", "1", "--as", RESEARCHER, "--context", " "))
    assert "context" in blank
    summary = "summary.txt: one mean over all eight visits; the log prints only 'done'."
    asked = ok(invoke("job", "release", "1", "--as", RESEARCHER, "--context", summary))
    assert "round 1" in asked
    assert "waiting for kepco" in asked

    queue = ok(invoke("job", "reviews", "--as", STEWARD))
    assert "Releases waiting for review (1)" in queue
    assert "one mean over all eight visits" in queue
    assert "Releases waiting for review (0)" in ok(invoke("job", "reviews", "--as", COLLEAGUE))
    shown = ok(invoke("job", "show", "1", "--as", STEWARD))
    assert "Release: in review, round 1 asked by researcher; waiting for kepco." in shown
    assert "Automatic checks" in shown

    assert "Only stewards of the data" in refused(
        invoke("job", "review", "1", "--as", RESEARCHER, "--approve")
    )
    assert "exactly one of" in refused(
        invoke("job", "review", "1", "--as", STEWARD, "--approve", "--reject")
    )
    approved = ok(invoke("job", "review", "1", "--as", STEWARD, "--approve"))
    assert "outputs are now released" in approved

    downloads = tmp_path / "released"
    ok(invoke("job", "outputs", "1", "--as", RESEARCHER, "--download", str(downloads)))
    assert (downloads / "summary.txt").read_text() == "mean age over all visits: 34.5\n"
    assert ok(invoke("job", "logs", "1", "--as", RESEARCHER)).strip() == "done"


@needs_sandbox
def test_a_steward_returns_a_release_with_comments(
    invoke: Invoke, project: int, tmp_path: Path
) -> None:
    ok(_submit(invoke, _code(tmp_path, MEAN_AGE), "--dataset", RESTRICTED, "--wait"))
    ok(
        invoke(
            "job", "release", "1", "--as", RESEARCHER, "--context", "A mean; the log: done.",
        )
    )  # fmt: skip
    assert "comment" in refused(invoke("job", "review", "1", "--as", STEWARD, "--return"))
    returned = ok(
        invoke(
            "job", "review", "1", "--as", STEWARD, "--return",
            "--comment", "Say how many visits the mean covers.",
        )
    )  # fmt: skip
    assert "now returned" in returned
    shown = ok(invoke("job", "show", "1", "--as", RESEARCHER))
    assert "Say how many visits the mean covers." in shown


def test_the_operator_grants_credits_and_the_lab_sees_its_history(
    invoke: Invoke, project: int
) -> None:
    granted = ok(
        invoke(
            "credits", "grant", "gist-lab", "--as", "operator",
            "--cpu-hours", "5.5", "--gpu-hours", "2", "--note", "startup programme",
        )
    )  # fmt: skip
    assert "it now has 15.5 CPU-hours and 2 GPU-hours" in granted
    shown = ok(invoke("credits", "show", "--as", RESEARCHER))
    assert "gist-lab has 15.5 CPU-hours and 2 GPU-hours left" in shown
    assert "startup programme" in shown
    assert "grant" in shown
    other = ok(invoke("credits", "show", "--as", "operator", "--organization", "gist-lab"))
    assert "15.5" in other


def test_only_operators_grant_credits(invoke: Invoke) -> None:
    error = refused(invoke("credits", "grant", "gist-lab", "--as", RESEARCHER, "--cpu-hours", "9"))
    assert "Only the hub's operators grant compute credits" in error
    bad = refused(invoke("credits", "grant", "gist-lab", "--as", "operator", "--cpu-hours", "x"))
    assert "--cpu-hours" in bad


def test_another_organizations_credits_are_for_operators_only(invoke: Invoke) -> None:
    error = refused(invoke("credits", "show", "--as", STEWARD, "--organization", "gist-lab"))
    assert "Only operators see another organization's credits" in error
