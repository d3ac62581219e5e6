"""A quote states a mean's and a quantile's accuracy without reading the data: a mean's ± as a
function of its group's size n (worked out for a few sizes), a quantile's as a rank error in
rows.  Released many times, the noisy answers fall inside the stated bounds at least ~95 % of
the time (OpenDP draws the noise and cannot be seeded; the draw counts keep a false failure
far below one in a million runs)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from tests.catalog.conftest import Browser, api, browser  # noqa: F401
from tests.dp.conftest import SURVEY, Budgets
from tests.dp.test_dp_cli import invoke  # noqa: F401 (a fixture)
from tests.dp.test_dp_pages import _csrf
from tests.query.conftest import City
from typer.testing import Result

from bitgoeul.dp import actions, mechanisms
from bitgoeul.dp.plan import Plan, plan_request
from bitgoeul.dp.schemas import GROUP_SIZES, DpRequest, Measure, MeasureQuote, Quote

QUANTILE_DRAWS = 300
MEAN_DRAWS = 4_000


def _quantile_score(values: list[int], candidate: int, q: float) -> float:
    """OpenDP's quantile score in rows: how far the rank below ``candidate`` is from q·n."""
    below = sum(v < candidate for v in values)
    equal = sum(v == candidate for v in values)
    return abs(below - q * (len(values) - equal))


@pytest.mark.parametrize(("q", "contributions", "epsilon"), [(0.5, 3, 0.5), (0.9, 1, 0.2)])
def test_a_released_quantile_is_within_the_stated_rank_error_95_percent_of_the_time(
    q: float, contributions: int, epsilon: float
) -> None:
    candidates = tuple(range(0, 101, 5))
    values = [v for v in range(100) for _ in range(contributions)]
    noise = mechanisms.quantile_noise(
        candidates=candidates, q=q, contributions=contributions, epsilon=epsilon
    )
    stated = mechanisms.quantile_rank_error(noise, candidates=len(candidates))
    best = min(_quantile_score(values, c, q) for c in candidates)
    errors = sorted(
        _quantile_score(
            values,
            mechanisms.release_quantile(
                values, noise, candidates=candidates, q=q, contributions=contributions
            ),
            q,
        )
        - best
        for _ in range(QUANTILE_DRAWS)
    )
    assert sum(e <= stated for e in errors) >= 0.93 * QUANTILE_DRAWS
    # The bound is in the mechanism's own units (rows), not off by OpenDP's score
    # denominator: the 95th percentile of the errors is of the same order.
    assert errors[int(0.95 * QUANTILE_DRAWS)] >= stated / 8


def _survey_plan(epsilon: float, *, lower: float, upper: float) -> Plan:
    return plan_request(
        DpRequest(dataset=SURVEY, measures=[Measure(kind="mean", column="x")], epsilon=epsilon),
        profile={
            "person_column": "person",
            "max_rows_per_person": 1,
            "measures": {"x": {"lower": lower, "upper": upper}},
        },
        columns={"person": "direct_identifier", "x": "quasi_identifier"},
        visible={"x"},
    )


@pytest.mark.parametrize(("rows", "mean", "epsilon"), [(200, 50, 1.0), (1_000, 90, 0.3)])
def test_a_released_mean_is_within_the_stated_bound_95_percent_of_the_time(
    rows: int, mean: int, epsilon: float
) -> None:
    plan = _survey_plan(epsilon, lower=0, upper=100)
    (quoted,) = actions.measure_quotes(plan)
    assert quoted.mean_accuracy is not None
    stated = quoted.mean_accuracy
    bound = mechanisms.mean_error_bound(
        rows,
        sum_accuracy=stated.sum_accuracy,
        count_accuracy=stated.count_accuracy,
        bound=stated.bound,
    )
    assert bound is not None
    parts = {m.part: m for m in plan.measurements}
    total, count = parts["sum"], parts["count"]
    # A group of ``rows`` rows with the given exact mean, released MEAN_DRAWS times over
    # (one vector of independent draws, as the release computes it: noisy sum / noisy count).
    sums = mechanisms.release_vector(
        [rows * mean] * MEAN_DRAWS, total.noise, sensitivity=total.sensitivity
    )
    counts = mechanisms.release_vector(
        [rows] * MEAN_DRAWS, count.noise, sensitivity=count.sensitivity
    )
    errors = sorted(abs(s / max(c, 1) - mean) for s, c in zip(sums, counts, strict=True))
    assert sum(e <= bound for e in errors) >= 0.93 * MEAN_DRAWS
    assert errors[int(0.95 * MEAN_DRAWS)] >= bound / 6  # a bound, not a vacuous one


@given(
    rows=st.integers(min_value=1, max_value=10**7),
    sum_accuracy=st.floats(min_value=0, max_value=1e6),
    count_accuracy=st.floats(min_value=0, max_value=1e4),
    bound=st.floats(min_value=0, max_value=1e6),
    sum_error=st.floats(min_value=-1, max_value=1),
    count_error=st.floats(min_value=-1, max_value=1),
    fraction=st.floats(min_value=-1, max_value=1),
)
def test_the_mean_bound_covers_every_error_within_the_sum_and_count_accuracies(
    rows: int,
    sum_accuracy: float,
    count_accuracy: float,
    bound: float,
    sum_error: float,
    count_error: float,
    fraction: float,
) -> None:
    stated = mechanisms.mean_error_bound(
        rows, sum_accuracy=sum_accuracy, count_accuracy=count_accuracy, bound=bound
    )
    if rows <= count_accuracy:
        assert stated is None
        return
    assert stated is not None
    mean = fraction * bound
    released = (rows * mean + sum_error * sum_accuracy) / (rows + count_error * count_accuracy)
    assert abs(released - mean) <= stated * (1 + 1e-9) + 1e-9


