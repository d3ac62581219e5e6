"""Readers: each turns one upload format into a stream of Arrow batches with row numbers.

Text formats (CSV/TSV, JSON Lines, XLSX) yield string columns, so that type inference and
validation are the same for all of them; Parquet keeps its own types.  Row numbers are the ones
a person sees: CSV counts the header as row 1, JSON Lines counts lines, XLSX uses sheet rows.
Every reader holds at most a few batches in memory, whatever the file size.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import threading
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bitgoeul.errors import ValidationFailed
from bitgoeul.ingest.encoding import SAMPLE_BYTES, detect_encoding
from bitgoeul.ingest.report import ErrorReport, file_error
from bitgoeul.ingest.table_schema import FALSE_VALUES, TRUE_VALUES
from bitgoeul.messages import msg
from bitgoeul.storage.integrity import file_sha256

CSV_BLOCK_BYTES = 8 * 1024 * 1024
READ_AHEAD_BLOCKS = 8
READ_AHEAD_WAIT_S = 30.0
JSONL_BATCH_ROWS = 20_000
XLSX_BATCH_ROWS = 20_000
PARQUET_BATCH_ROWS = 128 * 1024
XLSX_MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR_BYTES = 10 * 1024 * 1024
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELLS = 50_000_000
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class RawBatch:
    """Cells of some rows, and where those rows are in the source."""

    batch: pa.RecordBatch
    first_row: int
    row_numbers: list[int] | None = None

    def row(self, index: int) -> int:
        if self.row_numbers is not None:
            return self.row_numbers[index]
        return self.first_row + index


class HashingReader(io.RawIOBase):
    """A binary file that hashes and counts the bytes as they are read (one pass, no re-read).

    Arrow's CSV reader reads dozens of blocks ahead of its consumer, which on a large file costs
    as much memory as those blocks.  Given ``block_bytes``, reading waits while more than
    ``READ_AHEAD_BLOCKS`` blocks are ahead of what the pipeline has taken (:meth:`took_block`).
    The wait has a time limit, so a wrong estimate can only cost memory, never hang.
    """

    def __init__(self, path: Path, *, block_bytes: int | None = None) -> None:
        self._file = path.open("rb")
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self._block_bytes = block_bytes
        self._blocks_taken = 0
        self._caught_up = threading.Condition()

    def readable(self) -> bool:
        return True

    def took_block(self) -> None:
        with self._caught_up:
            self._blocks_taken += 1
            self._caught_up.notify_all()

    def _ahead(self) -> bool:
        if self._block_bytes is None or self.closed:
            return False
        allowed = (self._blocks_taken + READ_AHEAD_BLOCKS) * self._block_bytes
        return self.bytes_read > allowed

    def readinto(self, buffer: Any) -> int:
        if self._block_bytes is not None:
            with self._caught_up:
                self._caught_up.wait_for(lambda: not self._ahead(), timeout=READ_AHEAD_WAIT_S)
        count = self._file.readinto(buffer)
        if count:
            self.sha256.update(memoryview(buffer)[:count])
            self.bytes_read += count
        return count or 0

    def finish(self) -> str:
        """Hash the rest (readers may stop early at a footer) and return the hex digest."""
        while chunk := self._file.read(1024 * 1024):
            self.sha256.update(chunk)
            self.bytes_read += len(chunk)
        return self.sha256.hexdigest()

    def close(self) -> None:
        self._file.close()
        super().close()
        with self._caught_up:
            self._caught_up.notify_all()  # a reader thread waiting to read ahead gives up


def sniff_format(path: Path) -> str | None:
    """What a file's bytes say it is, whatever it is called.

    ``"zip"`` (a zip archive, as every .xlsx workbook is), ``"parquet"`` (the 'PAR1' marker at
    both ends), ``"ole2"`` (an old-style .xls workbook, or a password-protected .xlsx one), or
    None: text, or something the readers will judge for themselves.
    """
    with path.open("rb") as stream:
        head = stream.read(len(OLE2_MAGIC))
        if head.startswith(ZIP_MAGIC):
            return "zip"
        if head == OLE2_MAGIC:
            return "ole2"
        if head.startswith(PARQUET_MAGIC) and path.stat().st_size >= 12:
            stream.seek(-len(PARQUET_MAGIC), io.SEEK_END)
            if stream.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC:
                return "parquet"
    return None


class SourceReader:
    """What every format's reader offers the pipeline."""

    format: str
    encoding: str | None = None
    columns: list[str]
    typed = False

    def __init__(self, path: Path, *, filename: str, report: ErrorReport) -> None:
        self.path = path
        self.filename = filename
        self.report = report
        self.bytes_total = path.stat().st_size
        self.columns = []

    def batches(self) -> Iterator[RawBatch]:
        raise NotImplementedError

    @property
    def bytes_done(self) -> int:
        return self.bytes_total

    def source_sha256(self) -> str:
        return file_sha256(self.path)

    def close(self) -> None:
        """Release the file; called whether the ingest succeeded or not."""


