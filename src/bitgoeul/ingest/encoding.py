"""Which text encoding an upload uses: UTF-8 (with or without BOM) or CP949/EUC-KR.

Korean public data is often CP949 (a superset of EUC-KR).  We decide from the first megabyte
and the readers then transcode as they stream; a bad byte later in the file is reported by the
reader with its position.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from bitgoeul.ingest.report import file_error
from bitgoeul.messages import msg

SAMPLE_BYTES = 1024 * 1024
UTF8_BOM = codecs.BOM_UTF8


def _decodes(sample: bytes, encoding: str, *, final: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(sample, final=final)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, *, filename: str) -> str:
    """``"utf-8"``, ``"utf-8-sig"`` (BOM), ``"euc-kr"`` or ``"cp949"``; else ValidationFailed."""
    with path.open("rb") as stream:
        sample = stream.read(SAMPLE_BYTES)
        final = len(sample) < SAMPLE_BYTES
    if sample.startswith(UTF8_BOM):
        if _decodes(sample[len(UTF8_BOM) :], "utf-8", final=final):
            return "utf-8-sig"
    elif _decodes(sample, "utf-8", final=final):
        return "utf-8"
    # A sample cut in the middle of a two-byte character is not an error, hence ``final``.
    if _decodes(sample, "euc-kr", final=final):
        return "euc-kr"
    if _decodes(sample, "cp949", final=final):
        return "cp949"
    bad = _first_bad_byte(sample)
    raise file_error(
        filename,
        rule="encoding",
        message=msg(
            "The file is neither UTF-8 nor CP949/EUC-KR (first undecodable byte at offset "
            "{offset}). Save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again.",
            offset=bad,
        ),
    )


def _first_bad_byte(sample: bytes) -> int:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start
    return 0
