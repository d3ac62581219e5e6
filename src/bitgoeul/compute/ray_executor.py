"""Jobs on a Ray cluster: the same sandboxed command as the local executor, run by a Ray task.

``RayExecutor`` implements the executor protocol of ``compute.executors``.  Each job becomes one
Ray task asking for the job's cores, GPUs and memory; Ray places it on a node with room (and
queues it while the cluster has none).  On that node the task calls ``compute.sandbox.run``, so
the job runs under bubblewrap there exactly as it would on the hub: no network, read-only code
and inputs, its own uid, rlimits and the wall-clock limit, all enforced inside the task.  The
task returns the sandbox's ``Outcome``; the runner polls for it and records it as usual.

What every Ray node must have, because the task uses the hub's paths as they are:

* **The hub's data directory (``BITGOEUL_DATA_DIR``) mounted at the same path**, on a
  filesystem shared by the hub and all nodes.  The job's code, inputs, output folder and log
  live there: the hub writes the inputs, the node runs the job, the hub then reads the outputs.
  Root on the node must be able to ``chown`` there (the output folder is handed to the job's
  uid), so an NFS export needs ``no_root_squash``.
* **The job environments' interpreters at the same paths** (``BITGOEUL_JOB_ENVIRONMENTS``), and
  bitgoeul itself importable by the Ray workers (the task is ``bitgoeul.compute.ray_executor``).
* **bubblewrap and util-linux's setpriv, with the Ray workers running as root**: ``support()``
  asks every live node to run the sandbox's own probe and reports the nodes that cannot.

The cluster is reached lazily, once, on the first ``support()`` or ``start()``: ``address=None``
starts a small local Ray instance (no dashboard, quiet logs, the machine's cores); an address
(``ray://head:10001`` or ``head:6379``) connects to that cluster.  Ray's own ``RAY_*``
settings, its authentication token included, apply as usual.  Cancelling force-stops the task:
its worker is killed, and bubblewrap (``--die-with-parent``) takes the whole job with it; the
job's output volume and cgroup are then released by ``sandbox.release_leftovers``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bitgoeul.compute import sandbox
from bitgoeul.compute.executors import Execution, Launch
from bitgoeul.compute.sandbox import Outcome, Support
from bitgoeul.errors import BitgoeulError
from bitgoeul.messages import msg

__all__ = ["RayExecutor"]

log = logging.getLogger(__name__)

_MiB = 1024 * 1024
# The local instance's shared-memory object store: tasks return only a small Outcome.
_LOCAL_OBJECT_STORE_BYTES = 256 * _MiB
_CANCELLED = msg(
    "cancelled; the Ray task running the job was stopped with every process it started"
)
_INSTALL_HINT = "install it with pip install 'bitgoeul[ray]'"


def _run_job(spec: sandbox.SandboxSpec, log_path: Path) -> Outcome:
    """On a Ray worker: run the job in the sandbox and say how it ended."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if spec.gpus > 0 and visible:
        # Ray hands the task its GPUs through CUDA_VISIBLE_DEVICES; the sandbox builds the
        # job's environment from scratch, so the assignment is passed on explicitly.
        spec = replace(spec, env={**spec.env, "CUDA_VISIBLE_DEVICES": visible})
    return sandbox.run(spec, log_path)


def _probe_node() -> Support:
    """On a Ray worker: can this node sandbox jobs?"""
    return sandbox.sandbox_support()


class _RayExecution:
    def __init__(self, ref: Any) -> None:
        self._ref = ref
        self._submitted = time.monotonic()
        self._cancel_sent = False
        self._outcome: Outcome | None = None

    def poll(self) -> Outcome | None:
        if self._outcome is None:
            import ray

            ready, _ = ray.wait([self._ref], timeout=0)
            if ready:
                self._outcome = self._collect()
        return self._outcome

    def cancel(self) -> None:
        if self._outcome is not None or self._cancel_sent:
            return
        import ray
        from ray.exceptions import RayError

        self._cancel_sent = True
        try:
            ray.cancel(self._ref, force=True, recursive=True)
        except RayError:  # the task ended meanwhile, or the cluster is gone: poll will say
            log.warning("cancelling a Ray job task failed", exc_info=True)

    def _collect(self) -> Outcome:
        import ray
        from ray.exceptions import RayError, RayTaskError, TaskCancelledError

        try:
            outcome: Outcome = ray.get(self._ref, timeout=0)
        except RayError as error:
            # The task's worker died without cleaning up after the job: on this node, close its
            # output volume (keeping what it wrote) and delete its cgroup now; another node does
            # so before its next job.
            with contextlib.suppress(OSError, RuntimeError):
                sandbox.release_leftovers()
            # Without the sandbox's own measure, count the time since the task was submitted.
            wall = round(time.monotonic() - self._submitted, 3)
            if self._cancel_sent or isinstance(error, TaskCancelledError):
                return Outcome(None, "cancelled", wall, 0.0, _CANCELLED)
            cause = error.cause if isinstance(error, RayTaskError) and error.cause else error
            detail = (str(cause).strip().splitlines() or [""])[0][:300]
            return Outcome(
                None,
                "failed",
                wall,
                0.0,
                msg(
                    "the Ray task running the job failed ({problem}); run it again, or ask the "
                    "hub operator if this repeats",
                    problem=type(cause).__name__ + ": " + str(detail),
                ),
            )
        if self._cancel_sent and outcome.reason != "exited":
            # Ray may kill the worker's children before the worker itself, so the sandbox
            # sees its job killed and returns: that is the cancellation, not a crash.
            return replace(outcome, exit_code=None, reason="cancelled", message=_CANCELLED)
        return outcome