def check_header(names: list[str], report: ErrorReport, *, row: int = 1) -> None:
    """Blank and duplicate column names are errors: a column must be addressable by name."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name.strip():
            report.add(
                rule="blank-header",
                row=row,
                column=position,
                field=name,
                value=name,
                message=msg(
                    "Column {position} has no name in the header row. Give it one.",
                    position=position,
                ),
            )
        elif name in seen:
            report.add(
                rule="duplicate-header",
                row=row,
                column=position,
                field=name,
                value=name,
                message=msg(
                    "Column {position} is named '{name}', like column {other}. "
                    "Column names must be unique.",
                    position=position,
                    name=name,
                    other=seen[name],
                ),
            )
        else:
            seen[name] = position


# -- CSV / TSV ----------------------------------------------------------------------------------


class CsvReader(SourceReader):
    def __init__(
        self,
        path: Path,
        *,
        filename: str,
        report: ErrorReport,
        delimiter: str | None,
        source_format: str,
    ) -> None:
        super().__init__(path, filename=filename, report=report)
        self.format = source_format
        self.encoding = detect_encoding(path, filename=filename)
        with path.open("rb") as stream:
            sample = stream.read(SAMPLE_BYTES)
        text = sample.decode(self.encoding, errors="ignore").lstrip("\ufeff")
        if not text.strip():
            raise file_error(
                filename,
                rule="empty-file",
                message=msg("The file has no header row. The first row must name the columns."),
            )
        self.delimiter = delimiter or _sniff_delimiter(text)
        self.columns = next(csv.reader(io.StringIO(text), delimiter=self.delimiter))
        check_header(self.columns, report)
        self.ragged = 0
        self._stream: HashingReader | None = None
        self._sample_text = text
        self.column_types: dict[str, pa.DataType] = {}

    def sample(self) -> RawBatch:
        """The rows in the first megabyte, as text: what types are inferred from."""
        text = self._sample_text
        if len(text.encode("utf-8")) >= SAMPLE_BYTES // 2 and "\n" in text:
            text = text[: text.rindex("\n") + 1]  # the last line may be cut off
        table = pa_csv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(column_names=self.columns, skip_rows=1),
            parse_options=pa_csv.ParseOptions(
                delimiter=self.delimiter, ignore_empty_lines=False, invalid_row_handler=_skip
            ),
            convert_options=self._convert_options({}),
        )
        batch = pa.RecordBatch.from_arrays(
            [column.combine_chunks() for column in table.columns], names=self.columns
        )
        return RawBatch(batch, first_row=2)

    def _convert_options(self, column_types: dict[str, pa.DataType]) -> Any:
        return pa_csv.ConvertOptions(
            column_types={name: column_types.get(name, pa.string()) for name in self.columns},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
            true_values=TRUE_VALUES,
            false_values=FALSE_VALUES,
        )

    @property
    def bytes_done(self) -> int:
        return self._stream.bytes_read if self._stream is not None else 0

    def source_sha256(self) -> str:
        if self._stream is None:
            return file_sha256(self.path)
        return self._stream.finish()

    def _open(
        self,
        source: Any,
        *,
        use_threads: bool,
        handler: Callable[[Any], str],
        typed: bool = True,
    ) -> Any:
        return pa_csv.open_csv(
            source,
            read_options=pa_csv.ReadOptions(
                use_threads=use_threads,
                block_size=CSV_BLOCK_BYTES,
                column_names=self.columns,
                skip_rows=1,
                encoding="utf8" if self.encoding in {"utf-8", "utf-8-sig"} else self.encoding,
            ),
            # A blank line is a row of empty cells, so row numbers stay the ones people see.
            parse_options=pa_csv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=self._convert_options(self.column_types if typed else {}),
        )

    def _count_ragged(self, row: Any) -> str:
        self.ragged += 1
        return "skip"

    def batches(self) -> Iterator[RawBatch]:
        self._stream = HashingReader(self.path, block_bytes=CSV_BLOCK_BYTES)
        next_row = 2
        try:
            reader = self._open(self._stream, use_threads=True, handler=self._count_ragged)
            for batch in reader:
                if self.ragged:
                    break
                self._stream.took_block()
                yield RawBatch(batch, first_row=next_row)
                next_row += batch.num_rows
        except StopIteration:
            return
        except (pa.ArrowInvalid, UnicodeDecodeError) as error:
            self._fail_parse(error, next_row)
        if self.ragged:
            self._report_ragged_rows()

    def _fail_parse(self, error: Exception, next_row: int) -> None:
        message = str(error)
        if self.column_types and "conversion error" in message:
            raise TypedParseFailed(message)
        if isinstance(error, UnicodeDecodeError) or "UTF8" in message or "UTF-8" in message:
            raise file_error(
                self.filename,
                rule="encoding",
                message=msg(
                    "Bytes that are not valid {encoding} appear at or after row {row}. Save the "
                    "whole file in one encoding (UTF-8 is best).",
                    encoding=self.encoding,
                    row=next_row,
                ),
            )
        if "Empty CSV file" in message:
            return
        raise file_error(
            self.filename,
            rule="parse",
            message=msg(
                "The file could not be read as {format} near row {row}: {problem}",
                format=self.format.upper(),
                row=next_row,
                problem=message.splitlines()[0],
            ),
        )

    def _report_ragged_rows(self) -> None:
        """Rows with too few or too many cells, found again in order so row numbers are exact."""

        def record(row: Any) -> str:
            self.report.add(
                rule="ragged-row",
                row=row.number,
                value=row.text,
                message=msg(
                    "Row {row} has {actual} cells; the header has {expected}. Check for a "
                    "missing or extra '{delimiter}' or an unclosed quote.",
                    row=row.number,
                    actual=row.actual_columns,
                    expected=row.expected_columns,
                    delimiter=_shown(self.delimiter),
                ),
            )
            return "skip"

        with self.path.open("rb") as stream:
            for _batch in self._open(stream, use_threads=False, handler=record, typed=False):
                pass

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def _skip(row: Any) -> str:
    return "skip"


class TypedParseFailed(Exception):
    """Arrow could not convert a CSV cell to the column's type: read again as text to find it."""


