"""The noise, all of it drawn by OpenDP (its Context API); nothing here samples by itself.

Two kinds of measurement, each a ``dp.Context`` holding one query:

* a vector of integer aggregates (counts, or sums on a fixed-point grid) over the public key
  set, computed exactly by DuckDB after contribution bounding, released with the *discrete*
  Laplace mechanism under an L1 sensitivity (``dp.unit_of(l1=...)``).  Integers all the way:
  the exact sum has no rounding for an attacker to read (Mironov's floating-point attack and
  its relatives on sums), and OpenDP samples discrete Laplace exactly;
* one group's quantile: OpenDP's ``private_quantile`` (scores over the steward's candidates,
  then the exponential mechanism) over the group's bounded, fixed-point values, with
  ``dp.unit_of(contributions=m)``.

Why ``enable_features("contrib")``: in OpenDP 0.16 the Context API's compositor (adaptive
composition) and ``private_quantile`` are not yet vetted by the library's own review, so they
sit behind "contrib".  Nothing else is enabled: not "floating-point" (which would turn off
OpenDP's defences against floating-point attacks) nor "honest-but-curious".

What this does not protect against: the bounds, key sets and candidates are the steward's
claim that they are public; if they were taken from the data they leak.  The sensitivity is
right only if the person column really names one person (the dataset's direct identifier)
and the bounding in ``dp.aggregates`` holds.  Timing of a release is not made constant.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import opendp.prelude as dp

dp.enable_features("contrib")

ALPHA = 0.05  # accuracy is stated at 95 %
DISCRETE_LAPLACE = "discrete Laplace (OpenDP)"
EXPONENTIAL_QUANTILE = "exponential mechanism over candidates (OpenDP private_quantile)"
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


def _vector_context(values: list[int], *, sensitivity: int, epsilon: float) -> dp.Context:
    return dp.Context.compositor(
        data=values,
        privacy_unit=dp.unit_of(l1=sensitivity, U=_INT),
        privacy_loss=dp.loss_of(epsilon=epsilon),
        split_evenly_over=1,
        domain=dp.vector_domain(dp.atom_domain(T=_INT), size=len(values)),
    )


@lru_cache(maxsize=4096)
def vector_noise(*, length: int, sensitivity: int, epsilon: float) -> Noise:
    """The discrete Laplace measurement a vector of ``length`` aggregates gets (no data read:
    a quote costs nothing)."""
    with _OPENDP:
        return _vector_noise(length, sensitivity, epsilon)


def _vector_noise(length: int, sensitivity: int, epsilon: float) -> Noise:
    query = _vector_context([0] * length, sensitivity=sensitivity, epsilon=epsilon).query()
    laplace = query.laplace()
    scale = float(laplace.param())
    spent = float(laplace.resolve().map(sensitivity))
    accuracy = float(dp.discrete_laplacian_scale_to_accuracy(scale, ALPHA))
    return Noise(DISCRETE_LAPLACE, scale, accuracy, spent)


def release_vector(values: list[int], *, sensitivity: int, epsilon: float) -> list[int]:
    """``values`` with discrete Laplace noise drawn by OpenDP."""
    if not values:
        return []
    with _OPENDP:
        context = _vector_context(values, sensitivity=sensitivity, epsilon=epsilon)
        released = context.query().laplace().release()
    return [int(v) for v in released]


def _quantile_context(values: list[int], *, contributions: int, epsilon: float) -> dp.Context:
    return dp.Context.compositor(
        data=values,
        privacy_unit=dp.unit_of(contributions=contributions),
        privacy_loss=dp.loss_of(epsilon=epsilon),
        split_evenly_over=1,
        domain=dp.vector_domain(dp.atom_domain(T=_INT)),
    )


@lru_cache(maxsize=1024)
def quantile_noise(
    *, candidates: tuple[int, ...], q: float, contributions: int, epsilon: float
) -> Noise:
    with _OPENDP:
        return _quantile_noise(candidates, q, contributions, epsilon)


def _quantile_noise(
    candidates: tuple[int, ...], q: float, contributions: int, epsilon: float
) -> Noise:
    query = _quantile_context([], contributions=contributions, epsilon=epsilon).query()
    measurement = query.private_quantile(dp.max_divergence(), list(candidates), q)
    scale = float(measurement.param())
    spent = float(measurement.resolve().map(contributions))
    return Noise(EXPONENTIAL_QUANTILE, scale, None, spent)


def release_quantile(
    values: list[int], *, candidates: tuple[int, ...], q: float, contributions: int, epsilon: float
) -> int:
    """One of ``candidates``, chosen by OpenDP's exponential mechanism near the ``q`` quantile."""
    with _OPENDP:
        context = _quantile_context(values, contributions=contributions, epsilon=epsilon)
        query = context.query().private_quantile(dp.max_divergence(), list(candidates), q)
        return int(query.release())
