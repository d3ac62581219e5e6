"""Jobs: submit-to-running latency, sandbox overhead, and throughput, per executor.

Serves a fresh hub with uvicorn on 127.0.0.1 (its job runner in the server, as
``bitgoeul serve`` runs it), with one organization, a researcher, a project and credits, then
for each executor (``local``, and ``ray`` when Ray is installed):

* **submit-to-running latency**: jobs submitted one at a time through ``POST /api/v1/jobs``;
  the time from the request to the job's ``started_at`` (the runner claimed it and the executor
  started it), median and p95;
* **throughput**: N short jobs (``print``) submitted at once; jobs finished per second from
  the first submission to the last job's end;

and, once, the **sandbox overhead**: the same CPU-bound script (about ``--cpu-seconds`` of pure
Python) run as a plain process and inside the sandbox, wall time of each and the ratio.

    python benchmarks/jobs.py                       # 60 s CPU job, 100 short jobs
    python benchmarks/jobs.py --cpu-seconds 10 --jobs 20 --latency-runs 5
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bitgoeul.accounts.actions import create_api_token, create_organization, create_user
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.app import create_app
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import sandbox
from bitgoeul.compute.executors import Executor, LocalExecutor
from bitgoeul.config import Settings
from bitgoeul.governance.actions import create_project
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import ProjectCreate

BENCH_DIR = Path(".bench")

CPU_SCRIPT = """
import sys, time
deadline = float(sys.argv[1])
started = time.process_time()
n = 0
while time.process_time() - started < deadline:
    n = (n * 1103515245 + 12345) % 2147483648
