"""Photos residents attach to a problem: the type read from the content, metadata removed.

A photo is shown to everyone, so what a camera writes beside the pixels must not go with it:
EXIF (GPS position, the camera's serial number, the time), XMP, IPTC, comments, embedded
thumbnails (which may show the picture before it was cropped) and anything after the image's
end.  ``clean_photo`` reads the bytes, never the file name or the declared type, and accepts
JPEG and PNG only:

* JPEG: every segment is walked, scans included; APP0–APP15 (JFIF, EXIF, XMP, ICC, Adobe,
  IPTC) and COM segments are dropped, everything after EOI is dropped; a file with any other
  marker than those that draw the image (reserved markers, extensions), or a table whose
  lengths do not add up, is refused.  Dropping APP2 (ICC) and APP14 (Adobe) may shift the
  colours of a photo taken in a wide gamut or CMYK; it is shown anyway.  A crafted file can
  still carry bytes inside a well-formed table (a quantisation table is 64 arbitrary bytes):
  only re-encoding the pixels would remove that, and the hub does not decode images.
* PNG: every chunk's CRC is checked; only the chunks that draw the image are kept (IHDR,
  PLTE, IDAT, IEND, tRNS, gAMA, cHRM, sRGB, sBIT, bKGD, pHYs); text (tEXt, zTXt, iTXt),
  eXIf, tIME, iCCP and unknown ancillary chunks are dropped; an unknown critical chunk is
  refused.

What it does not do: decode the pixels.  A file whose structure is right but whose compressed
data is damaged is kept and may show as a broken image; the picture itself (a face, a number
plate) is the resident's to choose, and the page says so when they upload.  Pure: bytes in,
bytes out.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

MAX_PIXELS = 40_000_000  # a 40-megapixel photo is plenty; more is a decompression bomb
JPEG_MEDIA_TYPE = "image/jpeg"
PNG_MEDIA_TYPE = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEPT = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD"}
    | {b"pHYs"}
)
# SOF markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_RST = frozenset(range(0xD0, 0xD8))
_APP = frozenset(range(0xE0, 0xF0))
_COM = 0xFE
_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
# What draws the image: frames, Huffman and arithmetic tables, quantisation tables, restart
# interval, number of lines, hierarchical progression, expansion, scans.  Any other marker
# (the reserved ones, JPEG extensions) is refused: nothing else may ride along.
_KEPT = _SOF | {0xC4, 0xCC, 0xDB, 0xDC, 0xDD, _SOS}


def _well_formed(marker: int, payload: bytes) -> bool:
    """Whether a kept segment's payload has exactly the shape its marker says (a table or a
    header whose lengths add up), so a segment cannot carry more than it declares."""
    n = len(payload)
    if marker in _SOF:
        return n >= 6 and n == 6 + 3 * payload[5]
    if marker == _SOS:
        return n >= 1 and n == 1 + 2 * payload[0] + 3
    if marker in (0xDD, 0xDC):  # DRI, DNL
        return n == 2
    if marker == 0xCC:  # DAC
        return n > 0 and n % 2 == 0
    if marker == 0xDB:  # DQT: (precision/id, 64 or 128 bytes)+
        at = 0
        while at < n:
            precision, table = payload[at] >> 4, payload[at] & 0x0F
            if precision > 1 or table > 3:
                return False
            at += 1 + 64 * (precision + 1)
        return n > 0 and at == n
    if marker == 0xC4:  # DHT: (class/id, 16 counts, the values)+
        at = 0
        while at < n:
            if at + 17 > n or payload[at] >> 4 > 1 or payload[at] & 0x0F > 3:
                return False
            at += 17 + sum(payload[at + 1 : at + 17])
        return n > 0 and at == n
    return False


@dataclass(frozen=True)
class Photo:
    media_type: str
    data: bytes  # what is stored and shown: the metadata removed
    width: int
    height: int
    removed: list[str] = field(default_factory=list)  # what was dropped, e.g. ["APP1", "COM"]

    @property
    def extension(self) -> str:
        return "jpg" if self.media_type == JPEG_MEDIA_TYPE else "png"


def _refuse(name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        msg(
            "Photo '{name}': {reason} Attach a JPEG or PNG photo as your camera or phone saved it.",
            name=name,
            reason=reason,
        )
    )


def clean_photo(data: bytes, *, name: str, max_bytes: int) -> Photo:
    """``data`` checked and stripped of metadata; ``ValidationFailed`` naming ``name`` and
    the reason when it is too large, not a JPEG or PNG, or malformed."""
    if len(data) > max_bytes:
        raise _refuse(
            name,
            msg(
                "it is {size} bytes; a photo may have at most {limit}.",
                size=len(data),
                limit=max_bytes,
            ),
        )
    if data.startswith(b"\xff\xd8\xff"):
        photo = _clean_jpeg(data, name)
    elif data.startswith(PNG_SIGNATURE):
        photo = _clean_png(data, name)
    else:
        raise _refuse(name, msg("its content is not a JPEG or PNG image (whatever its name)."))
    if photo.width * photo.height > MAX_PIXELS:
        raise _refuse(
            name,
            msg(
                "it is {width} × {height} pixels; at most {limit} pixels are accepted.",
                width=photo.width,
                height=photo.height,
                limit=MAX_PIXELS,
            ),
        )
    return photo


def _malformed(name: str, where: str) -> ValidationFailed:
    return _refuse(name, msg("the file is damaged or truncated ({where}).", where=where))


def _clean_jpeg(data: bytes, name: str) -> Photo:
    out = bytearray(b"\xff\xd8")
    removed: list[str] = []
    size: tuple[int, int] | None = None
    in_scan = False
    i = 2
    n = len(data)
    while True:
        if in_scan:
            # Entropy-coded data: 0xFF is followed by 0x00 (a stuffed byte), a restart marker,
            # fill bytes, or the next marker.
            start = i
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    raise _malformed(name, msg("no end of image"))
                following = data[j + 1]
                if following == 0x00 or following in _RST:
                    i = j + 2
                    continue
                if following == 0xFF:
                    i = j + 1
                    continue
                break
            out += data[start:j]
            i = j
            in_scan = False
        if i + 1 >= n or data[i] != 0xFF:
            raise _malformed(name, msg("a segment at byte {at}", at=i))
        while i < n and data[i] == 0xFF:
            i += 1  # fill bytes before a marker
        if i >= n:
            raise _malformed(name, msg("no end of image"))
        marker = data[i]
        i += 1
        if marker == _EOI:
            if size is None:
                raise _malformed(name, msg("no image frame"))
            out += b"\xff\xd9"
            if i < n:
                removed.append("trailing data")
            return Photo(JPEG_MEDIA_TYPE, bytes(out), size[0], size[1], removed)
        if marker in _RST or marker in (0x01, _SOI, 0x00):
            raise _malformed(name, msg("an unexpected marker at byte {at}", at=i - 2))
        if i + 2 > n:
            raise _malformed(name, msg("a segment at byte {at}", at=i - 2))
        (length,) = struct.unpack(">H", data[i : i + 2])
        if length < 2 or i + length > n:
            raise _malformed(name, msg("a segment at byte {at}", at=i - 2))
        segment = data[i - 2 : i + length]
        payload = data[i + 2 : i + length]
        i += length
        if marker in _APP or marker == _COM:
            removed.append("COM" if marker == _COM else f"APP{marker - 0xE0}")
            continue
        if marker not in _KEPT or not _well_formed(marker, payload):
            raise _malformed(name, msg("an unexpected marker at byte {at}", at=i - length - 2))
        if marker in _SOF:
            height, width = struct.unpack(">HH", payload[1:5])
            if width == 0 or height == 0:
                raise _malformed(name, msg("the image frame"))
            size = (width, height)
        if marker == _SOS:
            if size is None:
                raise _malformed(name, msg("no image frame"))
            in_scan = True
        out += segment


def _clean_png(data: bytes, name: str) -> Photo:
    out = bytearray(PNG_SIGNATURE)
    removed: list[str] = []
    size: tuple[int, int] | None = None
    images = 0
    i = len(PNG_SIGNATURE)
    n = len(data)
    while True:
        if i + 8 > n:
            raise _malformed(name, msg("no IEND chunk"))
        length, kind = struct.unpack(">I4s", data[i : i + 8])
        end = i + 12 + length
        if length > 2**31 - 1 or end > n:
            raise _malformed(name, msg("a chunk at byte {at}", at=i))
        body = data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : end])
        if not kind.isalpha() or zlib.crc32(kind + body) != crc:
            raise _malformed(name, msg("a chunk at byte {at}", at=i))
        chunk = data[i:end]
        i = end
        if size is None:
            if kind != b"IHDR" or length != 13:
                raise _malformed(name, msg("the header chunk"))
            width, height = struct.unpack(">II", body[:8])
            if width == 0 or height == 0:
                raise _malformed(name, msg("the header chunk"))
            size = (width, height)
        elif kind == b"IHDR":
            raise _malformed(name, msg("a second header chunk"))
        if kind == b"IDAT":
            images += 1
        if kind in PNG_KEPT:
            out += chunk
        elif kind[0:1].isupper():
            raise _refuse(
                name,
                msg(
                    "it has a critical chunk '{chunk}' this hub does not know.",
                    chunk=kind.decode("ascii"),
                ),
            )
        else:
            removed.append(kind.decode("ascii"))
        if kind == b"IEND":
            if images == 0:
                raise _malformed(name, msg("no image data"))
            if i < n:
                removed.append("trailing data")
            return Photo(PNG_MEDIA_TYPE, bytes(out), size[0], size[1], removed)
