"""Photos: the type comes from the content, the size is capped, and what a camera writes beside
the pixels (EXIF, XMP, comments, text chunks, bytes after the end) never reaches the store."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.civic.photo_files import GPS, JPEG, SERIAL, jpeg_with_exif, png

from bitgoeul.civic.photos import PNG_MEDIA_TYPE, clean_photo
from bitgoeul.errors import ValidationFailed

LIMIT = 1024 * 1024


def test_a_jpeg_loses_its_exif_xmp_comment_and_trailing_bytes() -> None:
    photo = clean_photo(jpeg_with_exif(), name="street.jpg", max_bytes=LIMIT)
    assert photo.media_type == "image/jpeg"
    assert (photo.width, photo.height) == (16, 16)
    assert GPS not in photo.data
    assert SERIAL not in photo.data
    assert b"Exif" not in photo.data
    assert photo.data.startswith(b"\xff\xd8")
    assert photo.data.endswith(b"\xff\xd9")
    assert {"APP1", "COM", "trailing data"} <= set(photo.removed)
    # The image itself is untouched: the original's scan data is all there.
    scan = JPEG.index(b"\xff\xda")
    assert JPEG[scan:] in photo.data


def test_a_png_keeps_only_the_chunks_that_draw_it() -> None:
    photo = clean_photo(png(metadata=True), name="drain.png", max_bytes=LIMIT)
    assert photo.media_type == PNG_MEDIA_TYPE
    assert (photo.width, photo.height) == (4, 3)
    assert GPS not in photo.data
    assert SERIAL not in photo.data
    assert set(photo.removed) == {"tEXt", "iTXt", "eXIf", "tIME"}
    assert photo.data == png()


def test_the_type_comes_from_the_content_not_the_name() -> None:
    with pytest.raises(ValidationFailed, match=r"'photo.jpg'.*not a JPEG or PNG"):
        clean_photo(b"<html><script>alert(1)</script></html>", name="photo.jpg", max_bytes=LIMIT)
    with pytest.raises(ValidationFailed, match="not a JPEG or PNG"):
        clean_photo(b"GIF89a" + b"\x00" * 20, name="cat.png", max_bytes=LIMIT)
    assert clean_photo(png(), name="actually-a-png.jpg", max_bytes=LIMIT).media_type == (
        PNG_MEDIA_TYPE
    )


def test_a_photo_over_the_cap_is_refused_with_both_sizes() -> None:
    with pytest.raises(ValidationFailed, match=r"it is 543 bytes; a photo may have at most 500"):
        clean_photo(JPEG, name="big.jpg", max_bytes=500)


def test_a_truncated_jpeg_is_refused_as_damaged() -> None:
    with pytest.raises(ValidationFailed, match="damaged or truncated"):
        clean_photo(JPEG[:300], name="cut.jpg", max_bytes=LIMIT)


def test_a_png_with_a_wrong_checksum_is_refused() -> None:
    data = bytearray(png())
    data[40] ^= 0xFF
    with pytest.raises(ValidationFailed, match="damaged or truncated"):
        clean_photo(bytes(data), name="bad.png", max_bytes=LIMIT)


def test_an_unknown_critical_png_chunk_is_refused() -> None:
    body = b"xx"
    odd = struct.pack(">I", 2) + b"ABCD" + body + struct.pack(">I", zlib.crc32(b"ABCD" + body))
    data = png()
    at = data.index(b"IDAT") - 4
    with pytest.raises(ValidationFailed, match="critical chunk 'ABCD'"):
        clean_photo(data[:at] + odd + data[at:], name="odd.png", max_bytes=LIMIT)


def test_a_huge_frame_is_refused_before_anyone_decodes_it() -> None:
    with pytest.raises(ValidationFailed, match="pixels"):
        clean_photo(png(width=50_000, height=1_000), name="bomb.png", max_bytes=LIMIT)


def _mutations() -> st.SearchStrategy[bytes]:
    sources = st.sampled_from([jpeg_with_exif(), png(metadata=True), JPEG, png()])

    def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
        out = bytearray(data[: max(2, cut)])
        for at, value in flips:
            out[at % len(out)] = value
        return bytes(out)

    return st.builds(
        mutate,
        sources,
        st.integers(0, 1200),
        st.lists(st.tuples(st.integers(0, 1200), st.integers(0, 255)), max_size=4),
    )


@settings(max_examples=1000)
@given(st.one_of(st.binary(max_size=600), _mutations()))
def test_any_bytes_are_refused_plainly_or_come_out_clean_and_stable(data: bytes) -> None:
    try:
        photo = clean_photo(data, name="any.jpg", max_bytes=LIMIT)
    except ValidationFailed as error:
        refusal = error.message
    else:
        refusal = ""
    if refusal:
        assert "any.jpg" in refusal
        return
    # What comes out is stable (nothing left to remove) and, unless the mutation turned the
    # metadata itself into image tables, free of it.
    again = clean_photo(photo.data, name="again", max_bytes=LIMIT)
    assert again.data == photo.data
    assert list(again.removed) == []
    if data in (jpeg_with_exif(), png(metadata=True)):
        assert GPS not in photo.data
