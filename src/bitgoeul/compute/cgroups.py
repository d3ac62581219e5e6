"""Every job in a control group of its own: memory, processes, CPU and I/O bounded for the job
as a whole, and its CPU time measured by the kernel.

Per-process rlimits do not bound a job: shared memory (``MAP_SHARED`` mappings, ``/tmp`` and
``/dev/shm`` on tmpfs) escapes ``RLIMIT_DATA``, and a job of ``cpus=1`` can keep several cores
busy.  A control group bounds the whole tree the sandbox starts, whatever it forks:

* ``memory``: the limit covers anonymous and shared memory and tmpfs pages the job writes; past
  it the kernel's OOM killer stops the job (counted, so the outcome says "out of memory").  No
  swap beyond the limit.
* ``pids``: at most ``max_processes`` tasks (threads count), for the job as a whole.
* ``cpu``: a quota of ``cpus`` cores per period; the kernel's CPU accounting is what the job is
  billed (``cpu_seconds``).
* ``io``: a low weight where the kernel offers one, so a job's disk traffic yields to the hub's.

Two kernels' interfaces: the unified hierarchy (cgroup v2), used when the hub's own cgroup has
the ``memory``, ``pids`` and ``cpu`` controllers and may hand them to children (delegation);
and the legacy per-controller hierarchies (cgroup v1), as many container hosts still mount
them.  ``cgroup_support`` says which is used, or why neither can be: then the sandbox refuses to
run jobs, saying so, as it does without bubblewrap.

A job's cgroup is created by the hub (root) before the job starts; the sandbox's first process
writes its own pid into it before it executes bubblewrap, so every process of the job is inside
from the start.  When the job ends, whatever is left in it is killed and the cgroup removed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "CgroupLimits",
    "Cgroups",
    "JobCgroup",
    "cgroup_backend",
    "cgroup_support",
]

_PERIOD_US = 100_000
_LOW_IO_WEIGHT = 50  # of 1-10000 (v2) / 10-1000 (v1); the default is 100
_GROUP = "bitgoeul-jobs"
# An empty job group younger than this is kept by ``remove_empty``: made by a worker that has
# not started its job in it yet (a cleanup at another worker's start-up removed it mid-start).
FRESH_S = 60.0


@dataclass(frozen=True, kw_only=True)
class CgroupLimits:
    memory_bytes: int
    cpus: float
    max_processes: int


class JobCgroup(Protocol):
    """One job's control group."""

    name: str

    def attach(self) -> None:
        """Put the calling process in the group (called in the sandbox's first process)."""

    def cpu_seconds(self) -> float: ...

    def memory_peak_bytes(self) -> int: ...

    def oom_kills(self) -> int: ...

    def kill(self) -> None:
        """Kill every process left in the group."""

    def remove(self) -> None:
        """Kill what is left and delete the group."""


class Cgroups(Protocol):
    """A way to make job cgroups on this machine."""

    version: str

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup: ...

    def remove_empty(self, min_age_s: float = FRESH_S) -> int:
        """Delete the job groups no process is in any more (left by a run whose owner died),
        except those made in the last ``min_age_s`` seconds: another worker may have just made
        one and not yet put its job in it; how many."""


@dataclass(frozen=True)
class CgroupSupport:
    available: bool
    reason: str


# --- Reading what the kernel mounted ---------------------------------------------------------


@dataclass(frozen=True)
class _Mount:
    point: Path
    fstype: str
    controllers: frozenset[str]


def _mounts() -> list[_Mount]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        options = set(tail[2].split(","))
        found.append(_Mount(Path(fields[4]), tail[0], frozenset(options)))
    return found


def _own_paths() -> dict[str, str]:
    """Controller (``""`` for the unified hierarchy) → this process's cgroup path."""
    paths: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller.removeprefix("name=")] = path
    return paths


