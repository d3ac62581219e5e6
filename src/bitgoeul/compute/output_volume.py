"""A job's output folder as a file system of a fixed size, so a job cannot fill the hub's disk.

Before the job starts, an empty ext4 file system of ``max_bytes`` is made in a sparse image
file beside the job's folder (it takes only the space the job writes) and mounted, through a
loop device, on the job's output folder, owned by the job's uid (``nosuid``, ``nodev``,
``noexec``).  A job that writes more gets "No space left on device" there and nowhere else.
When the job has ended, what it wrote is copied to the real output folder (regular files and
folders only: links and special files are left behind and reported by the checks' absence), the
file system is unmounted and the image deleted.

A volume records the process that opened it (pid and start time) beside its image.  When that
process dies without closing it (a Ray worker force-stopped, a worker killed), the volume is
left mounted; ``release_orphans`` (called before every new volume is made, and by the Ray
executor after a cancelled or crashed task) closes every volume whose owner is gone, keeping
what the job wrote.

Needs root, ``mkfs.ext4`` (e2fsprogs), ``mount``/``umount`` and loop devices (util-linux); the
sandbox refuses to run jobs where they are missing (``volume_support``).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_MKFS = "/usr/sbin/mkfs.ext4"
_MOUNT = "/usr/bin/mount"
_UMOUNT = "/usr/bin/umount"
_MIN_BYTES = 1024 * 1024  # ext4 needs some room for itself


@dataclass(frozen=True)
class VolumeSupport:
    available: bool
    reason: str


def _run(argv: list[str]) -> None:
    result = subprocess.run(  # noqa: S603 - fixed system tools, arguments built here
        argv, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise OSError(f"{Path(argv[0]).name} failed: {result.stderr.strip()[:300]}")


class OutputVolume:
    """The size-limited file system mounted on one job's output folder."""

    def __init__(self, output_dir: Path, *, max_bytes: int = _MIN_BYTES, uid: int = 0) -> None:
        self.output_dir = output_dir
        self.max_bytes = max(max_bytes, _MIN_BYTES)
        self.image = output_dir.parent / f".{output_dir.name}.ext4"
        self.owner = output_dir.parent / f".{output_dir.name}.owner"
        self.mounted = False
        self._uid = uid

    def open(self) -> None:
        """Make and mount the file system; the output folder is then empty and the job's."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.owner.write_text(_process_identity(os.getpid()) or str(os.getpid()))
        with self.image.open("wb") as image:
            image.truncate(self.max_bytes)
        try:
            _run(
                [
                    _MKFS, "-q", "-F", "-O", "^has_journal", "-m", "0",
                    "-E", f"lazy_itable_init=1,root_owner={self._uid}:{self._uid}",
                    str(self.image),
                ]
            )  # fmt: skip
            _run(
                [
                    _MOUNT, "-o", "loop,nosuid,nodev,noexec", "-t", "ext4",
                    str(self.image), str(self.output_dir),
                ]
            )  # fmt: skip
            self.mounted = True
            lost = self.output_dir / "lost+found"
            if lost.is_dir():
                lost.rmdir()
        except BaseException:
            self.close(keep=False)
            raise

    def close(self, *, keep: bool = True) -> None:
        """Copy what the job wrote to the real folder (``keep``), unmount, delete the image."""
        staged: Path | None = None
        try:
            if self.mounted and keep:
                staged = Path(tempfile.mkdtemp(prefix=".kept-", dir=self.output_dir.parent))
                _copy_plain(self.output_dir, staged)
            if self.mounted:
                _run([_UMOUNT, str(self.output_dir)])
                self.mounted = False
        finally:
            self.image.unlink(missing_ok=True)
            self.owner.unlink(missing_ok=True)
        if staged is not None:
            for entry in staged.iterdir():
                entry.rename(self.output_dir / entry.name)
            staged.rmdir()


def _process_identity(pid: int) -> str | None:
    """``pid:start time`` (a pid alone may be reused by another process); None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return f"{pid}:{stat[stat.rindex(')') + 2 :].split()[19]}"


def _owner_alive(owner: Path) -> bool:
    try:
        recorded = owner.read_text().strip()
    except OSError:
        return False
    pid, _, _ = recorded.partition(":")
    return pid.isdigit() and _process_identity(int(pid)) == recorded


def release_orphans() -> list[Path]:
    """Close the volumes left mounted by processes that died (what the job wrote is kept);
    the output folders released."""
    released = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 3 or not fields[0].startswith("/dev/loop") or fields[2] != "ext4":
            continue
        mountpoint = Path(fields[1].replace("\\040", " "))
        volume = OutputVolume(mountpoint)
        if not volume.image.exists() or _owner_alive(volume.owner):
            continue
        volume.mounted = True
        try:
            volume.close()
        except OSError:
            continue
        released.append(mountpoint)
    return released


def _copy_plain(source: Path, target: Path) -> None:
    """Regular files and folders, never following a link, owned by the hub."""
    with os.scandir(source) as entries:
        for entry in entries:
            destination = target / entry.name
            if entry.is_dir(follow_symlinks=False):
                destination.mkdir()
                _copy_plain(Path(entry.path), destination)
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, destination, follow_symlinks=False)


@functools.cache
def volume_support() -> VolumeSupport:
    """Can this machine give each job a size-limited output folder?"""
    for tool in (_MKFS, _MOUNT, _UMOUNT):
        if not Path(tool).exists():
            return VolumeSupport(False, f"{tool} is missing (install e2fsprogs and util-linux)")
    if os.geteuid() != 0:
        return VolumeSupport(False, "mounting each job's output volume needs root")
    with tempfile.TemporaryDirectory(prefix="bitgoeul-volume-") as scratch:
        volume = OutputVolume(Path(scratch) / "output", max_bytes=_MIN_BYTES * 4, uid=0)
        try:
            volume.open()
            (volume.output_dir / "probe").write_bytes(b"ok")
            volume.close()
        except OSError as error:
            return VolumeSupport(False, f"a size-limited output folder could not be made: {error}")
        if (volume.output_dir / "probe").read_bytes() != b"ok":
            return VolumeSupport(False, "a size-limited output folder lost what was written")
    return VolumeSupport(True, "a loop-mounted ext4 output volume per job")
