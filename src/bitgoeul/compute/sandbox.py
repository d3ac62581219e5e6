"""Run one user job inside a bubblewrap sandbox, with limits, and say how it ended.

This is the innermost layer of compute: executors decide *where* a job runs and call
``start``/``run`` here to run it.  The job sees only its code (read-only at ``/job/code``), its
inputs (read-only at ``/job/input``), its output folder (``/job/output``), a private ``/tmp``,
and the read-only system and Python files its interpreter needs.  It has no network (a loopback
of its own), its own pid, IPC and UTS namespaces, and an environment built from scratch.

How the job is made unprivileged: bubblewrap runs as root so that it can bind paths a plain user
cannot reach (the interpreter may live under ``/root``), and the job itself is then started by
``setpriv`` under a fresh, unused uid with no capabilities and ``no_new_privs``.  A real
non-root uid is what makes ``RLIMIT_NPROC`` bite: the kernel never enforces it for uid 0, which
is what a user namespace mapped from root would give.  Each run draws its own uid, so one job's
processes never count against another's limit, and the output folder is handed to that uid.

The job as a whole is bounded by a control group of its own (``compute.cgroups``): memory
(shared mappings and tmpfs included), processes, a CPU quota of its cores, a low I/O weight;
the kernel's CPU accounting of that group is what the job is billed.  Its output folder is a
file system of a fixed size (``compute.output_volume``), so it cannot fill the hub's disk.
Rlimits, set before bubblewrap starts and inherited by every process, add per-process bounds:
CPU seconds, data memory, processes per uid, file size, no core dumps.  The wall-clock limit is
enforced by ``SandboxRun.wait``.  Ending a run kills bubblewrap's process group and everything
left in the job's cgroup.

bubblewrap reads its options from a file descriptor (``--args``), so the job, which sees
bubblewrap as pid 1 of its namespace, finds in ``/proc/1/cmdline`` only its own command (behind
``setpriv``), not the host paths bubblewrap mounts.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bitgoeul.compute.cgroups import CgroupLimits, JobCgroup, cgroup_backend, cgroup_support
from bitgoeul.compute.output_volume import OutputVolume, release_orphans, volume_support
from bitgoeul.messages import msg

__all__ = [
    "Limits",
    "Outcome",
    "SandboxRun",
    "SandboxSpec",
    "Support",
    "release_leftovers",
    "run",
    "sandbox_support",
    "start",
]

MiB = 1024 * 1024
GiB = 1024 * MiB

Reason = Literal["exited", "failed", "timed_out", "cancelled", "memory_exceeded", "killed"]

# Uids handed to jobs: far above any account a system creates, below the 32-bit overflow ids.
_UID_BASE = 2_000_000
_UID_SPAN = 1_000_000
_SETPRIV = "/usr/bin/setpriv"
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_DISK_FULL_MARKERS = ("No space left on device", "Disk quota exceeded")
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/mime.types",
)


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What one job may use.  CPU, memory and file size apply to each of its processes."""

    cpu_seconds: int
    memory_bytes: int
    wall_seconds: float
    cpus: float = 1.0  # cores the job's cgroup may keep busy at once
    max_processes: int = 256
    max_file_bytes: int = 2 * GiB
    max_output_bytes: int = 10 * GiB  # the output folder's total size


@dataclass(frozen=True, kw_only=True)
class SandboxSpec:
    """One command to run; paths are on the host, the job sees them under ``/job``."""

    argv: Sequence[str]
    code_dir: Path
    input_dir: Path
    output_dir: Path
    python: Path
    limits: Limits
    env: Mapping[str, str] = field(default_factory=dict)
    gpus: int = 0


@dataclass(frozen=True)
class Support:
    """Whether jobs can be sandboxed here, and if not, why (for settings checks and skips)."""

    available: bool
    reason: str


@dataclass(frozen=True)
class Outcome:
    """How a run ended.  ``message`` is for people: it says what happened in their terms."""

    exit_code: int | None
    reason: Reason
    wall_seconds: float
    cpu_seconds: float
    message: str


