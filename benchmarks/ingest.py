"""Ingest benchmark: Bitgoeul's pipeline beside DuckDB's own CSV → Parquet copy.

Generates one CSV of about ``--size-gb`` gigabytes into ``--dir`` (kept between runs), then
runs each side in its own child process and reports wall time, throughput and the child's peak
resident memory (``ru_maxrss`` from ``os.wait4``).  Results go in docs/benchmarks.md, "Ingest".

    python benchmarks/ingest.py --size-gb 1
    python benchmarks/ingest.py --size-gb 5 --encoding cp949
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

MACRO = "CREATE OR REPLACE MACRO h(x) AS CAST(hash(x) % 1000000007 AS BIGINT)"

GENERATOR = """
COPY (
  SELECT
    i AS id,
    ['김민준','이서연','박지호','최수아','정도윤','강하은','조시우','윤지유'][1 + i % 8]
      || CAST(i % 997 AS VARCHAR) AS name,
    DATE '1935-01-01' + CAST(h(i) % 30000 AS INTEGER) AS birth_date,
    CASE WHEN h(i + 1) % 2 = 0 THEN 'M' ELSE 'F' END AS sex,
    ['동구','서구','남구','북구','광산구'][1 + h(i + 2) % 5] AS district,
    '010-' || lpad(CAST(h(i + 3) % 10000 AS VARCHAR), 4, '0') || '-'
      || lpad(CAST(h(i + 4) % 10000 AS VARCHAR), 4, '0') AS phone,
    round((h(i + 5) % 1000000) / 100.0, 2) AS monthly_kwh,
    CAST(h(i + 6) % 50 AS INTEGER) AS visits,
    ['J45','E11.9','I10','K29.7','M54.5','Z00.0'][1 + h(i + 7) % 6] AS diagnosis,
    TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (h(i + 8) % 31536000) SECOND AS measured_at,
    '광주광역시 ' || ['동구','서구','남구','북구','광산구'][1 + i % 5] || ' 빛고을로 '
      || CAST(i % 500 AS VARCHAR) AS address
  FROM range({rows}) t(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""


@dataclass
class Measurement:
    tool: str
    seconds: float
    peak_rss_bytes: int
    rows: str


def generate(path: Path, size_gb: float, encoding: str) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    probe = path.with_suffix(".probe.csv")
    duckdb.sql(MACRO)
    duckdb.sql(GENERATOR.format(rows=100_000, path=probe))
    bytes_per_row = probe.stat().st_size / 100_000
    probe.unlink()
    rows = int(size_gb * 1024**3 / bytes_per_row)
    utf8 = path if encoding == "utf-8" else path.with_suffix(".utf8.csv")
    print(f"generating {rows:,} rows into {path} …", flush=True)
    duckdb.sql(GENERATOR.format(rows=rows, path=utf8))
    if utf8 != path:
        with utf8.open(encoding="utf-8") as source, path.open("w", encoding=encoding) as target:
            shutil.copyfileobj(source, target, 16 * 1024 * 1024)
        utf8.unlink()


def run_bitgoeul(csv_path: Path, out_dir: Path) -> str:
    from bitgoeul.ingest.pipeline import ingest_file

    result = ingest_file(csv_path, filename=csv_path.name, work_dir=out_dir)
    result.parquet_path.unlink()
    return str(result.row_count)


def run_duckdb(csv_path: Path, out_dir: Path, encoding: str) -> str:
    target = out_dir / "duckdb.parquet"
    options = "" if encoding == "utf-8" else f", encoding = '{encoding}'"
    connection = duckdb.connect()
    if options:
        connection.execute("INSTALL encodings; LOAD encodings;")
    row = connection.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}'{options})) TO '{target}' (FORMAT parquet)"
    ).fetchone()
    target.unlink()
    return str(row[0]) if row else "?"


def measure(tool: str, csv_path: Path, out_dir: Path, encoding: str) -> Measurement:
    """Run one side in a fresh child process; its rusage gives the peak memory."""
    command = [
        sys.executable,
        __file__,
        "--child",
        tool,
        "--csv",
        str(csv_path),
        "--dir",
        str(out_dir),
        "--encoding",
        encoding,
    ]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
        output = child.stdout.read().strip() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if status != 0:
            errors.seek(0)
            lines = errors.read().strip().splitlines() or ["?"]
            print(f"{tool} failed: {lines[-1]}", file=sys.stderr)
            output = "failed"
    return Measurement(tool, seconds, usage.ru_maxrss * 1024, output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--dir", type=Path, default=Path("./.bench"))
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "cp949"])
    parser.add_argument("--only", choices=["bitgoeul", "duckdb"], default=None)
    parser.add_argument("--child", choices=["bitgoeul", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "bitgoeul":
            print(run_bitgoeul(args.csv, args.dir))
        else:
            print(run_duckdb(args.csv, args.dir, args.encoding))
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    csv_path = args.dir / f"ingest-{args.size_gb:g}gb-{args.encoding}.csv"
    generate(csv_path, args.size_gb, args.encoding)
    size = csv_path.stat().st_size
    tools = [args.only] if args.only else ["duckdb", "bitgoeul"]
    results = [measure(tool, csv_path, args.dir, args.encoding) for tool in tools]

    baseline = next((m for m in results if m.tool == "duckdb" and m.rows != "failed"), None)
    table = Table(
        title=f"Ingest {size / 1024**3:.2f} GiB CSV ({args.encoding}), {os.cpu_count()} cores"
    )
    for column in ("tool", "rows", "seconds", "MB/s", "peak RSS (MiB)", "throughput vs DuckDB"):
        table.add_column(column, justify="left" if column == "tool" else "right")
    for m in results:
        ok = m.rows != "failed"
        ratio = f"{baseline.seconds / m.seconds:.2f}×" if baseline and ok else "—"
        table.add_row(
            m.tool,
            m.rows,
            f"{m.seconds:.1f}" if ok else "—",
            f"{size / 1e6 / m.seconds:.0f}" if ok else "—",
            f"{m.peak_rss_bytes / 1024**2:.0f}",
            ratio,
        )
    Console().print(table)


if __name__ == "__main__":
    main()