def _shown(delimiter: str) -> str:
    return {"\t": "\\t"}.get(delimiter, delimiter)


def _sniff_delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in ",\t;|"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


# -- JSON Lines ---------------------------------------------------------------------------------


def _json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class JsonLinesReader(SourceReader):
    format = "jsonl"

    def __init__(self, path: Path, *, filename: str, report: ErrorReport) -> None:
        super().__init__(path, filename=filename, report=report)
        self.encoding = detect_encoding(path, filename=filename)
        self._stream: HashingReader | None = None
        self._known: set[str] = set()
        self._lines = self._records()
        self._first = self._collect(limit=JSONL_BATCH_ROWS, learn=True)
        if not self.columns:
            raise file_error(
                filename,
                rule="empty-file",
                message=msg("The file holds no JSON objects. Put one object per line."),
            )

    @property
    def bytes_done(self) -> int:
        return self._stream.bytes_read if self._stream is not None else 0

    def source_sha256(self) -> str:
        return self._stream.finish() if self._stream is not None else file_sha256(self.path)

    def _records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        self._stream = HashingReader(self.path)
        # Kept on the reader: a wrapper that is garbage-collected closes the file under it.
        self._text = text = io.TextIOWrapper(
            io.BufferedReader(self._stream, buffer_size=1024 * 1024),
            encoding=self.encoding,
            newline="\n",
        )
        number = 0
        try:
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    self.report.add(
                        rule="json",
                        row=number,
                        column=error.colno,
                        message=msg(
                            "Line {line} is not valid JSON: {problem} (character {character}).",
                            line=number,
                            problem=error.msg,
                            character=error.colno,
                        ),
                    )
                    continue
                if not isinstance(record, dict):
                    self.report.add(
                        rule="json",
                        row=number,
                        message=msg(
                            "Line {line} is a JSON {kind}, not an object.",
                            line=number,
                            kind=type(record).__name__,
                        ),
                    )
                    continue
                yield number, record
        except UnicodeDecodeError:
            raise file_error(
                self.filename,
                rule="encoding",
                message=msg(
                    "Bytes that are not valid {encoding} appear after line {line}. Save the "
                    "whole file in one encoding (UTF-8 is best).",
                    encoding=self.encoding,
                    line=number,
                ),
            ) from None

    def _collect(self, *, limit: int, learn: bool) -> list[tuple[int, dict[str, Any]]]:
        records: list[tuple[int, dict[str, Any]]] = []
        for number, record in self._lines:
            records.append((number, record))
            if learn:
                for key in record:
                    if key not in self._known:
                        self._known.add(key)
                        self.columns.append(key)
            if len(records) >= limit:
                break
        return records

    def batches(self) -> Iterator[RawBatch]:
        records = self._first
        while records:
            yield self._batch(records)
            records = self._collect(limit=JSONL_BATCH_ROWS, learn=False)

    def _batch(self, records: list[tuple[int, dict[str, Any]]]) -> RawBatch:
        columns: dict[str, list[str | None]] = {name: [] for name in self.columns}
        for number, record in records:
            for key in record.keys() - self._known:
                self.report.add(
                    rule="extra-field",
                    row=number,
                    field=key,
                    message=msg(
                        "Line {line} has a key '{key}' that the first {lines} lines do not have.",
                        line=number,
                        key=key,
                        lines=JSONL_BATCH_ROWS,
                    ),
                )
            for name, cells in columns.items():
                cells.append(_json_text(record.get(name)))
        batch = pa.RecordBatch.from_pydict(
            {name: pa.array(cells, type=pa.string()) for name, cells in columns.items()}
        )
        return RawBatch(batch, first_row=records[0][0], row_numbers=[n for n, _ in records])

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


