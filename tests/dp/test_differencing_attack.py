"""The differencing attack that defeats the SDC door does not isolate a person through the DP
door.

The target is the first person of district Buk in the income survey: 12 people live in Buk,
each of a different age, none dominating the income total.  Through the SQL gateway two sums
both pass k = 10 (12 and 11 people), and their difference is the target's exact income.
Through the DP door no filter can be written; the nearest request (a sum per district and age)
puts the target alone in a cell, but that cell carries noise whose 95 % interval is wider than
the whole approved income range, asking again returns the same answer, and the budget stops
further asking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import Ask, secure_grant

from bitgoeul.dp.schemas import DpRequest, Quote, Release
from bitgoeul.errors import AccessDenied

TARGET_AGE = 27  # person 1: 20 + 7 * 1 % 50
TARGET_INCOME = 3000


def test_the_sql_gateway_gives_away_one_persons_income_by_differencing(ask: Ask) -> None:
    grants = secure_grant()
    everyone = ask(
        "SELECT sum(income) AS s FROM \"income-survey\" WHERE district = 'Buk'", grants=grants
    )
    but_one = ask(
        f"SELECT sum(income) AS s FROM \"income-survey\" WHERE district = 'Buk' "
        f"AND age <> {TARGET_AGE}",
        grants=grants,
    )
    assert everyone.suppressed_groups == but_one.suppressed_groups == 0
    assert everyone.rows[0][0] - but_one.rows[0][0] == TARGET_INCOME


def test_the_dp_door_takes_no_filter_to_difference_with() -> None:
    with pytest.raises(ValidationError):
        DpRequest.model_validate(
            {
                "dataset": SURVEY,
                "measures": [{"kind": "sum", "column": "income"}],
                "epsilon": 1,
                "filter": f"district = 'Buk' AND age <> {TARGET_AGE}",
            }
        )


def test_the_persons_own_cell_is_hidden_by_noise_wider_than_any_income(
    budgets: Budgets, dp_quote: Callable[..., Quote], dp_release: Callable[..., Release]
) -> None:
    project = budgets(project=3)
    request: dict[str, Any] = {
        "project": project,
        "group_by": ["district", "age"],
        "measures": [{"kind": "sum", "column": "income"}],
        "epsilon": 1.0,
    }
    quote = dp_quote(**request)
    accuracy = quote.measures[0].accuracy_95
    assert accuracy is not None
    assert accuracy > 10_000  # the approved bounds are [0, 10 000]: any income fits inside
    first = dp_release(quote.token)
    cell = next(r for r in first.rows if r[0] == "Buk" and r[1] == TARGET_AGE)
    # Asking again cannot average the noise away: the same noisy answer, free.
    again = dp_release(dp_quote(**request).token)
    assert again.repeated
    assert next(r for r in again.rows if r[0] == "Buk" and r[1] == TARGET_AGE) == cell
    # Varied requests cost ε each, until the budget says no.
    dp_release(dp_quote(**{**request, "group_by": ["age", "district"]}).token)
    dp_release(dp_quote(**{**request, "measures": [{"kind": "mean", "column": "income"}]}).token)
    with pytest.raises(AccessDenied, match="budget"):
        dp_release(dp_quote(**{**request, "group_by": ["age"]}).token)
