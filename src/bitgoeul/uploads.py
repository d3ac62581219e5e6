"""An uploaded file written to disk in chunks, refused as soon as it passes a size limit.

Shared by the synchronous routes and pages that take files (dataset uploads from pages, job
bundles, testbed predictions and models); the catalog's streaming API route has its own async
reader.  A refused upload raises ``TooLarge`` with the caller's message; the caller removes the
folder it wrote into.  ``target`` is the caller's own name for the file: what the file is comes
from the name it was uploaded under and its content (``ingest.pipeline``), never from ``target``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from bitgoeul.errors import TooLarge

CHUNK_BYTES = 1024 * 1024


def save_upload(upload: UploadFile, target: Path, *, limit: int, too_large: str) -> Path:
    """Write ``upload`` to ``target``; ``TooLarge(too_large)`` once it passes ``limit`` bytes."""
    written = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(CHUNK_BYTES):
            written += len(chunk)
            if written > limit:
                raise TooLarge(too_large)
            out.write(chunk)
    return target