print(n)
"""


def bundle(script: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", script)
    return buffer.getvalue()


def seed(app: Any) -> tuple[str, int]:
    """An organization with credits, a researcher with a token, a project: (token, project)."""
    with app.state.sessionmaker() as session:
        lab = create_organization(
            session,
            slug="bench-lab",
            name="Bench Lab",
            name_ko="벤치",
            kind=OrganizationKind.research,
        )
        user = create_user(
            session,
            username="bench-researcher",
            password=secrets.token_urlsafe(16),  # never used: the benchmark sends a token
            role=Role.member,
            organization_id=lab.id,
            settings=app.state.settings,
        )
        researcher = Actor.for_user(user, via="cli")
        project = create_project(
            session,
            actor=researcher,
            data=ProjectCreate(
                title="Benchmark", purpose=Purpose.academic_research, justification="Timing."
            ),
        )
        _token, plaintext = create_api_token(session, actor=researcher, name="bench")
        admin = Actor(user_id=None, username="bench", role=Role.operator, organization_id=None)
        compute_actions.grant_credits(
            session,
            actor=admin,
            organization_slug="bench-lab",
            cpu_hours=Decimal(100_000),
            note="benchmark",
        )
        return plaintext, project.id


def serve(app: Any) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def submit(client: httpx.Client, project: int, script: str, time_limit: int = 600) -> int:
    spec = {
        "project": project,
        "entrypoint": "main.py",
        "resources": {"cpus": 1, "memory_mb": 512, "time_limit_s": time_limit},
    }
    response = client.post(
        "/api/v1/jobs",
        files={"bundle": ("main.zip", bundle(script), "application/zip")},
        data={"spec": json.dumps(spec)},
    )
    response.raise_for_status()
    job_id: int = response.json()["id"]
    return job_id


def wait_for(client: httpx.Client, job_id: int, states: set[str], timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in states:
            return job
        time.sleep(0.01)
    raise TimeoutError(f"job {job_id} still not {states}")


def measure_executor(executor: Executor, args: argparse.Namespace) -> dict[str, float]:
    data_dir = BENCH_DIR / f"jobs-{executor.name}-{time.time_ns()}"
    settings = Settings(data_dir=data_dir, job_executor=executor.name)
    app = create_app(settings, run_jobs=True)
    app.state.executor = executor
    app.state.job_runner.executor = executor
    token, project = seed(app)
    server, url = serve(app)  # uvicorn runs the app's lifespan, which starts the job runner
    results: dict[str, float] = {}
    try:
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as client:
            latencies = []
            for _ in range(args.latency_runs):
                sent = time.time()
                job_id = submit(client, project, "print('hello')")
                job = wait_for(client, job_id, {"succeeded", "failed"})
                started = datetime.fromisoformat(job["started_at"]).timestamp()
                latencies.append(started - sent)
            results["latency_median_ms"] = statistics.median(latencies) * 1000
            results["latency_p95_ms"] = sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000

            first = time.perf_counter()
            ids = [submit(client, project, "print('hello')") for _ in range(args.jobs)]
            for job_id in ids:
                job = wait_for(client, job_id, {"succeeded", "failed", "timed_out"})
                if job["status"] != "succeeded":
                    raise RuntimeError(f"job {job_id}: {job['status']} {job['reason']}")
            elapsed = time.perf_counter() - first
            results["throughput_jobs_per_s"] = args.jobs / elapsed
            results["throughput_seconds"] = elapsed
    finally:
        server.should_exit = True
    return results


def sandbox_overhead(cpu_seconds: float) -> tuple[float, float]:
    """Wall seconds of the CPU script as a plain process and in the sandbox."""
    with tempfile.TemporaryDirectory(dir=BENCH_DIR.resolve()) as work:
        root = Path(work)
        code, inputs, outputs = root / "code", root / "input", root / "output"
        for folder in (code, inputs, outputs):
            folder.mkdir()
            folder.chmod(0o755)
        (code / "main.py").write_text(CPU_SCRIPT)
        (code / "main.py").chmod(0o644)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(code / "main.py"), str(cpu_seconds)],
            check=True,
            capture_output=True,
        )
        plain = time.perf_counter() - started
        spec = sandbox.SandboxSpec(
            argv=["python", "main.py", str(cpu_seconds)],
            code_dir=code,
            input_dir=inputs,
            output_dir=outputs,
            python=Path(sys.executable),
            limits=sandbox.Limits(
                cpu_seconds=int(cpu_seconds * 3) + 10,
                memory_bytes=1024**3,
                wall_seconds=cpu_seconds * 3 + 30,
            ),
        )
        started = time.perf_counter()
        outcome = sandbox.run(spec, root / "log.txt")
        boxed = time.perf_counter() - started
        if outcome.exit_code != 0:
            log = (root / "log.txt").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sandboxed run failed: {outcome.message}\n{log}")
        return plain, boxed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--executors", default="local,ray")
    args = parser.parse_args()
    BENCH_DIR.mkdir(exist_ok=True)
    support = sandbox.sandbox_support()
    if not support.available:
        raise SystemExit(f"no sandbox on this machine: {support.reason}")

    executors: list[Executor] = []
    for name in args.executors.split(","):
        if name == "local":
            executors.append(LocalExecutor())
        elif name == "ray":
            try:
                from bitgoeul.compute.ray_executor import RayExecutor
            except ImportError as error:
                print(f"ray: skipped ({error})")
                continue
            ray_executor = RayExecutor(address=None)
            ray_support = ray_executor.support()
            if not ray_support.available:
                print(f"ray: skipped ({ray_support.reason})")
                continue
            executors.append(ray_executor)

    header = ("executor", "latency p50 ms", "p95 ms", "jobs", "seconds", "jobs/s")
    print("{:<8} {:>15} {:>8} {:>5} {:>8} {:>7}".format(*header))
    for executor in executors:
        r = measure_executor(executor, args)
        print(
            f"{executor.name:<8} {r['latency_median_ms']:>15.0f} {r['latency_p95_ms']:>8.0f} "
            f"{args.jobs:>5} {r['throughput_seconds']:>8.1f} {r['throughput_jobs_per_s']:>7.2f}"
        )

    plain, boxed = sandbox_overhead(args.cpu_seconds)
    print(
        f"\nCPU job (~{args.cpu_seconds:.0f} s of Python): plain process {plain:.2f} s, "
        f"sandboxed {boxed:.2f} s, overhead {(boxed / plain - 1) * 100:+.1f} %"
    )


if __name__ == "__main__":
    main()
