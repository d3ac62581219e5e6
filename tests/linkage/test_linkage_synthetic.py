"""The FEBRL-3-like generator: seeded, with the truth."""

from __future__ import annotations

import pytest

from bitgoeul.linkage import normalise, synthetic


def test_the_same_seed_makes_the_same_sources() -> None:
    assert synthetic.generate(100, 80, 50, seed=4) == synthetic.generate(100, 80, 50, seed=4)
    assert synthetic.generate(100, 80, 50, seed=4) != synthetic.generate(100, 80, 50, seed=5)


def test_the_truth_pairs_each_shared_person_once() -> None:
    data = synthetic.generate(300, 200, 120, seed=1)
    assert len(data.truth) == 120
    assert len({a for a, _ in data.truth}) == len({b for _, b in data.truth}) == 120


def test_duplicates_carry_the_errors_registers_make() -> None:
    data = synthetic.generate(2000, 2000, 2000, seed=2)
    pairs = [(data.left[a], data.right[b]) for a, b in data.truth]
    name_changed = sum(
        normalise.hangul_name(x["name"]) != normalise.hangul_name(y["name"]) for x, y in pairs
    )
    initial_variant = sum(
        (y["name"] or "")[:1] in "리류림로" and (x["name"] or "")[:1] in "이유임노"
        for x, y in pairs
    )
    swapped_latin = sum((y["name_latin"] or "").split()[-1].isupper() for _, y in pairs)
    moved = sum(normalise.district(x["district"]) != normalise.district(y["district"])
                for x, y in pairs)  # fmt: skip
    assert name_changed > 100
    assert initial_variant > 20
    assert swapped_latin > 100
    assert moved > 100


def test_an_overlap_larger_than_a_source_is_refused() -> None:
    with pytest.raises(ValueError, match="overlap must be between 0 and 10"):
        synthetic.generate(10, 20, 11, seed=1)
