"""Automatic output checks: what a finished job wrote, checked before a person reviews its release.

The release review runs this in the trusted step after a job has finished, never inside the
job's own process, over the job's output directory (which the job can no longer write) and the
input Parquet files exactly as the job saw them.  It is a pure library: no database, no network;
the caller stores the ``CheckReport`` with the release review.  A ``block`` finding stops the
release until the output is changed; a ``warn`` finding is for the reviewer to weigh.  Messages
name files, columns and counts, never a value from a person's row.

What is detected (each check is bounded: at most ``SAMPLE_ROWS`` rows of an output table and
``TEXT_SCAN_BYTES`` of a text file are read; when a table is longer a ``file_size`` warning says
only the first rows were checked; input Parquet files are streamed by DuckDB, with the hash side
of every join built from the output sample):

* ``file_name`` (block): a file or folder name that carries a value of an input's direct
  identifier, quasi-identifier, sensitive or date column (``003_C-V0000004_2025-01-03_E11.csv``):
  the name's parts between ``/ _ .`` and spaces, their pieces between hyphens and adjacent
  parts joined again are compared with the input's values, normalised as below; parts shorter
  than 3 characters and numbers shorter than 6 digits are not compared.  While outputs are
  held the requester sees no names at all; this check is for the reviewers' sake.
* ``file_type`` (block): a symlink, directory link or special file (FIFO, socket, device),
  which is never followed or opened; a suffix outside ``allowed_suffixes`` (which can narrow
  ``DEFAULT_ALLOWED`` but not widen it); content that does not match the suffix (a ``.csv``
  that is a zip archive, a ``.png`` that is a PDF), decided from magic bytes: Parquet (``PAR1``
  at both ends), PNG, JPEG, PDF, HDF5, NumPy, zip, pickle (protocol 2 and later), safetensors
  (header length then ``{``), compressed joblib streams; text files must hold no NUL byte and
  decode as UTF-8 or CP949 (CP949 CSV/TSV is transcoded; JSON must be UTF-8); SVG must
  contain ``<svg``; JSON must start with ``{`` or ``[``.
* ``file_size`` (block): a file over ``max_file_bytes`` (its content is then not read), or the
  file that takes the outputs past ``max_total_bytes``.
* ``identifier_column`` (block): an output column named like an input's direct identifier
  (case-insensitive); an output column in which more than ``FEW_ROWS`` rows hold values of an
  input identifier column (1 to ``FEW_ROWS`` rows: warn); a text, Markdown, log, SVG or JSON file
  containing identifier values.  Values are compared after normalisation (trimmed, lower-cased,
  numbers compared as numbers, so ``00123`` equals ``123``) and only values of at least 4
  characters count, and at least 6 where the value is all digits (shorter numbers collide with
  counts, years and step numbers).  Text is split into tokens at white space, quotes,
  brackets and ``,;:|=*!?`` (a trailing full stop is dropped); single tokens and pairs of
  adjacent tokens are compared.
* ``small_group`` (block): in a table with a count-like column (``n``, ``count``, ``cnt``,
  ``freq``, ``frequency``, ``n_*``, ``num_*``, ``count_*``, ``*_count``, ``*_cnt``, ``*_n``,
  ``*_freq`` and the Korean 인원, 건수, 빈도, ``*인원``, ``*건수``, ``*명수``, ``*자수``,
  ``*가구수``), cells between 1 and k-1 (0 is a structural zero and allowed; non-numeric cells
  such as ``<10`` are taken as already suppressed).  k is the largest ``min_group_size`` of the
  inputs.  A table without a count column but with group keys is treated as one row per group:
  the group's size is recomputed from each input (distinct persons where the input has an
  identifier column, else rows) and groups under that input's k are blocked.  Group keys are
  output columns named like an input column, not count-like, every value of which occurs in
  that input column.
* ``copied_rows`` (block): output rows equal to an input row on all the columns they share by
  name, when they share at least 3, and that combination of values occurs in fewer than k rows
  of the input (a combination shared by k or more rows is a group description, not a copy).
* ``dominance`` (block): for an output table with group keys, each other shared column that is
  numeric in the input (say ``income`` next to ``district``) is taken as an aggregate of that
  column; per group, the input's contributions (summed per person where the input has an
  identifier column) are ranked, and a group whose top ``dominance_n`` contributions exceed
  ``dominance_k`` of its positive total is blocked.
* ``model_file`` (warn): every model file; pickle-based ones (``.pkl``, ``.joblib``, and
  ``.pt``/``.pth``/``.ckpt``, whose zip form holds a pickle too) are also named as formats that
  run code when loaded.  They are never unpickled here.
* ``unreadable`` (block): an output table DuckDB cannot read, or any check that fails on it,
  so that an error never lets a file pass.

What is not detected, stated plainly: values that were transformed (rounded, perturbed, hashed,
re-formatted timestamps, a name split across columns); copied rows that differ in one shared
column, or share fewer than 3 columns with an input; identifier values shorter than 4
characters, text identifiers split by a line break or glued to other letters (a Korean name
followed by a particle); small groups in a table without a count-like column whose keys are
renamed, derived (age bands from ages) or filtered by a condition that is not in the output
(recomputed sizes are then upper bounds); differencing between two outputs or two releases;
dominance of a measure that is renamed or derived; anything inside images, PDFs and model
weights (models are only warned about); rows of a table beyond the first ``SAMPLE_ROWS`` and
text beyond the first ``TEXT_SCAN_BYTES``.  ``sensitive_columns`` is carried for the reviewer's
view of the inputs; no automatic check uses it yet.
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from bitgoeul.engine.sql import quote_name, quote_text
from bitgoeul.messages import msg

__all__ = [
    "DEFAULT_ALLOWED",
    "CheckReport",
    "DatasetRules",
    "FileReport",
    "Finding",
    "check_outputs",
]

MiB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 100 * MiB
DEFAULT_MAX_TOTAL_BYTES = 1024 * MiB
DEFAULT_MIN_GROUP_SIZE = 10
SAMPLE_ROWS = 100_000
TEXT_SCAN_BYTES = 8 * MiB
HEAD_BYTES = 64 * 1024
FEW_ROWS = 3
DUCKDB_MEMORY_LIMIT = "2GB"

TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".parquet", ".json", ".jsonl"})
TEXT_SUFFIXES = frozenset({".txt", ".md", ".log"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".svg"})
OTHER_SUFFIXES = frozenset({".pdf"})
PICKLE_MODEL_SUFFIXES = frozenset({".pkl", ".joblib", ".pt", ".pth", ".ckpt"})
MODEL_SUFFIXES = PICKLE_MODEL_SUFFIXES | {".onnx", ".safetensors", ".h5", ".npz", ".npy"}
DEFAULT_ALLOWED = TABLE_SUFFIXES | TEXT_SUFFIXES | IMAGE_SUFFIXES | OTHER_SUFFIXES | MODEL_SUFFIXES

# What the content must sniff as, per suffix.
_EXPECTED_CONTENT: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        (".csv", ".tsv", ".json", ".jsonl", ".txt", ".md", ".log", ".svg"), frozenset({"text"})
    ),
    ".parquet": frozenset({"parquet"}),
    ".png": frozenset({"png"}),
    ".jpg": frozenset({"jpeg"}),
    ".jpeg": frozenset({"jpeg"}),
    ".pdf": frozenset({"pdf"}),
    ".h5": frozenset({"hdf5"}),
    ".npy": frozenset({"npy"}),
    ".npz": frozenset({"zip"}),
    ".pkl": frozenset({"pickle"}),
    ".joblib": frozenset({"pickle", "gzip", "zlib", "bzip2", "xz", "lzma", "lz4"}),
    ".pt": frozenset({"pickle", "zip"}),
    ".pth": frozenset({"pickle", "zip"}),
    ".ckpt": frozenset({"pickle", "zip"}),
    ".safetensors": frozenset({"safetensors"}),
    ".onnx": frozenset({"protobuf"}),
}

_MAGIC: list[tuple[bytes, str]] = [
    (b"PAR1", "parquet"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"%PDF-", "pdf"),
    (b"\x89HDF\r\n\x1a\n", "hdf5"),
    (b"\x93NUMPY", "npy"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"Rar!", "rar archive"),
    (b"SQLite format 3\x00", "SQLite database"),
    (b"\x7fELF", "executable"),
    (b"MZ", "executable"),
    (b"GIF8", "gif"),
]

_COUNT_NAMES = frozenset({"n", "count", "cnt", "freq", "frequency", "인원", "건수", "빈도"})
_COUNT_PREFIXES = ("n_", "num_", "count_")
_COUNT_SUFFIXES = ("_count", "_cnt", "_n", "_freq", "인원", "건수", "명수", "자수", "가구수")
_NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|"
    r"FLOAT|DOUBLE|DECIMAL.*)$"
)
_TOKEN = re.compile(r"[^\s,;:\"'()\[\]{}<>|=*!?`]+")
Check = Literal[
    "file_name",
    "file_type",
    "file_size",
    "small_group",
    "dominance",
    "identifier_column",
    "copied_rows",
    "model_file",
    "unreadable",
]
Kind = Literal["table", "model", "text", "image", "other"]


@dataclass(frozen=True, kw_only=True)
class DatasetRules:
    """The disclosure rules of one input dataset the job read."""

    slug: str
    parquet: Path  # the input exactly as the job saw it
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    dominance_n: int = 2
    dominance_k: float = 0.9  # top n contributors over k of the total -> suppress
    identifier_columns: frozenset[str]  # direct identifiers, as named in the input file
    sensitive_columns: frozenset[str] = frozenset()
    quasi_identifier_columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the output directory
    check: Check
    severity: Literal["block", "warn"]
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FileReport:
    path: str
    bytes: int
    sha256: str  # empty for what is not a regular file: it is never opened
    kind: Kind
    findings: list[Finding]


@dataclass(frozen=True)
class CheckReport:
    files: list[FileReport]
    blocked: bool

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.files for finding in report.findings]


def check_outputs(
    output_dir: Path,
    inputs: Sequence[DatasetRules],
    *,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    allowed_suffixes: frozenset[str] = DEFAULT_ALLOWED,
) -> CheckReport:
    """Check every entry under ``output_dir``; the report lists them in path order."""
    for rules in inputs:
        if not rules.parquet.is_file():
            raise FileNotFoundError(
                f"Input '{rules.slug}': {rules.parquet} is not a file; the checks need the "
                "input exactly as the job saw it."
            )
    allowed = frozenset(s.lower() for s in allowed_suffixes) & DEFAULT_ALLOWED
    with tempfile.TemporaryDirectory(prefix="bitgoeul-checks-") as scratch:
        db = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": scratch})
        try:
            context = _Context(db, inputs, Path(scratch))
            reports: list[FileReport] = []
            total = 0
            for path in _walk(output_dir):
                relative = path.relative_to(output_dir).as_posix()
                report = _check_entry(
                    context, path, relative, max_file_bytes=max_file_bytes, allowed=allowed
                )
                before, total = total, total + report.bytes
                if before <= max_total_bytes < total:
                    report.findings.insert(
                        0,
                        Finding(
                            relative,
                            "file_size",
                            "block",
                            msg(
                                "The outputs together are {total} bytes with this file, over "
                                "the limit of {limit}; release fewer or smaller files.",
                                total=format(total, ","),
                                limit=format(max_total_bytes, ","),
                            ),
                            {"total_bytes": total, "limit": max_total_bytes},
                        ),
                    )
                reports.append(report)
        finally:
            db.close()
    blocked = any(f.severity == "block" for r in reports for f in r.findings)
    return CheckReport(files=reports, blocked=blocked)


def _walk(root: Path) -> Iterator[Path]:
    """Every entry under ``root`` except real directories, which are descended; links are not."""
    with os.scandir(root) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        else:
            yield Path(entry.path)


def _kind(suffix: str) -> Kind:
    if suffix in TABLE_SUFFIXES:
        return "table"
    if suffix in MODEL_SUFFIXES:
        return "model"
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return "other"


def _check_entry(
    context: _Context, path: Path, relative: str, *, max_file_bytes: int, allowed: frozenset[str]
) -> FileReport:
    report = _check_content(context, path, relative, max_file_bytes=max_file_bytes, allowed=allowed)
    report.findings[:0] = context.check_name(relative)
    return report


def _check_content(
    context: _Context, path: Path, relative: str, *, max_file_bytes: int, allowed: frozenset[str]
) -> FileReport:
    suffix = path.suffix.lower()
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        what = msg("a symbolic link") if stat.S_ISLNK(info.st_mode) else msg("not a regular file")
        finding = Finding(
            relative,
            "file_type",
            "block",
            msg(
                "'{file}' is {what}; outputs must be plain files written into the output "
                "directory. It was not followed or opened.",
                file=relative,
                what=what,
            ),
            {"mode": stat.filemode(info.st_mode)},
        )
        return FileReport(relative, info.st_size, "", "other", [finding])

    size, digest, head, tail = _read_summary(path)
    kind = _kind(suffix)
    report = FileReport(relative, size, digest, kind, [])
    if size > max_file_bytes:
        report.findings.append(
            Finding(
                relative,
                "file_size",
                "block",
                msg(
                    "'{file}' is {size} bytes, over the limit of {limit} per file; release an "
                    "aggregate or a smaller extract. Its content was not checked.",
                    file=relative,
                    size=format(size, ","),
                    limit=format(max_file_bytes, ","),
                ),
                {"bytes": size, "limit": max_file_bytes},
            )
        )
        return report
    if suffix not in allowed:
        shown = suffix or msg("no suffix")
        report.findings.append(
            Finding(
                relative,
                "file_type",
                "block",
                msg(
                    "'{file}' has {suffix}, which is not an allowed output type; allowed: "
                    "{allowed}.",
                    file=relative,
                    suffix=shown,
                    allowed=", ".join(sorted(allowed)),
                ),
                {"suffix": suffix},
            )
        )
        return report
    if size == 0:
        return report
    content = _sniff(head, tail, suffix)
    if content not in _EXPECTED_CONTENT[suffix]:
        report.findings.append(
            Finding(
                relative,
                "file_type",
                "block",
                msg(
                    "'{file}' is named {suffix} but its content is {content}; save it in the "
                    "format its name says, or name it for what it is if that type is allowed.",
                    file=relative,
                    suffix=suffix,
                    content=content,
                ),
                {"suffix": suffix, "content": content},
            )
        )
        return report

    if kind == "model":
        report.findings.append(_model_finding(path, relative, suffix, content))
    elif kind == "table":
        table_findings = context.check_table(path, relative, suffix)
        report.findings.extend(table_findings)
        has_identifiers = any(f.check == "identifier_column" for f in table_findings)
        if suffix == ".json" and not has_identifiers:
            report.findings.extend(context.check_text(path, relative))
    elif kind == "text" or suffix == ".svg":
        report.findings.extend(context.check_text(path, relative))
    return report


def _read_summary(path: Path) -> tuple[int, str, bytes, bytes]:
    """Size, SHA-256, first ``HEAD_BYTES`` and last 8 bytes, in one streaming pass."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    with os.fdopen(fd, "rb") as stream:
        while chunk := stream.read(MiB):
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            tail = (tail + chunk)[-8:]
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest(), head, tail


