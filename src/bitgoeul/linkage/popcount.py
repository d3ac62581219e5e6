"""Dice over all pairs of two sets of packed encodings, compiled with Numba.

The all-pairs search of ``similarity.pairs_above`` on a CPU: for every left encoding (the
left rows shared out over every core) and every right one, the 64-bit words of the two are
ANDed and counted with the CPU's popcount, a loop the compiler vectorises (``vpopcntq`` on
eight words at once where the CPU has AVX-512 VPOPCNTDQ), and the pair is kept when
``2·|a ∧ b| ≥ t·(|a| + |b|)``, decided in integers with ``t`` as the fraction its decimal
form names (0.7 = 7/10: ``20·|a ∧ b| ≥ 7·(|a| + |b|)``), so a pair exactly at the threshold
is kept. Exact; no bound or sampling. A left encoding with
more than ``CAPACITY`` hits is reported for the caller to redo.

Numba compiles the kernel on first use (a few seconds) and caches it beside this file when it
can write there.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

CAPACITY = 32  # hits kept per left encoding in one pass; more are counted and redone
# Numba's default threading layer (workqueue) must not start two parallel kernels at once
# (two requests of a threaded server, say): one at a time, each using every core.
_ONE_AT_A_TIME = threading.Lock()


def _ctpop(typingctx: Any, x: Any) -> Any:
    """LLVM's ``ctpop`` on a 64-bit word: one popcount instruction (vectorised in loops)."""
    signature = types.uint64(types.uint64)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(function, args)

    return signature, codegen


_popcount: Any = intrinsic(_ctpop)


@njit(parallel=True, cache=True, nogil=True)
def _kernel(
    left: Any,
    right: Any,
    ones_left: Any,
    ones_right: Any,
    numerator: int,
    denominator: int,
    out_j: Any,
    out_score: Any,
    counts: Any,
) -> None:  # pragma: no cover (compiled; tested through ``pairs_above``)
    n, words = left.shape
    m = right.shape[0]
    capacity = out_j.shape[1]
    for i in prange(n):
        a = left[i]
        found = 0
        for j in range(m):
            b = right[j]
            both = 0
            for k in range(words):  # vectorised: vpopcntq over the row's words
                both += _popcount(a[k] & b[k])
            # Dice ≥ p/q  ⇔  2·q·|a ∧ b| ≥ p·(|a| + |b|), in integers (no rounding).
            total = ones_left[i] + ones_right[j]
            if total > 0 and 2 * denominator * both >= numerator * total:
                if found < capacity:
                    out_j[i, found] = j
                    out_score[i, found] = np.float32(2.0 * both / total)
                found += 1
        counts[i] = found


@njit(parallel=True, cache=True, nogil=True)
def _pairs_kernel(
    left: Any, right: Any, ones_left: Any, ones_right: Any, i: Any, j: Any, out: Any
) -> None:  # pragma: no cover (compiled; tested through ``dice_of_pairs``)
    words = left.shape[1]
    for k in prange(len(i)):
        a = left[i[k]]
        b = right[j[k]]
        both = 0
        for w in range(words):
            both += _popcount(a[w] & b[w])
        total = ones_left[i[k]] + ones_right[j[k]]
        out[k] = 2.0 * both / total if total > 0 else 0.0


def dice_of_pairs(
    left: npt.NDArray[np.uint64],
    right: npt.NDArray[np.uint64],
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
) -> npt.NDArray[np.float32]:
    """Dice of the pairs (left[i[k]], right[j[k]]), read in place (nothing gathered)."""
    out = np.zeros(len(i), np.float32)
    if len(i):
        left = np.ascontiguousarray(left, dtype=np.uint64)
        right = np.ascontiguousarray(right, dtype=np.uint64)
        with _ONE_AT_A_TIME:
            _pairs_kernel(left, right, _ones(left), _ones(right), i, j, out)
    return out


def _ones(packed: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    ones: npt.NDArray[np.int64] = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    return ones


def as_fraction(threshold: float) -> Fraction:
    """The threshold as the fraction its shortest decimal form names (0.7 → 7/10, not the
    binary double just below it), so that Dice ≥ t can be decided in integers. A threshold
    with more than nine decimals (1/3 given as 0.3333333333333333) is taken as the nearest
    fraction with a denominator up to 10⁹ (1/3), which keeps the products in 64 bits."""
    exact = Fraction(repr(float(threshold)))
    return exact if exact.denominator <= 10**9 else exact.limit_denominator(10**9)


def pairs_above(
    left: npt.NDArray[np.uint64], right: npt.NDArray[np.uint64], threshold: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32], list[int]]:
    """(i, j, dice) of every pair with dice ≥ threshold, ordered by i then j, and the left
    rows that had more than ``CAPACITY`` hits (their hits are not in the result: redo them)."""
    left = np.ascontiguousarray(left, dtype=np.uint64)
    right = np.ascontiguousarray(right, dtype=np.uint64)
    out_j = np.empty((len(left), CAPACITY), np.int64)
    out_score = np.empty((len(left), CAPACITY), np.float32)
    counts = np.zeros(len(left), np.int64)
    t = as_fraction(threshold)
    with _ONE_AT_A_TIME:
        _kernel(
            left,
            right,
            _ones(left),
            _ones(right),
            t.numerator,
            t.denominator,
            out_j,
            out_score,
            counts,
        )
    overflow = np.flatnonzero(counts > CAPACITY)
    kept = np.minimum(counts, CAPACITY)
    kept[overflow] = 0
    mask = np.arange(CAPACITY)[None, :] < kept[:, None]
    i = np.repeat(np.arange(len(left), dtype=np.int64), kept)
    return i, out_j[mask], out_score[mask], overflow.tolist()
