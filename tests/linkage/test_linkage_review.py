"""The clerical review sample, on generated truth: pairs drawn where mistakes are likely,
labelled as a careful reviewer would (from the truth), give precision and recall intervals that
hold the true values; an unreviewed stratum leaves the estimate open."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bitgoeul.linkage import methods, review, synthetic

SECRET = b"k" * 32


def _labelled(sample: review.Sample, truth: set[tuple[int, int]]) -> list[review.Labelled]:
    out = []
    for stratum in sample.strata:
        mine = [p for p in sample.pairs if p.stratum == stratum.name]
        out.append(
            review.Labelled(
                kind=stratum.kind,
                population=stratum.population,
                reviewed=len(mine),
                matches=sum((p.left, p.right) in truth for p in mine),
            )
        )
    return out


def test_labels_from_the_truth_give_intervals_that_hold_the_true_precision_and_recall(
    tmp_path: Path,
) -> None:
    data = synthetic.generate(1500, 1500, 900, seed=7)
    [link] = methods.link_bloom(SECRET, "linkage:1", [data.left, data.right], 0.7, tmp_path)
    found = set(link.to_anchor.items())
    true_precision = len(found & data.truth) / len(found)
    true_recall = len(found & data.truth) / len(data.truth)
    names = {s.name for s in link.sample.strata}
    assert names == {"linked_near", "linked_sure", "unlinked_near"}
    assert all(
        (p.left, p.right) in found or p.stratum == "unlinked_near" for p in link.sample.pairs
    )
    estimate = review.estimate(_labelled(link.sample, data.truth))
    assert estimate["complete"]
    low, high = estimate["precision_interval"]
    assert low <= true_precision <= high
    assert high - low < 0.08
    low, high = estimate["recall_interval"]
    # Recall among compared pairs near the threshold: an upper bound on the true recall.
    assert low - 0.01 <= true_recall <= high
    assert abs(estimate["recall"] - true_recall) < 0.02


def test_the_sample_is_the_same_on_a_rerun_and_draws_every_stratum(tmp_path: Path) -> None:
    data = synthetic.generate(600, 600, 400, seed=3)
    first = methods.link_bloom(SECRET, "linkage:9", [data.left, data.right], 0.7, tmp_path)
    again = methods.link_bloom(SECRET, "linkage:9", [data.left, data.right], 0.7, tmp_path)
    assert first[0].sample == again[0].sample
    for stratum in first[0].sample.strata:
        drawn = [p for p in first[0].sample.pairs if p.stratum == stratum.name]
        assert len(drawn) == min(stratum.population, review.PER_STRATUM)


def test_an_unreviewed_stratum_leaves_the_estimate_open() -> None:
    estimate = review.estimate(
        [
            review.Labelled(review.LINKED, population=300, reviewed=20, matches=20),
            review.Labelled(review.UNLINKED, population=40, reviewed=0, matches=0),
        ]
    )
    assert estimate["complete"] is False
    assert estimate["precision"] is None
    assert estimate["recall"] is None
    assert estimate["reviewed"] == 20


def test_a_stratum_reviewed_in_full_is_known_exactly() -> None:
    estimate = review.estimate([review.Labelled(review.LINKED, 5, 5, 4)])
    assert estimate["precision"] == 0.8
    assert estimate["precision_interval"] == [0.8, 0.8]


def test_a_sample_without_a_mistake_still_leaves_room_for_one() -> None:
    estimate = review.estimate(
        [
            review.Labelled(review.LINKED, 1000, 20, 20),
            review.Labelled(review.UNLINKED, 200, 20, 0),
        ]
    )
    assert estimate["precision"] == 1.0
    assert 0.85 < estimate["precision_interval"][0] < 0.999
    assert estimate["precision_interval"][1] == 1.0
    assert estimate["recall"] == 1.0
    assert estimate["recall_interval"] == [1.0, 1.0] or estimate["recall_interval"][1] == 1.0


def test_a_missed_share_of_near_pairs_lowers_recall_by_their_weight() -> None:
    # 100 links all right; 50 near misses of which half are matches: recall 100 / 125.
    estimate = review.estimate(
        [
            review.Labelled(review.LINKED, 100, 100, 100),
            review.Labelled(review.UNLINKED, 50, 50, 25),
        ]
    )
    assert estimate["recall"] == 0.8
    assert estimate["recall_interval"] == [0.8, 0.8]


def test_exact_links_are_sampled_per_key_definition_without_a_recall() -> None:
    links = [(i, i, "name_birth_phone") for i in range(50)] + [
        (i, i + 1, "name_birth_district") for i in range(100, 110)
    ]
    sample = review.draw_exact(links, seed=1)
    assert [(s.name, s.population) for s in sample.strata] == [
        ("key:name_birth_phone", 50),
        ("key:name_birth_district", 10),
    ]
    assert len(sample.pairs) == review.PER_STRATUM + 10
    labelled = [
        review.Labelled(review.LINKED, 50, review.PER_STRATUM, review.PER_STRATUM),
        review.Labelled(review.LINKED, 10, 10, 9),
    ]
    estimate = review.estimate(labelled)
    assert estimate["recall"] is None
    assert estimate["precision"] == round((50 + 9) / 60, 4)


def test_an_empty_near_miss_stratum_means_every_compared_match_was_found() -> None:
    sample = review.draw_scored(
        np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([0.95, 0.9, 0.2]),
        np.array([0, 1]), np.array([0, 1]), sure_from=0.8, near_from=0.6, seed=0,
    )  # fmt: skip
    assert {s.name: s.population for s in sample.strata} == {
        "linked_near": 0,
        "linked_sure": 2,
        "unlinked_near": 0,
    }
    estimate = review.estimate(
        [review.Labelled(s.kind, s.population, s.population, s.population) for s in sample.strata]
    )
    assert estimate["recall"] == 1.0
