"""The Ray executor runs the same sandboxed jobs as the local one, on a real local Ray instance.

One Ray instance (two cores) is started for the module by the executor itself, the way the hub
starts it with ``BITGOEUL_JOB_EXECUTOR=ray`` and no address, and shut down at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.compute.job_city import JobCity, Submit

from bitgoeul.compute.executors import Execution, Launch
from bitgoeul.compute.ray_executor import RayExecutor
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import Outcome, sandbox_support

pytest.importorskip("ray", reason="ray is not installed: pip install -e '.[test]'")

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)


@pytest.fixture(scope="module")
def executor() -> Iterator[RayExecutor]:
    ray_executor = RayExecutor(address=None, num_cpus=2)
    ray_executor.support()  # starts the local instance once, for the whole module
    yield ray_executor
    ray_executor.close()


def _launch(tmp_path: Path, code: str, *args: str, time_limit_s: int = 30) -> Launch:
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


def _wait(execution: Execution, timeout: float = 20.0) -> Outcome:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        outcome = execution.poll()
        if outcome is not None:
            return outcome
        time.sleep(0.02)
    raise AssertionError(f"the job did not end within {timeout} s")


def _log_mentions(launch: Launch, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in launch.log_path.read_text(errors="replace"):
            return
        time.sleep(0.02)
    raise AssertionError(f"the log never said {text!r}: {launch.log_path.read_text()!r}")


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def test_the_local_ray_instance_can_sandbox_jobs(executor: RayExecutor) -> None:
    support = executor.support()
    assert support.available, support.reason
    assert "bubblewrap" in support.reason


def test_a_job_reads_its_input_and_writes_its_output(executor: RayExecutor, tmp_path: Path) -> None:
    launch = _launch(
        tmp_path,
        """
        import os, pathlib, pyarrow.parquet as pq
        table = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "household-electricity.parquet")
        total = sum(table.column("kwh").to_pylist())
        (pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "total.txt").write_text(f"{total:.2f}")
        print("summed", table.num_rows, "rows", flush=True)
        """,  # noqa: E501 - the job's own code
    )
    outcome = _wait(executor.start(launch))
    assert (outcome.reason, outcome.exit_code) == ("exited", 0), outcome
    assert (launch.output_dir / "total.txt").read_text() == "1000.75"
    assert "summed 3 rows" in launch.log_path.read_text()


def test_a_failing_job_reports_failed_with_its_exit_code(
    executor: RayExecutor, tmp_path: Path
) -> None:
    launch = _launch(tmp_path, "import sys\nprint('giving up', flush=True)\nsys.exit(3)\n")
    outcome = _wait(executor.start(launch))
    assert (outcome.reason, outcome.exit_code) == ("failed", 3), outcome
    assert "exited with code 3" in outcome.message
    assert "giving up" in launch.log_path.read_text()


def test_cancel_stops_a_sleeping_job_and_every_process_it_started(
    executor: RayExecutor, tmp_path: Path
) -> None:
    token = f"ray-cancel-{uuid.uuid4().hex}"
    launch = _launch(
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
    _log_mentions(launch, "sleeping")
    # The job and its child carry the token (and so do bubblewrap's own processes).
    assert len(_processes_with(token)) >= 2
    asked = time.monotonic()
    execution.cancel()
    outcome = _wait(execution, timeout=5)
    assert time.monotonic() - asked < 5
    assert (outcome.reason, outcome.exit_code) == ("cancelled", None), outcome
    deadline = time.monotonic() + 5
    while _processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(token) == []


def test_a_crashed_ray_worker_fails_the_job_and_takes_it_down(
    executor: RayExecutor, tmp_path: Path
) -> None:
    token = f"ray-crash-{uuid.uuid4().hex}"
    launch = _launch(
        tmp_path, "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n", token
    )
    execution = executor.start(launch)
    _log_mentions(launch, "sleeping")
    job = set(_processes_with(token))
    # bubblewrap is the job's process whose parent is not the job's: that parent is the worker.
    workers = {_parent(pid) for pid in job} - job
    assert len(workers) == 1
    os.kill(workers.pop(), signal.SIGKILL)
    outcome = _wait(execution, timeout=10)
    assert (outcome.reason, outcome.exit_code) == ("failed", None), outcome
    assert outcome.message.startswith("the Ray task running the job failed (")
    assert "WorkerCrashedError" in outcome.message, outcome.message
    assert "ask the hub operator if this repeats" in outcome.message
    deadline = time.monotonic() + 5
    while _processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(token) == []


def test_a_job_past_its_time_limit_is_timed_out(executor: RayExecutor, tmp_path: Path) -> None:
    launch = _launch(tmp_path, "import time\ntime.sleep(60)\n", time_limit_s=1)
    outcome = _wait(executor.start(launch), timeout=15)
    assert outcome.reason == "timed_out", outcome
    assert "1 s time limit" in outcome.message
    assert outcome.wall_seconds < 5


def test_a_job_on_ray_has_no_network(executor: RayExecutor, tmp_path: Path) -> None:
    # A port that certainly answers on the host, so the refusal inside is the sandbox's doing.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        launch = _launch(
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
        outcome = _wait(executor.start(launch))
    assert outcome.reason == "exited", outcome
    report = (launch.output_dir / "report.json").read_text()
    assert report == (
        f'{{"5432": "ConnectionRefusedError", "{port}": "ConnectionRefusedError", '
        '"interfaces": ["lo"]}'
    )


def test_an_unreachable_cluster_is_reported_with_its_address() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    support = RayExecutor(address=f"ray://127.0.0.1:{port}").support()
    assert not support.available
    assert f"Ray at ray://127.0.0.1:{port} cannot be reached" in support.reason
    assert "is the cluster up?" in support.reason


def test_a_malformed_address_says_what_to_give() -> None:
    support = RayExecutor(address="head-without-port").support()
    assert not support.available
    assert "is not host:port; give e.g. ray://head:10001" in support.reason


COUNT_ROWS = """
import os, pathlib, pyarrow.parquet as pq
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
rows = {p.stem: pq.read_metadata(p).num_rows for p in sorted(src.glob("*.parquet"))}
(out / "counts.txt").write_text(repr(rows))
print("counted", rows, flush=True)
"""


def test_a_job_submitted_through_the_api_runs_on_ray_and_its_outputs_are_downloadable(
    app: FastAPI,
    api: TestClient,
    job_city: JobCity,
    submit: Submit,
    runner: JobRunner,
    executor: RayExecutor,
) -> None:
    app.state.executor = executor
    runner.executor = executor
    created = submit({"main.py": COUNT_ROWS}, datasets=["household-electricity"])
    assert created.status_code == 201, created.text
    job: dict[str, Any] = created.json()
    assert job["executor"] == "ray"

    runner.run_until_idle(timeout=30)
    done = api.get(f"/api/v1/jobs/{job['id']}", headers=job_city.headers("member")).json()
    assert done["status"] == "succeeded", done["reason"]
    assert done["exit_code"] == 0
    assert {o["path"] for o in done["outputs"]} == {"counts.txt", "log.txt"}
    counts = api.get(
        f"/api/v1/jobs/{job['id']}/outputs/counts.txt", headers=job_city.headers("member")
    )
    assert counts.status_code == 200
    assert counts.text == "{'household-electricity': 60}"
    log = api.get(f"/api/v1/jobs/{job['id']}/logs", headers=job_city.headers("member")).json()
    assert "counted" in log["text"]
