"""Where a job runs, behind one small protocol: start it, poll it, cancel it.

``LocalExecutor`` runs the job as a sandboxed process on the hub's machine
(``compute.sandbox``: bubblewrap, no network, read-only inputs, limits).  ``RayExecutor``
(``compute.ray_executor``) submits the same sandboxed command to a Ray cluster.  The runner
(``compute.runner``) only speaks this protocol, so scheduling, credits, provenance and the
release review are the same whichever executor runs the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bitgoeul.compute import sandbox
from bitgoeul.compute.sandbox import Outcome, Support
from bitgoeul.config import Settings


@dataclass(frozen=True)
class Launch:
    """Everything an executor needs to run one job."""

    job_id: int
    argv: list[str]  # run in /job/code; argv[0] is "python" (the environment's interpreter)
    code_dir: Path
    input_dir: Path
    output_dir: Path
    log_path: Path
    python: Path
    cpus: int
    memory_mb: int
    gpus: int
    time_limit_s: int
    max_output_bytes: int = sandbox.Limits.max_output_bytes
    env: Mapping[str, str] = field(default_factory=dict)

    def sandbox_spec(self) -> sandbox.SandboxSpec:
        return sandbox.SandboxSpec(
            argv=self.argv,
            code_dir=self.code_dir,
            input_dir=self.input_dir,
            output_dir=self.output_dir,
            python=self.python,
            env=dict(self.env),
            limits=sandbox.Limits(
                cpu_seconds=max(1, self.cpus * self.time_limit_s),
                memory_bytes=self.memory_mb * 1024 * 1024,
                wall_seconds=float(self.time_limit_s),
                cpus=float(self.cpus),
                max_output_bytes=self.max_output_bytes,
            ),
            gpus=self.gpus,
        )


class Execution(Protocol):
    def poll(self) -> Outcome | None:
        """The outcome once the job has ended (enforcing its time limit); None while it runs."""

    def cancel(self) -> None:
        """Stop the job and everything it started."""


class Executor(Protocol):
    name: str

    def support(self) -> Support:
        """Whether this executor can run jobs here, and if not, why."""

    def start(self, launch: Launch) -> Execution: ...


class _LocalExecution:
    def __init__(self, run: sandbox.SandboxRun) -> None:
        self._run = run

    def poll(self) -> Outcome | None:
        return self._run.wait(timeout=0)

    def cancel(self) -> None:
        self._run.cancel()


class LocalExecutor:
    """Sandboxed processes on this machine."""

    name = "local"

    def support(self) -> Support:
        return sandbox.sandbox_support()

    def start(self, launch: Launch) -> Execution:
        return _LocalExecution(sandbox.start(launch.sandbox_spec(), launch.log_path))


def make_executor(settings: Settings) -> Executor:
    """The executor ``BITGOEUL_JOB_EXECUTOR`` names."""
    if settings.job_executor == "ray":
        from bitgoeul.compute.ray_executor import RayExecutor

        return RayExecutor(address=settings.ray_address)
    return LocalExecutor()