def _sniff(head: bytes, tail: bytes, suffix: str) -> str:
    """What the bytes are, by magic numbers first and then by being text."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            if name == "parquet" and not tail.endswith(b"PAR1"):
                return "a truncated Parquet file"
            return name
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{":
        header_length = int.from_bytes(head[:8], "little")
        if 0 < header_length < 100 * MiB:
            return "safetensors"
    if head[:1] == b"\x78" and len(head) >= 2 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head[:2] == b"\x5d\x00":
        return "lzma"
    text = _as_text(head)
    if text is not None:
        stripped = text.lstrip("\ufeff \t\r\n")
        if suffix == ".svg" and "<svg" not in text.lower():
            return "text without an <svg> element"
        if suffix == ".json" and stripped[:1] not in ("{", "["):
            return "text that is not JSON"
        return "text"
    if suffix == ".onnx" and head[:1] == b"\x08":
        # ONNX is a protobuf ModelProto with no magic; field 1 (ir_version) comes first.
        return "protobuf"
    return "binary data of an unknown type"


def _as_text(sample: bytes) -> str | None:
    if b"\x00" in sample:
        return None
    for encoding in ("utf-8-sig", "cp949"):
        try:
            # A sample cut in the middle of a character is not an error, hence the decoder.
            return codecs.getincrementaldecoder(encoding)("strict").decode(sample, final=False)
        except UnicodeDecodeError:
            continue
    return None


def _text_encoding(path: Path) -> str:
    with path.open("rb") as stream:
        sample = stream.read(HEAD_BYTES)
    try:
        codecs.getincrementaldecoder("utf-8-sig")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp949"
    return "utf-8-sig"


def _model_finding(path: Path, relative: str, suffix: str, content: str) -> Finding:
    pickled = suffix in {".pkl", ".joblib"} or content == "pickle" or _zip_holds_pickle(path)
    message = msg(
        "'{file}' is a model file: trained models can memorise training records; the reviewer "
        "must confirm it was trained with safeguards (e.g. aggregation, differential privacy) "
        "or is not released.",
        file=relative,
    )
    if pickled:
        message = msg(
            "'{file}' is a model file: trained models can memorise training records; the "
            "reviewer must confirm it was trained with safeguards (e.g. aggregation, "
            "differential privacy) or is not released. It is a pickle-based format, which runs "
            "code when loaded: load it only with a safe loader (e.g. "
            "torch.load(weights_only=True)) or convert it to safetensors/ONNX.",
            file=relative,
        )
    return Finding(
        relative, "model_file", "warn", message, {"suffix": suffix, "pickle_based": pickled}
    )


def _zip_holds_pickle(path: Path) -> bool:
    """A PyTorch zip checkpoint stores its object graph as ``data.pkl``."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith(".pkl") for name in archive.namelist())


