"""Probabilistic linkage: Fellegi–Sunter on Splink, on a connection of the locked engine."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
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


@pytest.fixture(scope="module")
def trained() -> tuple[dict[str, Any], pa.Table, pa.Table]:
    data = synthetic.generate(1200, 1200, 700, seed=11)
    left, right = probabilistic.prepare(data.left), probabilistic.prepare(data.right)
    with probabilistic.locked_connection() as conn:
        scored = probabilistic.score(conn, left, right, PRESENT)
    return scored.parameters, left, right


def splink_predict(
    left: pa.Table, right: pa.Table, model: dict[str, Any]
) -> dict[tuple[int, int], float]:
    """Splink's own predict, on its own DuckDB backend: (left row, right row) → probability."""
    from splink import Linker
    from splink.internals.duckdb.database_api import DuckDBAPI

    conn = duckdb.connect()
    try:
        api = DuckDBAPI(connection=conn)
        frames = [
            api.register(left, table_name="__bitgoeul_left"),
            api.register(right, table_name="__bitgoeul_right"),
        ]
        blocked = Linker(frames, model, log_level=logging.ERROR).inference.predict()
        left_first = "source_dataset_l = '__bitgoeul_left'"
        rows = conn.execute(
            f"SELECT CASE WHEN {left_first} THEN unique_id_l ELSE unique_id_r END, "
            f"CASE WHEN {left_first} THEN unique_id_r ELSE unique_id_l END, match_probability "
            f"FROM {blocked.physical_name}"
        ).fetchall()
    finally:
        conn.close()
    return {(int(a), int(b)): float(p) for a, b, p in rows}


def our_predict(
    left: pa.Table, right: pa.Table, model: dict[str, Any]
) -> dict[tuple[int, int], float]:
    with probabilistic.locked_connection() as conn:
        conn.register("__bitgoeul_left", left)
        conn.register("__bitgoeul_right", right)
        predicted = probabilistic.predict(conn, model)
    pairs = list(zip(predicted.left.tolist(), predicted.right.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs)  # each pair once
    return dict(zip(pairs, predicted.match_probability.tolist(), strict=True))


def assert_same(ours: dict[tuple[int, int], float], splink: dict[tuple[int, int], float]) -> None:
    assert ours.keys() == splink.keys()
    for pair, probability in splink.items():
        assert abs(ours[pair] - probability) <= 1e-9, pair


def test_our_scorer_gives_splinks_pairs_and_probabilities(
    trained: tuple[dict[str, Any], pa.Table, pa.Table],
) -> None:
    model, left, right = trained
    splink = splink_predict(left, right, model)
    assert len(splink) > 1000
    assert_same(our_predict(left, right, model), splink)
    # The training run scored with the same scorer.
    with probabilistic.locked_connection() as conn:
        scored = probabilistic.score(conn, left, right, PRESENT, floor=0.5)
    assert scored.comparisons == len(splink)
    assert {(a, b) for a, b in zip(scored.left.tolist(), scored.right.tolist(), strict=True)} == {
        pair for pair, p in splink.items() if p >= 0.5
    }


NAMES = ["김", "이", "박", "남", None]
GIVEN = ["ㅁㅣㄴㅈㅜㄴ", "ㅁㅣㄴㅈㅜㅇ", "ㅈㅜㄴㅁㅣㄴ", "ㅅㅓㅇ", "ㅅㅓ", None]
DAYS = ["19800102", "19800201", "19800103", "19810102", None]


@st.composite
def prepared_rows(draw: st.DrawFn) -> pa.Table:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(NAMES),
                st.sampled_from(GIVEN),
                st.sampled_from(DAYS),
                st.sampled_from(["01012345678", "01099998888", None]),
                st.sampled_from(["광산구", "북구", None]),
                st.sampled_from(["M", "F", None]),
            ),
            min_size=1,
            max_size=8,
        )
    )
    columns: dict[str, list[Any]] = {c: [] for c in ("unique_id", *probabilistic.COLUMNS)}
    for k, (surname, given_name, day, phone, district, sex) in enumerate(rows):
        columns["unique_id"].append(k)
        columns["surname"].append(surname)
        columns["given"].append(given_name)
        columns["given_sorted"].append("".join(sorted(given_name)) if given_name else None)
        columns["birth_date"].append(day)
        columns["birth_year"].append(day[:4] if day else None)
        columns["birth_md"].append(
            "-".join(map(str, sorted((int(day[4:6]), int(day[6:]))))) if day else None
        )
        columns["phone"].append(phone)
        columns["district"].append(district)
        columns["sex"].append(sex)
    types = {c: pa.string() for c in probabilistic.COLUMNS} | {"unique_id": pa.int64()}
    return pa.table({c: pa.array(v, type=types[c]) for c, v in columns.items()})


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prepared_rows(),
    prepared_rows(),
    st.sampled_from([0.0, 0.3]),
    st.sampled_from([1.0, 0.5]),
    st.sampled_from(["trained", "not observed", "untrained"]),
)
def test_our_scorer_equals_splink_on_small_inputs_with_nulls(
    trained: tuple[dict[str, Any], pa.Table, pa.Table],
    left: pa.Table,
    right: pa.Table,
    tf_floor: float,
    tf_weight: float,
    surname_exact: str,
) -> None:
    model = copy.deepcopy(trained[0])
    # A level EM never saw (Splink takes 1e-6) or never trained (Splink's defaults).
    exact = model["comparisons"][0]["comparison_levels"][1]
    if surname_exact == "not observed":
        exact["m_probability"] = "level not observed in training dataset"
    elif surname_exact == "untrained":
        del exact["m_probability"], exact["u_probability"]
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("tf_adjustment_column"):
                level["tf_adjustment_weight"] = tf_weight
                if tf_floor:
                    level["tf_minimum_u_value"] = tf_floor
    assert_same(our_predict(left, right, model), splink_predict(left, right, model))
