"""The Ray executor passes the executors' conformance suite on a real local Ray instance, and
fails well where only Ray can fail (a crashed worker, a cluster that cannot be reached).

One Ray instance (two cores) is started for the module by the executor itself, the way the hub
starts it with ``BITGOEUL_JOB_EXECUTOR=ray`` and no address, and shut down at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.compute.executor_conformance import (
    ExecutorConformance,
    log_mentions,
    make_launch,
    processes_with,
    wait,
)

from bitgoeul.compute.ray_executor import RayExecutor
from bitgoeul.compute.sandbox import sandbox_support

pytest.importorskip("ray", reason="ray is not installed: pip install -e '.[test]'")

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[RayExecutor]:
    executor = RayExecutor(address=None, num_cpus=2)
    executor.support()  # starts the local instance once, for the whole module
    yield executor
    executor.close()


class TestRayExecutor(ExecutorConformance):
    name = "ray"

    @pytest.fixture
    def executor(self, ray_executor: RayExecutor) -> RayExecutor:
        return ray_executor


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def test_a_crashed_ray_worker_fails_the_job_and_takes_it_down(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    token = f"ray-crash-{uuid.uuid4().hex}"
    launch = make_launch(
        tmp_path, "import time\nprint('sleeping', flush=True)\ntime.sleep(300)\n", token
    )
    execution = ray_executor.start(launch)
    log_mentions(launch, "sleeping")
    job = set(processes_with(token))
    # bubblewrap is the job's process whose parent is not the job's: that parent is the worker.
    workers = {_parent(pid) for pid in job} - job
    assert len(workers) == 1
    os.kill(workers.pop(), signal.SIGKILL)
    outcome = wait(execution, timeout=10)
    assert (outcome.reason, outcome.exit_code) == ("failed", None), outcome
    assert outcome.message.startswith("the Ray task running the job failed (")
    assert "WorkerCrashedError" in outcome.message, outcome.message
    assert "ask the hub operator if this repeats" in outcome.message
    deadline = time.monotonic() + 5
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(token) == []


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
