"""From a declarative request and the steward's profile to the measurements OpenDP will run.

Pure: no database, no data.  ``plan_request`` checks the request against what the steward
approved (``DpProfile``) and what the decision lets the requester see, splits ε evenly over the
measurements (a mean is a sum and a count), and asks OpenDP (``dp.mechanisms``) for each one's
noise scale, accuracy and privacy cost.  The same plan prices a quote and drives a release, so
what is quoted is what is spent.

Sensitivities, with ``m`` the most rows one person may contribute (rows beyond ``m`` are
dropped before aggregating, ``dp.aggregates``):

* a vector of counts over the key set: one person changes it by at most ``m`` in L1;
* a vector of sums of values clamped to [lower, upper] on a grid of ``10**-decimals``: at most
  ``m * max(|lower|, |upper|)`` grid units in L1;
* quantiles: each group's quantile is its own measurement with ``contributions=m``; a person
  is in at most ``min(m, groups)`` groups, so each gets ``ε / min(m, groups)``.

Keys released with a threshold (the profile's ``threshold_keys``, no public key set): the
groups come from the data, so the request's first count is OpenDP's threshold measurement
(``mechanisms.threshold_noise``: its share of ε and the steward's δ), and every other
measurement is made over the groups it released only (sequential composition: which groups
those are is its output).  Its δ is the request's δ.  A request grouped by a threshold key
must include a count.

A time-partitioned dataset (the profile's ``partition_column``) answers a request on one
partition only: the rows of the other partitions are never read, so the release is charged
on that partition's budget (parallel composition over disjoint sets of rows) and ``m`` bounds
a person's rows within the partition.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from bitgoeul.dp import mechanisms
from bitgoeul.dp.schemas import DpRequest, Measure
from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

MAX_GROUPS = 10_000


@dataclass(frozen=True)
class Bounds:
    lower: int  # on the grid
    upper: int
    factor: int  # grid units per unit
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class Measurement:
    """One OpenDP measurement: ``part`` of measure number ``measure``."""

    measure: int
    part: str  # "count", "sum" (vectors over the groups) or "quantile" (one per group)
    column: str | None
    bounds: Bounds | None
    sensitivity: int
    epsilon: float  # per group for a quantile
    noise: mechanisms.Noise
    q: float | None = None
    groups_charged: int = 1  # how many of its per-group measurements one person can touch


@dataclass(frozen=True)
class Plan:
    person_column: str
    max_rows: int
    keys: list[str]
    groups: list[tuple[str, ...]]
    group_values: list[tuple[Any, ...]]  # the steward's values, as typed in the key set
    measures: list[Measure]
    measurements: list[Measurement]
    partition_column: str | None = None
    partition: Any = None  # the steward's value, as typed in the key set
    # Per key: the public key set's values as text (what the SQL keeps), None for a key
    # released with a threshold (any value but NULL).
    allowed: tuple[tuple[str, ...] | None, ...] = ()
    # Per key: text → the steward's value as typed, to give released groups their types.
    typed: tuple[dict[str, Any], ...] = ()

    @property
    def thresholded(self) -> bool:
        """The groups are the data's, released with a threshold (``groups`` is empty)."""
        return any(values is None for values in self.allowed)

    @property
    def epsilon(self) -> float:
        """The whole cost, from OpenDP's privacy maps (sequential composition)."""
        return sum(m.noise.epsilon * m.groups_charged for m in self.measurements)

    @property
    def delta(self) -> float:
        return sum(m.noise.delta for m in self.measurements)

    @property
    def cost_micro(self) -> int:
        # Rounded up to a micro-ε, after dropping float noise below a nano-ε (ε/3 three
        # times is charged as ε, not as ε and one micro-ε).
        return math.ceil(round(self.epsilon * 1_000_000, 3))

    @property
    def delta_cost(self) -> int:
        """δ in units of 10^-15 (``dp.models.DELTA_UNIT``), rounded up."""
        return math.ceil(self.delta * 10**15)