# -- Parquet ------------------------------------------------------------------------------------


class ParquetReader(SourceReader):
    format = "parquet"
    typed = True

    def __init__(self, path: Path, *, filename: str, report: ErrorReport) -> None:
        super().__init__(path, filename=filename, report=report)
        with path.open("rb") as stream:
            head = stream.read(4)
            stream.seek(max(self.bytes_total - 4, 0))
            tail = stream.read(4)
        if head != PARQUET_MAGIC or tail != PARQUET_MAGIC or self.bytes_total < 12:
            raise file_error(
                filename,
                rule="not-parquet",
                message=msg(
                    "The file does not start and end with the Parquet marker 'PAR1', so it is "
                    "not a Parquet file. Export it again, or upload it with its real extension."
                ),
            )
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise file_error(
                filename,
                rule="not-parquet",
                message=msg(
                    "The Parquet footer could not be read ({problem}). The file may be "
                    "truncated; upload it again.",
                    problem=str(error).splitlines()[0],
                ),
            ) from None
        self.arrow_schema = self._file.schema_arrow
        self.columns = list(self.arrow_schema.names)
        check_header(self.columns, report, row=0)
        self._rows_done = 0

    @property
    def bytes_done(self) -> int:
        total_rows = self._file.metadata.num_rows or 1
        return min(self.bytes_total, self.bytes_total * self._rows_done // total_rows)

    def batches(self) -> Iterator[RawBatch]:
        try:
            for batch in self._file.iter_batches(batch_size=PARQUET_BATCH_ROWS):
                yield RawBatch(batch, first_row=self._rows_done + 1)
                self._rows_done += batch.num_rows
        except (pa.ArrowException, OSError) as error:
            raise file_error(
                self.filename,
                rule="not-parquet",
                message=msg(
                    "Row {row} onwards could not be read ({problem}). The file may be damaged.",
                    row=self._rows_done + 1,
                    problem=str(error).splitlines()[0],
                ),
            ) from None

    def close(self) -> None:
        self._file.close()


# -- XLSX ---------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


# What zipfile and openpyxl raise on a damaged or hand-made workbook: a missing part
# (LookupError), malformed or cut-off XML (ParseError), a cell that does not parse (ValueError,
# TypeError), a truncated, encrypted or oddly compressed member (zlib.error, EOFError,
# RuntimeError, NotImplementedError, BadZipFile).  Each is the file's fault, never a crash.
_BROKEN_WORKBOOK: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    LookupError,
    ValueError,
    TypeError,
    ParseError,
    NotImplementedError,
    RuntimeError,
)


