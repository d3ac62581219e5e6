"""The exact, bounded aggregates a DP release adds noise to, computed on the locked engine.

The SQL is the platform's own, printed from a ``Plan`` (column names from the version's Table
Schema, key values from the steward's key set, all quoted): it reads the door's view (the
decision's columns and row filter, the person column kept but never returned), drops rows
outside the requested partition, whose keys are outside the public key set or whose person
is unknown, keeps at most ``m`` rows per person (chosen by a hash of the row, so the choice
depends on that person's rows only: ``bounded_sql``), clamps each value to the approved
bounds on the fixed-point grid, and aggregates per group.  Groups of the key set absent from
the data count 0: which groups exist is never a release.  Then ``noisy_answer`` hands the
vectors to OpenDP.

Grouped by a key released with a threshold, the groups are those in the data (rows whose key
is NULL are dropped, like rows outside a key set): ``noisy_answer`` first releases the counts
through OpenDP's threshold measurement, which keeps only the groups whose noisy count reaches
the threshold, then the other measurements over those groups alone.  At most
``MAX_DATA_GROUPS`` groups are read; a request over more is refused after it is charged
(``TooManyGroups``), since the refusal tells something about the data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bitgoeul.dp import mechanisms
from bitgoeul.dp.plan import Measurement, Plan
from bitgoeul.dp.schemas import MeasureKind
from bitgoeul.engine import locked as engine
from bitgoeul.engine.sql import quote_name, quote_text

HASH = "__bg_hash"
MAX_DATA_GROUPS = 100_000


class TooManyGroups(Exception):
    """The data holds more groups than a release with a threshold reads."""


@dataclass(frozen=True)
class PersonRows:
    """What one count over a version's view tells about its persons (kept per version)."""

    most: int  # the most rows one person has
    hash_unique: bool  # no two persons share hash(person)


@dataclass(frozen=True)
class Exact:
    vectors: dict[int, list[int]]  # measurement index → per group
    values: dict[int, list[list[int]]]  # quantile measurement index → per group's values
    groups: list[tuple[str, ...]]  # the plan's groups, or with a threshold the data's


def _key(i: int) -> str:
    return f"__bg_k{i}"


def _grid(measurement: Measurement) -> str:
    """The column's value on the integer grid, clamped to the approved bounds.

    Clamped as a DOUBLE by one CASE, then rounded (half away from zero) and cast: the bounds
    are integers, so this equals rounding then clamping (what the bounds mean), with one
    CASE per row instead of ``greatest`` and ``least`` on the cast value.  A NaN or an
    infinity goes to a bound (NaN sorts above every number in DuckDB) instead of failing the
    cast.  (``round`` stays: DuckDB's cast alone rounds half to even.)"""
    assert measurement.bounds is not None  # noqa: S101
    assert measurement.column is not None  # noqa: S101
    b = measurement.bounds
    value = f"CAST({quote_name(measurement.column)} AS DOUBLE)"
    if b.factor != 1:
        value = f"({value} * {b.factor})"
    return (
        f"CAST(round(CASE WHEN {value} < {b.lower} THEN {b.lower} WHEN {value} > {b.upper} "
        f"THEN {b.upper} ELSE {value} END) AS BIGINT)"
    )


def person_rows_sql(person_column: str, view: str) -> str:
    """The most rows any one person has in ``view``, and whether every person's 64-bit
    ``hash`` differs from every other's."""
    person = quote_name(person_column)
    return (
        f"SELECT coalesce(max(n), 0), count(*) = count(DISTINCT h) FROM (SELECT hash({person}) "
        f"AS h, count(*) AS n FROM {quote_name(view)} WHERE {person} IS NOT NULL "
        f"GROUP BY {person})"
    )


def person_rows(person_column: str, view: engine.View, *, limits: engine.Limits) -> PersonRows:
    result = engine.run(
        person_rows_sql(person_column, view.name),
        [view],
        limit=1,
        limits=limits,
        scrub={str(view.path): "<dataset>"},
        secure=True,
    )
    most, unique = result.rows[0]
    return PersonRows(int(most), bool(unique))


