"""The operator's journey of docs/operators.md in a real browser, in English and Korean, on a
1280 px screen and a 390 px phone: the hub's state, registering an organization, closing and
reopening an account, the audit trail as sentences with its filters and CSV link, and a
researcher opening a notification; and a citizen's own record.  Every page is checked for
horizontal scrolling, links into ``/api/`` and English left on a Korean page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from web_city import PASSWORD, build_small_city, open_job_project

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.models import Role
from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings
from live_hub import serving

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
LOCALES = Path(__file__).resolve().parents[2] / "src" / "bitgoeul" / "web" / "locales"


def _english_only() -> list[str]:
    """The operator pages' English sentences (three words or more) whose Korean differs: none
    may be left on a Korean page."""
    english = json.loads((LOCALES / "en" / "operator.json").read_text("utf-8"))
    korean = json.loads((LOCALES / "ko" / "operator.json").read_text("utf-8"))
    return [
        text.split("{", 1)[0].strip()
        for key, text in english.items()
        if korean[key] != text and len(text.split("{", 1)[0].split()) >= 3
    ]


ENGLISH_ONLY = _english_only()


@pytest.fixture
def operator_hub(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The small city with an approved request, credits and a citizen."""
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=False)
    app = server.config.app
    build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    open_job_project(app.state.sessionmaker, cpu_hours=4)
    with app.state.sessionmaker() as session:
        account_actions.create_user(
            session, username="citizen", password=PASSWORD, role=Role.citizen, settings=settings
        )
    with serving(server) as url:
        yield url


def _page(browser: Browser, hub_url: str, username: str, lang: str, width: int) -> Page:
    context = browser.new_context(
        base_url=hub_url,
        locale="ko-KR" if lang == "ko" else "en-US",
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("form[action='/logout']")).to_be_attached()
    return page


def _check(page: Page, lang: str) -> None:
    """No horizontal scrolling, no link into the API from the page, no English left."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
    api_links = page.eval_on_selector_all(
        "main a[href^='/api/'], main a[href*='/api/v1']", "els => els.map(e => e.href)"
    )
    assert api_links == [], f"{page.url} links into the API: {api_links}"
    if lang == "ko":
        text = page.locator("main").inner_text()
        left = [english for english in ENGLISH_ONLY if english in text]
        assert left == [], f"{page.url} is Korean but says in English: {left}"


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_operator_journey(
    browser: Browser, operator_hub: str, lang: str, width: int, screenshot: Screenshot
) -> None:
    ko = lang == "ko"
    operator = _page(browser, operator_hub, "operator", lang, width)
    operator.goto("/hub")
    expect(operator.locator("#credit-balances")).to_contain_text(
        "광주과학기술원 AI 연구실" if ko else "GIST AI Lab"
    )
    expect(operator.locator("#audit-chain")).to_contain_text("검증" if ko else "verified")
    expect(operator.locator("#hub-counts a[href='/requests']")).to_be_visible()
    _check(operator, lang)
    screenshot(operator, f"hub-{lang}-{width}")

    operator.locator("a[href='/hub/organizations']").first.click()
    operator.locator("#org-slug").fill("gwangju-startup")
    operator.locator("#org-name").fill("Gwangju Startup")
    operator.locator("#org-name-ko").fill("광주 스타트업")
    operator.locator("#org-kind").select_option("company")
    operator.locator("#organization-form button[type=submit]").click()
    expect(operator.locator("#saved")).to_be_visible()
    expect(operator.locator("h1")).to_contain_text("광주 스타트업" if ko else "Gwangju Startup")
    _check(operator, lang)

    operator.goto("/hub/users?q=citizen")
    card = operator.locator("#user-citizen")
    card.locator("form[action$='/deactivate'] button").click()
    expect(operator.locator("#user-citizen .tag")).to_be_visible()
    _check(operator, lang)
    screenshot(operator, f"users-{lang}-{width}")
    operator.locator("#user-citizen form[action$='/reactivate'] button").click()
    expect(operator.locator("#user-citizen .tag")).to_have_count(0)

    operator.goto("/audit")
    entries = operator.locator("#audit-entries")
    expect(entries).to_contain_text(
        "operator(운영자) 님이 계정 citizen을(를) 다시 활성화함"
        if ko
        else "operator (operator) reactivated the account citizen"
    )
    operator.locator("#audit-actor").fill("cnuh")
    operator.locator("#audit-filters button[type=submit]").click()
    expect(entries).to_contain_text("cnuh")
    expect(entries).not_to_contain_text("operator (operator)")
    expect(operator.locator("#audit-csv")).to_have_attribute("href", "/audit.csv?actor=cnuh")
    expect(operator.locator("#chain-status")).to_be_visible()
    _check(operator, lang)
    screenshot(operator, f"audit-{lang}-{width}")

    researcher = _page(browser, operator_hub, "researcher", lang, width)
    researcher.goto("/notifications")
    note = researcher.locator("ul.notifications a").first
    expect(note).to_contain_text("승인되었습니다" if ko else "was approved")
    _check(researcher, lang)
    note.click()
    expect(researcher).to_have_url(f"{operator_hub}/projects/1#agreement-1")
    expect(researcher.locator("#nav-notifications .count-badge")).to_have_count(0)

    citizen = _page(browser, operator_hub, "citizen", lang, width)
    citizen.goto("/me")
    expect(citizen.locator("#me-my-data")).to_contain_text(
        "아직 기부한 데이터가 없습니다" if ko else "You have not donated anything"
    )
    expect(citizen.locator("#me-my-data a[href='/my-data']")).to_be_visible()
    # Made by the hub (user.create), closed and reopened by the operator.
    expect(citizen.locator("#me-audit")).to_contain_text(
        "내 계정에 한 일의 기록: 3" if ko else "did to your account: 3"
    )
    _check(citizen, lang)
    screenshot(citizen, f"me-{lang}-{width}")
    assert citizen.goto("/hub").status == 403  # type: ignore[union-attr]