def _bounds(column: str, approved: dict[str, Any]) -> Bounds:
    factor = 10 ** int(approved.get("decimals", 0))
    lower = math.floor(float(approved["lower"]) * factor)
    upper = math.ceil(float(approved["upper"]) * factor)
    candidates = tuple(round(float(c) * factor) for c in approved.get("candidates", []))
    return Bounds(lower, upper, factor, candidates)


def plan_request(
    request: DpRequest,
    *,
    profile: dict[str, Any],
    columns: dict[str, str],
    visible: set[str],
) -> Plan:
    """``profile``: the steward's ``DpProfile`` as a dict (person_column, max_rows_per_person,
    keys, measures); ``columns``: the version's column → class; ``visible``: the columns the
    decision lets this requester use."""
    person = str(profile["person_column"])
    m = int(profile["max_rows_per_person"])
    approved_keys: dict[str, list[Any]] = profile.get("keys") or {}
    approved_measures: dict[str, dict[str, Any]] = profile.get("measures") or {}
    threshold_keys: list[str] = list(profile.get("threshold_keys") or [])
    if person not in columns:
        raise ValidationFailed(
            msg(
                "The privacy unit column '{column}' is not in this version; the steward "
                "must update the dataset's DP settings.",
                column=person,
            )
        )
    for key in request.group_by:
        if key not in approved_keys and key not in threshold_keys:
            raise ValidationFailed(
                msg(
                    "Column '{column}' has no approved public key set; group by one of: {allowed}.",
                    column=key,
                    allowed=", ".join(sorted([*approved_keys, *threshold_keys])) or "-",
                )
            )
        _usable(key, columns, visible, person)
    if len(set(request.group_by)) != len(request.group_by):
        raise ValidationFailed(msg("Each group-by column may be named once."))
    partition_column, partition = _partition(request.partition, profile, columns, visible)
    thresholded = any(k not in approved_keys for k in request.group_by)
    delta = profile.get("delta")
    if thresholded:
        if delta is None:
            raise ValidationFailed(
                msg(
                    "Grouping by a key without a public key set needs the steward's δ; ask "
                    "the steward to set it in the dataset's DP settings."
                )
            )
        if not any(m.kind == "count" for m in request.measures):
            raise ValidationFailed(
                msg(
                    "Groups of '{columns}' are released only when their noisy count passes a "
                    "threshold: add a count to the measures.",
                    columns=", ".join(k for k in request.group_by if k not in approved_keys),
                )
            )
    allowed = tuple(
        tuple(str(v) for v in approved_keys[k]) if k in approved_keys else None
        for k in request.group_by
    )
    typed = tuple(
        {str(v): v for v in approved_keys[k]} if k in approved_keys else {}
        for k in request.group_by
    )
    key_values = [list(approved_keys[k]) for k in request.group_by if k in approved_keys]
    count = math.prod(len(v) for v in key_values)
    if count > MAX_GROUPS:
        raise ValidationFailed(
            msg(
                "The request has {count} groups; at most {limit} are allowed. Group by "
                "fewer columns.",
                count=count,
                limit=MAX_GROUPS,
            )
        )
    group_values = [] if thresholded else list(itertools.product(*key_values))
    groups = [tuple(str(v) for v in values) for values in group_values]
    # With a threshold the groups are not known before the release; the vectors' scales do
    # not depend on their length, and a person touches at most m groups.
    length = max(len(groups), 1)
    reach = m if thresholded else min(m, len(groups))
    threshold_at: int | None = None
    if thresholded:
        kinds = [measure.kind for measure in request.measures]
        threshold_at = kinds.index("count")

    parts: list[tuple[int, str, Measure]] = []
    for index, measure in enumerate(request.measures):
        if measure.column is not None:
            if measure.column not in approved_measures:
                raise ValidationFailed(
                    msg(
                        "Column '{column}' has no approved bounds; measure one of: {allowed}.",
                        column=measure.column,
                        allowed=", ".join(sorted(approved_measures)) or "-",
                    )
                )
            _usable(measure.column, columns, visible, person)
        if measure.kind == "mean":
            parts += [(index, "sum", measure), (index, "count", measure)]
        else:
            parts.append((index, measure.kind, measure))
    share = request.epsilon / len(parts)

    measurements: list[Measurement] = []
    for index, part, measure in parts:
        bounds = (
            _bounds(measure.column, approved_measures[measure.column])
            if measure.column is not None
            else None
        )
        if part == "count" and index == threshold_at:
            assert delta is not None  # noqa: S101 (checked above)
            noise = mechanisms.threshold_noise(max_rows=m, epsilon=share, delta=float(delta))
            measurements.append(Measurement(index, part, None, None, m, share, noise))
        elif part == "count":
            noise = mechanisms.vector_noise(length=length, sensitivity=m, epsilon=share)
            measurements.append(
                Measurement(index, part, measure.column, bounds, m, share, noise, measure.q)
            )
        elif part == "sum":
            assert bounds is not None  # noqa: S101 (a sum has a column)
            sensitivity = m * max(abs(bounds.lower), abs(bounds.upper), 1)
            noise = mechanisms.vector_noise(length=length, sensitivity=sensitivity, epsilon=share)
            measurements.append(
                Measurement(index, part, measure.column, bounds, sensitivity, share, noise)
            )
        else:
            assert bounds is not None  # noqa: S101
            assert measure.q is not None  # noqa: S101
            if len(bounds.candidates) < 2:
                raise ValidationFailed(
                    msg(
                        "Column '{column}' has no approved quantile candidates; ask the "
                        "steward to add them.",
                        column=measure.column,
                    )
                )
            touched = reach
            per_group = share / touched
            noise = mechanisms.quantile_noise(
                candidates=bounds.candidates, q=measure.q, contributions=m, epsilon=per_group
            )
            measurements.append(
                Measurement(
                    index, part, measure.column, bounds, m, per_group, noise, measure.q, touched
                )
            )
    return Plan(
        person_column=person,
        max_rows=m,
        keys=list(request.group_by),
        groups=groups,
        group_values=group_values,
        measures=list(request.measures),
        measurements=measurements,
        partition_column=partition_column,
        partition=partition,
        allowed=allowed,
        typed=typed,
    )


