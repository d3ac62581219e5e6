"""The job runner: picks queued jobs in order, starts them on the executor, meters and records
how they ended.

Runners are the ``bitgoeul worker`` processes (the web server only queues jobs); there may be
several, on one machine or on several, and they share one limit.  Order: higher ``priority``
first; among equals, fair share between organizations (the one with the fewest cores in use
right now, then the fewest CPU-hours used in the last seven days), then the oldest.  A job
starts only when the cores, GPUs and memory it asked for are free among every running job,
whichever worker runs it (``BITGOEUL_JOB_CPUS`` and ``BITGOEUL_JOB_GPUS``: on Ray, the share of
the cluster the hub may use).  A worker claims a job under a lock that every worker takes
(PostgreSQL: an advisory lock; SQLite: its write lock), reading what is running and marking the
job ``running`` for itself in the same transaction, so two workers never start the same job
nor, together, more than the limit.

Each worker writes a heartbeat (``JobWorker``).  A job whose worker has not written one for
``LOST_AFTER_SECONDS`` (the worker crashed, its machine went away) is ended by another worker as
failed, its reservation refunded, and its submitter told; the sandbox dies with its worker
(``--die-with-parent``).

Before a job starts, the decision point is asked again for every dataset (an agreement
revoked while the job waited stops it), and the inputs are written as the decision allows.
When it ends, the runner records the exit code and reason, the sha256 manifest of what it
wrote (log included), runs the automatic output checks for held jobs (``compute.checks``, in
this trusted process, never inside the job), settles the credits from the CPU time its cgroup
used (and GPUs x run time), audits and notifies the submitter.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User
from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import get_version
from bitgoeul.compute import actions, checks, inputs
from bitgoeul.compute.executors import Execution, Executor, Launch
from bitgoeul.compute.folders import LOG_NAME, job_paths, log_key, output_key
from bitgoeul.compute.models import ComputeAudit, Job, JobStatus, JobWorker, ReleaseStatus
from bitgoeul.compute.sandbox import Outcome
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.decision import DEFAULT_MIN_GROUP_SIZE
from bitgoeul.governance.doors import Door
from bitgoeul.messages import msg
from bitgoeul.privacy.views import schema_fields
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
LOST_AFTER_SECONDS = 60.0
_SCHEDULE_LOCK_KEY = 0x6269_746A  # "bitj"


@dataclass
class _Running:
    execution: Execution
    cpus: int
    gpus: int
    memory_mb: int
    started: float
    cancel_sent: bool = False


FinishHook = Callable[[Session, Job], None]


@dataclass
class JobRunner:
    """Runs queued jobs on one executor; ``dispatch()`` is one scheduling step.

    ``finish_hooks`` run after a job's end is recorded and committed, each in its own
    transaction (the testbed scores a model submission this way); a hook that fails is logged
    and the runner goes on.  ``test_set_context`` decides a testbed model submission's hidden
    test set when its job starts (the testbed's, so that compute never imports the testbed).
    """

    settings: Settings
    sessions: sessionmaker[Session]
    store: ObjectStore
    executor: Executor
    poll_seconds: float = 0.5
    finish_hooks: Sequence[FinishHook] = ()
    test_set_context: inputs.TestSetContext | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
    )
    _last_heartbeat: float = -HEARTBEAT_SECONDS
    _running: dict[int, _Running] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)

    # The loop ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run ``dispatch`` every ``poll_seconds`` in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="bitgoeul-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Dispatch now rather than at the next poll (a job was submitted or cancelled)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop dispatching; jobs still running are cancelled and recorded as such."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        for running in self._running.values():
            running.execution.cancel()
        self._finish_ended(wait_seconds=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatch()
            except Exception:  # keep serving; a broken step is logged and retried
                log.exception("job runner step failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def run_until_idle(self, timeout: float = 60.0) -> None:
        """Dispatch until nothing is queued or running (tests, the CLI's ``--wait``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.dispatch()
            if not self._running and not self._queued_ids():
                return
            time.sleep(0.05)
        raise TimeoutError(f"jobs still running after {timeout} s")

    def dispatch(self) -> None:
        self._finish_ended()
        self._forward_cancellations()
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._heartbeat()
            self._end_lost_jobs()
        self._start_what_fits()

    # Workers -----------------------------------------------------------------------------

    def _heartbeat(self) -> None:
        with self.sessions() as session:
            worker = session.get(JobWorker, self.worker_id)
            if worker is None:
                host, pid, _ = self.worker_id.rsplit(":", 2)
                session.add(
                    JobWorker(
                        id=self.worker_id, host=host, pid=int(pid), executor=self.executor.name
                    )
                )
            else:
                worker.heartbeat_at = utcnow()
            session.commit()
        self._last_heartbeat = time.monotonic()

    def _end_lost_jobs(self) -> None:
        """End the running jobs of workers that stopped writing their heartbeat."""
        silent = utcnow() - timedelta(seconds=LOST_AFTER_SECONDS)
        with self.sessions() as session:
            lost = session.scalars(
                select(Job)
                .outerjoin(JobWorker, Job.worker_id == JobWorker.id)
                .where(
                    Job.status == JobStatus.running,
                    or_(Job.worker_id.is_(None), JobWorker.heartbeat_at < silent),
                    Job.started_at < silent,
                )
            ).all()
            for job in lost:
                if job.id in self._running:
                    continue
                where = job.worker_id or "a runner of an earlier version"
                self._record_end(
                    session,
                    job,
                    Outcome(
                        exit_code=None,
                        reason="failed",
                        wall_seconds=0.0,
                        cpu_seconds=0.0,
                        message=msg(
                            "the worker running it ({worker}) stopped; the job was ended and "
                            "its credits refunded. Submit it again.",
                            worker=where,
                        ),
                    ),
                )

    # Starting ----------------------------------------------------------------------------

    def _queued_ids(self) -> list[int]:
        with self.sessions() as session:
            return list(session.scalars(select(Job.id).where(Job.status == JobStatus.queued)))

    def _capacity_left(self, session: Session) -> tuple[int, int, int]:
        """Cores, GPUs and memory left among every running job, whichever worker runs it."""
        used = session.execute(
            select(
                func.coalesce(func.sum(Job.cpus), 0),
                func.coalesce(func.sum(Job.gpus), 0),
                func.coalesce(func.sum(Job.memory_mb), 0),
            ).where(Job.status == JobStatus.running)
        ).one()
        cpus = self.settings.job_cpus - int(used[0])
        gpus = self.settings.job_gpus - int(used[1])
        memory = self.settings.job_max_memory_mb * max(1, self.settings.job_cpus) - int(used[2])
        return cpus, gpus, memory

    def next_jobs(self, session: Session) -> list[Job]:
        """Queued jobs in the order they should start (priority, fair share, age)."""
        queued = list(session.scalars(select(Job).where(Job.status == JobStatus.queued)))
        if not queued:
            return []
        cores_in_use: dict[int, int] = {
            int(row[0]): int(row[1] or 0)
            for row in session.execute(
                select(Job.organization_id, func.sum(Job.cpus))
                .where(Job.status == JobStatus.running)
                .group_by(Job.organization_id)
            )
        }
        since = utcnow() - timedelta(days=7)
        recent: dict[int, Decimal] = {
            int(row[0]): Decimal(row[1] or 0)
            for row in session.execute(
                select(Job.organization_id, func.sum(Job.used_cpu_hours))
                .where(Job.finished_at >= since)
                .group_by(Job.organization_id)
            )
        }
        return sorted(
            queued,
            key=lambda j: (
                -j.priority,
                cores_in_use.get(j.organization_id, 0),
                recent.get(j.organization_id, Decimal(0)),
                j.id,
            ),
        )

    def _start_what_fits(self) -> None:
        with self.sessions() as session:
            candidates = [j.id for j in self.next_jobs(session)]
        for job_id in candidates:
            with self.sessions() as session:
                claimed = self._claim(session, job_id)
            if claimed is None:
                break  # keep the order: the first job that does not fit waits for room
            if claimed:
                self._start(job_id)

    def _claim(self, session: Session, job_id: int) -> bool | None:
        """Mark the job running for this worker if it is still queued and fits (True); False
        when another worker took it; None when it does not fit now."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEDULE_LOCK_KEY})
        else:  # SQLite: take the write lock before reading what runs
            session.execute(update(Job).where(Job.id < 0).values(status=Job.status))
        job = session.get(Job, job_id)
        if job is None or job.status != JobStatus.queued:
            session.rollback()
            return False
        free_cpus, free_gpus, free_memory = self._capacity_left(session)
        if job.cpus > free_cpus or job.gpus > free_gpus or job.memory_mb > free_memory:
            session.rollback()
            return None
        job.status = JobStatus.running
        job.started_at = utcnow()
        job.worker_id = self.worker_id
        session.commit()
        return True

    def _start(self, job_id: int) -> None:
        with self.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None  # noqa: S101 - just claimed
            paths = job_paths(self.settings, job.id)
            try:
                launch = self._prepare(session, job, paths.root)
                execution = self.executor.start(launch)
            except BitgoeulError as error:
                self._record_end(
                    session,
                    job,
                    Outcome(
                        exit_code=None,
                        reason="failed",
                        wall_seconds=0.0,
                        cpu_seconds=0.0,
                        message=msg("did not start: {reason}", reason=error.message),
                    ),
                )
                return
            except Exception as error:  # an executor fault: the job fails, the hub goes on
                log.exception("job %s could not start", job_id)
                self._record_end(
                    session,
                    job,
                    Outcome(
                        exit_code=None,
                        reason="failed",
                        wall_seconds=0.0,
                        cpu_seconds=0.0,
                        message=msg(
                            "did not start: the executor failed ({problem}); submit it again, "
                            "or ask the hub operator if this repeats",
                            problem=type(error).__name__,
                        ),
                    ),
                )
                return
            actions.record_job_started(session, job=job, executor=self.executor.name)
            self._running[job.id] = _Running(
                execution, job.cpus, job.gpus, job.memory_mb, time.monotonic()
            )

    def _actor_of(self, session: Session, job: Job) -> Actor:
        user = session.get(User, job.submitted_by_id) if job.submitted_by_id else None
        if user is None or not user.is_active:
            raise BitgoeulError(msg("the account that submitted the job is gone or deactivated"))
        return Actor.for_user(user, via="job")

    def _prepare(self, session: Session, job: Job, root: Path) -> Launch:
        actor = self._actor_of(session, job)
        references: list[tuple[str, int | None]] = [
            (str(d["slug"]), int(d["version"])) for d in job.datasets
        ]
        tasks = {str(d["testbed_task"]) for d in job.datasets if d.get("testbed_task")}
        paths = job_paths(self.settings, job.id)
        door = Door(
            session,
            actor=actor,
            event=ComputeAudit.dataset_job_decision,
            detail={"project": job.project_id, "job": job.id},
        )
        with door:
            granted = inputs.decide_inputs(
                session,
                door,
                actor=actor,
                project_id=job.project_id,
                references=references,
                testbed_task=next(iter(tasks), None),
                test_set_context=self.test_set_context,
            )
            shutil.rmtree(paths.input, ignore_errors=True)
            shutil.rmtree(paths.output, ignore_errors=True)
            inputs.materialize(
                granted, door, settings=self.settings, store=self.store, dest=paths.input
            )
            session.commit()  # the decisions' audit entries
        paths.output.mkdir(parents=True)
        paths.log.touch()
        python = self.settings.environments()[job.environment]
        return Launch(
            job_id=job.id,
            argv=["python", job.entrypoint, *job.arguments],
            code_dir=paths.code,
            input_dir=paths.input,
            output_dir=paths.output,
            log_path=paths.log,
            python=python,
            cpus=job.cpus,
            memory_mb=job.memory_mb,
            gpus=job.gpus,
            time_limit_s=job.time_limit_s,
            max_output_bytes=self.settings.job_max_output_bytes,
            env={"BITGOEUL_JOB_ID": str(job.id), "BITGOEUL_GPUS": str(job.gpus)},
        )

    # Running and ending ------------------------------------------------------------------

    def _forward_cancellations(self) -> None:
        if not self._running:
            return
        with self.sessions() as session:
            wanted = set(
                session.scalars(
                    select(Job.id).where(
                        Job.id.in_(list(self._running)), Job.cancel_requested.is_(True)
                    )
                )
            )
        for job_id in wanted:
            running = self._running[job_id]
            if not running.cancel_sent:
                running.execution.cancel()
                running.cancel_sent = True

    def _finish_ended(self, wait_seconds: float = 0.0) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            for job_id, running in list(self._running.items()):
                outcome = running.execution.poll()
                if outcome is None:
                    continue
                del self._running[job_id]
                with self.sessions() as session:
                    job = session.get(Job, job_id)
                    if job is not None:
                        self._record_end(session, job, outcome)
            if not self._running or time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def _manifest(self, job: Job) -> list[dict[str, Any]]:
        paths = job_paths(self.settings, job.id)
        files: list[dict[str, Any]] = []
        if paths.output.is_dir():
            for path in sorted(paths.output.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                files.append(
                    {
                        "path": path.relative_to(paths.output).as_posix(),
                        "bytes": path.stat().st_size,
                        "sha256": file_sha256(path),
                    }
                )
        if paths.log.is_file():
            files.append(
                {
                    "path": LOG_NAME,
                    "bytes": paths.log.stat().st_size,
                    "sha256": file_sha256(paths.log),
                }
            )
        return files

    def _keep_outputs(self, job: Job, outputs: list[dict[str, Any]]) -> bool:
        """Each output and the log into the object store, before the job is recorded as ended;
        False when the store refused one (the folder is then kept and read from)."""
        paths = job_paths(self.settings, job.id)
        try:
            for output in outputs:
                name = str(output["path"])
                if name == LOG_NAME:
                    self.store.put_file(log_key(job.id), paths.log)
                else:
                    self.store.put_file(output_key(job.id, name), paths.output / name)
        except Exception:
            log.exception("the outputs of job %s could not be kept in the object store", job.id)
            return False
        return True

    def _check(self, session: Session, job: Job) -> dict[str, Any]:
        paths = job_paths(self.settings, job.id)
        rules = []
        for described in job.datasets:
            dataset = session.scalars(
                select(Dataset).where(Dataset.slug == described["slug"])
            ).one_or_none()
            parquet = paths.input / f"{described['slug']}.parquet"
            if dataset is None or not parquet.exists():
                continue
            version_fields = schema_fields(
                get_version(session, dataset.slug, int(described["version"])).table_schema
            )
            rules.append(
                checks.DatasetRules(
                    slug=dataset.slug,
                    parquet=parquet,
                    min_group_size=dataset.min_group_size or DEFAULT_MIN_GROUP_SIZE,
                    identifier_columns=frozenset(
                        str(f["name"])
                        for f in version_fields
                        if f.get("classification") == "direct_identifier"
                    ),
                    sensitive_columns=frozenset(
                        str(f["name"])
                        for f in version_fields
                        if f.get("classification") == "sensitive"
                    ),
                    quasi_identifier_columns=frozenset(
                        str(f["name"])
                        for f in version_fields
                        if f.get("classification") == "quasi_identifier"
                    ),
                )
            )
        report = checks.check_outputs(paths.output, rules)
        return {"blocked": report.blocked, "files": [asdict(f) for f in report.files]}

    def _record_end(self, session: Session, job: Job, outcome: Outcome) -> None:
        outputs = self._manifest(job)
        checks_found: dict[str, Any] | None = None
        if job.release_status == ReleaseStatus.held and not outputs:
            checks_found = {"blocked": False, "files": []}  # it never ran: nothing to check
        elif job.release_status == ReleaseStatus.held:
            try:
                checks_found = self._check(session, job)
            except Exception as error:  # the checks failing must not release anything
                log.exception("output checks of job %s failed", job.id)
                checks_found = {
                    "blocked": True,
                    "error": msg(
                        "the automatic checks could not run ({problem}); ask the hub "
                        "operator to look at the hub's log",
                        problem=type(error).__name__,
                    ),
                    "files": [],
                }
        kept = self._keep_outputs(job, outputs)
        actions.record_job_end(
            session, job=job, outcome=outcome, outputs=outputs, checks=checks_found
        )
        # The inputs are copies made for this run; only the outputs and log are kept.
        shutil.rmtree(job_paths(self.settings, job.id).input, ignore_errors=True)
        for hook in self.finish_hooks:
            try:
                hook(session, job)
            except Exception:
                log.exception("a finish hook failed for job %s", job.id)
                session.rollback()
        if kept:
            # The store holds the outputs and the log now; the job's folder keeps its code.
            paths = job_paths(self.settings, job.id)
            shutil.rmtree(paths.output, ignore_errors=True)
            paths.log.unlink(missing_ok=True)