def bounded_copy_sql(
    select_sql: str,
    *,
    person_column: str,
    partition_column: str | None,
    max_rows: int,
    hash_unique: bool = False,
) -> str:
    """``select_sql`` (a door's view) with at most ``max_rows`` rows per person (per person
    and partition when ``partition_column`` is set: a partition's rows then never depend on
    another partition's): those whose hash of the whole row is smallest, ties broken by the
    row itself.  The choice depends on the person's own rows only, whichever request later
    reads the copy, so adding or removing one person changes the copy by that person's rows,
    at most ``max_rows`` of them (per partition).  ``hash_unique``: as in ``bounded_sql``."""
    person = quote_name(person_column)
    by = f"hash({person})" if hash_unique else person
    if partition_column is not None:
        by += f", {quote_name(partition_column)}"
    return (
        f"SELECT * EXCLUDE ({HASH}, __bg_whole) FROM (SELECT __bg_row.*, hash(__bg_row) AS "
        f"{HASH}, __bg_row AS __bg_whole FROM ({select_sql}) AS __bg_row WHERE "
        f"{person} IS NOT NULL) QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY "
        f"{HASH}, __bg_whole) <= {int(max_rows)}"
    )


def write_bounded_copy(
    view: engine.View,
    *,
    person_column: str,
    partition_column: str | None,
    max_rows: int,
    target: Path,
    limits: engine.Limits,
    hash_unique: bool = False,
) -> int:
    """Write ``view``'s rows bounded per person to ``target`` (Parquet); the rows written."""
    bounded = engine.View(
        view.name,
        view.path,
        bounded_copy_sql(
            view.select_sql,
            person_column=person_column,
            partition_column=partition_column,
            max_rows=max_rows,
            hash_unique=hash_unique,
        ),
    )
    return engine.write_view(
        bounded, target=target, file_format="parquet", limits=limits, plain_floats=True
    )


def bounded_sql(
    plan: Plan,
    view: str,
    *,
    bound: bool = True,
    hash_unique: bool = False,
    every_row_has_a_person: bool = False,
) -> str:
    """The rows of ``view`` a release may use: in the requested partition, keys in the key
    set, at most m per person (without the window, ``bound`` False, the key sets are applied
    to the groups instead: ``vector_sql``).

    The m rows kept of a person with more are those whose hash (of the columns the request
    uses) is smallest: the choice depends on that person's rows alone, so adding or removing
    one person changes the kept rows by that person's m at most (the sensitivity above).
    Ties on the hash are broken by the used columns themselves, so the order is total up to
    rows equal in every used column, and which of those is kept changes nothing.  The window
    partitions by the person or, when ``hash_unique`` (counted once per version: no two
    persons share ``hash(person)``), by that 64-bit integer, which groups exactly the same
    rows and sorts on an integer instead of text.  ``bound`` False
    when no person has more than m rows (counted once per version): the window would drop
    nothing, so the same rows are read without it.  ``every_row_has_a_person``: ``view`` is a
    bounded copy, which holds no row without a person, so the person column is not read."""
    person = quote_name(plan.person_column)
    used = {plan.person_column, *plan.keys}
    used |= {m.column for m in plan.measurements if m.column is not None}
    keys = [f"CAST({quote_name(k)} AS VARCHAR) AS {_key(i)}" for i, k in enumerate(plan.keys)]
    columns = [quote_name(c) for c in sorted(used - set(plan.keys))]
    where = [] if every_row_has_a_person and not bound else [f"{person} IS NOT NULL"]
    if plan.partition_column is not None:
        where.append(
            f"CAST({quote_name(plan.partition_column)} AS VARCHAR) = "
            f"{quote_text(str(plan.partition))}"
        )
    if bound:
        where += _in_key_sets(plan, [f"CAST({quote_name(k)} AS VARCHAR)" for k in plan.keys])
    select = ", ".join([*keys, *columns])
    rows = quote_name(view) + (f" WHERE {' AND '.join(where)}" if where else "")
    if not bound:
        return f"SELECT {select} FROM {rows}"
    order = ", ".join(quote_name(c) for c in sorted(used))
    by = f"hash({person})" if hash_unique else person
    return (
        f"SELECT {select} FROM (SELECT *, hash({order}) AS {HASH} FROM {rows}) "
        f"QUALIFY row_number() OVER (PARTITION BY {by} ORDER BY {HASH}, {order}) "
        f"<= {plan.max_rows}"
    )


