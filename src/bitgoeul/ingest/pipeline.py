"""The ingest pipeline: one uploaded file in, one validated, profiled Parquet file out.

Called by ``catalog.actions.publish_version``, which stores the Parquet under its hash.  The
file streams through in Arrow batches (bounded memory whatever its size): each batch is cast to
the schema (declared by the steward, or inferred from the first batch), checked against the
constraints, profiled and appended to a Parquet file in ``work_dir``.  Any problem becomes one
``ValidationFailed`` carrying the error report, and nothing is left behind in ``work_dir``.

The format is the one the uploaded file's name (``filename``) says, once the file's first bytes
agree; the name of the path it was saved under (``source``) is never consulted, since every
door saves uploads under names of its own.

Inference is optimistic: the first batch decides each column's type.  If a later batch holds a
value that does not fit (a decimal in an "integer" column), the column is widened and the file
read again from the start; each restart widens at least one column, so this ends.

A column that falls back to text because of a minority of its cells (``2026-11-31`` among
dates, ``not-a-number`` among numbers) is a *text fallback*: every pass counts, for such a
column, the cells that are not of the type most cells have, and the result lists them
(``IngestResult.text_fallbacks``) so the steward can choose to publish it as text or fix it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bitgoeul.errors import TooLarge
from bitgoeul.ingest.column_classes import CLASSES, suggest_class
from bitgoeul.ingest.prefetch import ParquetSink, prefetch
from bitgoeul.ingest.profile import TableProfile, json_value
from bitgoeul.ingest.readers import (
    CsvReader,
    JsonLinesReader,
    ParquetReader,
    RawBatch,
    SourceReader,
    TypedParseFailed,
    XlsxReader,
    sniff_format,
)
from bitgoeul.ingest.report import ErrorReport, file_error
from bitgoeul.ingest.table_schema import (
    TEXT_FALLBACK_TYPES,
    FieldSpec,
    cast_column,
    constraint_bound,
    field_type_for,
    infer_field_type,
    majority_type,
    misfits,
    parse_declared_schema,
    widen,
)
from bitgoeul.messages import Message, msg
from bitgoeul.storage.integrity import file_sha256

Progress = Callable[[int, int, int], None]

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
}
UNIQUE_CHECK_ROWS = 1_000_000
# Cells listed per text-fallback column (the rest are counted).
FALLBACK_CELLS_LISTED = 20
PARQUET_COMPRESSION = "snappy"


@dataclass
class IngestResult:
    parquet_path: Path
    parquet_sha256: str
    parquet_bytes: int
    source_sha256: str
    source_bytes: int
    source_format: str
    source_encoding: str | None
    row_count: int
    table_schema: dict[str, Any]
    profile: dict[str, Any]
    # Columns read as text because of a minority of cells: see ``_Run.text_fallbacks``.
    text_fallbacks: list[dict[str, Any]]


class _Widen(Exception):
    def __init__(self, name: str, field_type: str, fallback_from: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.field_type = field_type
        self.fallback_from = fallback_from


def ingest_file(
    source: Path,
    *,
    filename: str,
    work_dir: Path,
    declared_schema: dict[str, Any] | None = None,
    column_classes: dict[str, str] | None = None,
    error_limit: int = 100,
    max_bytes: int | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Validate, profile and classify an uploaded file and write it as Parquet in ``work_dir``."""
    size = source.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(
            msg(
                "{file} is {size:,} bytes; the largest accepted upload is {limit:,} bytes.",
                file=filename,
                size=size,
                limit=max_bytes,
            )
        )
    source_format = _format_of(source, filename)
    if size == 0:
        raise file_error(filename, rule="empty-file", message=msg("The file is empty (0 bytes)."))
    declared = (
        parse_declared_schema(declared_schema, filename=filename)
        if declared_schema is not None
        else None
    )
    _check_column_classes(column_classes, filename=filename)
    widened: dict[str, str] = {}
    fallback_from: dict[str, str] = {}
    typed_csv = True
    while True:
        try:
            return _ingest_once(
                source,
                typed_csv=typed_csv,
                filename=filename,
                work_dir=work_dir,
                source_format=source_format,
                declared=declared,
                widened=widened,
                fallback_from=fallback_from,
                column_classes=column_classes or {},
                error_limit=error_limit,
                progress=progress,
            )
        except _Widen as change:
            widened[change.name] = change.field_type
            if change.fallback_from is not None:
                fallback_from[change.name] = change.fallback_from
            typed_csv = True  # the widened type parses in Arrow again
        except TypedParseFailed:
            typed_csv = False  # find the cell that did not convert, from text


