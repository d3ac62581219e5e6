"""Time-partitioned data: each partition has its own ε budget (all projects together), a
release reads one partition only and is charged there, not on the others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, api, browser  # noqa: F401
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.accounts.actor import Actor
from bitgoeul.dp import actions, queries
from bitgoeul.dp.models import DpRelease
from bitgoeul.dp.schemas import ProfileIn, Quote, Release
from bitgoeul.errors import AccessDenied, ValidationFailed

# The survey's districts stand for the months of a time-partitioned dataset.
PARTITIONS = ["Buk", "Seo", "Nam"]


@pytest.fixture
def steward(city: City) -> Actor:
    return city.cast.actors["steward_of_publisher"]


@pytest.fixture
def partitioned(db: Session, steward: Actor, survey_profile: ProfileIn) -> Callable[..., None]:
    actions.set_profile(
        db,
        actor=steward,
        slug=SURVEY,
        profile=survey_profile.model_copy(update={"partition_column": "district"}),
    )

    def caps(**epsilon: float) -> None:
        for partition, cap in epsilon.items():
            actions.set_budget(
                db, actor=steward, slug=SURVEY, project_id=None, partition=partition, epsilon=cap
            )

    return caps


COUNT = {"measures": [{"kind": "count"}], "epsilon": 1.0}


def test_a_release_is_charged_on_its_partition_and_the_project_not_on_the_others(
    db: Session,
    budgets: Budgets,
    partitioned: Callable[..., None],
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
    steward: Actor,
) -> None:
    project = budgets(project=10, dataset=1)
    partitioned(Buk=2, Seo=2)
    quote = dp_quote(project=project, partition="Buk", **COUNT)
    assert {b.scope for b in quote.balances} == {"partition:Buk", f"project:{project}"}
    released = dp_release(quote.token)
    assert released.partition == "Buk"
    left = {b.scope: b.left for b in released.balances}
    assert left == {"partition:Buk": 1.0, f"project:{project}": 9.0}
    ledger = {b.scope: b for b in actions.read_budgets(db, actor=steward, slug=SURVEY)}
    assert ledger["partition:Seo"].spent == 0
    assert ledger["dataset"].spent == 0  # a partitioned release is not charged on it
    assert ledger["partition:Buk"].partition == "Buk"
    assert db.scalars(select(DpRelease.partition)).all() == ["Buk"]


def test_a_partitions_budget_stops_its_releases_while_another_partition_still_answers(
    budgets: Budgets,
    partitioned: Callable[..., None],
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=10)
    partitioned(Buk=1, Seo=1)
    dp_release(dp_quote(project=project, partition="Buk", **COUNT).token)
    with pytest.raises(AccessDenied, match="partition:Buk"):
        dp_release(dp_quote(project=project, partition="Buk", group_by=["age"], **COUNT).token)
    assert not dp_release(dp_quote(project=project, partition="Seo", **COUNT).token).repeated


def test_a_partition_without_a_budget_is_refused_with_what_to_ask(
    budgets: Budgets, partitioned: Callable[..., None], dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=10)
    partitioned(Buk=1)
    with pytest.raises(AccessDenied, match="partition:Nam"):
        dp_quote(project=project, partition="Nam", **COUNT)


def test_a_request_on_a_partitioned_dataset_names_one_known_partition(
    budgets: Budgets, partitioned: Callable[..., None], dp_quote: Callable[..., Quote]
) -> None:
    project = budgets(project=10)
    partitioned(Buk=1)
    with pytest.raises(ValidationFailed, match=r"partitioned by 'district'.*Buk, Seo, Nam"):
        dp_quote(project=project, **COUNT)
    with pytest.raises(ValidationFailed, match="'Dong' is not a partition"):
        dp_quote(project=project, partition="Dong", **COUNT)


def test_an_unpartitioned_dataset_refuses_a_partition(
    db: Session, budgets: Budgets, dp_quote: Callable[..., Quote], steward: Actor
) -> None:
    project = budgets(project=10)
    with pytest.raises(ValidationFailed, match="not partitioned"):
        dp_quote(project=project, partition="Buk", **COUNT)
    with pytest.raises(ValidationFailed, match="not partitioned"):
        actions.set_budget(
            db, actor=steward, slug=SURVEY, project_id=None, partition="Buk", epsilon=1
        )


def test_the_partition_column_needs_a_public_key_set(
    db: Session, survey_profile: ProfileIn, steward: Actor
) -> None:
    with pytest.raises(ValidationFailed, match="partition column 'income' needs a public key"):
        actions.set_profile(
            db,
            actor=steward,
            slug=SURVEY,
            profile=survey_profile.model_copy(update={"partition_column": "income"}),
        )


def test_a_budget_names_a_project_or_a_partition_not_both(
    db: Session, budgets: Budgets, partitioned: Callable[..., None], steward: Actor
) -> None:
    project = budgets(project=10)
    with pytest.raises(ValidationFailed, match="not both"):
        actions.set_budget(
            db, actor=steward, slug=SURVEY, project_id=project, partition="Buk", epsilon=1
        )


def test_the_control_tower_counts_every_partitions_spending(
    db: Session,
    budgets: Budgets,
    partitioned: Callable[..., None],
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=10, dataset=5)
    partitioned(Buk=2, Seo=3)
    dp_release(dp_quote(project=project, partition="Buk", **COUNT).token)
    dp_release(dp_quote(project=project, partition="Seo", **COUNT).token)
    [survey] = queries.epsilon_spent_per_dataset(db)
    assert survey.dataset == SURVEY
    assert (survey.cap, survey.spent, survey.reserved, survey.left) == (10.0, 2.0, 0.0, 8.0)
    assert (survey.partitions, survey.releases) == (2, 2)
    assert survey.last_release_at is not None


def test_a_steward_sets_a_partitions_cap_on_the_ledger_page(
    client: TestClient,
    db: Session,
    budgets: Budgets,
    partitioned: Callable[..., None],
    browser: Browser,  # noqa: F811
    steward: Actor,
) -> None:
    budgets(project=10)
    browser("steward_of_publisher")
    page = client.get(f"/dp/budgets/{SURVEY}")
    assert 'name="partition"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        f"/dp/budgets/{SURVEY}",
        data={"csrf_token": token, "partition": "Nam", "epsilon": "4"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "partition Nam (all projects)" in done.text
    ledger = {b.scope: b.cap for b in actions.read_budgets(db, actor=steward, slug=SURVEY)}
    assert ledger["partition:Nam"] == 4.0
