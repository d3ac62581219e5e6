"""The noise, all of it drawn by OpenDP (its Context API); nothing here samples by itself.

Three kinds of measurement:

* a vector of integer aggregates (counts, or sums on a fixed-point grid) over the public key
  set, computed exactly by DuckDB after contribution bounding, released with the *discrete*
  Laplace mechanism under an L1 sensitivity (``dp.unit_of(l1=...)``).  Integers all the way:
  the exact sum has no rounding for an attacker to read (Mironov's floating-point attack and
  its relatives on sums), and OpenDP samples discrete Laplace exactly;
* one group's quantile: OpenDP's ``private_quantile`` (scores over the steward's candidates,
  then the exponential mechanism) over the group's bounded, fixed-point values, with
  ``dp.unit_of(contributions=m)``;
* counts over groups that are *not* in a public key set (keys released with a threshold):
  OpenDP's ``make_laplace_threshold`` over the map group → count, under the L0/L1/L∞ distance
  ``(m, m, m)`` (one person is in at most m groups and moves each count by at most m).  It
  adds discrete Laplace noise to every count and drops those below the threshold, so a group
  held by few persons is released only with a probability within δ: the measurement costs
  (ε, δ).  Its scale is calibrated like the others; its threshold is the smallest whose δ,
  by OpenDP's privacy map, is within the steward's δ.

Each measurement's scale is the smallest whose cost OpenDP's own privacy map puts within its
share of ε (``_calibrated``); the first two then run in a Context (``dp.Context``) whose
privacy filter holds exactly that share, so OpenDP itself refuses a release that would cost
more than was quoted.  The threshold measurement runs bare: OpenDP 0.16's privacy filter
cannot hold its (L0, L1, L∞) distance (cloning the tuple panics in the library and aborts the
process), so ``release_threshold`` asks the measurement's own privacy map first and refuses
when it exceeds the quoted (ε, δ), which is the check the filter makes.

Why ``enable_features("contrib")``: in OpenDP 0.16 the Context API's compositors (adaptive
composition, the privacy filter) and ``private_quantile`` are not yet vetted by the library's
own review, so they sit behind "contrib".  Nothing else is enabled: not "floating-point"
(which would turn off OpenDP's defences against floating-point attacks) nor
"honest-but-curious".

What this does not protect against: the bounds, key sets and candidates are the steward's
claim that they are public; if they were taken from the data they leak.  The sensitivity is
right only if the person column really names one person (the dataset's direct identifier)
and the bounding in ``dp.aggregates`` holds.  Timing of a release is not made constant.  With
keys released with a threshold, a group held by few persons still appears with probability up
to δ per release, and which groups exist is then part of the answer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

dp.enable_features("contrib")

ALPHA = 0.05  # accuracy is stated at 95 %
DISCRETE_LAPLACE = "discrete Laplace (OpenDP)"
EXPONENTIAL_QUANTILE = "exponential mechanism over candidates (OpenDP private_quantile)"
LAPLACE_THRESHOLD = "discrete Laplace with a threshold on the groups (OpenDP)"
_MAX_THRESHOLD = 2**40
_INT = "i64"
# OpenDP's Python bindings set each C function's argument types on first use, on a shared
# object: two threads calling at once can break a call ("'tuple' object is not callable", seen
# with 50 parallel releases).  Every call into OpenDP holds this lock; they take milliseconds.
_OPENDP = threading.Lock()


@dataclass(frozen=True)
class Noise:
    mechanism: str
    scale: float  # in the measurement's integer units
    accuracy_95: float | None  # in the same units
    epsilon: float  # what OpenDP's privacy map says the measurement costs
    delta: float = 0.0  # only a threshold measurement has one
    threshold: int | None = None  # counts below it are not released (a threshold measurement)


def _context(values: list[int], privacy_unit: Any, epsilon: float, size: int | None) -> Any:
    """A Context holding ``values`` whose privacy filter refuses any release over ``epsilon``
    (no split: OpenDP's fully adaptive compositor, with no search for a split's scale)."""
    return dp.Context.compositor(
        data=values,
        privacy_unit=privacy_unit,
        privacy_loss=dp.loss_of(epsilon=epsilon),
        domain=dp.vector_domain(dp.atom_domain(T=_INT), size=size),
    )


def _calibrated(query_at: Callable[[float], Any], d_in: Any, epsilon: float) -> tuple[float, float]:
    """The smallest scale (to within a part in 10^12) whose measurement OpenDP's own privacy
    map charges at most ``epsilon``, and that charge.  A Laplace or exponential mechanism's
    loss falls as 1/scale, so one map at scale 1 gives the answer; the map is then asked again
    at the chosen scale, and the scale only ever moves up until it passes."""
    at_one = float(query_at(1.0).resolve().map(d_in))
    scale = at_one / epsilon
    for _ in range(64):
        spent = float(query_at(scale).resolve().map(d_in))
        if spent <= epsilon:
            return scale, spent
        scale = math.nextafter(scale * (1 + 1e-12), math.inf)
    raise ArithmeticError(f"no scale found for ε {epsilon}")  # pragma: no cover


def _vector_unit(sensitivity: int) -> Any:
    return dp.unit_of(l1=sensitivity, U=_INT)


@lru_cache(maxsize=4096)
def vector_noise(*, length: int, sensitivity: int, epsilon: float) -> Noise:
    """The discrete Laplace measurement a vector of ``length`` aggregates gets (no data read:
    a quote costs nothing)."""
    with _OPENDP:
        context = _context([0] * length, _vector_unit(sensitivity), epsilon, length)
        scale, spent = _calibrated(lambda s: context.query().laplace(scale=s), sensitivity, epsilon)
        accuracy = float(dp.discrete_laplacian_scale_to_accuracy(scale, ALPHA))
    return Noise(DISCRETE_LAPLACE, scale, accuracy, spent)


def release_vector(values: list[int], noise: Noise, *, sensitivity: int) -> list[int]:
    """``values`` with discrete Laplace noise drawn by OpenDP at the quoted scale (the Context's
    filter refuses it if OpenDP would charge more than the quoted ε)."""
    if not values:
        return []
    with _OPENDP:
        context = _context(values, _vector_unit(sensitivity), noise.epsilon, len(values))
        released = context.query().laplace(scale=noise.scale).release()
    return [int(v) for v in released]


def _quantile_query(context: Any, candidates: tuple[int, ...], q: float, scale: float) -> Any:
    return context.query().private_quantile(dp.max_divergence(), list(candidates), q, scale=scale)


@lru_cache(maxsize=1024)
def quantile_noise(
    *, candidates: tuple[int, ...], q: float, contributions: int, epsilon: float
) -> Noise:
    with _OPENDP:
        context = _context([], dp.unit_of(contributions=contributions), epsilon, None)
        scale, spent = _calibrated(
            lambda s: _quantile_query(context, candidates, q, s), contributions, epsilon
        )
    return Noise(EXPONENTIAL_QUANTILE, scale, None, spent)


def quantile_rank_error(noise: Noise, *, candidates: int) -> float:
    """With probability at least 95 %, how far (in rows) the released candidate's score may
    be from the best candidate's.

    OpenDP 0.16's ``private_quantile`` scores a candidate c by ``|#(x < c) - q·(n - #(x =
    c))|`` (``make_quantile_score_candidates``: in units of 1/den rows, q = num/den) and
    multiplies the ``scale`` it is given by den before its noisy-max selection, so ``scale`` is
    in rows.  A worse candidate b beats the best one c* only if its noise exceeds c*'s by its
    score gap; for Gumbel or exponential noise of that scale, P(gap >= a) <= exp(-a / scale),
    so by the union bound over the ``candidates - 1`` others
    P(released score > best + a) <= (candidates - 1)·exp(-a / scale) = ALPHA at
    a = scale·ln((candidates - 1) / ALPHA).  This is the exponential mechanism's accuracy
    (2Δ/ε)·ln(|C|/β), with OpenDP's calibrated scale in place of 2Δ/ε.  OpenDP 0.16 has no
    accuracy helper for it (its ``accuracy`` module covers Laplace and Gaussian noise only)."""
    return noise.scale * math.log(max(candidates - 1, 1) / ALPHA)


def vector_accuracy(noise: Noise, alpha: float) -> float:
    """The ± (in the measurement's integer units) that a discrete Laplace measurement's noise
    stays within with probability ``1 - alpha`` (OpenDP's own helper)."""
    with _OPENDP:
        return float(dp.discrete_laplacian_scale_to_accuracy(noise.scale, alpha))


def mean_error_bound(
    rows: float, *, sum_accuracy: float, count_accuracy: float, bound: float
) -> float | None:
    """How far a noisy sum over a noisy count can be from a group's exact mean when the
    group has ``rows`` values, the sum's noise is within ``sum_accuracy`` and the count's
    within ``count_accuracy``, and every value lies within ±``bound``; None when the group is
    too small for a bound (``rows <= count_accuracy``: the noisy count may be near 0).

    (S + e_s)/(n + e_c) - S/n = (e_s - mean·e_c)/(n + e_c), and |mean| <= bound."""
    if rows <= count_accuracy:
        return None
    return (sum_accuracy + bound * count_accuracy) / (rows - count_accuracy)


def release_quantile(
    values: list[int], noise: Noise, *, candidates: tuple[int, ...], q: float, contributions: int
) -> int:
    """One of ``candidates``, chosen by OpenDP's exponential mechanism near the ``q`` quantile."""
    with _OPENDP:
        context = _context(values, dp.unit_of(contributions=contributions), noise.epsilon, None)
        return int(_quantile_query(context, candidates, q, noise.scale).release())


def _threshold_measurement(scale: float, threshold: int) -> Any:
    return dp.m.make_laplace_threshold(
        dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=_INT)),
        dp.l01inf_distance(dp.absolute_distance(T=_INT)),
        scale=scale,
        threshold=threshold,
    )


