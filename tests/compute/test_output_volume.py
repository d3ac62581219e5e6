"""A job's output folder is a file system of a fixed size; a volume whose owner died is
released with what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from bitgoeul.compute.output_volume import OutputVolume, release_orphans, volume_support

pytestmark = pytest.mark.skipif(
    not volume_support().available, reason=f"no output volumes here: {volume_support().reason}"
)

MiB = 1024 * 1024


def test_the_folder_holds_at_most_its_size_and_keeps_what_was_written(tmp_path: Path) -> None:
    volume = OutputVolume(tmp_path / "output", max_bytes=4 * MiB, uid=0)
    volume.open()
    (volume.output_dir / "small.txt").write_text("kept")
    with (
        (volume.output_dir / "big.bin").open("wb") as big,
        pytest.raises(OSError, match="No space left"),
    ):
        _fill(big)
    volume.close()
    assert (tmp_path / "output" / "small.txt").read_text() == "kept"
    assert (tmp_path / "output" / "big.bin").stat().st_size < 4 * MiB
    assert not volume.image.exists()
    assert str(tmp_path) not in Path("/proc/self/mounts").read_text()


def _fill(stream: BinaryIO) -> None:
    for _ in range(16):
        stream.write(b"x" * MiB)
        stream.flush()


def test_a_volume_whose_owner_died_is_released_with_its_files(tmp_path: Path) -> None:
    volume = OutputVolume(tmp_path / "output", max_bytes=4 * MiB, uid=0)
    volume.open()
    (volume.output_dir / "partial.csv").write_text("a,b\n1,2\n")
    volume.owner.write_text("999999999:gone")  # as if the worker running it had been killed
    released = release_orphans()
    assert tmp_path / "output" in released
    assert (tmp_path / "output" / "partial.csv").read_text() == "a,b\n1,2\n"
    assert str(tmp_path) not in Path("/proc/self/mounts").read_text()


def test_a_volume_whose_owner_lives_is_left_alone(tmp_path: Path) -> None:
    volume = OutputVolume(tmp_path / "output", max_bytes=4 * MiB, uid=0)
    volume.open()
    try:
        assert tmp_path / "output" not in release_orphans()
        assert str(tmp_path / "output") in Path("/proc/self/mounts").read_text()
    finally:
        volume.close()
