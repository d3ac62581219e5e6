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
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from bitgoeul.engine import locked as engine
from bitgoeul.linkage import keys, normalise, similarity
from bitgoeul.linkage.hangul import jamo

DEFAULT_THRESHOLD = 0.9  # match probability
U_PAIRS = 2e6  # random pairs sampled to estimate u
LIMITS = engine.Limits(timeout_s=3600, memory_limit="4GB", threads=2)
# Splink floors m and u at this before taking log2(m / u) (comparison_level.M_U_CLAMP_MIN).
_M_U_CLAMP_MIN = 1e-300
_LEFT, _RIGHT = "__bitgoeul_left", "__bitgoeul_right"

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
        api.register(left, table_name=_LEFT),
        api.register(right, table_name=_RIGHT),
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
    parameters: dict[str, Any] = linker.misc.save_model_to_json()
    started = time.perf_counter()
    predicted = predict(conn, parameters)
    predict_s = time.perf_counter() - started
    kept = predicted.match_probability >= floor
    return Scored(
        left=predicted.left[kept],
        right=predicted.right[kept],
        probability=predicted.match_probability[kept].astype(np.float32),
        comparisons=len(predicted.left),
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
    Bitgoeul's scorer (``predict``) on the tables registered as they come; ``plain`` uses
    Splink's own predict on its own DuckDB backend unchanged, the benchmark's reference."""
    if not plain:
        conn.register(_LEFT, left)
        conn.register(_RIGHT, right)
        try:
            started = time.perf_counter()
            predicted = predict(conn, model)
            return len(predicted.left), time.perf_counter() - started
        finally:
            conn.unregister(_LEFT)
            conn.unregister(_RIGHT)
    from splink import Linker
    from splink.internals.duckdb.database_api import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    api = DuckDBAPI(connection=conn)
    frames = [api.register(left, table_name=_LEFT), api.register(right, table_name=_RIGHT)]
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


def _float(value: float) -> str:
    return f"cast({float(value)!r} as double)"


def _probabilities(levels: Sequence[Mapping[str, Any]]) -> list[tuple[float, float] | None]:
    """Each level's (m, u) as Splink reads a model (None for the null level): a level without
    a number (never trained; or marked "level not observed", which Splink's loader also drops)
    takes the comparison's default for its position (Splink's own ``_default_m_values`` and
    ``_default_u_values``)."""
    from splink.internals.comparison_level import _default_m_values, _default_u_values

    count = sum(1 for level in levels if not level.get("is_null_level"))
    default_m, default_u = _default_m_values(count), _default_u_values(count)
    out: list[tuple[float, float] | None] = []
    position = count - 1  # Splink's comparison vector value: count - 1 down to 0
    for level in levels:
        if level.get("is_null_level"):
            out.append(None)
            continue
        pair = []
        for key, default in (("m_probability", default_m), ("u_probability", default_u)):
            value = level.get(key)
            if not isinstance(value, int | float) or isinstance(value, bool):
                pair.append(float(default[position]))
            else:
                pair.append(float(value))
        out.append((pair[0], pair[1]))
        position -= 1
    return out


def _level_weight(probabilities: tuple[float, float] | None) -> float:
    """A level's match weight, log2(m / u), as Splink computes it (0 for the null level)."""
    if probabilities is None:
        return 0.0
    m, u = probabilities
    return math.log2(max(m, _M_U_CLAMP_MIN) / max(u, _M_U_CLAMP_MIN))


def _exact_u(
    levels: Sequence[Mapping[str, Any]],
    probabilities: Sequence[tuple[float, float] | None],
    column: str,
) -> float:
    """The u of the comparison's exact-match level on ``column`` (Splink's base for the
    term-frequency adjustment)."""
    for level, pair in zip(levels, probabilities, strict=True):
        if pair is not None and level["sql_condition"] == f'"{column}_l" = "{column}_r"':
            return pair[1]
    raise ValueError(f"no exact match level on {column!r} to adjust for term frequency")


def scoring_sql(model: Mapping[str, Any], columns: Sequence[str]) -> str:
    """One DuckDB query giving every blocked pair of the two registered tables once with its
    match weight, from Splink's trained ``model`` (its JSON): the model's blocking rules
    (a pair found by an earlier rule is left out of the later ones, as Splink does), each
    comparison's levels tried in order with the model's own conditions, each level's
    log2(m / u), and for a level with a term-frequency adjustment Splink's
    ``w · (log2 u_exact − log2 max(tf_l, tf_r, tf_min))``, the term frequencies being each
    value's share of the non-null values of both tables together."""
    comparisons = model["comparisons"]
    tf_columns = sorted(
        {
            level["tf_adjustment_column"]
            for comparison in comparisons
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column") and level.get("tf_adjustment_weight", 1.0)
        }
    )
    for column in tf_columns:
        if column not in columns:
            raise ValueError(f"no column {column!r} to adjust for term frequency")
    both = f"SELECT * FROM {_LEFT} UNION ALL SELECT * FROM {_RIGHT}"
    ctes = [f"__bitgoeul_both AS ({both})"]
    for column in tf_columns:
        ctes.append(
            f'"__bitgoeul_tf_{column}" AS (SELECT "{column}" AS value, '
            f'cast(count(*) as double) / (SELECT count("{column}") FROM __bitgoeul_both) AS tf '
            f'FROM __bitgoeul_both WHERE "{column}" IS NOT NULL GROUP BY "{column}")'
        )
    rules = [rule["blocking_rule"] for rule in model["blocking_rules_to_generate_predictions"]]
    if not rules:
        raise ValueError("the model has no blocking rules")
    picked = ", ".join(
        ["l.unique_id AS unique_id_l", "r.unique_id AS unique_id_r"]
        + [f'l."{c}" AS "{c}_l", r."{c}" AS "{c}_r"' for c in columns if c != "unique_id"]
    )
    selects = []
    for k, rule in enumerate(rules):
        earlier = "".join(f" AND NOT coalesce(({previous}), false)" for previous in rules[:k])
        selects.append(f"SELECT {picked} FROM {_LEFT} l JOIN {_RIGHT} r ON ({rule}){earlier}")
    ctes.append("__bitgoeul_blocked AS (" + " UNION ALL ".join(selects) + ")")
    tf_select = "".join(
        f', "__tf_{c}_l".tf AS "tf_{c}_l", "__tf_{c}_r".tf AS "tf_{c}_r"' for c in tf_columns
    )
    tf_join = "".join(
        f' LEFT JOIN "__bitgoeul_tf_{c}" "__tf_{c}_l" ON p."{c}_l" = "__tf_{c}_l".value'
        f' LEFT JOIN "__bitgoeul_tf_{c}" "__tf_{c}_r" ON p."{c}_r" = "__tf_{c}_r".value'
        for c in tf_columns
    )
    ctes.append(f"__bitgoeul_pairs AS (SELECT p.*{tf_select} FROM __bitgoeul_blocked p{tf_join})")
    prior = float(model["probability_two_random_records_match"])
    terms = [_float(math.log2(prior / (1 - prior)))]
    for comparison in comparisons:
        levels = comparison["comparison_levels"]
        probabilities = _probabilities(levels)
        weight_cases: list[str] = []
        tf_cases: list[str] = []
        for level, pair in zip(levels, probabilities, strict=True):
            condition = level["sql_condition"]
            when = "ELSE" if condition.strip().upper() == "ELSE" else f"WHEN {condition} THEN"
            weight_cases.append(f"{when} {_float(_level_weight(pair))}")
            column = level.get("tf_adjustment_column")
            tf_weight = float(level.get("tf_adjustment_weight", 1.0))
            if column and tf_weight and not level.get("is_null_level") and when != "ELSE":
                l_r = f'coalesce("tf_{column}_l", "tf_{column}_r")'
                r_l = f'coalesce("tf_{column}_r", "tf_{column}_l")'
                floor = _float(float(level.get("tf_minimum_u_value", 0.0)))
                log2_u = _float(math.log2(_exact_u(levels, probabilities, column)))
                tf_cases.append(
                    f"{when} CASE WHEN {l_r} IS NOT NULL THEN {_float(tf_weight)} * "
                    f"({log2_u} - log2(greatest({l_r}, {r_l}, {floor}))) ELSE 0.0 END"
                )
            else:
                tf_cases.append(f"{when} 0.0")
        if not any(case.startswith("ELSE") for case in weight_cases):
            weight_cases.append("ELSE NULL")  # Splink's comparisons always end with ELSE
            tf_cases.append("ELSE 0.0")
        terms.append("CASE " + " ".join(weight_cases) + " END")
        if any("log2(" in case for case in tf_cases):
            terms.append("CASE " + " ".join(tf_cases) + " END")
    weight = " + ".join(f"({term})" for term in terms)
    return (
        "WITH "
        + ", ".join(ctes)
        + f" SELECT unique_id_l, unique_id_r, {weight} AS match_weight FROM __bitgoeul_pairs"
    )


@dataclass(frozen=True)
class Predicted:
    """Every blocked pair (left row, right row) with its match weight and probability."""

    left: similarity.IntArray
    right: similarity.IntArray
    match_weight: npt.NDArray[np.float64]
    match_probability: npt.NDArray[np.float64]


def predict(conn: engine.Connection, model: Mapping[str, Any]) -> Predicted:
    """Score the blocked pairs of the tables registered as ``__bitgoeul_left`` and
    ``__bitgoeul_right`` with Splink's trained ``model``: the comparison levels and weights in
    one query (``scoring_sql``), the probability with NumPy as Splink's SQL takes it
    (1 / (1 + 2^−w), or 2^w / (1 + 2^w) below 0)."""
    columns = [row[0] for row in conn.execute(f"DESCRIBE {_LEFT}").fetchall()]
    table = conn.sql(scoring_sql(model, columns)).to_arrow_table()
    weight = table.column(2).to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(over="ignore"):
        power = np.power(2.0, -np.abs(weight))
    probability = np.where(weight >= 0, 1.0 / (1.0 + power), power / (1.0 + power))
    return Predicted(
        left=table.column(0).to_numpy().astype(np.int64),
        right=table.column(1).to_numpy().astype(np.int64),
        match_weight=weight,
        match_probability=probability,
    )