class RayExecutor:
    """Sandboxed processes on the nodes of a Ray cluster."""

    name = "ray"

    def __init__(
        self,
        address: str | None,
        *,
        num_cpus: int | None = None,
        connect_timeout_s: float = 30.0,
    ) -> None:
        """``address=None`` starts a local Ray instance with ``num_cpus`` (the machine's)."""
        self.address = address
        self._num_cpus = num_cpus
        self._timeout = connect_timeout_s
        self._lock = threading.Lock()
        self._support: Support | None = None
        self._job_task: Any = None
        self._keeper: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def _where(self) -> str:
        return "a local Ray instance" if self.address is None else f"Ray at {self.address}"

    def support(self) -> Support:
        with self._lock:
            if self._support is None:
                self._support = self._connect()
            return self._support

    def start(self, launch: Launch) -> Execution:
        support = self.support()
        if not support.available:
            raise BitgoeulError(
                msg("the Ray executor cannot run jobs: {reason}", reason=support.reason)
            )
        task = self._job_task.options(
            num_cpus=launch.cpus,
            num_gpus=launch.gpus,
            memory=launch.memory_mb * _MiB,
            name=f"bitgoeul-job-{launch.job_id}",
        )
        return _RayExecution(task.remote(launch.sandbox_spec(), launch.log_path))

    def close(self) -> None:
        """Shut down the Ray connection (or local instance) this executor started, if any."""
        self._closing.set()
        if self._keeper is not None:
            self._keeper.join(timeout=60)
            self._keeper = None

    # Connecting --------------------------------------------------------------------------

    def _connect(self) -> Support:
        if importlib.util.find_spec("ray") is None:
            return Support(False, f"ray is not installed; {_INSTALL_HINT}")
        import ray

        problem = self._unreachable()
        if problem is None and not ray.is_initialized():
            problem = self._init()
        if problem is not None:
            return Support(False, problem)
        # A crashed worker must not run the job a second time: its outputs would mix.
        self._job_task = ray.remote(max_retries=0)(_run_job)
        return self._probe_nodes()

    def _unreachable(self) -> str | None:
        """Fail fast, before ray.init retries for minutes, when the address does not answer."""
        if self.address is None or self.address in ("auto", "local"):
            return None
        target = self.address.removeprefix("ray://")
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            return (
                f"BITGOEUL_RAY_ADDRESS={self.address!r} is not host:port; "
                "give e.g. ray://head:10001 or head:6379"
            )
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=10):
                pass
        except OSError as error:
            return f"{self._where} cannot be reached ({error}); is the cluster up?"
        return None

    def _init(self) -> str | None:
        import ray

        arguments: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if self.address is None:
            arguments |= {
                "num_cpus": self._num_cpus or os.cpu_count() or 1,
                "include_dashboard": False,
                "object_store_memory": _LOCAL_OBJECT_STORE_BYTES,
            }
        else:
            arguments["address"] = self.address
        ready = threading.Event()
        failures: list[str] = []

        def keep() -> None:
            try:
                ray.init(**arguments)
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}".splitlines()[0][:300])
                return
            finally:
                ready.set()
            # Ray's driver stops answering once the thread that called ray.init has ended
            # (seen with Ray 2.60), and requests run on short-lived threads: this one stays.
            self._closing.wait()
            ray.shutdown()

        keeper = threading.Thread(target=keep, name="bitgoeul-ray", daemon=True)
        keeper.start()
        if not ready.wait(self._timeout):
            return f"{self._where} did not answer within {self._timeout:g} s"
        if failures:
            return f"could not connect to {self._where}: {failures[0]}"
        self._keeper = keeper
        return None

    def _probe_nodes(self) -> Support:
        import ray
        from ray.exceptions import GetTimeoutError, RayError
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        listed: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
        nodes = [node for node in listed if node.get("Alive")]
        if not nodes:
            return Support(False, f"{self._where} has no live node")
        # No cores asked: the probe must answer even while jobs fill the cluster.
        probe = ray.remote(num_cpus=0, max_retries=0)(_probe_node)
        refs = [
            probe.options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            ).remote()
            for node in nodes
        ]
        try:
            answers: list[Support] = ray.get(refs, timeout=self._timeout)
        except GetTimeoutError:
            for ref in refs:
                with contextlib.suppress(RayError):
                    ray.cancel(ref, force=True)
            return Support(
                False,
                f"the sandbox probe got no answer from the nodes of {self._where} "
                f"within {self._timeout:g} s",
            )
        except RayError as error:
            first = (str(error).strip().splitlines() or [""])[0][:300]
            return Support(False, f"the sandbox probe failed on {self._where}: {first}")
        broken = [
            f"node {node.get('NodeManagerAddress', node['NodeID'])}: {answer.reason}"
            for node, answer in zip(nodes, answers, strict=True)
            if not answer.available
        ]
        if broken:
            return Support(
                False, f"jobs cannot be sandboxed on {self._where}: " + "; ".join(broken)
            )
        return Support(
            True,
            f"{self._where}: {len(nodes)} node(s) sandbox jobs with bubblewrap "
            "(no network, own uid, limits)",
        )
