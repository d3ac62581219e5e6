"""Probabilistic linkage: Fellegi–Sunter on Splink, on a connection of the locked engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitgoeul.linkage import probabilistic, similarity, synthetic

PRESENT = {"name", "birth_date", "phone", "district", "sex"}


def test_fields_are_normalised_as_every_method_normalises_them() -> None:
    rows = probabilistic.prepare(
        [
            {
                "name": "리영희",
                "birth_date": "1956.03.02",
                "phone": "+82 10 1234 5678",
                "district": "광주광역시 북구",
                "sex": "여",
            },
            {
                "name": "이 희영",
                "birth_date": "19560302",
                "phone": "010-1234-5678",
                "district": "Buk-gu",
                "sex": "F",
            },
        ]
    ).to_pylist()
    first, second = rows
    assert first["surname"] == second["surname"] == "이"
    assert first["given"] != second["given"]  # 영희 / 희영
    assert first["given_sorted"] == second["given_sorted"]  # the same syllables
    for column in ("birth_date", "phone", "district", "sex"):
        assert first[column] == second[column], column
    assert first["birth_date"] == "19560302"
    assert first["phone"] == "01012345678"


def test_an_unreadable_or_missing_value_is_null_not_a_guess() -> None:
    (row,) = probabilistic.prepare(
        [{"name": "Kim", "birth_date": "soon", "phone": None}]
    ).to_pylist()
    assert {row[c] for c in probabilistic.COLUMNS} == {None}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(sorted(PRESENT)), st.text(max_size=12)), max_size=5)
)
def test_any_records_give_one_row_each_with_the_fixed_columns(
    records: list[dict[str, str]],
) -> None:
    table = probabilistic.prepare(records)
    assert table.num_rows == len(records)
    assert table.column_names == ["unique_id", *probabilistic.COLUMNS]


def test_the_surname_weight_is_adjusted_for_its_frequency() -> None:
    model = probabilistic.settings(PRESENT)
    surname = next(c for c in model["comparisons"] if c["output_column_name"] == "surname")
    exact = next(level for level in surname["comparison_levels"] if "=" in level["sql_condition"])
    assert exact["tf_adjustment_column"] == "surname"


def test_only_the_fields_every_source_has_are_compared() -> None:
    model = probabilistic.settings({"name", "birth_date"})
    compared = {c["output_column_name"] for c in model["comparisons"]}
    assert compared == {"surname", "given", "birth_date"}


def test_the_locked_connection_reads_no_file_and_keeps_no_table(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    with probabilistic.locked_connection() as conn:
        with pytest.raises(duckdb.Error):
            conn.execute(f"SELECT * FROM read_csv('{secret}')").fetchall()
        with pytest.raises(duckdb.Error):
            conn.execute("SET enable_external_access = true")
        conn.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
    with probabilistic.locked_connection() as conn, pytest.raises(duckdb.CatalogException):
        conn.execute("SELECT * FROM scratch").fetchall()


def test_links_the_febrl3_like_set_accurately() -> None:
    data = synthetic.generate(1500, 1500, 900, seed=7)
    links, scored = probabilistic.link(data.left, data.right, PRESENT)
    quality = similarity.quality(links.as_set(), data.truth)
    assert quality.precision >= 0.99
    assert quality.recall >= 0.98
    assert scored.comparisons < 1500 * 1500 / 100  # blocking
    estimate = probabilistic.estimated_quality(scored, links)
    assert abs(estimate["precision"] - quality.precision) < 0.02
    assert abs(estimate["recall"] - quality.recall) < 0.03


def test_two_strangers_are_not_linked() -> None:
    data = synthetic.generate(300, 300, 0, seed=3)
    links, _ = probabilistic.link(data.left, data.right, PRESENT)
    assert len(links) <= 1