def _partition(
    asked: str | None, profile: dict[str, Any], columns: dict[str, str], visible: set[str]
) -> tuple[str | None, Any]:
    """The partition column and the steward's value ``asked`` names (None, None when the
    dataset is not partitioned)."""
    column = profile.get("partition_column")
    if column is None:
        if asked is not None:
            raise ValidationFailed(
                msg("This dataset is not partitioned; leave 'partition' out of the request.")
            )
        return None, None
    approved = list((profile.get("keys") or {}).get(column, []))
    if asked is None:
        raise ValidationFailed(
            msg(
                "This dataset is partitioned by '{column}': name one partition, one of: {allowed}.",
                column=column,
                allowed=", ".join(str(v) for v in approved) or "-",
            )
        )
    _usable(column, columns, visible, str(profile["person_column"]))
    for value in approved:
        if str(value) == asked:
            return str(column), value
    raise ValidationFailed(
        msg(
            "'{partition}' is not a partition of this dataset; name one of: {allowed}.",
            partition=asked,
            allowed=", ".join(str(v) for v in approved) or "-",
        )
    )


def _usable(column: str, columns: dict[str, str], visible: set[str], person: str) -> None:
    if column not in columns:
        raise ValidationFailed(msg("This version has no column '{column}'.", column=column))
    if column == person or columns[column] == "direct_identifier":
        raise ValidationFailed(
            msg(
                "Column '{column}' identifies people; it can only be the privacy unit.",
                column=column,
            )
        )
    if column not in visible:
        raise ValidationFailed(
            msg(
                "Column '{column}' is not visible to you under this project's agreement.",
                column=column,
            )
        )
