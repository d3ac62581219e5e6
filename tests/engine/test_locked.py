"""The locked engine, attacked directly: whatever SQL reaches it, it reads only the files it was
opened for, writes nothing elsewhere, keeps nothing from one query to the next, and changes no
setting.  (The gateway never sends such SQL; this is the second line of defence.)"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bitgoeul.engine import locked
from bitgoeul.errors import TooLarge


def _parquet(path: Path, rows: int = 3, text: str = "a") -> Path:
    pq.write_table(
        pa.table({"n": list(range(rows)), "t": [text * (i + 1) for i in range(rows)]}), path
    )
    return path


@pytest.fixture
def views(tmp_path: Path) -> tuple[locked.View, Path]:
    mine = _parquet(tmp_path / "mine.parquet")
    other = _parquet(tmp_path / "other.parquet", text="secret")
    return locked.View("__bg_ds_0", mine, "SELECT * FROM {source}"), other


def _fails(conn: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(duckdb.Error):
        conn.execute(sql).fetchall()


LIMITS = locked.Limits()


def test_a_view_reads_its_own_file(views: tuple[locked.View, Path]) -> None:
    view, _other = views
    with locked.connection([view], LIMITS) as conn:
        assert conn.execute('SELECT count(*) FROM "__bg_ds_0"').fetchall() == [(3,)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('{other}')",
        "SELECT * FROM '{other}'",
        "SELECT * FROM glob('{folder}/*')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/hostname')",
        "COPY (SELECT 1) TO '{folder}/written.csv'",
        "COPY (SELECT 1) TO '{other}' (FORMAT parquet, USE_TMP_FILE false)",
        "ATTACH '{folder}/new.duckdb' AS other",
        "ATTACH ':memory:' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET allowed_paths = ['{other}']",
        "SET lock_configuration = false",
        "RESET lock_configuration",
        "SET threads = 64",
        "CREATE MACRO main.sha256(x) AS x",
        "CREATE TABLE main.t AS SELECT 1",
        "CREATE VIEW main.v AS SELECT 1",
        "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
        "EXPORT DATABASE '{folder}/dump'",
        "SELECT * FROM duckdb_secrets()",
    ],
)
def test_the_engine_refuses_what_no_view_needs(
    views: tuple[locked.View, Path], tmp_path: Path, sql: str
) -> None:
    view, other = views
    with locked.connection([view], LIMITS) as conn:
        _fails(conn, sql.format(other=other, folder=tmp_path))
    assert not (tmp_path / "written.csv").exists()
    assert pq.read_table(other).num_rows == 3


def test_nothing_made_in_one_query_is_there_in_the_next(views: tuple[locked.View, Path]) -> None:
    view, _other = views
    with locked.connection([view], LIMITS) as conn:
        conn.execute("CREATE TEMP MACRO sha256(x) AS x")
        conn.execute("CREATE TEMP TABLE kept AS SELECT 1 AS one")
        conn.execute("SET VARIABLE leak = 42")
        assert conn.execute("SELECT sha256('a')").fetchall() == [("a",)]
    with locked.connection([view], LIMITS) as conn:
        real = conn.execute("SELECT sha256('a')").fetchall()[0][0]
        assert real.startswith("ca978112")
        _fails(conn, "SELECT * FROM kept")
        assert conn.execute("SELECT getvariable('leak')").fetchall() == [(None,)]


def test_two_sets_of_files_never_share_a_database(tmp_path: Path) -> None:
    first = locked.View("__bg_ds_0", _parquet(tmp_path / "a.parquet"), "SELECT * FROM {source}")
    second = locked.View("__bg_ds_0", _parquet(tmp_path / "b.parquet"), "SELECT * FROM {source}")
    with locked.connection([first], LIMITS) as conn:
        _fails(conn, f"SELECT * FROM read_parquet('{second.path}')")
    with locked.connection([second], LIMITS) as conn:
        _fails(conn, f"SELECT * FROM read_parquet('{first.path}')")
        assert conn.execute('SELECT count(*) FROM "__bg_ds_0"').fetchall() == [(3,)]


def test_a_result_past_the_byte_cap_is_refused_as_too_large(tmp_path: Path) -> None:
    view = locked.View(
        "__bg_ds_0",
        _parquet(tmp_path / "big.parquet", rows=2000, text="x"),
        "SELECT * FROM {source}",
    )
    small = locked.Limits(max_result_bytes=100_000)
    sql = 'SELECT repeat(t, 100) FROM "__bg_ds_0"'
    with pytest.raises(TooLarge, match="MiB limit"):
        locked.run(sql, [view], limit=10_000, limits=small, scrub={}, secure=False)
    with pytest.raises(TooLarge):
        locked.run_arrow(sql, [view], max_rows=10_000, limits=small, scrub={})
    result = locked.run(
        'SELECT count(*) FROM "__bg_ds_0"', [view], limit=10, limits=small, scrub={}, secure=False
    )
    assert result.rows == [(2000,)]


def test_a_view_is_written_to_a_file_by_pyarrow_not_by_duckdb(tmp_path: Path) -> None:
    view = locked.View(
        "__bg_view", _parquet(tmp_path / "v.parquet", rows=5), "SELECT n FROM {source} WHERE n > 1"
    )
    for file_format in ("parquet", "csv"):
        target = tmp_path / f"out.{file_format}"
        rows = locked.write_view(view, target=target, file_format=file_format, limits=LIMITS)
        assert rows == 3
        assert target.stat().st_size > 0
    assert pq.read_table(tmp_path / "out.parquet").column("n").to_pylist() == [2, 3, 4]


def test_a_file_the_hub_rereads_keeps_its_floats_plain_and_every_value(tmp_path: Path) -> None:
    """``plain_floats`` (the DP bounded copy): floating-point columns, nested ones too, are
    written PLAIN and uncompressed; the others keep their dictionary and Snappy; every value
    reads back the same."""
    source = tmp_path / "mixed.parquet"
    table = pa.table(
        {
            "cost": [1.25, 2.5, float("nan"), None],
            "district": ["Buk", "Seo", "Buk", None],
            "visit": [{"fee": 1.0, "ward": "A"}, None, {"fee": 3.0, "ward": "B"}, None],
        }
    )
    pq.write_table(table, source)
    view = locked.View("__bg_view", source, "SELECT * FROM {source}")
    target = tmp_path / "copy.parquet"
    rows = locked.write_view(
        view, target=target, file_format="parquet", limits=LIMITS, plain_floats=True
    )
    assert rows == 4
    group = pq.ParquetFile(target).metadata.row_group(0)
    chunks = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    for plain in ("cost", "visit.fee"):
        assert chunks[plain].compression == "UNCOMPRESSED"
        assert "RLE_DICTIONARY" not in chunks[plain].encodings
    for text in ("district", "visit.ward"):
        assert chunks[text].compression == "SNAPPY"
        assert "RLE_DICTIONARY" in chunks[text].encodings
    written = pq.read_table(target).to_pylist()
    assert math.isnan(written[2].pop("cost"))
    expected = table.to_pylist()
    del expected[2]["cost"]
    assert written == expected
