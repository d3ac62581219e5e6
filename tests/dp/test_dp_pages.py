"""The DP pages: a researcher sees accuracy and cost before spending, then releases; a steward
sees each project's spending and sets caps; in Korean too."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, api, browser  # noqa: F401
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

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
