"""Comparing encodings: blocking, Dice similarity with a vectorised popcount, one-to-one links.

Dice of two bit vectors is ``2|a ∧ b| / (|a| + |b|)``. For a set of candidate pairs the
intersection is ``np.bitwise_count`` over the AND of packed 64-bit words; for a whole block
(every left record against every right one) it is one matrix product of the unpacked bits in
float32, which BLAS runs on every core. A GPU path (CuPy, then PyTorch) is used for blocks when
either is importable and sees a device; otherwise NumPy.

Blocking keeps the comparisons few: each agency also hands over keyed block keys (HMAC of
e.g. the birth date, or the surname with the birth month, see ``keys.py``); only records that
share a block key in at least one pass are compared. One-to-one assignment then keeps, of the
pairs above the threshold, each record's best partner (greedy by score, or optimal per
connected component with SciPy's ``linear_sum_assignment``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bitgoeul.linkage.clk import Packed, unpack

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def popcounts(packed: Packed) -> IntArray:
    counts: IntArray = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    return counts


def dice_pairs(
    left: Packed,
    right: Packed,
    i: IntArray,
    j: IntArray,
    *,
    chunk: int = 1 << 20,
    engine: Literal["popcount", "numpy"] = "popcount",
) -> FloatArray:
    """Dice of the pairs (left[i[k]], right[j[k]]): by the compiled popcount kernel (pairs
    over every core, encodings read in place), or with NumPy ``chunk`` pairs at a time so that
    the gathered encodings stay small (1M pairs of 1,024-bit encodings: 256 MB)."""
    if engine == "popcount":
        from bitgoeul.linkage import popcount

        return popcount.dice_of_pairs(
            left, right, np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
        )
    out = np.zeros(len(i), dtype=np.float32)
    if len(i) == 0:
        return out
    ones_left, ones_right = popcounts(left), popcounts(right)
    for start in range(0, len(i), chunk):
        a, b = i[start : start + chunk], j[start : start + chunk]
        both = np.bitwise_count(left[a] & right[b]).sum(axis=1, dtype=np.int64)
        total = ones_left[a] + ones_right[b]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + chunk] = np.where(total > 0, 2.0 * both / total, 0.0)
    return out


def _gpu_matmul() -> Any | None:
    """A function multiplying two float32 matrices on a GPU, or None without one."""
    try:
        import cupy  # type: ignore[import-not-found]

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return lambda a, b: cupy.asnumpy(cupy.asarray(a) @ cupy.asarray(b).T)
    except Exception:  # noqa: S110 (no CuPy or no device: fall through to the next path)
        pass
    try:
        import torch

        if torch.cuda.is_available():
            return lambda a, b: (
                (torch.from_numpy(a).cuda() @ torch.from_numpy(b).cuda().T).cpu().numpy()
            )
    except Exception:  # noqa: S110 (no PyTorch or no device: use NumPy)
        pass
    return None


def gpu_available() -> bool:
    return _gpu_matmul() is not None


def dice_matrix(
    left: Packed, right: Packed, *, device: Literal["cpu", "gpu"] = "cpu"
) -> FloatArray:
    """Dice of every left encoding with every right one, as an (n_left, n_right) matrix."""
    a = unpack(left).astype(np.float32)
    b = unpack(right).astype(np.float32)
    multiply = _gpu_matmul() if device == "gpu" else None
    if device == "gpu" and multiply is None:
        raise RuntimeError("no GPU: neither CuPy nor PyTorch sees a CUDA device")
    both = multiply(a, b) if multiply is not None else a @ b.T
    total = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, 2.0 * both / total, 0.0)
    return score.astype(np.float32)


def _folded(bits: npt.NDArray[np.bool_]) -> FloatArray:
    """The two halves of each bit vector added: counts 0–2 over half the positions."""
    half = bits.shape[1] // 2
    return (bits[:, :half].astype(np.float32)) + bits[:, half:]


def reaches(scores: FloatArray, threshold: float) -> npt.NDArray[np.bool_]:
    """Which float32 Dice scores (of ``dice_pairs``) are at least ``threshold``, a pair exactly
    at it included: compared with the threshold rounded as the scores were (float32(0.7), not
    the double 0.7 above it, which would drop a pair of 280/400). Rounding keeps order, so this
    is the exact test ``2·|a ∧ b| ≥ t·(|a| + |b|)`` whenever a score and the threshold that
    differ differ by more than float32's step (2⁻²⁴): for t with d decimals and filters of
    ``length`` bits, whenever 10^d · 2·length < 2²⁴ (0.7 and 1,024 bits: 20,480)."""
    reached: npt.NDArray[np.bool_] = scores >= np.float32(threshold)
    return reached


def pairs_above(
    left: Packed,
    right: Packed,
    threshold: float,
    *,
    chunk: int = 1024,
    engine: Literal["popcount", "blas"] = "popcount",
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (i, j, dice) with dice ≥ threshold over all pairs, ordered by i then j.

    ``popcount`` (the default): the compiled kernel of ``popcount.py`` (vectorised popcount of
    the first words of every pair, a bound, the rest for the survivors, every core). ``blas``:
    float32 matrix products (below), also used for the rare left encoding with more than the
    kernel's capacity of hits.
    """
    if engine == "blas" or len(left) == 0 or len(right) == 0:
        return _pairs_above_blas(left, right, threshold, chunk=chunk)
    from bitgoeul.linkage import popcount

    i, j, score, overflow = popcount.pairs_above(left, right, threshold)
    if overflow:
        rows = np.asarray(overflow, dtype=np.int64)
        oi, oj, oscore = _pairs_above_blas(left[rows], right, threshold, chunk=chunk)
        i = np.concatenate([i, rows[oi]])
        j = np.concatenate([j, oj])
        score = np.concatenate([score, oscore])
        order = np.lexsort((j, i))
        i, j, score = i[order], j[order], score[order]
    return i, j, score


