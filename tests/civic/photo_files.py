"""Photos for the tests: a real 16 × 16 JPEG (CPython's test image, ``data/python.jpg``) with a
camera's EXIF block put in, and PNGs made here, with text and eXIf chunks.  The GPS position
and the serial number are distinctive bytes, so a test can search any stored file for them."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

JPEG = (Path(__file__).parent / "data" / "python.jpg").read_bytes()
GPS = b"GPSLatitude 35.1595N GPSLongitude 126.8526E"
SERIAL = b"CameraSerial SN-7731-GWANGJU"


def _app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def jpeg_with_exif() -> bytes:
    """The JPEG with an EXIF APP1, an XMP APP1 and a comment after SOI, and bytes after EOI."""
    exif = _app1(b"Exif\x00\x00" + GPS + b"\x00" + SERIAL)
    xmp = _app1(b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + GPS + b"</x:xmpmeta>")
    comment = b"\xff\xfe" + struct.pack(">H", len(SERIAL) + 2) + SERIAL
    return JPEG[:2] + exif + xmp + comment + JPEG[2:] + b"hidden after the end " + GPS


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int = 4, height: int = 3, *, metadata: bool = False) -> bytes:
    """A grey ``width`` × ``height`` PNG; with ``metadata``, tEXt, iTXt, eXIf and tIME chunks."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    image = _chunk(b"IDAT", zlib.compress(rows))
    extra = b""
    if metadata:
        extra = (
            _chunk(b"tEXt", b"Comment\x00" + SERIAL)
            + _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + GPS)
            + _chunk(b"eXIf", b"MM\x00*" + GPS)
            + _chunk(b"tIME", b"\x07\xea\x0c\x05\x0d\x00\x00")
        )
    return b"\x89PNG\r\n\x1a\n" + header + extra + image + _chunk(b"IEND", b"")