# What a sniffed file is, said to a person, and the ending it should have been uploaded with.
_CONTENTS = {
    "zip": (msg("a zip archive, as an Excel workbook is"), ".xlsx"),
    "parquet": (msg("a Parquet file"), ".parquet"),
    "ole2": (msg("an old-style Excel workbook (.xls) or a password-protected one"), ""),
}
_MISMATCH_RULES = {"xlsx": "not-xlsx", "parquet": "not-parquet"}


def _format_of(source: Path, filename: str) -> str:
    """The format named by the uploaded file's name, once its first bytes agree.

    ``filename`` is the name the file was uploaded under; ``source`` is where it was saved,
    under a name of the platform's choosing whose ending means nothing.  A workbook or a
    Parquet file under a text ending would otherwise fail as text, with an encoding error that
    points the wrong way.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        accepted = ", ".join(sorted(EXTENSIONS))
        raise file_error(
            filename,
            rule="format",
            message=msg(
                "Files ending '{suffix}' are not accepted. Upload one of: {accepted}.",
                suffix=suffix or msg("(nothing)"),
                accepted=accepted,
            ),
        )
    named = EXTENSIONS[suffix]
    found = sniff_format(source)
    if found is None or EXTENSIONS.get(_CONTENTS[found][1]) == named:
        return named
    what, ending = _CONTENTS[found]
    fix = (
        msg(
            "Upload it under a name ending in '{ending}', or export it again as {suffix}.",
            ending=ending,
            suffix=suffix,
        )
        if ending
        else msg("Save it from Excel as .xlsx, without a password, or as CSV UTF-8.")
    )
    raise file_error(
        filename,
        rule=_MISMATCH_RULES.get(named, "format"),
        message=msg(
            "The file's name ends in '{suffix}', but it is {what}. {fix}",
            suffix=suffix,
            what=what,
            fix=fix,
        ),
    )


def _check_column_classes(classes: dict[str, str] | None, *, filename: str) -> None:
    for name, value in (classes or {}).items():
        if value not in CLASSES:
            raise file_error(
                filename,
                rule="column-class",
                message=msg(
                    "Column '{column}' is given the class '{value}'; use one of {classes}.",
                    column=name,
                    value=value,
                    classes=", ".join(CLASSES),
                ),
            )


def _open_reader(
    source: Path, *, filename: str, source_format: str, report: ErrorReport
) -> SourceReader:
    if source_format in {"csv", "tsv"}:
        return CsvReader(
            source,
            filename=filename,
            report=report,
            delimiter="\t" if source_format == "tsv" else _csv_delimiter(filename),
            source_format=source_format,
        )
    if source_format == "jsonl":
        return JsonLinesReader(source, filename=filename, report=report)
    if source_format == "parquet":
        return ParquetReader(source, filename=filename, report=report)
    return XlsxReader(source, filename=filename, report=report)


def _csv_delimiter(filename: str) -> str | None:
    return "," if filename.lower().endswith(".csv") else None


def _ingest_once(
    source: Path,
    *,
    filename: str,
    work_dir: Path,
    source_format: str,
    declared: list[FieldSpec] | None,
    widened: dict[str, str],
    fallback_from: dict[str, str],
    column_classes: dict[str, str],
    error_limit: int,
    progress: Progress | None,
    typed_csv: bool,
) -> IngestResult:
    report = ErrorReport(filename, limit=error_limit)
    handle, name = tempfile.mkstemp(prefix="ingest-", suffix=".parquet", dir=work_dir)
    os.close(handle)
    parquet_path = Path(name)
    reader: SourceReader | None = None
    writer: ParquetSink | None = None
    try:
        reader = _open_reader(source, filename=filename, source_format=source_format, report=report)
        if report.error_count:
            report.fail()
        run = _Run(reader, report, declared, widened, fallback_from)
        if typed_csv and isinstance(reader, CsvReader):
            # Arrow converts the types while parsing, on all cores; Python only checks.
            specs = run.prepare(reader.sample())
            reader.column_types = {
                spec.name: spec.arrow_type for spec in specs if _arrow_parses(spec)
            }
        rows = 0
        for raw in prefetch(reader.batches()):
            batch = run.convert(raw)
            if writer is None:
                writer = _writer(parquet_path, batch.schema, run.profile.few_valued_columns())
            if not report.error_count:
                writer.write(batch)
            rows += raw.batch.num_rows
            if progress is not None:
                progress(reader.bytes_done, reader.bytes_total, rows)
        if report.error_count:
            report.fail()
        specs = run.finish()
        if writer is None:
            writer = _writer(parquet_path, run.empty_schema(), [])
        writer.close()
        writer = None
        source_sha256 = reader.source_sha256()
        if progress is not None:
            progress(reader.bytes_total, reader.bytes_total, rows)
        return IngestResult(
            parquet_path=parquet_path,
            parquet_sha256=file_sha256(parquet_path),
            parquet_bytes=parquet_path.stat().st_size,
            source_sha256=source_sha256,
            source_bytes=reader.bytes_total,
            source_format=reader.format,
            source_encoding=reader.encoding,
            row_count=rows,
            table_schema=run.table_schema(specs, column_classes),
            profile=run.profile.result(),
            text_fallbacks=run.text_fallbacks(filename),
        )
    except BaseException:
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        parquet_path.unlink(missing_ok=True)
        raise
    finally:
        if reader is not None:
            reader.close()


def _all_digits(values: pa.Array) -> bool:
    """Whole numbers past 64 bits: identifiers, kept as text on purpose."""
    present = pc.drop_null(values)
    return len(present) > 0 and bool(
        pc.all(pc.match_substring_regex(present, r"^[+-]?\d+$")).as_py()
    )


def _arrow_parses(spec: FieldSpec) -> bool:
    """Whether Arrow's CSV parser converts this field exactly as ``cast_column`` would."""
    return spec.type in {"integer", "number", "boolean", "date", "datetime"} and (
        spec.format in {"default", "any"}
    )


