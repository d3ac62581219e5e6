"""Packing a job's code for ``POST /api/v1/jobs``: a folder becomes a ``.zip``.

Shared by the SDK (``Client.submit_job``) and the ``bitgoeul job submit`` command, which both
accept either a folder or an archive the researcher made.  The hub unpacks and checks the
bundle itself (``compute.bundle``); packing only leaves out what never belongs in one (Python
caches, version-control folders) and refuses links, which the hub would refuse anyway, with a
message that names the file.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz")
SKIPPED_FOLDERS = frozenset({"__pycache__", ".git", ".hg", ".svn"})


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def bundle_for(source: Path, folder: Path) -> Path:
    """The archive to upload: ``source`` itself when it is one, else ``source`` zipped into
    ``folder``.  Raises ``ValueError`` saying what is wrong with ``source``."""
    if source.is_dir():
        return pack_directory(source, folder / "bundle.zip")
    if source.is_file() and is_archive(source):
        return source
    if source.is_file():
        raise ValueError(
            f"{source} is neither a folder nor a .zip or .tar.gz archive; give the folder "
            "holding the job's code."
        )
    raise ValueError(f"There is no folder or archive {source}.")


def pack_directory(directory: Path, target: Path) -> Path:
    """Zip every file under ``directory`` (paths relative to it) into ``target``."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for root, folders, files in os.walk(directory):
            here = Path(root)
            for name in sorted(folders):
                if (here / name).is_symlink():
                    raise ValueError(_link_message(here / name, directory))
            folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
            for name in sorted(files):
                path = here / name
                if path.is_symlink():
                    raise ValueError(_link_message(path, directory))
                if path.suffix == ".pyc" or not path.is_file():
                    continue
                archive.write(path, path.relative_to(directory).as_posix())
    return target


def _link_message(path: Path, directory: Path) -> str:
    return (
        f"{path.relative_to(directory).as_posix()} in {directory} is a symbolic link; a job "
        "bundle holds only regular files: copy the file in, or move the link out of the folder."
    )