def _in_key_sets(plan: Plan, keys: list[str]) -> list[str]:
    """Conditions keeping the key values of the key sets (and, for a threshold key, any value
    but NULL), on the key expressions ``keys`` (text)."""
    conditions: list[str] = []
    for key, approved in zip(keys, plan.allowed, strict=True):
        if approved is None:
            conditions.append(f"{key} IS NOT NULL")
        else:
            allowed = ", ".join(quote_text(v) for v in sorted(set(approved)))
            conditions.append(f"{key} IN ({allowed})")
    return conditions


def vector_sql(
    plan: Plan,
    view: str,
    *,
    bound: bool = True,
    hash_unique: bool = False,
    every_row_has_a_person: bool = False,
) -> str:
    outputs: list[str] = []
    for index, m in enumerate(plan.measurements):
        if m.part == "count":
            counted = "*" if m.column is None else quote_name(m.column)
            outputs.append(f"count({counted}) AS m{index}")
        elif m.part == "sum":
            outputs.append(f"CAST(coalesce(sum({_grid(m)}), 0) AS HUGEINT) AS m{index}")
        else:
            assert m.column is not None  # noqa: S101
            outputs.append(
                f"coalesce(list({_grid(m)}) FILTER (WHERE {quote_name(m.column)} "
                f"IS NOT NULL), []) AS m{index}"
            )
    keys = [_key(i) for i in range(len(plan.keys))]
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    rows = bounded_sql(
        plan,
        view,
        bound=bound,
        hash_unique=hash_unique,
        every_row_has_a_person=every_row_has_a_person,
    )
    grouped = f"SELECT {', '.join([*keys, *outputs])} FROM ({rows}){group}"
    if keys and not bound:
        # Without the per-person window, the rows outside the key sets only make groups of
        # their own, dropped here: the same groups, without testing every row's keys.  Not a
        # HAVING: DuckDB pushes a condition on the grouping keys below the aggregate, and
        # tests it on every row (two hash joins for the IN lists: 40 % of the release's time
        # on 10 million rows).  Filter pushdown stops at an OFFSET, so the key sets are
        # tested on the groups only (``test_the_key_sets_are_tested_on_the_groups``).
        return f"SELECT * FROM ({grouped} OFFSET 0) WHERE {' AND '.join(_in_key_sets(plan, keys))}"
    return grouped


def exact_aggregates(
    plan: Plan,
    view: engine.View,
    *,
    limits: engine.Limits,
    bound: bool = True,
    hash_unique: bool = False,
    every_row_has_a_person: bool = False,
) -> Exact:
    result = engine.run(
        vector_sql(
            plan,
            view.name,
            bound=bound,
            hash_unique=hash_unique,
            every_row_has_a_person=every_row_has_a_person,
        ),
        [view],
        limit=MAX_DATA_GROUPS + 1 if plan.thresholded else len(plan.groups) + 1,
        limits=limits,
        scrub={str(view.path): "<dataset>"},
        secure=True,
    )
    width = len(plan.keys)
    found = {tuple(row[:width]): row[width:] for row in result.rows}
    groups = plan.groups
    if plan.thresholded:
        if len(found) > MAX_DATA_GROUPS:
            raise TooManyGroups
        groups = sorted(found)
    vectors: dict[int, list[int]] = {}
    values: dict[int, list[list[int]]] = {}
    for index, m in enumerate(plan.measurements):
        cells = [found.get(group) for group in groups]
        if m.part == "quantile":
            values[index] = [list(c[index]) if c is not None else [] for c in cells]
        else:
            vectors[index] = [int(c[index]) if c is not None else 0 for c in cells]
    return Exact(vectors, values, groups)