def _writer(path: Path, schema: pa.Schema, dictionary_columns: list[str]) -> ParquetSink:
    """Dictionary encoding only where the first batch shows few values: elsewhere it costs
    twice the writing time for a file barely smaller."""
    return ParquetSink(
        path, schema, compression=PARQUET_COMPRESSION, dictionary_columns=dictionary_columns
    )


class _Run:
    """One pass over the file: the specs, the profile, and the checks that span batches."""

    def __init__(
        self,
        reader: SourceReader,
        report: ErrorReport,
        declared: list[FieldSpec] | None,
        widened: dict[str, str],
        fallback_from: dict[str, str] | None = None,
    ) -> None:
        self.reader = reader
        self.report = report
        self.declared = declared
        self.widened = widened
        self.specs: list[FieldSpec] | None = None
        self.profile = TableProfile({})
        self.samples: dict[str, pa.Array] = {}
        self.unique_seen: dict[str, set[Any]] = {}
        self.rows_checked = 0
        self.unique_skipped = False
        # Text columns whose cells mostly fit another type: name → that type, and per column
        # the cells that do not fit (row, value; the first few), their count, and the count of
        # non-empty cells.
        self.fallback_from: dict[str, str] = dict(fallback_from or {})
        self.fallback_cells: dict[str, list[dict[str, Any]]] = {}
        self.fallback_misfits: dict[str, int] = {}
        self.fallback_present: dict[str, int] = {}
        if declared is not None:
            self._match_declared(declared)
            self._start(declared)

    def _match_declared(self, declared: list[FieldSpec]) -> None:
        names = [spec.name for spec in declared]
        if names == self.reader.columns:
            return
        missing = [name for name in names if name not in self.reader.columns]
        extra = [name for name in self.reader.columns if name not in names]
        for name in missing:
            self.report.add(
                rule="missing-column",
                field=name,
                message=msg(
                    "The schema declares a column '{column}' that the file does not have.",
                    column=name,
                ),
            )
        for name in extra:
            self.report.add(
                rule="extra-column",
                column=self.reader.columns.index(name) + 1,
                field=name,
                message=msg(
                    "The file has a column '{column}' that the schema does not declare.",
                    column=name,
                ),
            )
        if not missing and not extra:
            self.report.add(
                rule="column-order",
                message=msg(
                    "The columns are in a different order from the schema: file {file}, "
                    "schema {schema}.",
                    file=str(self.reader.columns),
                    schema=str(names),
                ),
            )
        self.report.fail()

    def _start(self, specs: list[FieldSpec]) -> list[FieldSpec]:
        self.specs = specs
        self.profile = TableProfile({spec.name: (spec.type, spec.arrow_type) for spec in specs})
        return specs

    def _infer(self, raw: RawBatch) -> list[FieldSpec]:
        specs = []
        for name, values in zip(self.reader.columns, raw.batch.columns, strict=True):
            if name in self.widened:
                field_type = self.widened[name]
            elif self.reader.typed:
                field_type = field_type_for(values.type)
            else:
                field_type = infer_field_type(values)
                if field_type == "string":
                    meant = majority_type(values)
                    if meant is not None:
                        self.fallback_from[name] = meant
            specs.append(FieldSpec(name=name, type=field_type))
        return specs

    def prepare(self, sample: RawBatch) -> list[FieldSpec]:
        """Decide the specs from a sample before the first batch (for readers that need them)."""
        if self.specs is not None:
            return self.specs
        if sample.batch.num_rows == 0:
            return self.finish()
        self._note_samples(sample)
        return self._start(self._infer(sample))

    def _note_samples(self, raw: RawBatch) -> None:
        for name, values in zip(self.reader.columns, raw.batch.columns, strict=True):
            if len(self.samples.get(name, [])) == 0 and len(values) > 0:
                self.samples[name] = pc.drop_null(values).slice(0, 2000)

    def convert(self, raw: RawBatch) -> pa.RecordBatch:
        specs = self.specs if self.specs is not None else self._start(self._infer(raw))
        self._note_samples(raw)
        columns: list[pa.Array] = []
        for position, (spec, values) in enumerate(
            zip(specs, raw.batch.columns, strict=True), start=1
        ):
            if self.reader.typed and self.declared is None:
                columns.append(values)
                continue
            converted, bad = cast_column(values, spec)
            if bad is not None:
                if self.declared is None:
                    wider = widen(spec.type, pc.filter(values, bad))
                    meant = spec.type if wider == "string" else None
                    if meant is not None and not _all_digits(pc.filter(values, bad)):
                        raise _Widen(spec.name, wider, self.fallback_from.get(spec.name, meant))
                    raise _Widen(spec.name, wider)
                self._report_mask(
                    raw,
                    position,
                    spec,
                    values,
                    bad,
                    rule="type",
                    explain=(
                        msg(
                            "is not a valid {type} in format '{format}'",
                            type=spec.type,
                            format=spec.format,
                        )
                        if spec.format != "default"
                        else msg("is not a valid {type}", type=spec.type)
                    ),
                )
            if self.declared is not None and spec.constraints:
                self._check_constraints(raw, position, spec, values, converted)
            if spec.type == "string" and spec.name in self.fallback_from:
                self._count_fallback(raw, spec.name, values)
            columns.append(converted)
        names = [spec.name for spec in specs]
        batch = pa.RecordBatch.from_arrays(columns, names=names)
        if self.reader.typed and self.declared is None:
            batch = pa.RecordBatch.from_arrays(list(raw.batch.columns), schema=raw.batch.schema)
        self.rows_checked += batch.num_rows
        self.profile.update(batch)
        return batch

    def _count_fallback(self, raw: RawBatch, name: str, values: pa.Array) -> None:
        meant = self.fallback_from[name]
        self.fallback_present[name] = self.fallback_present.get(name, 0) + (
            len(values) - values.null_count
        )
        bad = misfits(values, meant)
        if bad is None:
            return
        indices = pc.indices_nonzero(pc.fill_null(bad, False))
        self.fallback_misfits[name] = self.fallback_misfits.get(name, 0) + len(indices)
        cells = self.fallback_cells.setdefault(name, [])
        room = FALLBACK_CELLS_LISTED - len(cells)
        for index in indices.slice(0, max(room, 0)).to_pylist():
            value = json_value(values[index].as_py())
            cells.append({"row": raw.row(index), "value": value})

    def text_fallbacks(self, filename: str) -> list[dict[str, Any]]:
        """The columns read as text although most of their cells are of another type.

        Each: file, field, column (1-based), the type most cells had, how many cells do not
        fit it out of how many non-empty ones, and the first of those cells (row, value).
        A column whose cells are mostly text is not listed: text is what it is.
        """
        found = []
        names = [spec.name for spec in self.specs or []]
        for name, meant in self.fallback_from.items():
            bad = self.fallback_misfits.get(name, 0)
            present = self.fallback_present.get(name, 0)
            if name not in names or meant not in TEXT_FALLBACK_TYPES:
                continue
            if bad == 0 or 2 * bad >= present:
                continue
            found.append(
                {
                    "file": filename,
                    "field": name,
                    "column": names.index(name) + 1,
                    "type": meant,
                    "count": bad,
                    "present": present,
                    "cells": self.fallback_cells.get(name, []),
                }
            )
        return found

    def _report_mask(
        self,
        raw: RawBatch,
        position: int,
        spec: FieldSpec,
        shown: pa.Array,
        bad: pa.Array,
        *,
        rule: str,
        explain: Message,
    ) -> None:
        indices = pc.indices_nonzero(pc.fill_null(bad, False))
        total = len(indices)
        if not total:
            return
        listed = min(total, max(self.report.room, 0))
        for index in indices.slice(0, listed).to_pylist():
            value = json_value(shown[index].as_py())
            row = raw.row(index)
            self.report.add(
                rule=rule,
                row=row,
                column=position,
                field=spec.name,
                value=value,
                message=msg(
                    "Row {row}, column '{column}': {cell} {explain}.",
                    row=row,
                    column=spec.name,
                    cell=msg("the cell") if value is None else repr(value),
                    explain=explain,
                ),
            )
        self.report.count_more(rule, total - listed)

    def _check_constraints(
        self, raw: RawBatch, position: int, spec: FieldSpec, shown: pa.Array, values: pa.Array
    ) -> None:
        rules = spec.constraints
        present = pc.is_valid(values)

        def report(rule: str, bad: pa.Array, explain: Message) -> None:
            self._report_mask(raw, position, spec, shown, bad, rule=rule, explain=explain)

        if rules.get("required"):
            report("required", pc.is_null(shown), msg("is empty, but a value is required"))
        if "minimum" in rules:
            bound = constraint_bound(rules["minimum"], values.type)
            report(
                "minimum",
                pc.and_(present, pc.less(values, bound)),
                msg("is below the minimum {minimum}", minimum=rules["minimum"]),
            )
        if "maximum" in rules:
            bound = constraint_bound(rules["maximum"], values.type)
            report(
                "maximum",
                pc.and_(present, pc.greater(values, bound)),
                msg("is above the maximum {maximum}", maximum=rules["maximum"]),
            )
        if "enum" in rules:
            allowed = pa.array(rules["enum"]).cast(values.type)
            report(
                "enum",
                pc.and_(present, pc.invert(pc.is_in(values, allowed))),
                msg("is not one of {allowed}", allowed=str(rules["enum"])),
            )
        if "pattern" in rules and pa.types.is_string(values.type):
            matches = pc.match_substring_regex(values, f"^(?:{rules['pattern']})$")
            report(
                "pattern",
                pc.invert(pc.fill_null(matches, True)),
                msg("does not match the pattern {pattern}", pattern=repr(rules["pattern"])),
            )
        if pa.types.is_string(values.type) and ("maxLength" in rules or "minLength" in rules):
            lengths = pc.utf8_length(values)
            if "maxLength" in rules:
                report(
                    "maxLength",
                    pc.fill_null(pc.greater(lengths, rules["maxLength"]), False),
                    msg("is longer than {length} characters", length=rules["maxLength"]),
                )
            if "minLength" in rules:
                report(
                    "minLength",
                    pc.fill_null(pc.less(lengths, rules["minLength"]), False),
                    msg("is shorter than {length} characters", length=rules["minLength"]),
                )
        if rules.get("unique"):
            self._check_unique(raw, position, spec, shown, values)

    def _check_unique(
        self, raw: RawBatch, position: int, spec: FieldSpec, shown: pa.Array, values: pa.Array
    ) -> None:
        if self.rows_checked + len(values) > UNIQUE_CHECK_ROWS:
            self.unique_skipped = True
            return
        seen = self.unique_seen.setdefault(spec.name, set())
        flags = []
        for value in values.to_pylist():
            if value is None:
                flags.append(False)
            elif value in seen:
                flags.append(True)
            else:
                seen.add(value)
                flags.append(False)
        self._report_mask(
            raw,
            position,
            spec,
            shown,
            pa.array(flags),
            rule="unique",
            explain=msg("appears in an earlier row, but values must be unique"),
        )

    def finish(self) -> list[FieldSpec]:
        if self.specs is None:
            # A header and no rows: every column is text, and nothing needs checking.
            return self._start(
                [
                    FieldSpec(name=name, type=self.widened.get(name, "string"))
                    for name in self.reader.columns
                ]
            )
        return self.specs

    def empty_schema(self) -> pa.Schema:
        if self.reader.typed and self.declared is None and isinstance(self.reader, ParquetReader):
            return self.reader.arrow_schema
        return pa.schema([(spec.name, spec.arrow_type) for spec in self.specs or []])

    def table_schema(self, specs: list[FieldSpec], chosen: dict[str, str]) -> dict[str, Any]:
        fields = []
        for spec in specs:
            suggestion = suggest_class(spec.name, spec.type, self.samples.get(spec.name))
            described = spec.descriptor()
            described["classification"] = chosen.get(spec.name, suggestion.classification)
            described["suggested_classification"] = suggestion.classification
            described["classification_reason"] = suggestion.reason
            fields.append(described)
        schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
        if self.unique_skipped:
            schema["x-bitgoeul-unique-checked-rows"] = UNIQUE_CHECK_ROWS
        return schema


def read_preview(parquet_path: Path, *, limit: int = 20) -> tuple[list[str], list[list[Any]]]:
    """The first ``limit`` rows of an ingested file, as JSON-friendly values."""
    parquet = pq.ParquetFile(parquet_path)
    try:
        names = list(parquet.schema_arrow.names)
        rows: list[list[Any]] = []
        if limit <= 0:
            return names, rows
        for batch in parquet.iter_batches(batch_size=limit):
            for record in batch.to_pylist():
                rows.append([json_value(record[name]) for name in names])
                if len(rows) >= limit:
                    return names, rows
        return names, rows
    finally:
        parquet.close()
