"""Code bundles unpack safely, or not at all, and hash the same whatever the archive."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from bitgoeul.compute.bundle import check_entrypoint, code_hash, unpack_bundle
from bitgoeul.errors import ValidationFailed

FILES = {"main.py": b"print('hi')\n", "lib/model.py": b"WEIGHTS = 1\n", "README": b"doc\n"}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    return path


def _tar(path: Path, files: dict[str, bytes], *, mtime: int = 0) -> Path:
    with tarfile.open(path, "w:gz") as bundle:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = mtime
            bundle.addfile(info, io.BytesIO(data))
    return path


def _refused(archive: Path, dest: Path, match: str, **limits: int) -> None:
    with pytest.raises(ValidationFailed, match=match):
        unpack_bundle(archive, dest, **limits)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []


def test_zip_and_tar_of_the_same_code_hash_the_same(tmp_path: Path) -> None:
    from_zip = unpack_bundle(_zip(tmp_path / "a.zip", FILES), tmp_path / "z")
    from_tar = unpack_bundle(_tar(tmp_path / "a.tgz", FILES, mtime=1_700_000_000), tmp_path / "t")
    assert from_zip == from_tar
    assert from_zip.files == 3
    assert from_zip.bytes == sum(len(data) for data in FILES.values())
    assert (tmp_path / "z" / "lib" / "model.py").read_bytes() == b"WEIGHTS = 1\n"


def test_directory_hash_equals_the_bundle_hash(tmp_path: Path) -> None:
    info = unpack_bundle(_zip(tmp_path / "a.zip", FILES), tmp_path / "z")
    folder = tmp_path / "folder"
    for name, data in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert code_hash(folder) == info.sha256
    (folder / "main.py").write_bytes(b"print('changed')\n")
    assert code_hash(folder) != info.sha256


def test_zip_slip_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "slip.zip", {"ok.py": b"", "../../evil.py": b"x"})
    _refused(archive, tmp_path / "out", r"'\.\./\.\./evil\.py'.*'\.\.'")
    assert not (tmp_path.parent / "evil.py").exists()


def test_absolute_paths_are_refused(tmp_path: Path) -> None:
    _refused(_tar(tmp_path / "abs.tgz", {"/etc/cron.d/x": b"x"}), tmp_path / "out", "absolute")


def test_tar_with_a_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.tgz"
    with tarfile.open(archive, "w:gz") as bundle:
        link = tarfile.TarInfo("secrets")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc"
        bundle.addfile(link)
    _refused(archive, tmp_path / "out", r"'secrets' is a symbolic link")


def test_tar_with_a_hardlink_or_device_is_refused(tmp_path: Path) -> None:
    for kind, name in [(tarfile.LNKTYPE, "hard link"), (tarfile.CHRTYPE, "device file")]:
        archive = tmp_path / f"{kind!r}.tgz"
        with tarfile.open(archive, "w:gz") as bundle:
            member = tarfile.TarInfo("thing")
            member.type = kind
            member.linkname = "main.py"
            bundle.addfile(member)
        _refused(archive, tmp_path / "out", name)


def test_zip_with_a_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        info = zipfile.ZipInfo("secrets")
        info.external_attr = 0o120777 << 16
        bundle.writestr(info, "/etc")
    _refused(archive, tmp_path / "out", "symbolic link")


def test_zip_bomb_is_refused_by_declared_size(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(8 * 1024 * 1024)})
    assert archive.stat().st_size < 100_000
    _refused(archive, tmp_path / "out", "1 MiB", max_bytes=1024 * 1024)


def test_tar_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "bomb.tgz", {f"z{i}.bin": bytes(512 * 1024) for i in range(4)})
    _refused(archive, tmp_path / "out", "'z2.bin'", max_bytes=1024 * 1024)


def test_zip_whose_header_understates_its_size_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "liar.zip", {"a.bin": bytes(100_000)})
    raw = bytearray(archive.read_bytes())
    # Rewrite the uncompressed size (local header offset 22, central directory offset 24).
    raw[22:26] = (10).to_bytes(4, "little")
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 24 : central + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    _refused(archive, tmp_path / "out", "corrupt|more than", max_bytes=50_000)


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    files = {f"f{i}.py": b"" for i in range(11)}
    _refused(_zip(tmp_path / "many.zip", files), tmp_path / "z", "more than the 10", max_files=10)
    _refused(_tar(tmp_path / "many.tgz", files), tmp_path / "t", "more than 10", max_files=10)


def test_corrupt_and_unknown_archives_are_refused(tmp_path: Path) -> None:
    good = _tar(tmp_path / "good.tgz", FILES).read_bytes()
    (tmp_path / "cut.tgz").write_bytes(good[: len(good) // 2])
    _refused(tmp_path / "cut.tgz", tmp_path / "a", "corrupt")
    (tmp_path / "junk.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    _refused(tmp_path / "junk.zip", tmp_path / "b", "corrupt")
    (tmp_path / "code.rar").write_bytes(b"Rar!\x1a\x07\x00")
    _refused(tmp_path / "code.rar", tmp_path / "c", "neither a .zip nor a .tar.gz")


def test_entrypoint_must_be_a_python_file_inside_the_bundle(tmp_path: Path) -> None:
    unpack_bundle(_zip(tmp_path / "a.zip", FILES), tmp_path / "code")
    assert check_entrypoint(tmp_path / "code", "./lib/model.py") == "lib/model.py"
    for bad, match in [
        ("", "empty"),
        ("/etc/passwd.py", "relative"),
        ("../x.py", r"'\.\.'"),
        ("README", r"\.py"),
        ("missing.py", "top-level files are: README, main.py"),
    ]:
        with pytest.raises(ValidationFailed, match=match):
            check_entrypoint(tmp_path / "code", bad)
