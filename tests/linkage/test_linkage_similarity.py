"""Dice, blocking and one-to-one links, and accuracy on the generated truth."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bitgoeul.linkage import clk, keys, similarity, synthetic

SECRET = b"the key custodian's secret, 32 b"


def random_encodings(seed: int, n: int, words: int = 4) -> clk.Packed:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**63, size=(n, words), dtype=np.uint64) & rng.integers(
        0, 2**63, size=(n, words), dtype=np.uint64
    )


def reference_dice(a: np.ndarray, b: np.ndarray) -> float:
    both = sum(bin(int(x) & int(y)).count("1") for x, y in zip(a, b, strict=True))
    total = sum(bin(int(x)).count("1") for x in a) + sum(bin(int(y)).count("1") for y in b)
    return 2 * both / total if total else 0.0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["popcount", "numpy"]))
def test_dice_on_packed_words_equals_counting_bits_one_by_one(seed: int, engine: str) -> None:
    left, right = random_encodings(seed, 6), random_encodings(seed + 1, 5)
    left[2] = 0
    right[1] = 0  # two empty encodings: Dice 0, not a division by zero
    i, j = np.repeat(np.arange(6), 5), np.tile(np.arange(5), 6)
    scores = similarity.dice_pairs(left, right, i, j, chunk=7, engine=engine)  # type: ignore[arg-type]
    expected = [reference_dice(left[a], right[b]) for a, b in zip(i, j, strict=True)]
    assert np.allclose(scores, expected, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 10_000),
    st.sampled_from([0.3, 0.4, 0.5, 0.6]),
    st.sampled_from([1, 4, 11, 16]),
    st.sampled_from(["popcount", "blas"]),
)
def test_all_pairs_above_a_threshold_are_found_and_no_other(
    seed: int, threshold: float, words: int, engine: str
) -> None:
    left, right = random_encodings(seed, 40, words), random_encodings(seed + 7, 1100, words)
    left[3] = 0  # an empty encoding: Dice 0 with everything
    right[5:9] = left[:4]  # some pairs at Dice 1
    i, j, scores = similarity.pairs_above(left, right, threshold, chunk=16, engine=engine)  # type: ignore[arg-type]
    everything = similarity.dice_matrix(left, right)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == list(
        zip(*map(np.ndarray.tolist, np.nonzero(everything >= threshold)), strict=True)
    )  # every pair, ordered by left then right
    assert np.allclose(scores, everything[i, j], atol=1e-6)


def with_bits(count: int, first: int = 0, words: int = 16) -> np.ndarray:
    """One packed encoding with bits first .. first + count - 1 set."""
    bits = np.zeros(words * 64, dtype=bool)
    bits[first : first + count] = True
    return np.packbits(bits, bitorder="little").view("<u8").astype(np.uint64)


@settings(deadline=None)
@given(st.sampled_from(["popcount", "blas"]))
def test_a_pair_exactly_at_the_threshold_is_kept(engine: str) -> None:
    # 140 shared bits of 200 and 200: Dice 280/400 = 0.7 exactly, whose float32 (0.69999999)
    # is below the double 0.7; the pair anonlink found and a float comparison dropped.
    left = np.stack([with_bits(200)])
    right = np.stack([with_bits(200, first=60), with_bits(200, first=61)])
    assert reference_dice(left[0], right[0]) == 0.7
    i, j, _ = similarity.pairs_above(left, right, 0.7, engine=engine)  # type: ignore[arg-type]
    assert (i.tolist(), j.tolist()) == ([0], [0])  # 139/200 (0.695) is not
    scores = similarity.dice_pairs(left, right, np.array([0, 0]), np.array([0, 1]))
    assert similarity.reaches(scores, 0.7).tolist() == [True, False]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300)),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]),
    st.sampled_from(["popcount", "blas"]),
)
def test_the_threshold_is_decided_as_exact_fractions(
    shapes: list[tuple[int, int, int]], threshold: float, engine: str
) -> None:
    # Pairs of (shared, only left, only right) bits, many of them at a threshold exactly.
    left = np.stack([with_bits(both + only_a) for both, only_a, _ in shapes])
    right = np.stack([with_bits(both) | with_bits(b, first=both + a) for both, a, b in shapes])
    expected = set()
    for x in range(len(shapes)):
        for y in range(len(shapes)):
            both = sum(
                bin(int(p) & int(q)).count("1") for p, q in zip(left[x], right[y], strict=True)
            )
            total = sum(bin(int(p)).count("1") for p in left[x]) + sum(
                bin(int(q)).count("1") for q in right[y]
            )
            if total and Fraction(2 * both, total) >= Fraction(str(threshold)):
                expected.add((x, y))
    i, j, _ = similarity.pairs_above(left, right, threshold, chunk=5, engine=engine)  # type: ignore[arg-type]
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == expected
    every_i, every_j = (
        np.repeat(np.arange(len(left)), len(right)),
        np.tile(np.arange(len(right)), len(left)),
    )
    scores = similarity.dice_pairs(left, right, every_i, every_j)
    kept = similarity.reaches(scores, threshold)
    assert set(zip(every_i[kept].tolist(), every_j[kept].tolist(), strict=True)) == expected


def test_a_record_like_very_many_others_is_not_cut_short() -> None:
    left = random_encodings(1, 3, 16)
    right = np.repeat(left[:1], 200, axis=0)  # 200 copies of left[0]: more than one pass holds
    i, j, scores = similarity.pairs_above(left, right, 0.9)
    assert (i == 0).sum() == 200
    assert np.all(scores[i == 0] == 1.0)
    assert j[i == 0].tolist() == list(range(200))


def test_blocking_pairs_records_sharing_any_block_key_once() -> None:
    i, j = similarity.candidate_pairs([["a", "x"], ["b", None]], [["a", "x"], ["c", "b"]])
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_one_to_one_gives_each_record_at_most_one_partner() -> None:
    i = np.array([0, 0, 1, 1])
    j = np.array([0, 1, 0, 1])
    s = np.array([0.9, 0.8, 0.85, 0.7], dtype=np.float32)
    for method in ("greedy", "optimal"):
        links = similarity.one_to_one(i, j, s, method=method)  # type: ignore[arg-type]
        assert len(set(links.left.tolist())) == len(links)
        assert len(set(links.right.tolist())) == len(links)
    greedy = similarity.one_to_one(i, j, s)
    optimal = similarity.one_to_one(i, j, s, method="optimal")
    assert greedy.as_set() == {(0, 0), (1, 1)}
    assert optimal.as_set() == {(0, 1), (1, 0)}  # 0.8 + 0.85 > 0.9 + 0.7
    assert optimal.score.sum() >= greedy.score.sum()


def test_bloom_filter_linkage_finds_the_generated_truth() -> None:
    data = synthetic.generate(2000, 2000, 1200, seed=21)
    encoder = clk.ClkEncoder(clk.DEFAULT_SCHEMA, SECRET, "p1")
    left, right = encoder.encode(data.left), encoder.encode(data.right)
    i, j = similarity.candidate_pairs(
        keys.block_keys(SECRET, "p1", keys.DEFAULT_BLOCKS, data.left),
        keys.block_keys(SECRET, "p1", keys.DEFAULT_BLOCKS, data.right),
    )
    completeness, reduction = similarity.blocking_quality(i, j, data.truth, 2000, 2000)
    assert completeness >= 0.99
    assert reduction >= 0.999
    scores = similarity.dice_pairs(left, right, i, j)
    keep = scores >= clk.DEFAULT_THRESHOLD
    found = similarity.one_to_one(i[keep], j[keep], scores[keep]).as_set()
    quality = similarity.quality(found, data.truth)
    assert quality.precision >= 0.99
    assert quality.f1 >= 0.98


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.one_of(st.none(), st.sampled_from("abcde")), max_size=3), max_size=12),
    st.lists(st.lists(st.one_of(st.none(), st.sampled_from("abcdef")), max_size=3), max_size=12),
    st.sampled_from([1, 3, 1 << 20]),
)
def test_blocking_finds_exactly_the_pairs_sharing_a_key(
    left: list[list[str | None]], right: list[list[str | None]], chunk: int
) -> None:
    i, j = similarity.candidate_pairs(left, right, chunk=chunk)
    expected = sorted(
        (a, b)
        for a, keys_a in enumerate(left)
        for b, keys_b in enumerate(right)
        if {k for k in keys_a if k} & {k for k in keys_b if k}
    )
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == expected


def test_scoring_candidates_as_they_are_formed_finds_what_the_whole_set_finds() -> None:
    data = synthetic.generate(800, 700, 450, seed=21)
    encoder = clk.ClkEncoder(clk.DEFAULT_SCHEMA, b"s" * 32, "p")
    left, right = encoder.encode(data.left), encoder.encode(data.right)
    left_blocks = keys.block_keys(b"s" * 32, "p", keys.DEFAULT_BLOCKS, data.left)
    right_blocks = keys.block_keys(b"s" * 32, "p", keys.DEFAULT_BLOCKS, data.right)
    i, j = similarity.candidate_pairs(left_blocks, right_blocks)
    scores = similarity.dice_pairs(left, right, i, j)
    above = scores >= 0.6
    expected = dict(
        zip(zip(i[above].tolist(), j[above].tolist(), strict=True), scores[above], strict=True)
    )
    biggest_block = max(
        Counter(row[b] for row in left_blocks if row[b] is not None).most_common(1)[0][1]
        for b in range(len(keys.DEFAULT_BLOCKS))
    )
    for chunk in (1, 97, 1 << 22):
        got = similarity.scored_candidates(
            left_blocks, right_blocks, left, right, floor=0.6, chunk=chunk
        )
        assert got.candidates == len(i)  # each pair once, however many keys it shares
        found = dict(
            zip(zip(got.left.tolist(), got.right.tolist(), strict=True), got.score, strict=True)
        )
        assert found == expected
        # A chunk ends at the first right record that takes it past ``chunk`` pairs.
        assert got.largest_chunk < chunk + biggest_block
    completeness, _ = similarity.blocking_quality(i, j, data.truth, 800, 700)
    assert similarity.blocked_share(left_blocks, right_blocks, data.truth) == completeness