def _threshold_distance(max_rows: int) -> tuple[int, int, int]:
    """One person: in at most m groups (L0), moving the counts by m in all (L1) and by m in
    any one (L∞)."""
    return (max_rows, max_rows, max_rows)


@lru_cache(maxsize=1024)
def threshold_noise(*, max_rows: int, epsilon: float, delta: float) -> Noise:
    """The counts of groups released with a threshold: the scale whose ε is within
    ``epsilon``, then the smallest threshold whose δ is within ``delta`` (both by OpenDP's
    privacy map; a search over integers: δ falls as the threshold rises)."""
    d_in = _threshold_distance(max_rows)
    with _OPENDP:
        scale, _spent = _calibrated(
            lambda s: _Mapped(_threshold_measurement(s, _MAX_THRESHOLD), 0), d_in, epsilon
        )

        def passes(threshold: int) -> bool:
            return float(_threshold_measurement(scale, threshold).map(d_in)[1]) <= delta

        # δ falls about as exp(-(threshold - m) / scale): start near there, widen a bracket
        # [low fails, high passes] around the answer, then bisect it (a few maps, not forty).
        first = max(math.ceil(scale), 1)
        high, step = (
            min(max_rows + math.ceil(scale * math.log(max_rows / delta)), _MAX_THRESHOLD),
            first,
        )
        while not passes(high):
            if high >= _MAX_THRESHOLD:
                raise ValueError(f"δ {delta} is below what any threshold reaches")
            high, step = min(high + step, _MAX_THRESHOLD), step * 2
        low, step = max(high - first, 1), first
        while passes(low):
            if low == 1:
                high = 1
                break
            high, low, step = low, max(low - step, 1), step * 2
        while high - low > 1:
            middle = (low + high) // 2
            if passes(middle):
                high = middle
            else:
                low = middle
        threshold = high
        spent_epsilon, spent_delta = _threshold_measurement(scale, threshold).map(d_in)
        accuracy = float(dp.discrete_laplacian_scale_to_accuracy(scale, ALPHA))
    return Noise(
        LAPLACE_THRESHOLD,
        scale,
        accuracy,
        float(spent_epsilon),
        float(spent_delta),
        threshold,
    )


