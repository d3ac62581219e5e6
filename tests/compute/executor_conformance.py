"""What every job executor does, as one suite (Dagster's ``TestRunStorage`` way): a backend's
test module subclasses ``ExecutorConformance`` and overrides the ``executor`` fixture.

``test_local_executor.py`` runs it on the sandbox here, ``test_ray_executor.py`` on a real local
Ray instance.  What only one backend has (a crashed Ray worker, an unreachable cluster) stays in
that backend's module.
"""

from __future__ import annotations

import socket
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.compute.job_city import JobCity, Submit

from bitgoeul.compute.executors import Execution, Executor, Launch
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import Outcome


def make_launch(tmp_path: Path, code: str, *args: str, time_limit_s: int = 30) -> Launch:
    root = tmp_path / "job"
    for folder in ("code", "input", "output"):
        (root / folder).mkdir(parents=True)
    (root / "code" / "main.py").write_text(textwrap.dedent(code))
    table = pa.table({"district": ["Nam-gu", "Buk-gu", "Seo-gu"], "kwh": [310.5, 288.0, 402.25]})
    pq.write_table(table, root / "input" / "household-electricity.parquet")
    (root / "log.txt").touch()  # as the runner does before it starts a job
    return Launch(
        job_id=1,
        argv=["python", "main.py", *args],
        code_dir=root / "code",
        input_dir=root / "input",
        output_dir=root / "output",
        log_path=root / "log.txt",
        python=Path(sys.executable),
        cpus=1,
        memory_mb=512,
        gpus=0,
        time_limit_s=time_limit_s,
    )


def wait(execution: Execution, timeout: float = 20.0) -> Outcome:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = execution.poll()
        if outcome is not None:
            return outcome
        time.sleep(0.02)
    raise AssertionError(f"the job did not end within {timeout} s")


