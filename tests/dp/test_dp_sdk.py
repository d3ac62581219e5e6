"""The SDK's DP methods against a served hub: quote, release, budgets, profile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.cli.server import make_server
from bitgoeul.client import AccessDenied, Client
from bitgoeul.config import Settings
from live_hub import serving


@pytest.fixture
def hub_url(settings: Settings) -> Iterator[str]:
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning")
    with serving(server) as url:
        yield url


def test_a_researcher_quotes_and_releases_through_the_sdk(
    hub_url: str, city: City, budgets: Budgets
) -> None:
    project = budgets(project=1)
    with Client(hub_url, token=city.cast.tokens["member"]) as hub:
        assert hub.dp_profile(SURVEY)["person_column"] == "person_id"
        quote = hub.dp_quote(
            SURVEY,
            [{"kind": "sum", "column": "income"}],
            epsilon=0.6,
            project=project,
            group_by=["district"],
        )
        assert quote.measures[0].noise_scale == pytest.approx(10_000 / 0.6)
        released = hub.dp_release(quote.token)
        assert released.columns == ["district", "sum(income)"]
        assert released.epsilon_charged == 0.6
        mean = hub.dp_quote(
            SURVEY, [{"kind": "mean", "column": "income"}], epsilon=0.6, project=project
        ).measures[0]
        # A mean's ±: the parts of the formula, evaluated by the SDK for any group size.
        assert mean.mean_accuracy is not None
        for size in mean.by_group_size:
            assert mean.mean_accuracy.within(size.rows) == pytest.approx(size.within)
        assert mean.mean_accuracy.within(mean.mean_accuracy.count_accuracy) is None
        second = hub.dp_quote(SURVEY, [{"kind": "count"}], epsilon=0.6, project=project)
        with pytest.raises(AccessDenied, match="left"):
            hub.dp_release(second.token)
        with pytest.raises(AccessDenied):
            hub.dp_budgets(SURVEY)


def test_a_steward_sets_a_project_budget_through_the_sdk(
    hub_url: str, city: City, budgets: Budgets
) -> None:
    project = budgets(project=1)
    with Client(hub_url, token=city.cast.tokens["steward_of_publisher"]) as hub:
        budget = hub.set_dp_budget(SURVEY, epsilon=2.5, project=project)
        assert budget.scope == f"project:{project}"
        assert {b.scope: b.cap for b in hub.dp_budgets(SURVEY)}[f"project:{project}"] == 2.5


def test_partitions_through_the_sdk_and_the_api(hub_url: str, city: City, budgets: Budgets) -> None:
    """A steward partitions the survey by district and caps one partition; a researcher
    quotes and releases on it; the ledger names the partition."""
    project = budgets(project=5)
    with Client(hub_url, token=city.cast.tokens["steward_of_publisher"]) as steward:
        profile = steward.dp_profile(SURVEY)
        profile.pop("dataset")
        profile.pop("updated_at")
        steward.set_dp_profile(SURVEY, {**profile, "partition_column": "district"})
        capped = steward.set_dp_budget(SURVEY, epsilon=1.5, partition="Seo")
        assert (capped.scope, capped.partition, capped.cap) == ("partition:Seo", "Seo", 1.5)
    with Client(hub_url, token=city.cast.tokens["member"]) as hub:
        quote = hub.dp_quote(
            SURVEY, [{"kind": "count"}], epsilon=1, project=project, partition="Seo"
        )
        assert quote.partition == "Seo"
        released = hub.dp_release(quote.token)
        assert {b.scope: b.left for b in released.balances}["partition:Seo"] == 0.5
    with Client(hub_url, token=city.cast.tokens["steward_of_publisher"]) as steward:
        ledger = {b.scope: b for b in steward.dp_budgets(SURVEY)}
        assert ledger["partition:Seo"].spent == 1.0


def test_threshold_keys_and_delta_through_the_sdk(
    hub_url: str, city: City, budgets: Budgets
) -> None:
    """A steward makes age a threshold key (every age in the survey is one person's) with its
    δ and gives the budgets a δ cap; a researcher's release by age spends δ and shows no age."""
    project = budgets(project=5)
    with Client(hub_url, token=city.cast.tokens["steward_of_publisher"]) as steward:
        profile = steward.dp_profile(SURVEY)
        for field in ("dataset", "updated_at"):
            profile.pop(field)
        keys = {k: v for k, v in profile.pop("keys").items() if k != "age"}
        approved = steward.set_dp_profile(
            SURVEY, {**profile, "keys": keys, "threshold_keys": ["age"], "delta": 1e-9}
        )
        assert (approved["threshold_keys"], approved["delta"]) == (["age"], 1e-9)
        steward.set_dp_budget(SURVEY, epsilon=1000, delta=1e-6)
        capped = steward.set_dp_budget(SURVEY, epsilon=5, project=project, delta=1e-6)
        assert capped.delta_cap == 1e-6
    with Client(hub_url, token=city.cast.tokens["member"]) as hub:
        quote = hub.dp_quote(
            SURVEY, [{"kind": "count"}], epsilon=1, project=project, group_by=["age"]
        )
        assert quote.threshold_keys == ["age"]
        assert quote.groups == []
        assert quote.measures[0].threshold is not None
        assert 0 < quote.delta <= 1e-9
        released = hub.dp_release(quote.token)
        assert released.rows == []
        assert released.delta_charged == quote.delta
        left = {b.scope: b.delta_left for b in released.balances}
        assert left[f"project:{project}"] == pytest.approx(1e-6 - quote.delta)