def _is_count_name(name: str) -> bool:
    lowered = name.strip().lower()
    return (
        lowered in _COUNT_NAMES
        or lowered.startswith(_COUNT_PREFIXES)
        or lowered.endswith(_COUNT_SUFFIXES)
    )


def _id_like(text: str) -> bool:
    """Long enough to be taken as an identifier value rather than a chance collision."""
    return len(text) >= 4 and not (text.isdigit() and len(text) < 6)


_MACROS = """
CREATE MACRO bg_norm(x) AS coalesce(lower(coalesce(
    CAST(TRY_CAST(trim(TRY_CAST(x AS VARCHAR)) AS DOUBLE) AS VARCHAR),
    trim(TRY_CAST(x AS VARCHAR)))), chr(0));
CREATE MACRO bg_id_like(s) AS length(s) >= 4
    AND NOT (regexp_full_match(s, '[0-9]+') AND length(s) < 6);
CREATE MACRO bg_num(x) AS TRY_CAST(trim(TRY_CAST(x AS VARCHAR)) AS DOUBLE);
"""


@dataclass(frozen=True)
class _Input:
    rules: DatasetRules
    view: str
    columns: dict[str, tuple[str, str]]  # lower-cased name -> (name in the file, DuckDB type)
    identifiers: list[str]  # identifier columns as named in the file
    person: str | None  # the column that counts persons, when there is one
    name_columns: list[str]  # whose values no output's name may carry


