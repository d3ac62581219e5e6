"""A testbed's hidden test set in a real browser, in English and Korean, at 1280 and 390 px.

CNUH's steward marks the outpatient visits a hidden test set after a researcher asked for
them.  The researcher no longer finds the set among the catalog's datasets; the "Hidden test
sets" filter shows it, badged as a test set (never "Registered: may download"), and its page
offers no "Request access" nor does the project's request form list it.  The steward's queue
warns on the old request: the approval needs the confirmation ticked, and without it nothing
is approved.  Every page on the way passes :func:`page_checks.check_page` at both widths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, expect

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.schemas import DatasetUpdate
from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ProjectCreate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import PASSWORD, build_small_city

from live_hub import serving

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
WIDE, PHONE = 1280, 390
TEST_SET = "patient-visits"
PROJECT = "Readmission benchmarks"
BADGE = {"en": "Hidden test set", "ko": "비공개 평가 데이터"}


@pytest.fixture
def hub_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The small city; the researcher asked for the visits, then CNUH made them a test set."""
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=False)
    app = server.config.app
    city = build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with app.state.sessionmaker() as session:
        user = account_queries.get_user(session, "researcher")
        assert user is not None
        researcher = Actor.for_user(user, via="cli")
        project = governance.create_project(
            session,
            actor=researcher,
            data=ProjectCreate(
                title=PROJECT,
                purpose=Purpose.health_research,
                justification="Compare readmission models.",
            ),
        )
        governance.request_access(
            session,
            actor=researcher,
            data=AccessRequestCreate(project=project.id, dataset=TEST_SET, days=30),
        )
        catalog_actions.update_dataset(
            session, actor=city.cnuh_steward, slug=TEST_SET, data=DatasetUpdate(holdout=True)
        )
    with serving(server) as url:
        yield url


def _signed_in(browser: Browser, hub_url: str, username: str, lang: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="ko-KR" if lang == "ko" else "en-US")
    page = context.new_page()
    page.goto(f"/lang/{lang}?next=/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action^='/login'] button[type=submit]").click()
    expect(page.locator(".whoami")).to_contain_text(username)
    return page


def _look(page: Page, lang: str, problems: list[Problem]) -> None:
    """The page as shown, wide and on a phone; back to wide for the next step."""
    for width in (WIDE, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        problems.extend(check_page(page, lang=lang))
    page.set_viewport_size({"width": WIDE, "height": 900})


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_hidden_test_set_is_kept_apart_and_the_steward_is_warned(
    browser: Browser, hub_url: str, screenshot: Screenshot, lang: str
) -> None:
    problems: list[Problem] = []
    researcher = _signed_in(browser, hub_url, "researcher", lang)

    # The catalog lists datasets; the test set only under its own filter.
    researcher.goto("/")
    results = researcher.locator(".results-area")
    meters = results.locator("a[href='/datasets/household-electricity']")
    expect(meters).to_have_count(1)
    expect(results.locator(f"a[href='/datasets/{TEST_SET}']")).to_have_count(0)
    _look(researcher, lang, problems)
    researcher.locator("#show-test-sets").click()
    listed = researcher.locator(f".results-area a[href='/datasets/{TEST_SET}']")
    expect(listed).to_have_count(1)
    expect(meters).to_have_count(0)
    expect(results.locator(".badge-test-set")).to_contain_text(BADGE[lang])
    # Badged as what it is, never by its access level ("Restricted", "Registered: may ...").
    expect(results.locator(".badge-restricted, .badge-registered")).to_have_count(0)
    _look(researcher, lang, problems)
    screenshot(researcher, f"test-sets-{lang}")

    # Its page: a test set, not downloadable, not requestable.
    listed.first.click()
    expect(researcher.locator(".badge-test-set").first).to_contain_text(BADGE[lang])
    expect(researcher.locator(".meta .badge-restricted, .meta .badge-registered")).to_have_count(0)
    expect(researcher.locator("#request-access")).to_have_count(0)
    expect(researcher.locator("#download-csv")).to_have_count(0)
    _look(researcher, lang, problems)
    researcher.goto("/projects")
    researcher.get_by_role("link", name=PROJECT).first.click()
    expect(researcher.locator("h1")).to_have_text(PROJECT)
    expect(researcher.locator(f"#request-dataset option[value='{TEST_SET}']")).to_have_count(0)

    # The steward is warned on the old request; approving needs the confirmation.
    steward = _signed_in(browser, hub_url, "cnuh", lang)
    steward.goto("/requests")
    card = steward.locator("section.request").filter(has_text=PROJECT)
    expect(card.locator(".test-set-warning")).to_be_visible()
    _look(steward, lang, problems)
    screenshot(steward, f"test-set-warning-{lang}")
    card.locator(".approve-form button[type=submit]").click()
    # The unticked box stops the form in the browser: no approval, still the queue.
    expect(steward.locator("#approved-confirmation")).to_have_count(0)
    expect(card.locator(".test-set-warning")).to_be_visible()
    card.locator("input[name=confirm_test_set]").check()
    card.locator(".approve-form button[type=submit]").click()
    confirmation = steward.locator("#approved-confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(PROJECT)
    _look(steward, lang, problems)

    # Even approved, the researcher's page previews and downloads nothing of it.
    researcher.goto(f"/datasets/{TEST_SET}")
    expect(researcher.locator("table.preview")).to_have_count(0)
    expect(researcher.locator("#download-csv")).to_have_count(0)
    _look(researcher, lang, problems)

    assert not problems, "\n".join(str(p) for p in problems)