def test_the_quote_states_a_mean_and_a_quantile_accuracy_by_group_size_and_spends_nothing(
    budgets: Budgets, dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=2)
    asked = {
        "project": project,
        "group_by": ["district"],
        "measures": [
            {"kind": "mean", "column": "income"},
            {"kind": "quantile", "column": "age", "q": 0.5},
            {"kind": "count"},
        ],
        "epsilon": 1.0,
    }
    quote = dp_quote(**asked)
    mean, median, count = quote.measures
    assert mean.accuracy_95 is None
    assert median.accuracy_95 is None
    assert count.accuracy_95 is not None
    assert not count.by_group_size
    assert mean.mean_accuracy is not None
    # Income is bounded to [0, 10 000]; each part at 97.5 % by OpenDP's own helper.
    assert mean.mean_accuracy.bound == 10_000
    assert mean.mean_accuracy.count_accuracy > count.accuracy_95  # 97.5 % vs 95 %, same ε
    assert [g.rows for g in mean.by_group_size] == list(GROUP_SIZES)
    within = [g.within for g in mean.by_group_size]
    assert all(w is not None for w in within)
    assert within == sorted(within, reverse=True)  # bigger groups, tighter means
    assert within[1] == pytest.approx(
        (mean.mean_accuracy.sum_accuracy + 10_000 * mean.mean_accuracy.count_accuracy)
        / (1_000 - mean.mean_accuracy.count_accuracy)
    )
    assert median.rank_error_95 is not None
    assert median.rank_error_95 == pytest.approx(median.noise_scale * math.log(100 / 0.05))
    assert [g.within for g in median.by_group_size] == [
        pytest.approx(min(median.rank_error_95 / n, 1)) for n in GROUP_SIZES
    ]
    assert dp_quote(**asked).balances == quote.balances  # nothing spent or reserved
    assert all(b.spent == 0 and b.reserved == 0 for b in quote.balances)


def test_a_mean_on_a_tiny_group_has_no_bound_rather_than_a_wrong_one() -> None:
    (quoted,) = actions.measure_quotes(_survey_plan(0.01, lower=-5, upper=5))
    assert quoted.mean_accuracy is not None
    assert quoted.mean_accuracy.bound == 5
    assert quoted.mean_accuracy.count_accuracy > 100  # ε 0.005 on the count
    assert quoted.by_group_size[0].rows == 100
    assert quoted.by_group_size[0].within is None
    assert quoted.by_group_size[-1].within is not None


def test_the_command_line_quote_shows_the_mean_and_rank_accuracy_by_group_size(
    city: City,
    budgets: Budgets,
    invoke: Callable[..., Result],  # noqa: F811
) -> None:
    project = budgets(project=2)
    quoted = invoke(
        "dp", "quote", SURVEY, "--as", city.cast.actors["member"].username,
        "--project", str(project), "--measure", "mean:income",
        "--measure", "quantile:age:0.5", "--epsilon", "1",
    )  # fmt: skip
    assert quoted.exit_code == 0, quoted.output
    text = " ".join(quoted.output.split())
    assert "mean(income) at 95 %: ±(" in text
    assert "n=1,000: ±" in text
    assert "quantile(age) at 95 %: within ±" in text
    assert "rows of the requested rank" in text
    as_json = invoke(
        "dp", "quote", SURVEY, "--as", city.cast.actors["member"].username,
        "--project", str(project), "--measure", "mean:income", "--epsilon", "1",
        "--format", "json",
    )  # fmt: skip
    measure = MeasureQuote.model_validate(json.loads(as_json.output)["measures"][0])
    assert measure.mean_accuracy is not None
    assert len(measure.by_group_size) == 3


def test_the_dp_tab_shows_a_mean_and_a_quantile_accuracy_by_group_size_in_korean(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
) -> None:
    project = budgets(project=2)
    browser("member")
    page = client.get(f"/dp?dataset={SURVEY}&lang=ko")
    quoted = client.post(
        "/dp/quote?lang=ko",
        data={
            "csrf_token": _csrf(page.text),
            "dataset": SURVEY,
            "project": str(project),
            "measure": ["mean:income", "quantile:age:0.5"],
            "epsilon": "1",
        },
    )
    assert quoted.status_code == 200, quoted.text
    table = quoted.text.split('id="dp-quote-table"', 1)[1].split("</table>", 1)[0]
    assert "1,000행: ± " in table  # the mean at n = 1 000
    assert "요청한 순위에서 ± " in table  # the median's rank error
    note = quoted.text.split('id="dp-group-size-note"', 1)[1].split("</div>", 1)[0]
    assert "mean(income): n &gt; " in note
