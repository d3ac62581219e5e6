"""A job that tries to escape is contained, and the attempt is reported.

Each hostile job writes what it saw to ``/job/output/report.json``; the tests read that report
from the host.  Where containment could pass vacuously (nothing listening, nothing to read),
the test first checks from the host that the target is really there.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import textwrap
import time
import uuid
import venv
from pathlib import Path
from typing import Any

import pytest

from bitgoeul.compute.cgroups import CgroupLimits, cgroup_backend
from bitgoeul.compute.sandbox import (
    Limits,
    Outcome,
    SandboxSpec,
    run,
    sandbox_support,
    start,
)

MiB = 1024 * 1024
REPOSITORY = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)


def _limits(**overrides: Any) -> Limits:
    values: dict[str, Any] = {"cpu_seconds": 10, "memory_bytes": 512 * MiB, "wall_seconds": 15}
    values.update(overrides)
    return Limits(**values)


def _job(tmp_path: Path, code: str, name: str = "job", **spec: Any) -> SandboxSpec:
    root = tmp_path / name
    for folder in ("code", "input", "output"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "code" / "main.py").write_text(textwrap.dedent(code))
    (root / "input" / "rows.csv").write_text("a,b\n1,2\n")
    return SandboxSpec(
        argv=["python", "main.py"],
        code_dir=root / "code",
        input_dir=root / "input",
        output_dir=root / "output",
        python=spec.pop("python", Path(sys.executable)),
        limits=spec.pop("limits", _limits()),
        **spec,
    )


def _report(spec: SandboxSpec) -> Any:
    return json.loads((spec.output_dir / "report.json").read_text())


def _run(spec: SandboxSpec, tmp_path: Path) -> Outcome:
    return run(spec, tmp_path / f"{spec.code_dir.parent.name}.log")


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


def test_inputs_are_readable_and_outputs_appear_on_the_host(tmp_path: Path) -> None:
    spec = _job(
        tmp_path,
        """
        import os
        rows = open(os.path.join(os.environ["BITGOEUL_INPUT_DIR"], "rows.csv")).read()
        open(os.path.join(os.environ["BITGOEUL_OUTPUT_DIR"], "copy.csv"), "w").write(rows)
        print("copied", len(rows), "bytes")
        """,
    )
    outcome = _run(spec, tmp_path)
    assert outcome.reason == "exited", outcome
    assert outcome.exit_code == 0
    assert (spec.output_dir / "copy.csv").read_text() == "a,b\n1,2\n"
    assert "copied 8 bytes" in (tmp_path / "job.log").read_text()


def test_environment_is_built_from_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITGOEUL_SECRET", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bitgoeul:pw@127.0.0.1/bitgoeul")
    spec = _job(
        tmp_path,
        """
        import json, os
        json.dump(dict(os.environ), open("/job/output/report.json", "w"))
        """,
        env={"SEED": "42"},
    )
    assert _run(spec, tmp_path).reason == "exited"
    env = _report(spec)
    assert set(env) == {
        "PATH",
        "HOME",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "BITGOEUL_INPUT_DIR",
        "BITGOEUL_OUTPUT_DIR",
        "SEED",
        "PWD",  # set by bwrap's --chdir: /job/code
    }
    assert env["HOME"] == "/tmp"
    assert env["SEED"] == "42"
    assert "do-not-leak" not in json.dumps(env)


def test_network_connections_fail_even_to_the_local_database(tmp_path: Path) -> None:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        postgres_on_host = True
    except OSError:
        postgres_on_host = False
    spec = _job(
        tmp_path,
        """
        import json, socket
        report = {}
        for host, port in [("127.0.0.1", 5432), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
            try:
                socket.create_connection((host, port), timeout=2).close()
                report[f"{host}:{port}"] = "connected"
            except OSError as exc:
                report[f"{host}:{port}"] = type(exc).__name__ + ": " + str(exc)
        report["interfaces"] = [name for _, name in socket.if_nameindex()]
        json.dump(report, open("/job/output/report.json", "w"))
        """,
    )
    assert _run(spec, tmp_path).reason == "exited"
    report = _report(spec)
    assert "ConnectionRefusedError" in report["127.0.0.1:5432"], (postgres_on_host, report)
    assert "unreachable" in report["1.1.1.1:53"].lower()
    assert "unreachable" in report["8.8.8.8:443"].lower()
    assert report["interfaces"] == ["lo"]


def test_platform_data_and_code_are_invisible(tmp_path: Path) -> None:
    data_dir = tmp_path / "platform-data"
    data_dir.mkdir()
    secret = data_dir / "secret_key"
    secret.write_text("s3cret-signing-key")
    (data_dir / "bitgoeul.db").write_bytes(b"SQLite format 3\x00")
    probes = [
        str(secret),
        str(data_dir / "bitgoeul.db"),
        str(REPOSITORY / "pyproject.toml"),
        str(REPOSITORY / "src"),
        "/root/.bashrc",
        "/etc/shadow",
        "/home",
        str(tmp_path),
    ]
    assert (REPOSITORY / "pyproject.toml").exists()
    prefix = Path(sys.prefix)
    spec = _job(
        tmp_path,
        f"""
        import json, os
        report = {{path: os.path.exists(path) for path in {probes!r}}}
        try:
            report["secret"] = open({str(secret)!r}).read()
        except OSError as exc:
            report["secret"] = type(exc).__name__
        report["beside_prefix"] = os.listdir({str(prefix.parent)!r})
        report["passwd"] = open("/etc/passwd").read()
        json.dump(report, open("/job/output/report.json", "w"))
        """,
    )
    assert _run(spec, tmp_path).reason == "exited"
    report = _report(spec)
    assert report["secret"] == "FileNotFoundError"
    assert not any(report[path] for path in probes), report
    # Only the interpreter's prefix is mounted, not the folder (the platform) around it.
    assert report["beside_prefix"] == [prefix.name]
    assert report["passwd"].startswith("job:x:")  # a made-up account, not the host's


def test_a_job_cannot_see_another_jobs_files(tmp_path: Path) -> None:
    first = _job(tmp_path, "open('/job/output/model.bin', 'w').write('weights')", name="first")
    assert _run(first, tmp_path).reason == "exited"
    target = first.output_dir / "model.bin"
    assert target.read_text() == "weights"
    second = _job(
        tmp_path,
        f"""
        import json, os
        try:
            seen = open({str(target)!r}).read()
        except OSError as exc:
            seen = type(exc).__name__
        json.dump({{"seen": seen, "mine": os.listdir("/job/output")}},
                  open("/job/output/report.json", "w"))
        """,
        name="second",
    )
    assert _run(second, tmp_path).reason == "exited"
    assert _report(second) == {"seen": "FileNotFoundError", "mine": []}


def test_writes_outside_the_output_folder_are_refused(tmp_path: Path) -> None:
    spec = _job(
        tmp_path,
        """
        import json
        report = {}
        for path in ["/job/code/main.py", "/job/code/new.py", "/job/input/rows.csv",
                     "/evil", "/usr/evil", "/etc/evil", "/tmp/scratch", "/job/output/ok"]:
            try:
                open(path, "w").write("x")
                report[path] = "written"
            except OSError as exc:
                report[path] = type(exc).__name__
        json.dump(report, open("/job/output/report.json", "w"))
        """,
    )
    assert _run(spec, tmp_path).reason == "exited"
    report = _report(spec)
    assert report.pop("/tmp/scratch") == "written"  # private scratch space
    assert report.pop("/job/output/ok") == "written"
    assert all(result != "written" for result in report.values()), report
    assert not (spec.code_dir / "new.py").exists()
    assert (spec.input_dir / "rows.csv").read_text() == "a,b\n1,2\n"


def test_a_fork_bomb_hits_the_process_limit_and_the_run_ends(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    spec = _job(
        tmp_path,
        f"""
        import os, time
        n = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(60)  # {token}
                    os._exit(0)
                n += 1
        except OSError as exc:
            print("fork refused after", n, "children:", exc, flush=True)
        open("/job/output/report.json", "w").write(str(n))
        while True:  # every process forks: the classic bomb, now bounded
            try:
                os.fork()
            except OSError:
                pass
        """,
        limits=_limits(max_processes=24, wall_seconds=3),
    )
    outcome = _run(spec, tmp_path)
    assert outcome.reason == "timed_out", outcome
    assert int(_report(spec)) < 24
    assert "fork refused" in (tmp_path / "job.log").read_text()
    assert not _processes_with(token)


def test_a_memory_bomb_is_stopped_with_a_clear_message(tmp_path: Path) -> None:
    spec = _job(
        tmp_path,
        """
        hoard = []
        while True:
            hoard.append(bytearray(16 * 1024 * 1024))
        """,
        limits=_limits(memory_bytes=256 * MiB),
    )
    outcome = _run(spec, tmp_path)
    assert outcome.reason in ("memory_exceeded", "killed"), outcome
    assert "256 MiB" in outcome.message


def test_running_past_the_time_limit_is_reported(tmp_path: Path) -> None:
    spec = _job(tmp_path, "import time\ntime.sleep(60)", limits=_limits(wall_seconds=1))
    outcome = _run(spec, tmp_path)
    assert outcome.reason == "timed_out"
    assert outcome.exit_code is None
    assert outcome.message.startswith("ran past its 1 s time limit and was stopped")
    assert 1 <= outcome.wall_seconds < 5


def test_using_up_cpu_time_is_reported(tmp_path: Path) -> None:
    spec = _job(tmp_path, "while True:\n    pass", limits=_limits(cpu_seconds=1))
    outcome = _run(spec, tmp_path)
    assert outcome.reason == "timed_out", outcome
    assert "1 s CPU-time limit" in outcome.message
    assert outcome.cpu_seconds >= 0.5


def test_a_failing_job_reports_its_exit_code(tmp_path: Path) -> None:
    outcome = _run(_job(tmp_path, "raise SystemExit(3)"), tmp_path)
    assert (outcome.reason, outcome.exit_code) == ("failed", 3)
    assert "code 3" in outcome.message


def test_cancel_kills_the_job_and_its_children(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    spec = _job(
        tmp_path,
        f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{token}"])
        print("child started", flush=True)
        time.sleep(300)
        """,
    )
    log = tmp_path / "job.log"
    job = start(spec, log)
    deadline = time.monotonic() + 10
    while "child started" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the job never started its child"
        assert job.wait(timeout=0.05) is None
    assert _processes_with(token)  # the check below can see sandboxed processes
    job.cancel()
    outcome = job.wait()
    assert outcome is not None
    assert outcome.reason == "cancelled"
    assert not _processes_with(token)
    assert not os.path.exists(f"/proc/{job.pid}")


