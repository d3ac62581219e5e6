"""XLSX workbooks for the tests of every door that takes uploads, made here with openpyxl.

The API, the upload page, the CLI and the SDK tests send these through their own doors;
nothing is downloaded.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import Workbook

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"
METER_ROWS: list[list[Any]] = [
    ["meter_id", "district", "kwh"],
    ["M-001", "북구", 12.5],
    ["M-002", "동구", 8],
    ["M-003", "광산구", 0.25],
]


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    """A one-sheet workbook holding ``rows``, the first of them the header."""
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()


def zip_bomb_xlsx(unpacked_mib: int = 32) -> bytes:
    """A valid workbook whose sheet unpacks to ``unpacked_mib`` MiB from a few dozen kB.

    The sheet's XML is followed by that many MiB of blanks (allowed after the root element), so
    only the size guard can be what refuses it: about 1000:1, past the 100:1 allowed above 10 MB.
    """
    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(METER_ROWS)))
    sink = io.BytesIO()
    with source, zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            if name != SHEET:
                archive.writestr(name, source.read(name))
                continue
            with archive.open(name, "w") as part:
                part.write(source.read(name))
                blanks = b" " * (1024 * 1024)
                for _ in range(unpacked_mib):
                    part.write(blanks)
    return sink.getvalue()