@functools.cache
def sandbox_support() -> Support:
    """Probe once: is bubblewrap here, and does a trivial sandboxed Python actually run?"""
    if not sys.platform.startswith("linux"):
        return Support(False, "sandboxed jobs need Linux (bubblewrap and namespaces)")
    if shutil.which("bwrap") is None:
        return Support(False, "bubblewrap (bwrap) is not installed; install the bubblewrap package")
    if not Path(_SETPRIV).exists():
        return Support(False, f"{_SETPRIV} (util-linux) is missing")
    if os.geteuid() != 0:
        return Support(
            False,
            "the platform must run as root to start each job under its own unprivileged uid",
        )
    groups = cgroup_support()
    if not groups.available:
        return Support(False, f"each job needs a cgroup of its own, and {groups.reason}")
    volumes = volume_support()
    if not volumes.available:
        return Support(False, volumes.reason)
    with tempfile.TemporaryDirectory(prefix="bitgoeul-probe-") as scratch:
        root = Path(scratch)
        for name in ("code", "input", "output"):
            (root / name).mkdir(mode=0o755)
        spec = SandboxSpec(
            argv=["python", "-c", "print('sandbox ok')"],
            code_dir=root / "code",
            input_dir=root / "input",
            output_dir=root / "output",
            python=Path(sys.executable),
            limits=Limits(cpu_seconds=10, memory_bytes=512 * MiB, wall_seconds=20),
        )
        log = root / "probe.log"
        try:
            outcome = run(spec, log)
        except OSError as exc:
            return Support(False, f"bubblewrap could not be started: {exc}")
        text = log.read_text(errors="replace") if log.exists() else ""
    if outcome.reason != "exited" or "sandbox ok" not in text:
        last = text.strip().splitlines()[-1:] or [outcome.message]
        return Support(False, f"a trivial sandboxed command failed: {last[0]}")
    return Support(
        True,
        "bubblewrap works: network, pid, ipc and uts namespaces, own uid, "
        f"{groups.reason}, a size-limited output folder",
    )