class XlsxReader(SourceReader):
    """The first sheet of a workbook, read row by row (openpyxl's read-only mode).

    The workbook is handed to openpyxl as an open file, never as a path: given a path, openpyxl
    judges the format by the path's ending, and an upload is saved under a name of the
    platform's choosing.  The format was decided from the uploaded file's name and its first
    bytes (:func:`sniff_format`) before this reader was chosen.
    """

    format = "xlsx"

    def __init__(self, path: Path, *, filename: str, report: ErrorReport) -> None:
        super().__init__(path, filename=filename, report=report)
        from openpyxl import load_workbook

        self._file = path.open("rb")
        self._book: Any = None
        try:
            self._guard_zip()
            try:
                self._book = load_workbook(self._file, read_only=True, data_only=True)
            except _BROKEN_WORKBOOK as error:
                raise self._broken(error) from None
            self._read_header()
        except BaseException:
            self.close()
            raise

    def _broken(self, error: BaseException, *, row: int | None = None) -> ValidationFailed:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        fix = msg(
            "It may be damaged or not made by a spreadsheet program; open it in Excel and save "
            "it again as .xlsx."
        )
        message = (
            msg(
                "The workbook could not be read at or after sheet row {row} ({problem}). {fix}",
                row=row,
                problem=detail[:200],
                fix=fix,
            )
            if row is not None
            else msg(
                "The workbook could not be read ({problem}). {fix}", problem=detail[:200], fix=fix
            )
        )
        return file_error(self.filename, rule="not-xlsx", message=message)

    def _sheet_rows(self) -> Generator[tuple[Any, ...], None, None]:
        """The sheet's rows; a broken part of the workbook, found while reading, is reported."""
        rows = self._sheet.iter_rows(values_only=True)
        try:
            while True:
                try:
                    values = next(rows)
                except StopIteration:
                    return
                except _BROKEN_WORKBOOK as error:
                    raise self._broken(error, row=self._row_number + 1) from None
                yield values
        finally:
            rows.close()  # it holds a member of the zip open

    def _read_header(self) -> None:
        if not self._book.worksheets:
            raise self._broken(ValueError("the workbook has no worksheet"))
        self._sheet = self._book.worksheets[0]
        self._rows = self._sheet_rows()
        self._row_number = 0
        header: tuple[Any, ...] | None = None
        for values in self._rows:
            self._row_number += 1
            if any(value is not None for value in values):
                header = values
                break
        if header is None:
            raise file_error(
                self.filename,
                rule="empty-file",
                message=msg(
                    "The first sheet ('{sheet}') is empty. Put a header row first.",
                    sheet=self._sheet.title,
                ),
            )
        cells = list(header)
        while cells and cells[-1] is None:
            cells.pop()
        self.header_row = self._row_number
        self.columns = ["" if cell is None else str(cell) for cell in cells]
        check_header(self.columns, self.report, row=self.header_row)

    def _guard_zip(self) -> None:
        """Refuse a workbook that would unpack to far more than it weighs, before unpacking."""
        try:
            archive = zipfile.ZipFile(self._file)
        except zipfile.BadZipFile:
            raise file_error(
                self.filename,
                rule="not-xlsx",
                message=msg(
                    "The file is not an XLSX workbook (it is not a zip archive, or an "
                    "incomplete one). Save it from Excel as .xlsx and upload it again."
                ),
            ) from None
        with archive:
            entries = archive.infolist()
        unpacked = sum(entry.file_size for entry in entries)
        packed = max(sum(entry.compress_size for entry in entries), 1)
        if unpacked > XLSX_MAX_UNCOMPRESSED_BYTES or (
            unpacked > XLSX_RATIO_FLOOR_BYTES and unpacked / packed > XLSX_MAX_RATIO
        ):
            raise file_error(
                self.filename,
                rule="zip-bomb",
                message=msg(
                    "The workbook would unpack to {unpacked:,} bytes from {packed:,} (ratio "
                    "{ratio}:1), past the limit of {limit:,} bytes or {max_ratio}:1. Upload it as "
                    "CSV or Parquet instead.",
                    unpacked=unpacked,
                    packed=packed,
                    ratio=unpacked // packed,
                    limit=XLSX_MAX_UNCOMPRESSED_BYTES,
                    max_ratio=XLSX_MAX_RATIO,
                ),
            )

    @property
    def bytes_done(self) -> int:
        total = self._sheet.max_row or 1
        return min(self.bytes_total, self.bytes_total * self._row_number // max(total, 1))

    def batches(self) -> Iterator[RawBatch]:
        width = len(self.columns)
        columns: list[list[str | None]] = [[] for _ in range(width)]
        numbers: list[int] = []
        cells = 0
        for values in self._rows:
            self._row_number += 1
            cells += len(values)
            if self._row_number > XLSX_MAX_ROWS or cells > XLSX_MAX_CELLS:
                raise file_error(
                    self.filename,
                    rule="zip-bomb",
                    message=msg(
                        "The sheet goes past {rows:,} rows or {cells:,} cells. Upload data this "
                        "large as CSV or Parquet.",
                        rows=XLSX_MAX_ROWS,
                        cells=XLSX_MAX_CELLS,
                    ),
                )
            if all(value is None for value in values):
                continue
            if any(value is not None for value in values[width:]):
                self.report.add(
                    rule="ragged-row",
                    row=self._row_number,
                    message=msg(
                        "Row {row} has cells right of the last named column ({width}). Name that "
                        "column or clear those cells.",
                        row=self._row_number,
                        width=width,
                    ),
                )
                continue
            numbers.append(self._row_number)
            for index in range(width):
                columns[index].append(_cell_text(values[index]) if index < len(values) else None)
            if len(numbers) >= XLSX_BATCH_ROWS:
                yield self._batch(columns, numbers)
                columns = [[] for _ in range(width)]
                numbers = []
        if numbers:
            yield self._batch(columns, numbers)

    def _batch(self, columns: list[list[str | None]], numbers: list[int]) -> RawBatch:
        batch = pa.RecordBatch.from_arrays(
            [pa.array(cells, type=pa.string()) for cells in columns], names=self.columns
        )
        return RawBatch(batch, first_row=numbers[0], row_numbers=numbers)

    def close(self) -> None:
        # The row generator holds a member of the zip open; close it before the workbook.
        rows = getattr(self, "_rows", None)
        if rows is not None:
            rows.close()
        if self._book is not None:
            self._book.close()
        self._file.close()