def _write(path: Path, value: str) -> None:
    with path.open("w") as handle:
        handle.write(value)


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _kill_members(procs: Path) -> None:
    for _attempt in range(50):
        try:
            pids = [int(p) for p in procs.read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _rmdir(path: Path) -> None:
    for _attempt in range(50):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # busy: its last processes are still exiting
            time.sleep(0.02)


def _remove_empty(parents: list[Path], min_age_s: float) -> int:
    removed = 0
    newest = time.time() - min_age_s
    for parent in parents:
        with contextlib.suppress(OSError), os.scandir(parent) as entries:
            for entry in entries:
                if not entry.name.startswith("job-") or not entry.is_dir(follow_symlinks=False):
                    continue
                folder = Path(entry.path)
                if entry.stat(follow_symlinks=False).st_ctime > newest:
                    continue  # just made: its job may not be in it yet
                if not (folder / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        folder.rmdir()
                        removed += 1
    return removed


# --- cgroup v2 -------------------------------------------------------------------------------

_V2_NEEDED = ("memory", "pids", "cpu")


class _V2Group:
    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def attach(self) -> None:
        _write(self.path / "cgroup.procs", "0")

    def cpu_seconds(self) -> float:
        for line in _lines(self.path / "cpu.stat"):
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                return int(value) / 1_000_000
        return 0.0

    def memory_peak_bytes(self) -> int:
        return _read_int(self.path / "memory.peak")

    def oom_kills(self) -> int:
        for line in _lines(self.path / "memory.events"):
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def kill(self) -> None:
        kill = self.path / "cgroup.kill"
        if kill.exists():
            with contextlib.suppress(OSError):
                _write(kill, "1")
        _kill_members(self.path / "cgroup.procs")

    def remove(self) -> None:
        self.kill()
        _rmdir(self.path)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


class _V2:
    version = "v2"

    def __init__(self, parent: Path) -> None:
        self.parent = parent

    def remove_empty(self, min_age_s: float = FRESH_S) -> int:
        return _remove_empty([self.parent], min_age_s)

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup:
        path = self.parent / name
        path.mkdir()
        try:
            _write(path / "memory.max", str(limits.memory_bytes))
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", "0")
            if (path / "memory.oom.group").exists():
                _write(path / "memory.oom.group", "1")  # the job dies as one, not by pieces
            _write(path / "pids.max", str(limits.max_processes))
            _write(path / "cpu.max", f"{max(1000, int(limits.cpus * _PERIOD_US))} {_PERIOD_US}")
            if (path / "io.weight").exists():
                with contextlib.suppress(OSError):
                    _write(path / "io.weight", f"default {_LOW_IO_WEIGHT}")
        except BaseException:
            _rmdir(path)
            raise
        return _V2Group(path, name)


def _v2_backend() -> tuple[Cgroups | None, str]:
    unified = [m for m in _mounts() if m.fstype == "cgroup2"]
    own = _own_paths().get("")
    if not unified or own is None:
        return None, "no cgroup v2 hierarchy is mounted"
    root = unified[0].point
    base = root / own.lstrip("/")
    available = set((base / "cgroup.controllers").read_text().split()) if base.is_dir() else set()
    missing = [c for c in _V2_NEEDED if c not in available]
    if missing:
        return None, (
            f"cgroup v2 is mounted at {root} but the hub's cgroup ({own}) has no "
            f"{', '.join(missing)} controller delegated to it"
        )
    group = base / _GROUP
    try:
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not set(_V2_NEEDED) <= enabled:
            # A cgroup holding processes may not hand controllers down: move the hub's own
            # process into a leaf first ("no internal processes").
            hub = base / "bitgoeul-hub"
            hub.mkdir(exist_ok=True)
            _write(hub / "cgroup.procs", str(os.getpid()))
            _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in _V2_NEEDED))
        group.mkdir(exist_ok=True)
        wanted = [*_V2_NEEDED, *(["io"] if "io" in available else [])]
        _write(group / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))
    except OSError as error:
        return None, f"cgroup v2 delegation is missing: cannot set up {group} ({error.strerror})"
    return _V2(group), f"cgroup v2 at {group}"


# --- cgroup v1 -------------------------------------------------------------------------------

_V1_NEEDED = ("memory", "pids", "cpu", "cpuacct")


class _V1Group:
    def __init__(self, paths: dict[str, Path], name: str) -> None:
        self.paths = paths  # controller -> this group's folder in its hierarchy
        self.name = name

    def _folders(self) -> list[Path]:
        return list(dict.fromkeys(self.paths.values()))

    def attach(self) -> None:
        pid = str(os.getpid())
        for folder in self._folders():
            _write(folder / "cgroup.procs", pid)

    def cpu_seconds(self) -> float:
        return _read_int(self.paths["cpuacct"] / "cpuacct.usage") / 1e9

    def memory_peak_bytes(self) -> int:
        return _read_int(self.paths["memory"] / "memory.max_usage_in_bytes")

    def oom_kills(self) -> int:
        for line in _lines(self.paths["memory"] / "memory.oom_control"):
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        # Kernels without the counter: the limit was hit and something was killed.
        return 1 if _read_int(self.paths["memory"] / "memory.failcnt") else 0

    def kill(self) -> None:
        for folder in self._folders():
            _kill_members(folder / "cgroup.procs")

    def remove(self) -> None:
        self.kill()
        for folder in self._folders():
            _rmdir(folder)


