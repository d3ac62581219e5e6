"""Fixtures for the ingest tests: a work directory and small files written in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bitgoeul.errors import ValidationFailed
from bitgoeul.ingest.pipeline import IngestResult, ingest_file


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def upload(tmp_path: Path, work_dir: Path) -> Callable[..., IngestResult]:
    """Write ``content`` as an upload named ``filename`` and ingest it.

    The file is saved without an ending, as every door saves uploads: only ``filename`` may
    say what format it is.
    """
    saved = 0

    def run(
        filename: str, content: str | bytes, *, encoding: str = "utf-8", **options: Any
    ) -> IngestResult:
        nonlocal saved
        saved += 1
        source = tmp_path / "uploads" / f"upload-{saved}"
        source.parent.mkdir(exist_ok=True)
        data = content.encode(encoding) if isinstance(content, str) else content
        source.write_bytes(data)
        return ingest_file(source, filename=filename, work_dir=work_dir, **options)

    return run


@pytest.fixture
def rejected(upload: Callable[..., IngestResult]) -> Callable[..., dict[str, Any]]:
    """Ingest an upload that must fail, and return its error report."""

    def run(filename: str, content: str | bytes, **options: Any) -> dict[str, Any]:
        with pytest.raises(ValidationFailed) as caught:
            upload(filename, content, **options)
        report = caught.value.detail
        assert isinstance(report, dict)
        assert report["valid"] is False
        return report

    return run
