"""Safe unpacking of a researcher's code bundle, and the hash that names the code.

A job's code arrives as a ``.zip`` or ``.tar.gz`` archive written by someone we do not trust.
Before the sandbox (``sandbox.py``) mounts it read-only at ``/job/code``, this module unpacks it
with every classic archive attack refused: absolute paths, ``..`` traversal ("zip slip"),
links and device files, and bombs (too many members, too many bytes, whether declared or
actually decompressed).  Unpacking goes to a scratch directory beside ``dest`` and is renamed
into place only when complete, so a refused bundle leaves nothing behind.

The code hash covers sorted relative paths and file contents only, so the same code zipped or
tarred, on any day, hashes the same: release review and job history can say "this exact code".
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

__all__ = ["BundleInfo", "check_entrypoint", "code_hash", "unpack_bundle"]

MiB = 1024 * 1024
_CHUNK = 64 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class BundleInfo:
    """What was unpacked: regular files, their total size, and the code hash."""

    files: int
    bytes: int
    sha256: str


def unpack_bundle(
    archive: Path, dest: Path, *, max_files: int = 10_000, max_bytes: int = 200 * MiB
) -> BundleInfo:
    """Unpack ``archive`` (zip or tar.gz, recognised by content) into ``dest``.

    ``dest`` must not exist or be an empty directory.  Raises ``ValidationFailed`` naming the
    offending member; on any failure ``dest`` is left as it was.
    """
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValidationFailed(
            msg("Cannot unpack the bundle into {dest}: it is not an empty folder.", dest=dest)
        )
    kind = _archive_kind(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = dest.parent / f".{dest.name}.unpacking-{os.getpid()}-{os.urandom(4).hex()}"
    scratch.mkdir(mode=0o755)
    try:
        writer = _Writer(scratch, max_files=max_files, max_bytes=max_bytes)
        try:
            if kind == "zip":
                _unpack_zip(archive, writer)
            else:
                _unpack_tar(archive, writer)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise ValidationFailed(
                msg(
                    "The bundle {name} is corrupt or truncated ({problem}); create the archive "
                    "again and re-upload it.",
                    name=archive.name,
                    problem=str(exc),
                )
            ) from exc
        if dest.exists():
            dest.rmdir()
        scratch.rename(dest)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return BundleInfo(files=writer.files, bytes=writer.bytes, sha256=code_hash(dest))


def code_hash(directory: Path) -> str:
    """The hash of the code in ``directory``: sorted relative paths and contents, nothing else.

    Directories contribute only through the files inside them; a link is refused, as it would
    be in an archive.
    """
    digest = hashlib.sha256()
    for relative, path in sorted(_regular_files(directory)):
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256")
        encoded = relative.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big") + encoded + content.digest())
    return digest.hexdigest()


def check_entrypoint(root: Path, entrypoint: str) -> str:
    """Check that ``entrypoint`` names a ``.py`` file inside the bundle; return it normalised."""
    pure = PurePosixPath(entrypoint)
    if not entrypoint.strip():
        raise ValidationFailed(
            msg("The entry point is empty: name the Python file to run, e.g. main.py.")
        )
    if "\\" in entrypoint or pure.is_absolute():
        raise ValidationFailed(
            msg(
                "The entry point '{entrypoint}' must be a path relative to the bundle, like "
                "src/train.py.",
                entrypoint=entrypoint,
            )
        )
    if ".." in pure.parts:
        raise ValidationFailed(
            msg(
                "The entry point '{entrypoint}' must not contain '..': it has to stay inside "
                "the bundle.",
                entrypoint=entrypoint,
            )
        )
    if pure.suffix != ".py":
        raise ValidationFailed(
            msg(
                "The entry point '{entrypoint}' is not a Python file: it must end in .py.",
                entrypoint=entrypoint,
            )
        )
    path = root.joinpath(*pure.parts)
    if path.is_symlink() or not path.is_file():
        top = sorted(p.name for p in root.iterdir() if p.is_file())[:20]
        if not top:
            raise ValidationFailed(
                msg(
                    "'{entrypoint}' is not a file in the bundle, which has no top-level files; "
                    "zip the files themselves, not the folder around them.",
                    entrypoint=entrypoint,
                )
            )
        raise ValidationFailed(
            msg(
                "'{entrypoint}' is not a file in the bundle; the bundle's top-level files "
                "are: {files}.",
                entrypoint=entrypoint,
                files=", ".join(top),
            )
        )
    return pure.as_posix()


def _archive_kind(archive: Path) -> str:
    try:
        with archive.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise ValidationFailed(
            msg(
                "Cannot read the bundle {name} ({problem}); upload it again.",
                name=archive.name,
                problem=str(exc.strerror),
            )
        ) from exc
    if head in _ZIP_MAGIC:
        return "zip"
    if head.startswith(_GZIP_MAGIC):
        return "tar.gz"
    raise ValidationFailed(
        msg(
            "The bundle {name} is neither a .zip nor a .tar.gz archive; package the code folder "
            "with zip or tar -czf.",
            name=archive.name,
        )
    )


class _Writer:
    """Writes members under ``root`` while enforcing the limits on names, counts and bytes."""

    def __init__(self, root: Path, *, max_files: int, max_bytes: int) -> None:
        self.root = root
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.members = 0
        self.files = 0
        self.bytes = 0
        self.declared = 0
        self.seen: set[str] = set()

    def target(self, name: str) -> Path:
        """Validate a member name and count it; return where it goes."""
        self.members += 1
        if self.members > self.max_files:
            raise ValidationFailed(
                msg(
                    "The bundle holds more than {limit} files; leave data and environments "
                    "out of the code bundle.",
                    limit=self.max_files,
                )
            )
        if not name or "\x00" in name or "\\" in name:
            raise ValidationFailed(
                msg(
                    "The bundle member {name} has an invalid name; rename it and pack the "
                    "bundle again.",
                    name=repr(name),
                )
            )
        pure = PurePosixPath(name)
        if pure.is_absolute():
            raise ValidationFailed(
                msg(
                    "The bundle member '{name}' has an absolute path; pack the bundle from "
                    "inside the code folder.",
                    name=name,
                )
            )
        if ".." in pure.parts:
            raise ValidationFailed(
                msg(
                    "The bundle member '{name}' climbs out of the bundle with '..'; pack "
                    "only the code folder.",
                    name=name,
                )
            )
        relative = pure.as_posix()
        if relative in self.seen:
            raise ValidationFailed(
                msg(
                    "The bundle member '{name}' appears twice; pack the bundle again.",
                    name=name,
                )
            )
        self.seen.add(relative)
        return self.root.joinpath(*pure.parts)

    def directory(self, name: str) -> None:
        target = self.target(name)
        target.mkdir(mode=0o755, parents=True, exist_ok=True)

    def file(self, name: str, declared_size: int, source: IO[bytes], executable: bool) -> None:
        target = self.target(name)
        self.declared += declared_size
        if self.declared > self.max_bytes:
            raise ValidationFailed(self._too_big(name))
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                # Headers can lie; count what actually comes out of the decompressor.
                self.bytes += len(chunk)
                if self.bytes > self.max_bytes:
                    raise ValidationFailed(self._too_big(name))
                out.write(chunk)
        if executable:
            target.chmod(0o755)
        self.files += 1

    def _too_big(self, name: str) -> str:
        return msg(
            "The bundle unpacks to more than {limit} MiB (at member '{name}'); keep data out "
            "of the code bundle and read it from the job's input instead.",
            limit=self.max_bytes // MiB,
            name=name,
        )


def _unpack_zip(archive: Path, writer: _Writer) -> None:
    with zipfile.ZipFile(archive) as bundle:
        infos = bundle.infolist()
        if len(infos) > writer.max_files:
            raise ValidationFailed(
                msg(
                    "The bundle holds {files} files, more than the {limit} allowed; leave data "
                    "and environments out of the code bundle.",
                    files=len(infos),
                    limit=writer.max_files,
                )
            )
        declared = sum(info.file_size for info in infos)
        if declared > writer.max_bytes:
            raise ValidationFailed(
                msg(
                    "The bundle declares {size} MiB of files, more than the {limit} MiB "
                    "allowed; keep data out of the code bundle.",
                    size=declared // MiB,
                    limit=writer.max_bytes // MiB,
                )
            )
        for info in infos:
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if info.is_dir():
                writer.directory(info.filename)
            elif kind in (0, stat.S_IFREG):
                with bundle.open(info) as source:
                    writer.file(info.filename, info.file_size, source, bool(mode & 0o111))
            else:
                raise ValidationFailed(_not_regular(info.filename, _kind_name(kind)))


def _unpack_tar(archive: Path, writer: _Writer) -> None:
    # Stream mode reads the archive once, so a bomb is stopped as soon as a limit is crossed.
    with tarfile.open(archive, mode="r|gz") as bundle:
        for member in bundle:
            if member.isdir():
                writer.directory(member.name)
            elif member.isreg():
                source = bundle.extractfile(member)
                if source is None:  # pragma: no cover - isreg() members always have data
                    raise ValidationFailed(
                        msg("The bundle member '{name}' has no data.", name=member.name)
                    )
                with source:
                    writer.file(member.name, member.size, source, bool(member.mode & 0o111))
            else:
                raise ValidationFailed(_not_regular(member.name, _tar_kind_name(member)))


def _not_regular(name: str, kind: str) -> str:
    return msg(
        "The bundle member '{name}' is a {kind}; bundles may hold only regular files and folders.",
        name=name,
        kind=kind,
    )


def _kind_name(kind: int) -> str:
    names = {
        stat.S_IFLNK: msg("symbolic link"),
        stat.S_IFCHR: msg("character device"),
        stat.S_IFBLK: msg("block device"),
        stat.S_IFIFO: msg("FIFO"),
        stat.S_IFSOCK: msg("socket"),
    }
    return names.get(kind, msg("special file"))


def _tar_kind_name(member: tarfile.TarInfo) -> str:
    if member.issym():
        return msg("symbolic link")
    if member.islnk():
        return msg("hard link")
    if member.ischr() or member.isblk():
        return msg("device file")
    if member.isfifo():
        return msg("FIFO")
    return msg("special file")


def _regular_files(directory: Path) -> Iterator[tuple[str, Path]]:
    for folder, dirnames, filenames in os.walk(directory):
        base = Path(folder)
        for name in [*dirnames, *filenames]:
            path = base / name
            if path.is_symlink():
                relative = path.relative_to(directory).as_posix()
                raise ValidationFailed(
                    msg(
                        "The code folder holds a link, '{name}'; copy the file it points to "
                        "instead.",
                        name=relative,
                    )
                )
        for name in filenames:
            path = base / name
            if not stat.S_ISREG(path.lstat().st_mode):
                relative = path.relative_to(directory).as_posix()
                raise ValidationFailed(_not_regular(relative, msg("special file")))
            yield path.relative_to(directory).as_posix(), path
