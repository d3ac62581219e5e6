"""The clerical review sample: a person labels pairs, and precision and recall are estimated
from the labels with intervals.

A run draws, per linked source, a stratified sample of pairs where mistakes are likely:

* ``linked_near``: links scored just above the threshold (Bloom: Dice below threshold + 0.1;
  probabilistic: match probability below 0.99); ``linked_sure``: the other links;
* ``unlinked_near``: compared pairs that were not linked but scored close below the threshold
  (Bloom: Dice at least threshold − 0.1; probabilistic: probability at least 0.1), or above it
  and lost to a better pair in the one-to-one assignment;
* exact linkage: the links of each key definition (``key:<name>``); exact links have no score,
  so there is no near miss to sample and recall is not estimated.

Only row numbers and scores of the sampled pairs are kept (``LinkageReviewPair``), never the
identifying fields: the reviewer reads those through the door when reviewing. Each stratum's
share of matches is estimated from its labels and weighted by the stratum's size. Precision is
the estimated matches among the links over the links; recall is the estimated matches among the
links over those plus the estimated matches among the near misses. The 95 % intervals come from
each stratum's Jeffreys posterior, Beta(x + ½, n − x + ½), drawn jointly (a stratum reviewed in
full is known exactly).

What it does not see: matches the blocking never compared, and compared pairs scored below the
near-miss band, are counted as found by nobody; recall is therefore recall *among the compared
pairs near the threshold*, an upper bound on the true recall. The benchmark reports how far the
two are apart on generated truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

LINKED = "linked"
UNLINKED = "unlinked"
PER_STRATUM = 50  # pairs drawn per stratum and linked source (150 to label per source)
BLOOM_BAND = 0.1  # Dice either side of the threshold
PROBABILITY_SURE = 0.99  # a probabilistic link at or above it is "sure"
PROBABILITY_NEAR = 0.1  # an unlinked pair at or above it is a near miss
DRAWS = 4000  # joint posterior draws for the intervals
# The strata of a Bloom or probabilistic sample (an exact run's are "key:<definition>").
STRATA = ("linked_near", "linked_sure", "unlinked_near")


@dataclass(frozen=True)
class Stratum:
    """One stratum of a linked source's pairs: its name, whether its pairs were linked, and
    how many pairs it holds."""

    name: str
    kind: str  # LINKED or UNLINKED
    population: int


@dataclass(frozen=True)
class SamplePair:
    stratum: str
    left: int  # the anchor's row, from 0
    right: int  # this source's row, from 0
    score: float | None  # Dice or match probability; None for exact keys


@dataclass(frozen=True)
class Sample:
    strata: list[Stratum]
    pairs: list[SamplePair]


def _pick(rng: np.random.Generator, members: npt.NDArray[np.int64], size: int) -> list[int]:
    chosen = members if members.size <= size else rng.choice(members, size=size, replace=False)
    return sorted(int(m) for m in chosen)


def draw_scored(
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    score: npt.NDArray[np.floating[Any]],
    chosen_left: npt.NDArray[np.int64],
    chosen_right: npt.NDArray[np.int64],
    *,
    sure_from: float,
    near_from: float,
    seed: int,
    per_stratum: int = PER_STRATUM,
) -> Sample:
    """The review sample of one source's compared pairs (``left``, ``right``, ``score``), of
    which the pairs (``chosen_left``, ``chosen_right``) were linked."""
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    width = int(max(int(right.max(initial=0)), int(np.max(chosen_right, initial=0)))) + 1
    codes = left * width + right
    linked = np.isin(codes, np.asarray(chosen_left, dtype=np.int64) * width + chosen_right)
    everything = np.arange(left.size, dtype=np.int64)
    groups = {
        ("linked_near", LINKED): everything[linked & (score < sure_from)],
        ("linked_sure", LINKED): everything[linked & (score >= sure_from)],
        ("unlinked_near", UNLINKED): everything[~linked & (score >= near_from)],
    }
    rng = np.random.default_rng(seed)
    strata: list[Stratum] = []
    pairs: list[SamplePair] = []
    for (name, kind), members in groups.items():
        strata.append(Stratum(name, kind, int(members.size)))
        pairs.extend(
            SamplePair(name, int(left[p]), int(right[p]), float(score[p]))
            for p in _pick(rng, members, per_stratum)
        )
    return Sample(strata, pairs)


def draw_exact(
    links: Sequence[tuple[int, int, str]], *, seed: int, per_stratum: int = PER_STRATUM
) -> Sample:
    """The review sample of exact links (anchor row, row, key definition): per definition."""
    rng = np.random.default_rng(seed)
    by_definition: dict[str, list[tuple[int, int]]] = {}
    for left, right, definition in links:
        by_definition.setdefault(definition, []).append((left, right))
    strata: list[Stratum] = []
    pairs: list[SamplePair] = []
    for definition, found in by_definition.items():
        name = f"key:{definition}"
        strata.append(Stratum(name, LINKED, len(found)))
        for index in _pick(rng, np.arange(len(found), dtype=np.int64), per_stratum):
            pairs.append(SamplePair(name, found[index][0], found[index][1], None))
    return Sample(strata, pairs)


@dataclass(frozen=True)
class Labelled:
    """A stratum with what its reviewed pairs said."""

    kind: str
    population: int
    reviewed: int
    matches: int


def _interval(
    values: npt.NDArray[np.float64], point: float, *, none_below: bool, none_above: bool
) -> list[float]:
    """The draws' 2.5 and 97.5 percentiles, with the boundary rule of Brown, Cai and DasGupta
    (2001) for Jeffreys intervals: when no label went against the estimate's bound (no false
    link seen: precision's upper end is 1), that end is the bound itself, and the interval
    always holds the point estimate."""
    low, high = (float(v) for v in np.percentile(values, [2.5, 97.5]))
    low = 0.0 if none_below else min(low, point)
    high = 1.0 if none_above else max(high, point)
    return [round(low, 4), round(high, 4)]


def estimate(strata: Sequence[Labelled], *, seed: int = 0) -> dict[str, Any]:
    """Precision and recall with 95 % intervals from the labels (see the module doc), or the
    reason they cannot be estimated yet."""
    reviewed = sum(s.reviewed for s in strata)
    sample = {"reviewed": reviewed}
    waiting = [s for s in strata if s.population > 0 and s.reviewed == 0]
    if not strata or waiting:
        return {
            **sample,
            "precision": None,
            "recall": None,
            "complete": False,
        }
    rng = np.random.default_rng(seed)
    linked = np.zeros(DRAWS)
    missed = np.zeros(DRAWS)
    links = 0
    linked_point = missed_point = 0.0
    # A source whose near-miss stratum is empty still has a recall (every match found).
    has_unlinked = any(s.kind == UNLINKED for s in strata)
    for s in strata:
        if s.population == 0:
            continue
        point = s.matches / s.reviewed
        if s.reviewed >= s.population:
            draws = np.full(DRAWS, point)
        else:
            draws = rng.beta(s.matches + 0.5, s.reviewed - s.matches + 0.5, size=DRAWS)
        if s.kind == LINKED:
            links += s.population
            linked += s.population * draws
            linked_point += s.population * point
        else:
            missed += s.population * draws
            missed_point += s.population * point
    result: dict[str, Any] = {**sample, "complete": True}
    kept = [s for s in strata if s.population > 0]
    right_links = all(s.matches == s.reviewed for s in kept if s.kind == LINKED)
    wrong_links = all(s.matches == 0 for s in kept if s.kind == LINKED)
    no_misses = all(s.matches == 0 for s in kept if s.kind == UNLINKED)
    if links:
        point = linked_point / links
        result["precision"] = round(point, 4)
        result["precision_interval"] = _interval(
            linked / links, point, none_below=wrong_links, none_above=right_links
        )
    else:
        result["precision"] = None
    if has_unlinked and linked_point + missed_point > 0:
        point = linked_point / (linked_point + missed_point)
        result["recall"] = round(point, 4)
        total = linked + missed
        result["recall_interval"] = _interval(
            np.divide(linked, total, out=np.ones(DRAWS), where=total > 0),
            point,
            none_below=wrong_links,
            none_above=no_misses,
        )
    else:
        result["recall"] = None
    return result