def log_mentions(launch: Launch, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in launch.log_path.read_text(errors="replace"):
            return
        time.sleep(0.02)
    raise AssertionError(f"the log never said {text!r}: {launch.log_path.read_text()!r}")


def processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


COUNT_ROWS = """
import os, pathlib, pyarrow.parquet as pq
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
rows = {p.stem: pq.read_metadata(p).num_rows for p in sorted(src.glob("*.parquet"))}
(out / "counts.txt").write_text(repr(rows))
print("counted", rows, flush=True)
"""


class ExecutorConformance:
    """The executor protocol's promises; ``executor`` is the backend under test."""

    name: str

    @pytest.fixture
    def executor(self) -> Executor:
        raise NotImplementedError("a backend's suite overrides the executor fixture")

    def test_it_names_itself_and_can_sandbox_jobs_here(self, executor: Executor) -> None:
        assert executor.name == self.name
        support = executor.support()
        assert support.available, support.reason
        assert "bubblewrap" in support.reason

    def test_a_job_reads_its_input_and_writes_its_output(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        launch = make_launch(
            tmp_path,
            """
            import os, pathlib, pyarrow.parquet as pq
            table = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "household-electricity.parquet")
            total = sum(table.column("kwh").to_pylist())
            (pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "total.txt").write_text(f"{total:.2f}")
            print("summed", table.num_rows, "rows", flush=True)
            """,  # noqa: E501 - the job's own code
        )
        outcome = wait(executor.start(launch))
        assert (outcome.reason, outcome.exit_code) == ("exited", 0), outcome
        assert (launch.output_dir / "total.txt").read_text() == "1000.75"
        assert "summed 3 rows" in launch.log_path.read_text()

    def test_a_job_cannot_write_its_inputs(self, executor: Executor, tmp_path: Path) -> None:
        launch = make_launch(
            tmp_path,
            """
            import os, pathlib
            target = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "household-electricity.parquet"
            try:
                target.write_bytes(b"changed")
                print("wrote the input", flush=True)
            except OSError as exc:
                print("refused:", type(exc).__name__, flush=True)
            """,  # noqa: E501 - the job's own code
        )
        outcome = wait(executor.start(launch))
        assert outcome.reason == "exited", outcome
        assert "refused: OSError" in launch.log_path.read_text()
        assert pq.read_table(launch.input_dir / "household-electricity.parquet").num_rows == 3

    def test_a_failing_job_reports_failed_with_its_exit_code(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        launch = make_launch(tmp_path, "import sys\nprint('giving up', flush=True)\nsys.exit(3)\n")
        outcome = wait(executor.start(launch))
        assert (outcome.reason, outcome.exit_code) == ("failed", 3), outcome
        assert "exited with code 3" in outcome.message
        assert "giving up" in launch.log_path.read_text()

    def test_cancel_stops_a_sleeping_job_and_every_process_it_started(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        token = f"{self.name}-cancel-{uuid.uuid4().hex}"
        launch = make_launch(
            tmp_path,
            """
            import subprocess, sys, time
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", sys.argv[1]])
            print("sleeping", flush=True)
            time.sleep(300)
            """,
            token,
        )
        execution = executor.start(launch)
        log_mentions(launch, "sleeping")
        assert len(processes_with(token)) >= 2  # the job and its child carry the token
        asked = time.monotonic()
        execution.cancel()
        outcome = wait(execution, timeout=5)
        assert time.monotonic() - asked < 5
        assert (outcome.reason, outcome.exit_code) == ("cancelled", None), outcome
        deadline = time.monotonic() + 5
        while processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(token) == []

    def test_a_job_past_its_time_limit_is_timed_out(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        launch = make_launch(tmp_path, "import time\ntime.sleep(60)\n", time_limit_s=1)
        outcome = wait(executor.start(launch), timeout=15)
        assert outcome.reason == "timed_out", outcome
        assert "1 s time limit" in outcome.message
        assert outcome.wall_seconds < 5

    def test_a_job_has_no_network(self, executor: Executor, tmp_path: Path) -> None:
        # A port that certainly answers on the host, so the refusal inside is the sandbox's.
        with socket.create_server(("127.0.0.1", 0)) as listener:
            port = listener.getsockname()[1]
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            launch = make_launch(
                tmp_path,
                """
                import json, os, pathlib, socket, sys
                report = {}
                for port in (5432, int(sys.argv[1])):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=2).close()
                        report[str(port)] = "connected"
                    except OSError as exc:
                        report[str(port)] = type(exc).__name__
                report["interfaces"] = [name for _, name in socket.if_nameindex()]
                out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "report.json"
                out.write_text(json.dumps(report))
                """,
                str(port),
            )
            outcome = wait(executor.start(launch))
        assert outcome.reason == "exited", outcome
        report = (launch.output_dir / "report.json").read_text()
        assert report == (
            f'{{"5432": "ConnectionRefusedError", "{port}": "ConnectionRefusedError", '
            '"interfaces": ["lo"]}'
        )

    def test_a_job_submitted_through_the_api_runs_and_its_outputs_are_downloadable(
        self,
        app: FastAPI,
        api: TestClient,
        job_city: JobCity,
        submit: Submit,
        runner: JobRunner,
        executor: Executor,
    ) -> None:
        app.state.executor = executor
        runner.executor = executor
        created = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity"])
        assert created.status_code == 201, created.text
        job: dict[str, Any] = created.json()
        assert job["executor"] == self.name

        runner.run_until_idle(timeout=30)
        member = job_city.headers("member")
        done = api.get(f"/api/v1/jobs/{job['id']}", headers=member).json()
        assert done["status"] == "succeeded", done["reason"]
        assert done["exit_code"] == 0
        assert {o["path"] for o in done["outputs"]} == {"counts.txt", "log.txt"}
        counts = api.get(f"/api/v1/jobs/{job['id']}/outputs/counts.txt", headers=member)
        assert counts.status_code == 200
        assert counts.text == "{'household-electricity': 60}"
        log = api.get(f"/api/v1/jobs/{job['id']}/logs", headers=member).json()
        assert "counted" in log["text"]