def measure_label(kind: MeasureKind, column: str | None, q: float | None) -> str:
    if kind == "count":
        return "count"
    if kind == "quantile":
        return f"quantile({column}, {q})"
    return f"{kind}({column})"


def _thresholded(plan: Plan, exact: Exact) -> tuple[Exact, dict[int, list[int]]]:
    """Release the threshold measurement's counts (OpenDP), and ``exact`` cut down to the
    groups it released, in order; its noisy counts by measurement index."""
    index, m = next((i, m) for i, m in enumerate(plan.measurements) if m.noise.threshold)
    names = [json.dumps(group) for group in exact.groups]
    counts = dict(zip(names, exact.vectors[index], strict=True))
    released = mechanisms.release_threshold(counts, m.noise, max_rows=plan.max_rows)
    kept = [g for g, name in enumerate(names) if name in released]
    cut = Exact(
        vectors={i: [v[g] for g in kept] for i, v in exact.vectors.items() if i != index},
        values={i: [v[g] for g in kept] for i, v in exact.values.items()},
        groups=[exact.groups[g] for g in kept],
    )
    return cut, {index: [released[names[g]] for g in kept]}


def _typed(plan: Plan, group: tuple[str, ...]) -> list[Any]:
    """A released group's values: the steward's typed ones for public keys, else the text."""
    if not plan.typed:
        return list(group)
    return [plan.typed[i].get(value, value) for i, value in enumerate(group)]


def noisy_answer(plan: Plan, exact: Exact) -> tuple[list[str], list[list[Any]]]:
    """Draw every measurement's noise (OpenDP) and assemble the table a requester sees."""
    noisy: dict[int, list[float]] = {}
    if plan.thresholded:
        exact, released_counts = _thresholded(plan, exact)
        noisy.update({i: [float(v) for v in vs] for i, vs in released_counts.items()})
    for index, m in enumerate(plan.measurements):
        if index in noisy:
            continue
        if m.part == "quantile":
            assert m.bounds is not None  # noqa: S101
            assert m.q is not None  # noqa: S101
            noisy[index] = [
                mechanisms.release_quantile(
                    group_values,
                    m.noise,
                    candidates=m.bounds.candidates,
                    q=m.q,
                    contributions=plan.max_rows,
                )
                / m.bounds.factor
                for group_values in exact.values[index]
            ]
        else:
            released = mechanisms.release_vector(
                exact.vectors[index], m.noise, sensitivity=m.sensitivity
            )
            factor = m.bounds.factor if m.part == "sum" and m.bounds is not None else 1
            noisy[index] = [v / factor for v in released]
    columns = [*plan.keys]
    per_measure: list[list[Any]] = []
    for position, measure in enumerate(plan.measures):
        columns.append(measure_label(measure.kind, measure.column, measure.q))
        parts = {m.part: i for i, m in enumerate(plan.measurements) if m.measure == position}
        if measure.kind == "mean":
            sums, counts = noisy[parts["sum"]], noisy[parts["count"]]
            per_measure.append([s / max(c, 1) for s, c in zip(sums, counts, strict=True)])
        elif measure.kind == "count":
            per_measure.append([int(v) for v in noisy[parts["count"]]])
        else:
            per_measure.append(noisy[parts[measure.kind]])
    labels = (
        [_typed(plan, group) for group in exact.groups]
        if plan.thresholded
        else [list(values) for values in plan.group_values]
    )
    rows = [[*labels[g], *(values[g] for values in per_measure)] for g in range(len(exact.groups))]
    return columns, rows