def _pairs_above_blas(
    left: Packed, right: Packed, threshold: float, *, chunk: int = 1024
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (i, j, dice) with dice ≥ threshold, comparing all pairs chunk by chunk.

    Two stages, both float32 matrix products that BLAS runs on every core. First a bound at half
    the cost: fold each vector's halves onto each other (counts 0–2); for non-negative integers
    ``x·y ≥ min(x, y)``, so the folded dot product is at least ``|a ∧ b|``, and a pair whose
    bound is below ``t·(|a| + |b|) / 2`` cannot reach the threshold. For CLKs about a fifth
    full this discards nearly every non-matching pair. The few survivors are scored exactly.
    The test ``dice ≥ t ⇔ 2·both − t·|a| − t·|b| ≥ 0`` is one product of the vectors with two
    more columns (``−t·|a|`` and 1 on the left, 1 and ``−t·|b|`` on the right).
    """
    if len(left) == 0 or len(right) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    b_bits = unpack(right)
    b_count = b_bits.sum(axis=1, dtype=np.int64)
    b_fold = _folded(b_bits)
    b = np.empty((len(right), b_fold.shape[1] + 2), dtype=np.float32)
    b[:, :-2] = b_fold
    b[:, -2] = 1.0
    b[:, -1] = -threshold * b_count
    bt = np.ascontiguousarray(b.T)
    from bitgoeul.linkage.popcount import as_fraction

    t = as_fraction(threshold)
    found_i: list[IntArray] = []
    found_j: list[IntArray] = []
    found_s: list[FloatArray] = []
    for start in range(0, len(left), chunk):
        a_bits = unpack(left[start : start + chunk])
        a_count = a_bits.sum(axis=1, dtype=np.int64)
        a_fold = _folded(a_bits)
        a = np.empty((len(a_bits), a_fold.shape[1] + 2), dtype=np.float32)
        a[:, :-2] = a_fold
        a[:, :-2] *= 2.0
        a[:, -2] = -threshold * a_count
        a[:, -1] = 1.0
        # Half a bit of slack for float32 rounding; the exact score decides below.
        hit_i, hit_j = np.nonzero(a @ bt >= -0.5)
        hit_i = hit_i.astype(np.int64) + start
        hit_j = hit_j.astype(np.int64)
        scores = dice_pairs(left, right, hit_i, hit_j)
        both = np.bitwise_count(left[hit_i] & right[hit_j]).sum(axis=1, dtype=np.int64)
        total = a_count[hit_i - start] + b_count[hit_j]
        # Dice ≥ p/q ⇔ 2·q·both ≥ p·total, in integers (a pair exactly at it is kept).
        keep = (total > 0) & (2 * t.denominator * both >= t.numerator * total)
        found_i.append(hit_i[keep])
        found_j.append(hit_j[keep])
        found_s.append(scores[keep])
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)


def candidate_pairs(
    left_blocks: Sequence[Iterable[str | None]],
    right_blocks: Sequence[Iterable[str | None]],
    *,
    chunk: int = 1 << 25,
) -> tuple[IntArray, IntArray]:
    """Pairs of records sharing at least one block key (each pair once, sorted).

    Keys become integers; the left side's records are grouped by key; each right record's
    keys are expanded into the left records sharing them, about ``chunk`` pairs at a time,
    as codes ``left · n_right + right``, then deduplicated. Memory: a few bytes per key plus
    16 bytes per candidate pair (the codes, sorted once).
    """
    ids: dict[str, int] = {}

    def flatten(blocks: Sequence[Iterable[str | None]]) -> tuple[IntArray, IntArray]:
        records: list[int] = []
        found: list[int] = []
        for position, keys in enumerate(blocks):
            for key in keys:
                if key is not None:
                    records.append(position)
                    found.append(ids.setdefault(key, len(ids)))
        return np.asarray(records, dtype=np.int64), np.asarray(found, dtype=np.int64)

    left_records, left_keys = flatten(left_blocks)
    right_records, right_keys = flatten(right_blocks)
    if len(left_keys) == 0 or len(right_keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(left_keys, kind="stable")
    grouped = left_records[order]
    sizes = np.bincount(left_keys, minlength=len(ids))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_entry = sizes[right_keys]
    n_right = max(len(right_blocks), 1)
    codes: list[IntArray] = []
    cumulative = np.cumsum(per_entry)
    cuts = np.searchsorted(cumulative, np.arange(chunk, int(cumulative[-1]), chunk), side="right")
    edges = np.unique(np.concatenate([[0], cuts, [len(per_entry)]])).tolist()
    for first, last in itertools.pairwise(edges):
        counts = per_entry[first:last]
        total = int(counts.sum())
        if total:
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            lefts = grouped[np.repeat(starts[right_keys[first:last]], counts) + offsets]
            codes.append(lefts * n_right + np.repeat(right_records[first:last], counts))
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    unique = np.unique(np.concatenate(codes))
    return unique // n_right, unique % n_right


def _key_ids(
    left_blocks: Sequence[Sequence[str | None]], right_blocks: Sequence[Sequence[str | None]]
) -> tuple[IntArray, IntArray]:
    """Each record's block keys as small integers, one column per pass (-1: no key); a key
    means the same integer on both sides within a pass."""
    passes = max((len(k) for k in [*left_blocks[:1], *right_blocks[:1]]), default=0)
    left_ids = np.full((len(left_blocks), passes), -1, dtype=np.int64)
    right_ids = np.full((len(right_blocks), passes), -1, dtype=np.int64)
    for b in range(passes):
        ids: dict[str, int] = {}
        for blocks, out in ((left_blocks, left_ids), (right_blocks, right_ids)):
            column = [k[b] for k in blocks]
            out[:, b] = [-1 if key is None else ids.setdefault(key, len(ids)) for key in column]
    return left_ids, right_ids


@dataclass(frozen=True)
class Scored:
    """Candidate pairs scored as they are formed: those kept (Dice at or above the floor), and
    how many pairs blocking produced in all (each pair once)."""

    left: IntArray
    right: IntArray
    score: FloatArray
    candidates: int
    largest_chunk: int


def scored_candidates(
    left_blocks: Sequence[Sequence[str | None]],
    right_blocks: Sequence[Sequence[str | None]],
    left: Packed,
    right: Packed,
    *,
    floor: float,
    chunk: int = 1 << 22,
) -> Scored:
    """The pairs sharing at least one block key, scored ``chunk`` pairs at a time as they are
    formed, keeping those whose Dice is at least ``floor``: memory is bounded by the chunk
    and the kept pairs, not by the number of candidates (265 M at 1M × 1M).

    Each pair is formed once, in the first pass whose key its two records share: in pass ``b``
    a pair that also shares a key of an earlier pass is dropped, so no deduplication over all
    candidates is needed. Nothing is lost against ``candidate_pairs`` + ``dice_pairs`` for any
    threshold at or above ``floor``.
    """
    left_ids, right_ids = _key_ids(left_blocks, right_blocks)
    kept_i: list[IntArray] = []
    kept_j: list[IntArray] = []
    kept_s: list[FloatArray] = []
    candidates = largest = 0
    for b in range(left_ids.shape[1]):
        lkeys, rkeys = left_ids[:, b], right_ids[:, b]
        lrec = np.flatnonzero(lkeys >= 0)
        rrec = np.flatnonzero(rkeys >= 0)
        if lrec.size == 0 or rrec.size == 0:
            continue
        size = int(max(lkeys.max(), rkeys.max())) + 1
        order = lrec[np.argsort(lkeys[lrec], kind="stable")]
        sizes = np.bincount(lkeys[lrec], minlength=size)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        per_right = sizes[rkeys[rrec]]
        cumulative = np.cumsum(per_right)
        if cumulative[-1] == 0:
            continue
        cuts = np.searchsorted(
            cumulative, np.arange(chunk, int(cumulative[-1]), chunk), side="right"
        )
        edges = np.unique(np.concatenate([[0], cuts, [rrec.size]])).tolist()
        for first, last in itertools.pairwise(edges):
            counts = per_right[first:last]
            total = int(counts.sum())
            if not total:
                continue
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            rights = np.repeat(rrec[first:last], counts)
            lefts = order[np.repeat(starts[rkeys[rrec[first:last]]], counts) + offsets]
            if b:
                earlier = left_ids[lefts, :b]
                again = ((earlier == right_ids[rights, :b]) & (earlier >= 0)).any(axis=1)
                lefts, rights = lefts[~again], rights[~again]
            candidates += int(lefts.size)
            largest = max(largest, total)
            scores = dice_pairs(left, right, lefts, rights)
            keep = reaches(scores, floor)
            kept_i.append(lefts[keep])
            kept_j.append(rights[keep])
            kept_s.append(scores[keep])
    if not kept_i:
        empty = np.zeros(0, np.int64)
        return Scored(empty, empty.copy(), np.zeros(0, np.float32), candidates, largest)
    i, j, score = np.concatenate(kept_i), np.concatenate(kept_j), np.concatenate(kept_s)
    order = np.lexsort((j, i))
    return Scored(i[order], j[order], score[order], candidates, largest)


def blocked_share(
    left_blocks: Sequence[Sequence[str | None]],
    right_blocks: Sequence[Sequence[str | None]],
    pairs: set[tuple[int, int]],
) -> float:
    """The share of ``pairs`` that share at least one block key: blocking's pairs completeness
    when ``pairs`` is the truth, computed without the candidates."""
    if not pairs:
        return 1.0
    left_ids, right_ids = _key_ids(left_blocks, right_blocks)
    i = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    j = np.fromiter((p[1] for p in pairs), dtype=np.int64, count=len(pairs))
    shared = ((left_ids[i] == right_ids[j]) & (left_ids[i] >= 0)).any(axis=1)
    return float(shared.mean())


@dataclass(frozen=True)
class Links:
    left: IntArray
    right: IntArray
    score: FloatArray

    def __len__(self) -> int:
        return len(self.left)

    def as_set(self) -> set[tuple[int, int]]:
        return set(zip(self.left.tolist(), self.right.tolist(), strict=True))


def one_to_one(
    i: IntArray, j: IntArray, score: FloatArray, *, method: Literal["greedy", "optimal"] = "greedy"
) -> Links:
    """Keep each record's single partner: greedy by descending score, or the assignment that
    maximises the total score within each connected group of candidate pairs."""
    if method == "optimal":
        return _optimal(i, j, score)
    order = np.lexsort((j, i, -score))
    used_left: set[int] = set()
    used_right: set[int] = set()
    keep: list[int] = []
    for k in order.tolist():
        a, b = int(i[k]), int(j[k])
        if a in used_left or b in used_right:
            continue
        used_left.add(a)
        used_right.add(b)
        keep.append(k)
    chosen = np.asarray(keep, dtype=np.int64)
    return Links(i[chosen], j[chosen], score[chosen])


def _optimal(i: IntArray, j: IntArray, score: FloatArray) -> Links:
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(i) == 0:
        return Links(i, j, score)
    n_left = int(i.max()) + 1
    n_right = int(j.max()) + 1
    graph = coo_matrix(
        (np.ones(len(i)), (i, j + n_left)), shape=(n_left + n_right, n_left + n_right)
    )
    _, labels = connected_components(graph, directed=False)
    component = labels[i]
    out_i: list[int] = []
    out_j: list[int] = []
    out_s: list[float] = []
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    for group in np.split(order, bounds):
        gi, gj, gs = i[group], j[group], score[group]
        rows, row_of = np.unique(gi, return_inverse=True)
        cols, col_of = np.unique(gj, return_inverse=True)
        weights = np.zeros((len(rows), len(cols)))
        weights[row_of, col_of] = gs
        picked_r, picked_c = linear_sum_assignment(weights, maximize=True)
        for r, c in zip(picked_r.tolist(), picked_c.tolist(), strict=True):
            if weights[r, c] > 0:
                out_i.append(int(rows[r]))
                out_j.append(int(cols[c]))
                out_s.append(float(weights[r, c]))
    return Links(
        np.asarray(out_i, dtype=np.int64),
        np.asarray(out_j, dtype=np.int64),
        np.asarray(out_s, dtype=np.float32),
    )


@dataclass(frozen=True)
class Quality:
    precision: float
    recall: float
    f1: float
    true_links: int
    found_links: int


def quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> Quality:
    correct = len(found & truth)
    precision = correct / len(found) if found else 1.0
    recall = correct / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(precision, recall, f1, len(truth), len(found))


def blocking_quality(
    i: IntArray, j: IntArray, truth: set[tuple[int, int]], n_left: int, n_right: int
) -> tuple[float, float]:
    """(pairs completeness, reduction ratio) of a candidate set."""
    candidates = set(zip(i.tolist(), j.tolist(), strict=True))
    completeness = len(candidates & truth) / len(truth) if truth else 1.0
    reduction = 1.0 - len(candidates) / (n_left * n_right)
    return completeness, reduction