class SandboxRun:
    """A started job.  Call ``wait`` to collect it: the wall-clock limit is enforced there."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        limits: Limits,
        status_fd: int,
        log: _LogTail,
        group: JobCgroup,
        volume: OutputVolume,
    ) -> None:
        self._process = process
        self._group = group
        self._volume = volume
        self.pid = process.pid
        self._limits = limits
        self._status_fd = status_fd
        self._log = log
        self._started = time.monotonic()
        self._deadline = self._started + limits.wall_seconds
        self._pidfd = os.pidfd_open(process.pid)
        self._lock = threading.Lock()
        self._stop: Reason | None = None
        self._outcome: Outcome | None = None
        self._status = b""
        self._cpu = 0.0
        self._oom_kills = 0
        os.set_blocking(status_fd, False)

    def wait(self, timeout: float | None = None) -> Outcome | None:
        """Wait for the end of the run, up to ``timeout`` seconds (``None``: until it ends).

        Returns ``None`` if the timeout passed first.  Kills the job when its wall-clock limit
        passes, whoever is waiting.
        """
        give_up = None if timeout is None else time.monotonic() + timeout
        while True:
            outcome = self._reap()
            if outcome is not None:
                return outcome
            now = time.monotonic()
            if now >= self._deadline:
                self._kill("timed_out")
            if give_up is not None and now >= give_up:
                return None
            self._sample_cpu()
            # Wake at least every quarter second to sample the tree's CPU time.
            pause = min(max(self._deadline - now, 0.0), 0.25) if self._stop is None else 0.05
            if give_up is not None:
                pause = min(pause, max(give_up - now, 0.0))
            with contextlib.suppress(OSError, ValueError):
                select.select([self._pidfd], [], [], pause)

    def cancel(self) -> None:
        """Kill every process of the job and collect it; ``wait`` then reports ``cancelled``."""
        self._kill("cancelled")
        self.wait()

    def _kill(self, reason: Reason) -> None:
        with self._lock:
            if self._outcome is not None:
                return
            if self._stop is None:
                self._stop = reason
            # bwrap and the pid namespace's init share this group; init's death takes every
            # process in the namespace with it, however the job re-parented or re-grouped them.
            self._sample_cpu()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            init = self._sandbox_init()
            if init is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(init, signal.SIGKILL)
            self._group.kill()

    def _read_status(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while chunk := os.read(self._status_fd, 65536):
                self._status += chunk

    def _sandbox_init(self) -> int | None:
        """The pid (on the host) of the job's pid-namespace init, from bwrap's status pipe."""
        self._read_status()
        for line in self._status.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError, TypeError):
                return int(json.loads(line)["child-pid"])
        return None

    def _sample_cpu(self) -> None:
        # The kernel's accounting of the job's cgroup: every process it ever had, reaped or not.
        self._cpu = max(self._cpu, self._group.cpu_seconds())

    def _wait_for_namespace_end(self) -> None:
        init = self._sandbox_init()
        if init is None:
            return
        give_up = time.monotonic() + 5
        # Init turns zombie only once every process of its namespace is gone.
        while _alive(init) and time.monotonic() < give_up:
            time.sleep(0.01)

    def _reap(self) -> Outcome | None:
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            try:
                pid, status, usage = os.wait4(self._process.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid == 0:
                return None
            code = os.waitstatus_to_exitcode(status)
            self._sample_cpu()
            if self._stop is not None:
                self._wait_for_namespace_end()
            # Keep Popen's bookkeeping right so it never tries to reap or warn later.
            self._process.returncode = code
            os.close(self._pidfd)
            wall = time.monotonic() - self._started
            self._group.kill()
            self._sample_cpu()
            self._oom_kills = self._group.oom_kills()
            self._group.remove()
            try:
                self._volume.close()
            except OSError:
                self._log.note("the job's outputs could not be copied out of its volume")
            self._outcome = self._describe(
                code if code >= 0 else 128 - code,
                wall=wall,
                cpu=max(usage.ru_utime + usage.ru_stime, self._cpu),
            )
            return self._outcome

    def _describe(self, code: int, *, wall: float, cpu: float) -> Outcome:
        limits = self._limits
        started = self._sandbox_init() is not None
        os.close(self._status_fd)

        def outcome(reason: Reason, message: str, exit_code: int | None = code) -> Outcome:
            return Outcome(exit_code, reason, round(wall, 3), round(cpu, 3), message)

        if self._stop == "cancelled":
            return outcome("cancelled", msg("cancelled; every process of the job was killed"), None)
        if self._stop == "timed_out":
            limit = _seconds(limits.wall_seconds)
            return outcome(
                "timed_out",
                msg(
                    "ran past its {limit} time limit and was stopped; ask for a longer "
                    "time_limit_s or make it faster",
                    limit=limit,
                ),
                None,
            )
        if not started:
            return outcome("failed", msg("the sandbox could not start the job; see the log"))
        if code == 0:
            return outcome("exited", msg("finished successfully"))
        signum = code - 128 if 128 < code < 128 + 65 else None
        memory = _mib(limits.memory_bytes)
        if signum == signal.SIGXCPU:
            cpu_limit = _seconds(limits.cpu_seconds)
            return outcome(
                "timed_out",
                msg(
                    "used up its {limit} CPU-time limit; ask for more cpus or a longer "
                    "time_limit_s",
                    limit=cpu_limit,
                ),
            )
        if signum == signal.SIGXFSZ:
            size = _mib(limits.max_file_bytes)
            return outcome(
                "failed",
                msg(
                    "tried to write a file larger than its {limit} limit; write smaller files",
                    limit=size,
                ),
            )
        if self._oom_kills or self._log.mentions(_MEMORY_MARKERS):
            return outcome(
                "memory_exceeded",
                msg(
                    "ran out of memory: its {limit} limit was reached; ask for more memory_mb "
                    "or read the data in parts",
                    limit=memory,
                ),
            )
        if self._log.mentions(_DISK_FULL_MARKERS):
            output = _mib(limits.max_output_bytes)
            return outcome(
                "failed", msg("filled its {limit} output folder; write less", limit=output)
            )
        if signum == signal.SIGKILL:
            return outcome("killed", msg("killed by signal 9; see the log"))
        if signum is not None:
            name = signal.Signals(signum).name if signum in _SIGNALS else "unknown"
            return outcome(
                "killed",
                msg("killed by signal {signal} ({name}); see the log", signal=signum, name=name),
            )
        return outcome("failed", msg("exited with code {code}; see the log", code=code))


def start(spec: SandboxSpec, log_path: Path) -> SandboxRun:
    """Start ``spec`` in the sandbox; its stdout and stderr are appended to ``log_path``."""
    if not spec.argv:
        raise ValueError("SandboxSpec.argv is empty: give the command to run")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    release_leftovers()
    uid = _UID_BASE + secrets.randbelow(_UID_SPAN)
    limits = spec.limits
    volume = OutputVolume(spec.output_dir, max_bytes=limits.max_output_bytes, uid=uid)
    volume.open()
    try:
        spec.output_dir.chmod(0o755)
        group = cgroup_backend().create(
            f"job-{uid}-{secrets.token_hex(4)}",
            CgroupLimits(
                memory_bytes=limits.memory_bytes,
                cpus=limits.cpus,
                max_processes=limits.max_processes,
            ),
        )
    except BaseException:
        volume.close(keep=False)
        raise
    try:
        return _start(spec, log_path, bwrap=bwrap, uid=uid, group=group, volume=volume)
    except BaseException:
        group.remove()
        volume.close(keep=False)
        raise


def _start(
    spec: SandboxSpec,
    log_path: Path,
    *,
    bwrap: str,
    uid: int,
    group: JobCgroup,
    volume: OutputVolume,
) -> SandboxRun:
    prefixes = _python_prefixes(spec.python)
    read_fd, write_fd = os.pipe()
    passwd = _data_fd(f"job:x:{uid}:{uid}:job:/tmp:/usr/sbin/nologin\n")
    group_file = _data_fd(f"job:x:{uid}:\n")
    arguments = [
        *_namespaces(),
        *_filesystem(spec, prefixes, passwd=passwd, group=group_file),
        *_environment(spec, prefixes),
        "--json-status-fd",
        str(write_fd),
    ]
    command = [
        _SETPRIV,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
        *spec.argv,
    ]
    # bubblewrap reads its options from a descriptor, so its own argv, which the job sees as
    # /proc/1/cmdline, holds only the command: no host path, no mount of the hub's.
    args_fd = _data_fd("".join(f"{argument}\0" for argument in arguments))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = _LogTail(log_path)
    limits = _rlimits(spec.limits)

    def prepare() -> None:
        group.attach()
        limits()

    try:
        with log_path.open("ab", buffering=0) as sink:
            process = subprocess.Popen(  # noqa: S603 - argv is built here, never via a shell
                [bwrap, "--args", str(args_fd), "--", *command],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/bin:/bin"},
                cwd="/",
                pass_fds=(write_fd, passwd, group_file, args_fd),
                start_new_session=True,
                preexec_fn=prepare,
            )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        for fd in (write_fd, passwd, group_file, args_fd):
            os.close(fd)
    return SandboxRun(process, spec.limits, read_fd, log, group, volume)


def release_leftovers() -> None:
    """Close the output volumes and delete the cgroups of runs whose process died (a Ray
    worker force-stopped, a worker killed): their jobs are gone with them (bubblewrap's
    ``--die-with-parent``), what they wrote is kept."""
    release_orphans()
    with contextlib.suppress(RuntimeError):
        cgroup_backend().remove_empty()


def run(spec: SandboxSpec, log_path: Path) -> Outcome:
    """Start ``spec`` and wait for it to end (or for its wall-clock limit)."""
    outcome = start(spec, log_path).wait()
    assert outcome is not None  # noqa: S101 - wait() without a timeout always returns one
    return outcome


def _namespaces() -> list[str]:
    return [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "bitgoeul-job",
        "--die-with-parent",
        "--new-session",
        # Keep only what setpriv needs to drop to the job's uid; it then drops these too.
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        "--cap-add",
        "CAP_SETPCAP",
    ]


def _filesystem(spec: SandboxSpec, prefixes: list[Path], *, passwd: int, group: int) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]
    for etc in _ETC_FILES:
        args += ["--ro-bind-try", etc, etc]
    args += ["--perms", "0644", "--ro-bind-data", str(passwd), "/etc/passwd"]
    args += ["--perms", "0644", "--ro-bind-data", str(group), "/etc/group"]
    tmp_size = str(min(spec.limits.memory_bytes, 4 * GiB))
    args += ["--proc", "/proc", "--dev", "/dev"]
    # Paths inside the sandbox: private, size-capped tmpfs mounts, not the host's /tmp.
    args += ["--perms", "1777", "--size", tmp_size, "--tmpfs", "/tmp"]  # noqa: S108
    args += ["--perms", "1777", "--size", tmp_size, "--tmpfs", "/dev/shm"]  # noqa: S108
    # The interpreters after the tmpfs mounts, so one installed under /tmp stays visible.
    for prefix in prefixes:
        if not prefix.is_relative_to("/usr"):
            args += [*_parents(prefix), "--ro-bind", str(prefix), str(prefix)]
    if spec.gpus > 0:
        for device in sorted(Path("/dev").glob("nvidia*")):
            args += ["--dev-bind", str(device), str(device)]
    args += ["--perms", "0755", "--dir", "/job"]
    args += ["--ro-bind", str(spec.code_dir), "/job/code"]
    args += ["--ro-bind", str(spec.input_dir), "/job/input"]
    args += ["--bind", str(spec.output_dir), "/job/output"]
    args += ["--remount-ro", "/", "--chdir", "/job/code"]
    return args


def _parents(path: Path) -> list[str]:
    """Create a bind target's ancestors world-traversable: bwrap would make them 0700."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _environment(spec: SandboxSpec, prefixes: list[Path]) -> list[str]:
    bins = [str(prefix / "bin") for prefix in prefixes]
    path = ":".join(dict.fromkeys([str(spec.python.parent), *bins, "/usr/local/bin", "/usr/bin"]))
    values = {
        "PATH": path,
        "HOME": "/tmp",  # noqa: S108 - the sandbox's private tmpfs
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "BITGOEUL_INPUT_DIR": "/job/input",
        "BITGOEUL_OUTPUT_DIR": "/job/output",
        **spec.env,
    }
    args = ["--clearenv"]
    for name, value in values.items():
        args += ["--setenv", name, value]
    return args


