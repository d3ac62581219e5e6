"""The DP pages: a researcher sees accuracy and cost before spending, then releases; a steward
sees each project's spending and sets caps; in Korean too."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, api, browser  # noqa: F401
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

from bitgoeul.dp import queries
from bitgoeul.dp.schemas import Quote, Release


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_a_researcher_quotes_and_releases_on_the_dp_page(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
) -> None:
    project = budgets(project=2)
    browser("member")
    page = client.get(f"/dp?dataset={SURVEY}")
    assert page.status_code == 200
    assert 'name="group_by" value="district"' in page.text
    quoted = client.post(
        "/dp/quote",
        data={
            "csrf_token": _csrf(page.text),
            "dataset": SURVEY,
            "project": str(project),
            "group_by": ["district"],
            "measure": ["count", "mean:income"],
            "epsilon": "0.5",
        },
    )
    assert quoted.status_code == 200, quoted.text
    assert 'id="dp-quote-table"' in quoted.text
    assert "±" in quoted.text
    token = re.search(r'name="token" value="([^"]+)"', quoted.text)
    assert token is not None
    released = client.post(
        "/dp/release",
        data={
            "csrf_token": _csrf(quoted.text),
            "token": token.group(1),
            "dataset": SURVEY,
            "project": str(project),
        },
    )
    assert released.status_code == 200, released.text
    assert 'id="dp-release-table"' in released.text
    assert "Buk" in released.text
    assert "ε 0.5 was charged" in released.text


def test_a_refusal_is_shown_with_its_reason_in_korean(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
) -> None:
    project = budgets(project=0.1)
    browser("member")
    page = client.get(f"/dp?dataset={SURVEY}&lang=ko")
    assert "차분 프라이버시 통계" in page.text
    quoted = client.post(
        "/dp/quote?lang=ko",
        data={
            "csrf_token": _csrf(page.text),
            "dataset": SURVEY,
            "project": str(project),
            "measure": ["median:income"],
            "epsilon": "0.5",
        },
    )
    assert quoted.status_code == 422
    assert 'id="dp-error"' in quoted.text


def test_a_steward_sees_spending_per_project_and_sets_a_cap(
    client: TestClient,
    db: Session,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
) -> None:
    project = budgets(project=2)
    browser("steward_of_publisher")
    ledger = client.get(f"/dp/budgets/{SURVEY}")
    assert ledger.status_code == 200
    assert f"project:{project}" in ledger.text
    changed = client.post(
        f"/dp/budgets/{SURVEY}",
        data={"csrf_token": _csrf(ledger.text), "project": str(project), "epsilon": "3"},
        follow_redirects=True,
    )
    assert changed.status_code == 200
    assert re.search(rf"project:{project}</td><td>3</td>", changed.text)


def test_a_researcher_cannot_read_the_ledger(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
) -> None:
    budgets(project=2)
    browser("member")
    assert client.get(f"/dp/budgets/{SURVEY}").status_code == 403


def test_the_control_tower_shows_epsilon_spent_per_dataset(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=2, dataset=40)
    dp_release(dp_quote(project=project, measures=[{"kind": "count"}], epsilon=0.75).token)
    browser("operator")
    hub = client.get("/hub")
    assert hub.status_code == 200
    section = hub.text.split('id="privacy-spent"', 1)[1].split("</section>", 1)[0]
    assert f'href="/dp/budgets/{SURVEY}"' in section
    assert '<td class="num">0.75</td><td class="num">40</td>' in section


def test_the_query_page_has_a_dp_tab_once_a_dataset_has_dp_settings(
    client: TestClient,
    db: Session,
    city: City,
    browser: Browser,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    browser("member")
    before = client.get("/query")
    assert before.status_code == 200
    assert 'id="query-tabs"' not in before.text
    request.getfixturevalue("survey_profile")
    after = client.get("/query")
    tabs = after.text.split('id="query-tabs"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/query" aria-current="page"' in tabs
    assert 'href="/dp"' in tabs
    assert f'href="/dp?dataset={SURVEY}"' in after.text  # the survey's entry in the browser
    dp_tab = client.get(f"/dp?dataset={SURVEY}&lang=ko")
    assert 'href="/dp" aria-current="page"' in dp_tab.text
    assert "차분 프라이버시 통계 (보안 데이터)" in dp_tab.text


def test_the_dp_tab_shows_accuracy_balances_and_when_they_run_out_before_spending(
    client: TestClient,
    city: City,
    budgets: Budgets,
    browser: Browser,  # noqa: F811
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=4, dataset=100)
    dp_release(dp_quote(project=project, measures=[{"kind": "count"}], epsilon=1).token)
    browser("member")
    page = client.get(f"/dp?dataset={SURVEY}&project={project}")
    quoted = client.post(
        "/dp/quote",
        data={
            "csrf_token": _csrf(page.text),
            "dataset": SURVEY,
            "project": str(project),
            "group_by": ["district"],
            "measure": ["count"],
            "epsilon": "1",
        },
    )
    assert quoted.status_code == 200, quoted.text
    assert re.search(r"<td>± [0-9.]+</td>", quoted.text)  # the accuracy, before spending
    balances = quoted.text.split('id="dp-balances"', 1)[1].split("</table>", 1)[0]
    # ε 1 spent today of the project's 4: 3 left at 1 a day runs out in 3 days.
    today = datetime.now(UTC).date()
    row = re.search(
        rf"<td>project:{project}</td><td>3</td><td>1</td><td>4</td><td>([^<]+)</td>", balances
    )
    assert row is not None, balances
    assert row.group(1) == str(today + timedelta(days=3))


def test_the_projected_exhaustion_follows_the_pace_of_spending(
    db: Session,
    budgets: Budgets,
    dp_quote: Callable[..., Quote],
    dp_release: Callable[..., Release],
) -> None:
    project = budgets(project=10, dataset=100)
    released = dp_release(dp_quote(project=project, measures=[{"kind": "count"}], epsilon=2).token)
    mine = next(b for b in released.balances if b.scope == f"project:{project}")
    today = datetime.now(UTC).date()
    # Spent 2 in (at least) one day: 8 left lasts 4 days; ten days on, 2 in 10 days: 40 days.
    assert queries.projected_exhaustion(db, SURVEY, mine, today=today) == today + timedelta(4)
    later = today + timedelta(days=10)
    assert queries.projected_exhaustion(db, SURVEY, mine, today=later) == later + timedelta(40)
    unspent = mine.model_copy(update={"spent": 0.0})
    assert queries.projected_exhaustion(db, SURVEY, unspent, today=today) is None