class _V1:
    version = "v1"

    def __init__(self, parents: dict[str, Path]) -> None:
        self.parents = parents  # controller -> the hub's job group in that hierarchy

    def remove_empty(self, min_age_s: float = FRESH_S) -> int:
        return _remove_empty(list(dict.fromkeys(self.parents.values())), min_age_s)

    def create(self, name: str, limits: CgroupLimits) -> JobCgroup:
        paths = {c: parent / name for c, parent in self.parents.items()}
        made: list[Path] = []
        try:
            for folder in dict.fromkeys(paths.values()):
                folder.mkdir()
                made.append(folder)
            memory = paths["memory"]
            _write(memory / "memory.limit_in_bytes", str(limits.memory_bytes))
            if (memory / "memory.memsw.limit_in_bytes").exists():
                with contextlib.suppress(OSError):  # swap accounting may be off
                    _write(memory / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
            _write(memory / "memory.swappiness", "0")
            _write(paths["pids"] / "pids.max", str(limits.max_processes))
            cpu = paths["cpu"]
            _write(cpu / "cpu.cfs_period_us", str(_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(max(1000, int(limits.cpus * _PERIOD_US))))
            blkio = paths.get("blkio")
            if blkio is not None and (blkio / "blkio.weight").exists():
                with contextlib.suppress(OSError):
                    _write(blkio / "blkio.weight", str(max(10, _LOW_IO_WEIGHT)))
        except BaseException:
            for folder in reversed(made):
                _rmdir(folder)
            raise
        return _V1Group(paths, name)


def _v1_backend() -> tuple[Cgroups | None, str]:
    own = _own_paths()
    mounts = [m for m in _mounts() if m.fstype == "cgroup"]
    parents: dict[str, Path] = {}
    for controller in (*_V1_NEEDED, "blkio"):
        mount = next((m for m in mounts if controller in m.controllers), None)
        if mount is None or controller not in own:
            if controller == "blkio":
                continue
            return None, f"no cgroup v1 hierarchy has the {controller} controller"
        parents[controller] = mount.point / own[controller].lstrip("/") / _GROUP
    try:
        for folder in dict.fromkeys(parents.values()):
            folder.mkdir(exist_ok=True)
            # Let the children's memory be accounted under this group's limits as well.
            use_hierarchy = folder / "memory.use_hierarchy"
            if use_hierarchy.exists():
                with contextlib.suppress(OSError):
                    _write(use_hierarchy, "1")
    except OSError as error:
        return None, f"cannot create the jobs' cgroups under {folder} ({error.strerror})"
    return _V1(parents), "cgroup v1 (memory, pids, cpu, cpuacct" + (
        ", blkio)" if "blkio" in parents else ")"
    )


# --- Choosing --------------------------------------------------------------------------------


@functools.cache
def _backend() -> tuple[Cgroups | None, str]:
    if not Path("/proc/self/cgroup").exists():
        return None, "this system has no control groups (Linux cgroups are needed)"
    if os.geteuid() != 0:
        return None, "creating a cgroup per job needs root"
    reasons = []
    for probe in (_v2_backend, _v1_backend):
        try:
            backend, reason = probe()
        except OSError as error:
            backend, reason = None, f"{probe.__name__}: {error}"
        if backend is not None:
            try:
                _probe_group(backend)
            except OSError as error:
                reasons.append(f"{backend.version}: a test group could not be made ({error})")
                continue
            return backend, reason
        reasons.append(reason)
    return None, "; ".join(reasons)


def _probe_group(backend: Cgroups) -> None:
    group = backend.create(
        f"probe-{os.getpid()}-{time.monotonic_ns()}",
        CgroupLimits(memory_bytes=64 * 1024 * 1024, cpus=1, max_processes=8),
    )
    group.remove()


def cgroup_backend() -> Cgroups:
    """The cgroup interface jobs are bounded with; ``RuntimeError`` saying why when none."""
    backend, reason = _backend()
    if backend is None:
        raise RuntimeError(reason)
    return backend


def cgroup_support() -> CgroupSupport:
    backend, reason = _backend()
    return CgroupSupport(backend is not None, reason)