class _Context:
    """One DuckDB connection with the inputs as views, shared by all files of one check."""

    def __init__(self, db: Any, inputs: Sequence[DatasetRules], scratch: Path) -> None:
        self.db = db
        self.scratch = scratch
        self._run(_MACROS)
        self.inputs: list[_Input] = []
        for index, rules in enumerate(inputs):
            view = f"bg_in_{index}"
            parquet = quote_text(str(rules.parquet))
            self._run(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({parquet})")
            described = self.db.execute(f"DESCRIBE {view}").fetchall()
            columns = {str(row[0]).lower(): (str(row[0]), str(row[1])) for row in described}
            wanted = {c.lower() for c in rules.identifier_columns}
            identifiers = [columns[c][0] for c in sorted(wanted & columns.keys())]
            classified = {
                c.lower()
                for c in rules.identifier_columns
                | rules.sensitive_columns
                | rules.quasi_identifier_columns
            }
            dated = {
                name
                for name, (_, kind) in columns.items()
                if kind.startswith(("DATE", "TIMESTAMP"))
            }
            name_columns = [columns[c][0] for c in sorted((classified | dated) & columns.keys())]
            self.inputs.append(
                _Input(
                    rules,
                    view,
                    columns,
                    identifiers,
                    identifiers[0] if identifiers else None,
                    name_columns,
                )
            )
        self.min_group_size = max(
            (i.rules.min_group_size for i in self.inputs), default=DEFAULT_MIN_GROUP_SIZE
        )

    # Tables -----------------------------------------------------------------------------------

    def check_table(self, path: Path, relative: str, suffix: str) -> list[Finding]:
        try:
            rows, sampled = self._load(path, suffix)
        except (duckdb.Error, UnicodeDecodeError, OSError) as error:
            return [_unreadable(relative, error)]
        try:
            findings = self._table_findings(relative, rows)
        except duckdb.Error as error:
            return [_unreadable(relative, error, reading=False)]
        if sampled:
            findings.append(
                Finding(
                    relative,
                    "file_size",
                    "warn",
                    msg(
                        "'{file}' has more than {rows} rows; the identifier, copied-row, "
                        "small-group and dominance checks read the first {rows} only, so the "
                        "reviewer must look at the rest.",
                        file=relative,
                        rows=format(SAMPLE_ROWS, ","),
                    ),
                    {"rows_checked": SAMPLE_ROWS},
                )
            )
        return findings

    def _load(self, path: Path, suffix: str) -> tuple[int, bool]:
        """The first ``SAMPLE_ROWS`` rows into ``bg_out``; and whether there were more."""
        source = path
        if suffix in {".csv", ".tsv"}:
            if _text_encoding(path) == "cp949":
                source = self.scratch / "transcoded.csv"
                with (
                    path.open("r", encoding="cp949", errors="strict", newline="") as reader,
                    source.open("w", encoding="utf-8", newline="") as writer,
                ):
                    while chunk := reader.read(MiB):
                        writer.write(chunk)
            delimiter = "\\t" if suffix == ".tsv" else ","
            relation = (
                f"read_csv({quote_text(str(source))}, header = true, all_varchar = true, "
                f"delim = E'{delimiter}', quote = '\"', escape = '\"', null_padding = true)"
            )
        elif suffix == ".parquet":
            relation = f"read_parquet({quote_text(str(source))})"
        else:
            layout = "newline_delimited" if suffix == ".jsonl" else "auto"
            relation = f"read_json({quote_text(str(source))}, format = '{layout}')"
        self._run(
            f"CREATE OR REPLACE TEMP TABLE bg_out AS SELECT * FROM {relation} "
            f"LIMIT {SAMPLE_ROWS + 1}"
        )
        rows = self._scalar("SELECT count(*) FROM bg_out")
        if rows > SAMPLE_ROWS:
            self._run(
                f"CREATE OR REPLACE TEMP TABLE bg_out AS SELECT * FROM bg_out LIMIT {SAMPLE_ROWS}"
            )
            return SAMPLE_ROWS, True
        return rows, False

    def _run(self, sql: str) -> None:
        # DuckDB refuses the next statement while a result, even a DDL one, is unfetched.
        self.db.execute(sql).fetchall()

    def _scalar(self, sql: str) -> int:
        row = self._row(sql)
        return int(row[0]) if row and row[0] is not None else 0

    def _row(self, sql: str) -> tuple[Any, ...] | None:
        rows = self.db.execute(sql).fetchall()
        return tuple(rows[0]) if rows else None

    def _table_findings(self, relative: str, rows: int) -> list[Finding]:
        columns = [str(row[0]) for row in self.db.execute("DESCRIBE bg_out").fetchall()]
        findings: list[Finding] = []
        named = self._identifier_names(relative, columns, findings)
        counts = self._count_columns(columns)
        findings.extend(self._small_counts(relative, counts))
        for source in self.inputs:
            shared = {
                c: source.columns[c.lower()][0] for c in columns if c.lower() in source.columns
            }
            self._identifier_values(
                relative, source, [c for c in columns if c not in named], findings
            )
            keys = self._group_keys(source, shared, counts)
            if keys and not counts:
                findings.extend(self._small_recomputed(relative, source, shared, keys))
            if len(shared) >= 3:
                findings.extend(self._copied_rows(relative, source, shared))
            if keys:
                findings.extend(self._dominance(relative, source, shared, keys, counts))
        return findings

    def _identifier_names(
        self, relative: str, columns: list[str], findings: list[Finding]
    ) -> set[str]:
        named: set[str] = set()
        for column in columns:
            for source in self.inputs:
                if column.lower() in {c.lower() for c in source.rules.identifier_columns}:
                    named.add(column)
                    findings.append(
                        Finding(
                            relative,
                            "identifier_column",
                            "block",
                            msg(
                                "Column '{column}' of '{file}' is the direct identifier "
                                "'{column}' of dataset '{dataset}'; drop it or release "
                                "aggregates instead of rows.",
                                column=column,
                                file=relative,
                                dataset=source.rules.slug,
                            ),
                            {"column": column, "dataset": source.rules.slug, "by": "name"},
                        )
                    )
                    break
        return named

    def _identifier_values(
        self, relative: str, source: _Input, columns: list[str], findings: list[Finding]
    ) -> None:
        if not columns:
            return
        values = " UNION ALL ".join(
            f"SELECT rowid AS r, {quote_text(c)} AS col, bg_norm({quote_name(c)}) AS v "
            f"FROM bg_out WHERE bg_id_like(trim(TRY_CAST({quote_name(c)} AS VARCHAR)))"
            for c in columns
        )
        for identifier in source.identifiers:
            hits = self.db.execute(
                f"""
                WITH ov AS ({values}),
                candidates AS (SELECT DISTINCT v FROM ov),
                hit AS (
                    SELECT DISTINCT bg_norm(i.{quote_name(identifier)}) AS v FROM {source.view} i
                    WHERE bg_norm(i.{quote_name(identifier)}) IN (SELECT v FROM candidates)
                )
                SELECT col, count(DISTINCT r) FROM ov JOIN hit USING (v) GROUP BY col ORDER BY col
                """
            ).fetchall()
            for column, count in hits:
                severity: Literal["block", "warn"] = "block" if count > FEW_ROWS else "warn"
                findings.append(
                    Finding(
                        relative,
                        "identifier_column",
                        severity,
                        msg(
                            "{rows} rows of column '{column}' in '{file}' hold values of the "
                            "direct identifier '{identifier}' of dataset '{dataset}'; drop the "
                            "column or replace it with a group.",
                            rows=format(count, ","),
                            column=column,
                            file=relative,
                            identifier=identifier,
                            dataset=source.rules.slug,
                        )
                        if severity == "block"
                        else msg(
                            "{rows} rows of column '{column}' in '{file}' hold values of the "
                            "direct identifier '{identifier}' of dataset '{dataset}'; the "
                            "reviewer must confirm this is a coincidence.",
                            rows=format(count, ","),
                            column=column,
                            file=relative,
                            identifier=identifier,
                            dataset=source.rules.slug,
                        ),
                        {
                            "column": column,
                            "dataset": source.rules.slug,
                            "identifier": identifier,
                            "rows": count,
                            "by": "value",
                        },
                    )
                )

    def _count_columns(self, columns: list[str]) -> list[str]:
        counts = []
        for column in columns:
            if _is_count_name(column) and self._scalar(
                f"SELECT count(bg_num({quote_name(column)})) FROM bg_out"
            ):
                counts.append(column)
        return counts

    def _small_counts(self, relative: str, counts: list[str]) -> list[Finding]:
        k = self.min_group_size
        findings = []
        for column in counts:
            small = self._scalar(
                f"SELECT count(*) FROM bg_out WHERE bg_num({quote_name(column)}) > 0 "
                f"AND bg_num({quote_name(column)}) < {k}"
            )
            if small:
                findings.append(
                    Finding(
                        relative,
                        "small_group",
                        "block",
                        msg(
                            "{rows} rows of '{file}' have a '{column}' between 1 and {below}; "
                            "groups must hold at least {k}: merge categories or suppress those "
                            "cells.",
                            rows=format(small, ","),
                            file=relative,
                            column=column,
                            below=k - 1,
                            k=k,
                        ),
                        {"column": column, "rows": small, "min_group_size": k},
                    )
                )
        return findings

    def _group_keys(self, source: _Input, shared: dict[str, str], counts: list[str]) -> list[str]:
        keys = []
        for column, original in shared.items():
            if column in counts:
                continue
            row = self._row(
                f"""
                WITH v AS (
                    SELECT DISTINCT bg_norm({quote_name(column)}) AS v FROM bg_out
                    WHERE {quote_name(column)} IS NOT NULL
                )
                SELECT (SELECT count(*) FROM v),
                    (SELECT count(DISTINCT bg_norm(i.{quote_name(original)})) FROM {source.view} i
                     WHERE bg_norm(i.{quote_name(original)}) IN (SELECT v FROM v))
                """
            )
            if row is not None and row[0] and row[0] == row[1]:
                keys.append(column)
        return keys

    def _group_join(self, source: _Input, shared: dict[str, str], columns: list[str]) -> str:
        """``g`` (the distinct normalised combinations in the output) joined to the input."""
        return " AND ".join(
            f"bg_norm(i.{quote_name(shared[c])}) = g.k{n}" for n, c in enumerate(columns)
        )

    def _distinct_groups(self, columns: list[str]) -> str:
        return (
            "SELECT DISTINCT "
            + ", ".join(f"bg_norm({quote_name(c)}) AS k{n}" for n, c in enumerate(columns))
            + " FROM bg_out"
        )

    def _small_recomputed(
        self, relative: str, source: _Input, shared: dict[str, str], keys: list[str]
    ) -> list[Finding]:
        k = source.rules.min_group_size
        size = f"count(DISTINCT i.{quote_name(source.person)})" if source.person else "count(*)"
        group_columns = ", ".join(f"g.k{n}" for n in range(len(keys)))
        small = self._scalar(
            f"""
            WITH g AS ({self._distinct_groups(keys)}),
            sizes AS (
                SELECT {group_columns}, {size} AS n FROM {source.view} i
                JOIN g ON {self._group_join(source, shared, keys)} GROUP BY {group_columns}
            )
            SELECT count(*) FROM sizes WHERE n < {k}
            """
        )
        if not small:
            return []
        unit = msg("persons") if source.person else msg("rows")
        return [
            Finding(
                relative,
                "small_group",
                "block",
                msg(
                    "'{file}' has no count column, so each row is taken as a group by {keys}; "
                    "{groups} of those groups have fewer than {k} {unit} in dataset "
                    "'{dataset}': merge categories or drop those rows.",
                    file=relative,
                    keys=", ".join(keys),
                    groups=format(small, ","),
                    k=k,
                    unit=unit,
                    dataset=source.rules.slug,
                ),
                {
                    "dataset": source.rules.slug,
                    "keys": keys,
                    "groups": small,
                    "min_group_size": k,
                },
            )
        ]

    def _copied_rows(self, relative: str, source: _Input, shared: dict[str, str]) -> list[Finding]:
        k = source.rules.min_group_size
        columns = list(shared)
        group_columns = ", ".join(f"g.k{n}" for n in range(len(columns)))
        output_keys = ", ".join(f"bg_norm({quote_name(c)}) AS k{n}" for n, c in enumerate(columns))
        matches = " AND ".join(f"o.k{n} = m.k{n}" for n in range(len(columns)))
        copied = self._scalar(
            f"""
            WITH o AS (SELECT {output_keys} FROM bg_out),
            g AS (SELECT DISTINCT * FROM o),
            m AS (
                SELECT {group_columns}, count(*) AS n FROM {source.view} i
                JOIN g ON {self._group_join(source, shared, columns)} GROUP BY {group_columns}
            )
            SELECT count(*) FROM o JOIN m ON {matches} WHERE m.n < {k}
            """
        )
        if not copied:
            return []
        return [
            Finding(
                relative,
                "copied_rows",
                "block",
                msg(
                    "{rows} rows of '{file}' equal rows of dataset '{dataset}' on all {count} "
                    "shared columns ({columns}), each matching fewer than {k} input rows: these "
                    "are row-level copies; release aggregates instead.",
                    rows=format(copied, ","),
                    file=relative,
                    dataset=source.rules.slug,
                    count=len(columns),
                    columns=", ".join(columns),
                    k=k,
                ),
                {"dataset": source.rules.slug, "columns": columns, "rows": copied},
            )
        ]

    def _dominance(
        self,
        relative: str,
        source: _Input,
        shared: dict[str, str],
        keys: list[str],
        counts: list[str],
    ) -> list[Finding]:
        rules = source.rules
        findings = []
        group_names = ", ".join(f"k{n}" for n in range(len(keys)))
        for column, original in shared.items():
            if column in keys or column in counts:
                continue
            if not _NUMERIC_TYPES.match(source.columns[original.lower()][1]):
                continue
            dominated = self._scalar(
                f"""
                WITH g AS ({self._distinct_groups(keys)}),
                contributions AS ({self._contributions(source, shared, keys, original)}),
                ranked AS (
                    SELECT {group_names}, v,
                        row_number() OVER (PARTITION BY {group_names} ORDER BY v DESC) AS rn
                    FROM contributions WHERE v IS NOT NULL
                ),
                totals AS (
                    SELECT {group_names}, sum(v) FILTER (WHERE v > 0) AS total,
                        sum(v) FILTER (WHERE rn <= {int(rules.dominance_n)} AND v > 0) AS top
                    FROM ranked GROUP BY {group_names}
                )
                SELECT count(*) FROM totals
                WHERE total > 0 AND top > {float(rules.dominance_k)} * total
                """
            )
            if dominated:
                findings.append(
                    Finding(
                        relative,
                        "dominance",
                        "block",
                        msg(
                            "In {groups} groups of '{file}' (by {keys}), the {n} largest "
                            "contributors hold more than {share} of '{column}' in dataset "
                            "'{dataset}', so the total reveals their values: merge or suppress "
                            "those groups.",
                            groups=format(dominated, ","),
                            file=relative,
                            keys=", ".join(keys),
                            n=rules.dominance_n,
                            share=format(rules.dominance_k, ".0%"),
                            column=column,
                            dataset=rules.slug,
                        ),
                        {
                            "dataset": rules.slug,
                            "column": column,
                            "keys": keys,
                            "groups": dominated,
                            "dominance_n": rules.dominance_n,
                            "dominance_k": rules.dominance_k,
                        },
                    )
                )
        return findings

    def _contributions(
        self, source: _Input, shared: dict[str, str], keys: list[str], original: str
    ) -> str:
        """Each person's (else each row's) contribution to ``original``, per output group."""
        group_columns = ", ".join(f"g.k{n}" for n in range(len(keys)))
        value = f"CAST(i.{quote_name(original)} AS DOUBLE)"
        join = f"FROM {source.view} i JOIN g ON {self._group_join(source, shared, keys)}"
        if source.person is None:
            return f"SELECT {group_columns}, {value} AS v {join}"
        person = quote_name(source.person)
        return (
            f"SELECT {group_columns}, i.{person} AS p, sum({value}) AS v {join} "
            f"GROUP BY {group_columns}, i.{person}"
        )

    # Names ------------------------------------------------------------------------------------

    def check_name(self, relative: str) -> list[Finding]:
        """A file or folder name that carries values of an input's identifier, quasi-identifier,
        sensitive or date columns (``003_C-V0000004_2025-01-03_E11.csv``) is blocked: the name
        is seen before anyone opens the file."""
        tokens = _name_tokens(relative)
        if not tokens:
            return []
        self.db.register("bg_name_arrow", pa.table({"token": pa.array(tokens, pa.string())}))
        try:
            self._run(
                "CREATE OR REPLACE TEMP TABLE bg_name AS "
                "SELECT DISTINCT bg_norm(token) AS v FROM bg_name_arrow"
            )
        finally:
            self.db.unregister("bg_name_arrow")
        findings = []
        for source in self.inputs:
            for column in source.name_columns:
                values = self._scalar(
                    f"SELECT count(DISTINCT bg_norm(i.{quote_name(column)})) FROM {source.view} i "
                    f"WHERE bg_norm(i.{quote_name(column)}) IN (SELECT v FROM bg_name)"
                )
                if values:
                    findings.append(
                        Finding(
                            relative,
                            "file_name",
                            "block",
                            msg(
                                "The name '{file}' carries {values} value(s) of column "
                                "'{column}' of dataset '{dataset}'; name output files for what "
                                "they hold, never for the rows they came from.",
                                file=relative,
                                values=format(values, ","),
                                column=column,
                                dataset=source.rules.slug,
                            ),
                            {"dataset": source.rules.slug, "column": column, "values": values},
                        )
                    )
        return findings

    # Text -------------------------------------------------------------------------------------

    def check_text(self, path: Path, relative: str) -> list[Finding]:
        sources = [(s, c) for s in self.inputs for c in s.identifiers]
        if not sources:
            return []
        with path.open("rb") as stream:
            sample = stream.read(TEXT_SCAN_BYTES + 1)
        truncated = len(sample) > TEXT_SCAN_BYTES
        text = sample[:TEXT_SCAN_BYTES].decode(_text_encoding(path), errors="replace")
        tokens, lines = _tokens(text)
        if not tokens:
            return []
        self.db.register(
            "bg_tokens_arrow",
            pa.table({"token": pa.array(tokens, pa.string()), "line": pa.array(lines, pa.int64())}),
        )
        try:
            self._run(
                "CREATE OR REPLACE TEMP TABLE bg_tokens AS "
                "SELECT bg_norm(token) AS v, line FROM bg_tokens_arrow"
            )
        finally:
            self.db.unregister("bg_tokens_arrow")
        findings = []
        for source, identifier in sources:
            row = self._row(
                f"""
                WITH candidates AS (SELECT DISTINCT v FROM bg_tokens),
                hit AS (
                    SELECT DISTINCT bg_norm(i.{quote_name(identifier)}) AS v FROM {source.view} i
                    WHERE bg_norm(i.{quote_name(identifier)}) IN (SELECT v FROM candidates)
                )
                SELECT count(DISTINCT v), count(DISTINCT line) FROM bg_tokens JOIN hit USING (v)
                """
            )
            values, hit_lines = (int(row[0]), int(row[1])) if row else (0, 0)
            if values:
                scanned = (
                    msg("the first {bytes} bytes scanned", bytes=format(TEXT_SCAN_BYTES, ","))
                    if truncated
                    else msg("the whole file scanned")
                )
                findings.append(
                    Finding(
                        relative,
                        "identifier_column",
                        "block",
                        msg(
                            "'{file}' contains {values} distinct values of the direct identifier "
                            "'{identifier}' of dataset '{dataset}' on {lines} lines ({scanned}); "
                            "remove them (do not log row-level records).",
                            file=relative,
                            values=format(values, ","),
                            identifier=identifier,
                            dataset=source.rules.slug,
                            lines=format(hit_lines, ","),
                            scanned=scanned,
                        ),
                        {
                            "dataset": source.rules.slug,
                            "identifier": identifier,
                            "values": values,
                            "lines": hit_lines,
                            "truncated": truncated,
                        },
                    )
                )
        return findings


_NAME_PARTS = re.compile(r"[/_.\s]+")


def _name_tokens(relative: str) -> list[str]:
    """The pieces of a file's path that could be a value: parts between ``/ _ .`` and spaces,
    the pieces of those between hyphens, and adjacent parts joined again (a value may hold the
    separator).  Short pieces and short numbers are left out (counts, steps, years)."""
    parts = [p for p in _NAME_PARTS.split(relative) if p]
    pieces = set(parts)
    for part in parts:
        pieces.update(p for p in part.split("-") if p)
    for first, second in itertools.pairwise(parts):
        pieces.update({f"{first} {second}", f"{first}_{second}", f"{first}-{second}"})
    return sorted(p for p in pieces if len(p) >= 3 and not (p.isdigit() and len(p) < 6))


def _tokens(text: str) -> tuple[list[str], list[int]]:
    """Identifier-like tokens and pairs of adjacent tokens, with their line numbers (from 1)."""
    tokens: list[str] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = [w.rstrip(".") for w in _TOKEN.findall(line)]
        for index, word in enumerate(words):
            if _id_like(word):
                tokens.append(word)
                lines.append(number)
            if index + 1 < len(words):
                pair = f"{word} {words[index + 1]}"
                if len(pair) >= 4:
                    tokens.append(pair)
                    lines.append(number)
    return tokens, lines


def _unreadable(relative: str, error: Exception, *, reading: bool = True) -> Finding:
    # The reader's own message can quote cells of the file, so only its type is passed on.
    what = msg("could not be read as a table") if reading else msg("could not be checked")
    return Finding(
        relative,
        "unreadable",
        "block",
        msg(
            "'{file}' {what} ({problem}); write it as UTF-8 CSV/TSV with a header row, "
            "Parquet, or JSON records, and run the job again.",
            file=relative,
            what=what,
            problem=type(error).__name__,
        ),
        {"error": type(error).__name__},
    )