class _Mapped:
    """Lets ``_calibrated`` (written for Context queries: ``.resolve().map(d_in)``) read one
    part of a measurement's (ε, δ) map."""

    def __init__(self, measurement: Any, part: int) -> None:
        self._measurement = measurement
        self._part = part

    def resolve(self) -> _Mapped:
        return self

    def map(self, d_in: Any) -> float:
        return float(self._measurement.map(d_in)[self._part])


def release_threshold(counts: dict[str, int], noise: Noise, *, max_rows: int) -> dict[str, int]:
    """The groups of ``counts`` whose count, with discrete Laplace noise drawn by OpenDP at
    the quoted scale, reaches the quoted threshold, with those noisy counts.  Refused before
    any noise is drawn if OpenDP's privacy map charges more than the quoted (ε, δ)."""
    assert noise.threshold is not None  # noqa: S101 (a threshold measurement)
    with _OPENDP:
        measurement = _threshold_measurement(noise.scale, noise.threshold)
        epsilon, delta = measurement.map(_threshold_distance(max_rows))
        if float(epsilon) > noise.epsilon or float(delta) > noise.delta:
            raise ArithmeticError(
                f"the threshold measurement would cost (ε {epsilon}, δ {delta}), more than "
                f"the quoted (ε {noise.epsilon}, δ {noise.delta})"
            )
        if not counts:
            return {}
        released = measurement(counts)
    return {str(k): int(v) for k, v in released.items()}