def test_an_environment_installed_under_tmp_stays_visible(tmp_path: Path) -> None:
    """The sandbox mounts its own /tmp; an interpreter installed under the host's /tmp (a
    clone's virtual environment, say) is bound on top of it, not hidden by it."""
    environment = Path(tempfile.mkdtemp(prefix="bitgoeul-env-", dir="/tmp"))
    try:
        venv.create(environment / "env", with_pip=False, symlinks=True)
        spec = _job(
            tmp_path,
            "import sys\nprint('prefix', sys.prefix)\n",
            python=environment / "env" / "bin" / "python",
        )
        outcome = _run(spec, tmp_path)
        assert outcome.exit_code == 0, outcome.message
        log = (tmp_path / f"{spec.code_dir.parent.name}.log").read_text()
        assert f"prefix {environment / 'env'}" in log
    finally:
        shutil.rmtree(environment, ignore_errors=True)


def test_a_cleanup_at_another_workers_start_keeps_a_job_group_just_made() -> None:
    """A worker starting up removes the job groups left empty by runs that died; a group
    another worker has just made, before its job is put in it, is not one of them (it was:
    that job then failed to start)."""
    backend = cgroup_backend()
    name = f"job-fresh-{uuid.uuid4().hex[:8]}"
    group = backend.create(name, CgroupLimits(memory_bytes=64 << 20, cpus=1, max_processes=8))
    try:
        backend.remove_empty()
        assert list(Path("/sys/fs/cgroup").glob(f"**/{name}"))
    finally:
        group.remove()
    assert not list(Path("/sys/fs/cgroup").glob(f"**/{name}"))