@functools.cache
def _python_prefixes(python: Path) -> list[Path]:
    """The interpreter's prefix and base prefix (a venv has both), asked of the interpreter."""
    result = subprocess.run(  # noqa: S603 - the platform's own interpreter, fixed arguments
        [str(python), "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=30,
    )
    return [Path(line) for line in dict.fromkeys(result.stdout.split())]


def _rlimits(limits: Limits) -> Callable[[], None]:
    pairs = [
        # The hard CPU limit one second later turns a SIGXCPU-ignoring job into a SIGKILLed one.
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        # RLIMIT_DATA, not RLIMIT_AS: it caps what the job allocates, not address space that
        # GPU runtimes and allocators reserve without using.
        (resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes)),
        (resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes)),
        (resource.RLIMIT_FSIZE, (limits.max_file_bytes, limits.max_file_bytes)),
        (resource.RLIMIT_CORE, (0, 0)),
    ]

    def apply() -> None:
        for which, values in pairs:
            resource.setrlimit(which, values)

    return apply


def _data_fd(text: str) -> int:
    fd = os.memfd_create("bitgoeul-sandbox", 0)
    os.write(fd, text.encode())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


class _LogTail:
    """Reads back the end of this run's part of the log, to explain how it ended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def mentions(self, markers: Sequence[str], window: int = 64 * 1024) -> bool:
        try:
            with self.path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(max(self.offset, size - window))
                tail = handle.read().decode(errors="replace")
        except OSError:
            return False
        return any(marker in tail for marker in markers)

    def note(self, text: str) -> None:
        """Add a line from the hub to the job's log."""
        with contextlib.suppress(OSError), self.path.open("a", encoding="utf-8") as handle:
            handle.write(f"[bitgoeul] {text}\n")


_SIGNALS = {int(s) for s in signal.Signals}


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _mib(value: int) -> str:
    return f"{value / GiB:g} GiB" if value >= GiB and value % GiB == 0 else f"{value // MiB} MiB"
