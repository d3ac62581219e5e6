"""Probabilistic linkage: Fellegi–Sunter on Splink, run on a locked DuckDB connection.

For runs inside the hub on identifiable data that every publisher approved for it. Each
source's identifying fields are normalised as every method normalises them (``normalise``:
the initial-sound rule, romanised names, dates, phones, districts), then Splink compares the
records that share a blocking key and weighs each field's agreement by its m and u
probabilities. The surname's weight is adjusted for its frequency (term-frequency adjustment):
김, 이 and 박 cover about 45 % of people, so two records agreeing on 김 is weak evidence and on
남 strong. m is estimated by expectation maximisation on the sources themselves (no labels), u
by random sampling, the prior from a strict deterministic rule. Pairs at or above the match
probability threshold are then linked one-to-one (``similarity.one_to_one``).

Where it runs: Splink's tables are temporary tables of a connection of ``engine.locked`` opened
for no file at all (no path, no directory, no extension, no URL; settings locked; memory and
threads capped), so the identifiable data exists only in that connection's memory and vanishes
when it closes. Splink 5's DuckDB backend writes ``CREATE TABLE``; ``_TempTablesAPI`` makes it
``CREATE TEMP TABLE`` (the locked database's own catalog is read-only).

What this does not protect against: the hub process sees the identifiers in clear, as the
approval says; it is the method for data whose publishers accept that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from bitgoeul.engine import locked as engine
from bitgoeul.linkage import keys, normalise, similarity
from bitgoeul.linkage.hangul import jamo

DEFAULT_THRESHOLD = 0.9  # match probability
U_PAIRS = 2e6  # random pairs sampled to estimate u
LIMITS = engine.Limits(timeout_s=3600, memory_limit="4GB", threads=2)

# The normalised columns Splink compares, all text (NULL where a source lacks the field or a
# value cannot be read).
COLUMNS = (
    "surname",
    "given",
    "given_sorted",
    "birth_date",
    "birth_year",
    "birth_md",
    "phone",
    "district",
    "sex",
)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def prepare(records: Sequence[Mapping[str, object]]) -> pa.Table:
    """The records' identifying fields, normalised, as Splink's input (``unique_id`` = row)."""
    columns: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    names: dict[object, tuple[str | None, str | None, str | None]] = {}
    days: dict[object, date | None] = {}
    for record in records:
        raw_name = record.get("name")
        name = names.get(raw_name)
        if name is None:
            full = normalise.hangul_name(_text(raw_name))
            given = full[1:] if full and len(full) > 1 else None
            name = names[raw_name] = (
                full[0] if full else None,
                jamo(given) if given else None,
                jamo("".join(sorted(given))) if given else None,
            )
        columns["surname"].append(name[0])
        columns["given"].append(name[1])
        columns["given_sorted"].append(name[2])
        raw_day = record.get("birth_date")
        if raw_day not in days:
            days[raw_day] = (
                raw_day if isinstance(raw_day, date) else normalise.birth_date(_text(raw_day))
            )
        day = days[raw_day]
        columns["birth_date"].append(f"{day:%Y%m%d}" if day else None)
        columns["birth_year"].append(f"{day.year}" if day else None)
        columns["birth_md"].append(
            "-".join(map(str, sorted((day.month, day.day)))) if day else None
        )
        columns["phone"].append(normalise.phone(_text(record.get("phone"))))
        columns["district"].append(normalise.district(_text(record.get("district"))))
        columns["sex"].append(keys.FIELDS["sex"][1](_text(record.get("sex"))))
    table: dict[str, Any] = {"unique_id": pa.array(range(len(records)), type=pa.int64())}
    for column, values in columns.items():
        table[column] = pa.array(values, type=pa.string())
    return pa.table(table)


def settings(present: set[str]) -> dict[str, Any]:
    """Splink's settings for the fields every source has (``present``)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons: list[Any] = []
    if "name" in present:
        comparisons.append(
            cl.CustomComparison(
                output_column_name="surname",
                comparison_levels=[
                    cll.NullLevel("surname"),
                    cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
                    cll.ElseLevel(),
                ],
            )
        )
        comparisons.append(
            cl.CustomComparison(
                output_column_name="given",
                comparison_levels=[
                    cll.NullLevel("given"),
                    cll.ExactMatchLevel("given"),
                    cll.ExactMatchLevel("given_sorted"),  # syllables in the other order
                    cll.LevenshteinLevel("given", 1),  # one jamo: 재/제, 은/응
                    cll.LevenshteinLevel("given_sorted", 1),  # both
                    cll.LevenshteinLevel("given", 2),
                    cll.ElseLevel(),
                ],
            )
        )
    if "birth_date" in present:
        comparisons.append(
            cl.CustomComparison(
                output_column_name="birth_date",
                comparison_levels=[
                    cll.NullLevel("birth_date"),
                    cll.ExactMatchLevel("birth_date"),
                    cll.DamerauLevenshteinLevel("birth_date", 1),
                    cll.CustomLevel(
                        "birth_year_l = birth_year_r AND birth_md_l = birth_md_r",
                        label_for_charts="day and month swapped",
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    for field in ("phone", "district", "sex"):
        if field in present:
            comparisons.append(
                cl.CustomComparison(
                    output_column_name=field,
                    comparison_levels=[
                        cll.NullLevel(field),
                        cll.ExactMatchLevel(field, term_frequency_adjustments=field == "district"),
                        cll.ElseLevel(),
                    ],
                )
            )
    rules: list[Any] = []
    if "birth_date" in present:
        rules.append(block_on("birth_date"))
    if "phone" in present:
        rules.append(block_on("phone"))
    if "name" in present:
        rules.append(block_on("surname", "given"))
        if "birth_date" in present:
            rules.append(block_on("given_sorted", "birth_year"))
            rules.append(block_on("surname", "birth_md"))
    creator = SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    created: dict[str, Any] = creator.create_settings_dict(sql_dialect_str="duckdb")
    return created


def _api_class() -> type[Any]:
    from splink.internals.duckdb.database_api import DuckDBAPI

    class _TempTablesAPI(DuckDBAPI):
        """Splink's DuckDB backend writing temporary tables (the catalog is read-only)."""

        def _setup_for_execute_sql(self, sql: str, physical_name: str) -> str:
            self.delete_table_from_database(physical_name)
            return f"CREATE TEMP TABLE {physical_name} AS\n{sql}"

    return _TempTablesAPI


@contextmanager
def locked_connection(limits: engine.Limits = LIMITS) -> Iterator[engine.Connection]:
    """A connection of the locked engine that can read no file at all."""
    with engine.connection([], limits) as conn:
        yield conn


@dataclass(frozen=True)
class Scored:
    """Scored candidate pairs (left row, right row, match probability; those above a floor)
    and what it took."""

    left: similarity.IntArray
    right: similarity.IntArray
    probability: similarity.FloatArray
    comparisons: int  # candidate pairs scored
    predict_s: float
    train_s: float
    parameters: dict[str, Any]


# Pairs agreeing on all of these are taken as matches to estimate the prior (the share of
# all pairs that match), with the recall such strict rules are assumed to have.
_STRICT_RULES = (
    (("surname", "given", "birth_date"), {"name", "birth_date"}),
    (("phone", "birth_date"), {"phone", "birth_date"}),
    (("surname", "given", "phone"), {"name", "phone"}),
)
_STRICT_RECALL = 0.7


def _prior(conn: engine.Connection, present: set[str], n_left: int, n_right: int) -> float:
    """The probability that two random records match, from the strict rules' pairs."""
    rules = [columns for columns, needs in _STRICT_RULES if needs <= present]
    if not rules or not n_left or not n_right:
        return 1e-4
    selects = " UNION ".join(
        "SELECT l.unique_id AS a, r.unique_id AS b FROM __bitgoeul_left l "
        "JOIN __bitgoeul_right r ON " + " AND ".join(f"l.{c} = r.{c}" for c in columns)
        for columns in rules
    )
    row = conn.execute(f"SELECT count(*) FROM ({selects})").fetchall()[0]
    found = int(row[0]) if row else 0
    prior = found / _STRICT_RECALL / (n_left * n_right)
    return min(max(prior, 1e-9), 0.5)


def score(
    conn: engine.Connection,
    left: pa.Table,
    right: pa.Table,
    present: set[str],
    *,
    seed: int = 1,
    floor: float = 0.01,
) -> Scored:
    """Train a Fellegi–Sunter model on the two sources and score their blocked pairs."""
    from splink import Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    api = _api_class()(connection=conn)
    frames = [
        api.register(left, table_name="__bitgoeul_left"),
        api.register(right, table_name="__bitgoeul_right"),
    ]
    started = time.perf_counter()
    model = settings(present)
    model["probability_two_random_records_match"] = _prior(
        conn, present, left.num_rows, right.num_rows
    )
    linker = Linker(frames, model, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=seed)
    em_rules = [
        rule
        for rule, needs in (
            (block_on("birth_date"), {"birth_date"}),
            (block_on("surname", "given"), {"name"}),
        )
        if needs <= present
    ]
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    blocked = linker.inference.predict()
    predict_s = time.perf_counter() - started
    comparisons = int(
        conn.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()[0][0]
    )
    left_first = "source_dataset_l = '__bitgoeul_left'"
    kept = conn.sql(
        f"SELECT CASE WHEN {left_first} THEN unique_id_l ELSE unique_id_r END, "
        f"CASE WHEN {left_first} THEN unique_id_r ELSE unique_id_l END, match_probability "
        f"FROM {blocked.physical_name} WHERE match_probability >= {float(floor)!r}"
    ).to_arrow_table()
    parameters = linker.misc.save_model_to_json()
    return Scored(
        left=kept.column(0).to_numpy().astype(np.int64),
        right=kept.column(1).to_numpy().astype(np.int64),
        probability=kept.column(2).to_numpy().astype(np.float32),
        comparisons=comparisons,
        predict_s=predict_s,
        train_s=train_s,
        parameters=parameters,
    )


def predict_only(
    conn: engine.Connection,
    left: pa.Table,
    right: pa.Table,
    model: dict[str, Any],
    *,
    plain: bool = False,
) -> tuple[int, float]:
    """Score the blocked pairs with a trained ``model`` (Splink's JSON): (pairs, seconds).
    ``plain`` uses Splink's own DuckDB backend unchanged, for the benchmark's reference."""
    from splink import Linker
    from splink.internals.duckdb.database_api import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    api = DuckDBAPI(connection=conn) if plain else _api_class()(connection=conn)
    frames = [
        api.register(left, table_name="__bitgoeul_left"),
        api.register(right, table_name="__bitgoeul_right"),
    ]
    linker = Linker(frames, model, log_level=logging.ERROR)
    started = time.perf_counter()
    blocked = linker.inference.predict()
    seconds = time.perf_counter() - started
    pairs = int(conn.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()[0][0])
    return pairs, seconds


def estimated_quality(scored: Scored, chosen: similarity.Links) -> dict[str, float]:
    """The model's own estimate of the links' precision and recall: the mean match probability
    of the links, and their summed probability over that of the best one-to-one assignment of
    every scored pair (the matches the model expects there to be)."""
    if len(chosen) == 0:
        return {"precision": 1.0, "recall": 0.0}
    everything = similarity.one_to_one(scored.left, scored.right, scored.probability)
    expected = float(everything.score.sum())
    found = float(chosen.score.sum())
    return {
        "precision": round(found / len(chosen), 4),
        "recall": round(min(found / expected, 1.0), 4) if expected else 0.0,
    }


def link(
    left_records: Sequence[Mapping[str, object]],
    right_records: Sequence[Mapping[str, object]],
    present: set[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    limits: engine.Limits = LIMITS,
) -> tuple[similarity.Links, Scored]:
    """Link two sources one-to-one by match probability, on a locked connection."""
    with locked_connection(limits) as conn:
        scored = score(conn, prepare(left_records), prepare(right_records), present)
    keep = scored.probability >= threshold
    links = similarity.one_to_one(scored.left[keep], scored.right[keep], scored.probability[keep])
    return links, scored
