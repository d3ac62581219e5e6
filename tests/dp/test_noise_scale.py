"""The noise a release carries is the noise its quote states: OpenDP's discrete Laplace at the
stated scale, and the stated ±accuracy holds 95 % of the time."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import pytest
from tests.dp.conftest import Budgets

from bitgoeul.dp import mechanisms
from bitgoeul.dp.schemas import Quote, Release

DRAWS = 20_000


def _discrete_laplace_mean_abs(scale: float) -> float:
    """E|X| for P(X = k) proportional to exp(-|k| / scale)."""
    a = math.exp(-1 / scale)
    return 2 * a / ((1 - a) * (1 + a))


def _discrete_laplace_within(scale: float, bound: int) -> float:
    """P(|X| <= bound) for P(X = k) proportional to exp(-|k| / scale)."""
    a = math.exp(-1 / scale)
    return (1 - a) / (1 + a) * (1 + 2 * sum(a**k for k in range(1, bound + 1)))


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(1, 0.5), (10, 1.0), (3, 0.1)])
def test_released_noise_has_the_stated_scale_and_accuracy(sensitivity: int, epsilon: float) -> None:
    stated = mechanisms.vector_noise(length=DRAWS, sensitivity=sensitivity, epsilon=epsilon)
    assert stated.scale == pytest.approx(sensitivity / epsilon)
    noise = mechanisms.release_vector([0] * DRAWS, stated, sensitivity=sensitivity)
    mean_abs = sum(abs(x) for x in noise) / DRAWS
    # The mean of 20 000 |X| is within 5 % of its expectation (about 7 standard errors).
    assert mean_abs == pytest.approx(_discrete_laplace_mean_abs(stated.scale), rel=0.05)
    assert abs(sum(noise) / DRAWS) < 0.05 * stated.scale + 0.05  # centred
    assert stated.accuracy_95 is not None
    # The stated accuracy covers at least 95 % (more, by the distribution's steps), and the
    # draws cover what the distribution says they should.
    covered = _discrete_laplace_within(stated.scale, math.floor(stated.accuracy_95))
    assert covered >= 0.95
    inside = sum(abs(x) <= stated.accuracy_95 for x in noise) / DRAWS
    assert inside == pytest.approx(covered, abs=0.01)


def test_a_released_count_differs_from_the_exact_one_by_at_most_the_stated_accuracy_mostly(
    budgets: Budgets, dp_quote: Callable[..., Quote], dp_release: Callable[..., Release]
) -> None:
    """Through the whole door: a count per age (each age is one person's), at ε 1."""
    project = budgets(project=20)
    quote = dp_quote(project=project, group_by=["age"], measures=[{"kind": "count"}], epsilon=1)
    accuracy = quote.measures[0].accuracy_95
    assert accuracy is not None
    released = dp_release(quote.token)
    # Every age belongs to exactly one person in the survey (ages are 20 + 7p mod 50).
    errors = [abs(row[1] - 1) for row in released.rows]
    assert len(errors) == 28
    assert sum(e <= accuracy for e in errors) >= 22  # 95 % of 28 is 26.6; 22 is far below
    assert any(e != 0 for e in errors)  # and it is noisy


GOF_DRAWS = 200_000
FAILURE = 1e-9  # the chance this test fails although OpenDP draws exactly the stated law


def _discrete_laplace_cdf(scale: float, k: int) -> float:
    """P(X <= k) for P(X = k) proportional to exp(-|k| / scale)."""
    a = math.exp(-1 / scale)
    return a ** (-k) / (1 + a) if k < 0 else 1 - a ** (k + 1) / (1 + a)


def _distance(draws: list[int], scale: float) -> float:
    """The largest gap between the draws' empirical CDF and the discrete Laplace CDF."""
    counts = Counter(draws)
    below = 0
    gap = 0.0
    for k in range(min(draws), max(draws) + 1):
        below += counts.get(k, 0)
        gap = max(gap, abs(below / len(draws) - _discrete_laplace_cdf(scale, k)))
    return gap


@pytest.mark.parametrize(("sensitivity", "epsilon"), [(1, 0.5), (10, 1.0)])
def test_the_whole_law_of_the_released_noise_is_discrete_laplace_at_the_stated_scale(
    sensitivity: int, epsilon: float
) -> None:
    """A goodness-of-fit test that cannot flake in practice: by the Dvoretzky-Kiefer-Wolfowitz
    inequality (Massart's constant), the empirical CDF of n draws from the stated law strays
    more than sqrt(ln(2 / FAILURE) / 2n) from it with probability at most FAILURE = 1e-9.
    The same draws are then shown to reject a scale 20 % off, so the test can fail."""
    stated = mechanisms.vector_noise(length=GOF_DRAWS, sensitivity=sensitivity, epsilon=epsilon)
    draws = mechanisms.release_vector([0] * GOF_DRAWS, stated, sensitivity=sensitivity)
    bound = math.sqrt(math.log(2 / FAILURE) / (2 * GOF_DRAWS))
    assert _distance(draws, stated.scale) <= bound
    assert _distance(draws, stated.scale * 1.2) > bound
    assert _distance(draws, stated.scale / 1.2) > bound
