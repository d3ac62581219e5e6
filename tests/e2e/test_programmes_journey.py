"""The programmes and the control tower in a real browser, in English and Korean, on a 1280 px
screen and a 390 px phone: a startup's founder applies for support (a refused form keeps what
was typed), the operator approves it from the application's page and the credits arrive, a
resident enrols in an academy cohort, and the public and the operators' tower show the
indicators with their charts.  Every page passes :func:`page_checks.check_page`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, expect
from web_city import PASSWORD, build_small_city

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import OrganizationKind, Role
from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.programmes import actions
from bitgoeul.programmes.schemas import CohortCreate, CourseCreate
from live_hub import serving

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
SUMMARY = "Forecasting EV charging demand in Gwangsan-gu's industrial parks."


@pytest.fixture
def programmes_hub(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The small city with a startup and its founder, a citizen, and a course with a cohort."""
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=False)
    app = server.config.app
    build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with app.state.sessionmaker() as session:
        startup = account_actions.create_organization(
            session,
            slug="ev-grid",
            name="EV Grid",
            name_ko="이브이그리드",
            kind=OrganizationKind.company,
        )
        account_actions.create_user(
            session,
            username="founder",
            password=PASSWORD,
            role=Role.member,
            organization_id=startup.id,
            settings=settings,
        )
        account_actions.create_user(
            session, username="citizen", password=PASSWORD, role=Role.citizen, settings=settings
        )
        operator = account_actions.authenticate(
            session, settings=settings, username="operator", password=PASSWORD
        )
        acting = Actor.for_user(operator, via="cli")
        actions.create_course(
            session,
            actor=acting,
            data=CourseCreate(
                slug="ai-basics", title="AI basics", title_ko="AI 기초",
                description="Forecasting with city data.", description_ko="도시 데이터로 예측하기.",
            ),
        )  # fmt: skip
        today = utcnow().date()
        actions.add_cohort(
            session,
            actor=acting,
            course_slug="ai-basics",
            data=CohortCreate(
                name="Winter", starts_on=today, ends_on=today + timedelta(days=30), capacity=20
            ),
        )
    with serving(server) as url:
        yield url


def _signed_in(browser: Browser, url: str, username: str, lang: str, width: int) -> Page:
    context = browser.new_context(
        base_url=url,
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


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_startup_is_supported_a_resident_enrols_and_the_tower_counts_it(
    browser: Browser, programmes_hub: str, screenshot: Screenshot, lang: str, width: int
) -> None:
    problems: list[Problem] = []

    def checked(page: Page, name: str) -> None:
        problems.extend(check_page(page, lang=lang))
        screenshot(page, f"programmes-{name}-{lang}-{width}")

    founder = _signed_in(browser, programmes_hub, "founder", lang, width)
    founder.goto("/programmes")
    checked(founder, "apply")
    founder.locator("textarea[name=summary]").fill("too short")
    founder.locator("input[name=gpu_hours]").fill("forty")
    founder.locator("#submit-application").click()
    expect(founder.locator(".error")).to_contain_text("gpu_hours")
    expect(founder.locator("textarea[name=summary]")).to_have_value("too short")
    expect(founder.locator("input[name=gpu_hours]")).to_have_value("forty")
    founder.locator("input[name=gpu_hours]").fill("40")
    founder.locator("textarea[name=summary]").fill(SUMMARY)
    founder.locator("input[name=employees]").fill("9")
    founder.locator("input[name=testbed_sponsorship]").check()
    founder.locator("#submit-application").click()
    expect(founder.locator("#application-status")).to_have_text(
        "제출됨" if lang == "ko" else "Submitted"
    )
    checked(founder, "submitted")
    application = founder.url

    operator = _signed_in(browser, programmes_hub, "operator", lang, width)
    operator.goto(application)
    checked(operator, "review")
    operator.locator("input[name=gpu_hours]").fill("25")
    operator.locator("#approve-application").click()
    expect(operator.locator("#application-status")).to_have_text(
        "승인됨" if lang == "ko" else "Approved"
    )
    checked(operator, "approved")
    founder.goto("/credits")
    expect(founder.locator("main")).to_contain_text("25")
    checked(founder, "credits")

    citizen = _signed_in(browser, programmes_hub, "citizen", lang, width)
    citizen.goto("/academy")
    checked(citizen, "academy")
    citizen.locator("a[href='/academy/courses/ai-basics']").click()
    citizen.locator("button[id^=enrol-]").click()
    expect(citizen.locator("#enrolment-status")).to_have_text(
        "진행 중" if lang == "ko" else "In progress"
    )
    checked(citizen, "course")

    operator.goto("/hub/tower")
    operator.locator("#take-snapshot").click()
    expect(operator.locator("#indicator-startups_supported .tower-figure")).to_contain_text("1")
    expect(operator.locator("#indicator-startup_jobs .tower-figure")).to_contain_text("9")
    expect(operator.locator("#indicator-datasets polyline")).to_have_count(1)
    checked(operator, "operator-tower")

    visitor = browser.new_context(
        base_url=programmes_hub,
        locale="ko-KR" if lang == "ko" else "en-US",
        viewport={"width": width, "height": 900},
    ).new_page()
    visitor.goto("/tower")
    suppressed = "미만" if lang == "ko" else "Fewer than"
    expect(visitor.locator("#indicator-startups_supported")).to_contain_text(suppressed)
    expect(visitor.locator("#indicator-datasets .tower-figure")).to_contain_text("2")
    checked(visitor, "public-tower")
    assert not problems, "\n".join(str(p) for p in problems)
