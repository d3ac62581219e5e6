"""A resident's problem to a testbed challenge and its public result, in a real browser.

A resident posts a problem with a phone photo (EXIF with a GPS position, removed before it is
stored, and the photo still shows); two neighbours support it, which sends it to the city's
triage; the operator accepts it for KEPCO; KEPCO's steward proposes the metric and the
indicator, the operator agrees; KEPCO opens the challenge as its testbed task; a researcher
enters it and is scored on the hidden test set; KEPCO starts the pilot and measures the
indicator.  A visitor who is not signed in then reads the result on a phone in Korean: the
progress computed from the data, the timeline, the challenge's best score and the testbed
task's public leaderboard.  Every page on
the way passes :func:`page_checks.check_page` at 1280 and 390 px, in English, and the visitor's
pages in Korean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, expect
from tests.civic.civic_city import OUTAGE_ROWS
from tests.civic.photo_files import GPS, jpeg_with_exif
from tests.testbed.bench_city import predictions_csv, publish, test_rows

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.models import Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import PASSWORD, build_small_city

from live_hub import serving

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
WIDE, PHONE = 1280, 390
RESIDENTS = ("minji", "jiho", "seoa")
INDICATOR = "nam-gu-outage-minutes"


@pytest.fixture
def civic_hub(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The small city, three residents, KEPCO's open outage minutes and its hidden test set."""
    settings.civic_support_min = 2
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning")
    app = server.config.app
    city = build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with app.state.sessionmaker() as session:
        for name in RESIDENTS:
            account_actions.create_user(
                session, username=name, password=PASSWORD, role=Role.citizen, settings=settings
            )
        catalog_actions.create_dataset(
            session,
            actor=city.kepco_steward,
            data=DatasetCreate(
                slug=INDICATOR,
                title="Monthly outage minutes in Nam-gu",
                title_ko="남구 월별 정전 시간",
                sector=Sector.energy,
                access_level=AccessLevel.open,
            ),
        )
        source = tmp_path / "outages.csv"
        source.write_text(
            "month,minutes\n" + "".join(f"{m},{v}\n" for m, v in OUTAGE_ROWS), encoding="utf-8"
        )
        catalog_actions.publish_version(
            session,
            settings=settings,
            store=app.state.store,
            actor=city.kepco_steward,
            slug=INDICATOR,
            source=source,
            filename=source.name,
        )
        test_set = publish(
            session,
            settings,
            app.state.store,
            city.kepco_steward,
            tmp_path,
            title="Hidden household demand",
            rows=test_rows(),
            holdout=True,
        )
        test_slug = test_set.slug
    with serving(server) as url:
        yield url, test_slug


def _checked(page: Page, lang: str = "en", widths: tuple[int, ...] = (WIDE, PHONE)) -> None:
    problems: list[Problem] = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        problems.extend(check_page(page, lang=lang))
    page.set_viewport_size({"width": widths[0], "height": 900})
    assert not problems, "\n".join(str(p) for p in problems)


def _signed_in(browser: Browser, hub_url: str, username: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="en-US")
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    return page


def test_a_residents_problem_becomes_a_challenge_whose_result_anyone_reads(
    browser: Browser, civic_hub: tuple[str, str], screenshot: Screenshot
) -> None:
    hub_url, test_slug = civic_hub
    resident = _signed_in(browser, hub_url, "minji")
    resident.get_by_role("link", name="Civic problems").first.click()
    expect(resident.get_by_role("heading", name="Civic problems")).to_be_visible()
    resident.locator("#civic-new").click()
    resident.locator("#civic-title").fill("Power cuts every week on our street")
    resident.locator("#civic-description").fill(
        "The power goes out for an hour almost every week on Baekun-ro, mostly in the evening."
    )
    resident.locator("#civic-district-new").select_option("Nam-gu")
    resident.locator("#civic-photos").set_input_files(
        [{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_exif()}]
    )
    _checked(resident)
    resident.locator("#civic-submit").click()
    expect(resident.locator("#notice")).to_contain_text("Your problem is posted")
    problem_url = resident.url.split("?", 1)[0]
    photo = resident.locator("#civic-photos-list img").first
    expect(photo).to_be_visible()
    # The stripped JPEG still decodes: the browser draws its 16 pixels.
    photo.scroll_into_view_if_needed()
    resident.wait_for_function("() => document.querySelector('#civic-photos-list img').complete")
    assert photo.evaluate("img => img.naturalWidth") == 16
    stored = resident.request.get(photo.get_attribute("src") or "")
    assert GPS not in stored.body()
    _checked(resident)
    screenshot(resident, "civic-posted")

    for name in ("jiho", "seoa"):
        neighbour = _signed_in(browser, hub_url, name)
        neighbour.goto(problem_url)
        neighbour.locator("#civic-support-button").click()
        expect(neighbour.locator("#notice")).to_contain_text("your support is counted")
    expect(neighbour.locator("#civic-state-tag")).to_have_text("In triage")
    expect(neighbour.locator("#civic-due")).to_be_visible()

    operator = _signed_in(browser, hub_url, "operator")
    operator.goto(problem_url)
    _checked(operator)
    operator.locator("#civic-decision-accept").check()
    operator.locator("#civic-department").select_option("kepco")
    operator.locator("#civic-triage-submit").click()
    expect(operator.locator("#civic-state-tag")).to_have_text("Accepted")

    kepco = _signed_in(browser, hub_url, "kepco")
    kepco.goto(problem_url)
    kepco.locator("#civic-metric").select_option("mae")
    kepco.locator("#civic-indicator-text").fill("Minutes without power per month in Nam-gu")
    kepco.locator("#civic-dataset").fill(INDICATOR)
    kepco.locator("#civic-column").fill("minutes")
    kepco.locator("#civic-period").fill("month")
    kepco.locator("#civic-baseline").fill("50")
    kepco.locator("#civic-target").fill("20")
    _checked(kepco)
    kepco.locator("#civic-propose-submit").click()
    expect(kepco.locator("#civic-state-tag")).to_have_text("Metric proposed")
    expect(kepco.locator("#civic-readiness")).to_contain_text(INDICATOR)

    operator.reload()
    operator.locator("#civic-agree").click()
    expect(operator.locator("#civic-state-tag")).to_have_text("Metric agreed")

    kepco.reload()
    kepco.locator("#civic-test-dataset").fill(test_slug)
    kepco.locator("#civic-label-column").fill("kwh")
    kepco.locator("#civic-final").fill("2030-01-10")
    kepco.locator("#civic-deadline").fill("2030-02-01")
    kepco.locator("#civic-open-submit").click()
    expect(kepco.locator("#civic-state-tag")).to_have_text("Challenge open")
    expect(kepco.locator("#civic-task-link")).to_be_visible()
    task_path = kepco.locator("#civic-task-link").get_attribute("href") or ""

    # A researcher enters the challenge: the testbed scores the entry on the hidden test set.
    researcher = _signed_in(browser, hub_url, "researcher")
    researcher.goto(task_path)
    researcher.get_by_label("Team name").fill("Nam-gu Grid Watch")
    researcher.get_by_role("button", name="Join with a new team").click()
    expect(researcher.locator("#notice")).to_contain_text("Your team is in")
    researcher.locator("#tb-file").set_input_files(
        files=[
            {
                "name": "predictions.csv",
                "mimeType": "text/csv",
                "buffer": predictions_csv(shift=1.5),
            }
        ]
    )
    researcher.get_by_role("button", name="Submit", exact=True).click()
    expect(researcher.locator("#just-score")).to_have_text("1.5000")
    kepco.locator("#civic-pilot summary").click()
    kepco.locator("#civic-pilot-description").fill("Feeder reconfiguration on Baekun-ro.")
    kepco.locator("#civic-pilot-submit").click()
    expect(kepco.locator("#civic-state-tag")).to_have_text("Pilot running")
    kepco.locator("#civic-measure").click()
    expect(kepco.locator("#civic-progress")).to_contain_text("50 % of the way")
    _checked(kepco)
    screenshot(kepco, "civic-measured")

    # A visitor on a phone, in Korean, not signed in.
    context = browser.new_context(
        base_url=hub_url, locale="ko-KR", viewport={"width": PHONE, "height": 800}
    )
    visitor = context.new_page()
    visitor.goto("/civic?lang=ko")
    expect(visitor.get_by_role("heading", name="시민 문제")).to_be_visible()
    _checked(visitor, "ko", (PHONE, WIDE))
    visitor.get_by_role("link", name="Power cuts every week on our street").click()
    expect(visitor.locator("#civic-state-tag")).to_have_text("시범 사업 중")
    expect(visitor.locator("#civic-progress")).to_contain_text("목표까지 50 %")
    expect(visitor.locator("#civic-measurements")).to_contain_text("2026-03")
    expect(visitor.locator("#civic-timeline")).to_contain_text("과제 진행 중")
    # The challenge's result: the best entry's score, from the public leaderboard.
    expect(visitor.locator("#civic-challenge")).to_contain_text("최고 점수 1.5")
    _checked(visitor, "ko", (PHONE, WIDE))
    screenshot(visitor, "civic-result-ko")
    visitor.locator("#civic-task-link").click()
    expect(
        visitor.get_by_role("heading", name="Power cuts every week on our street")
    ).to_be_visible()
    expect(visitor.locator("#public-board")).to_contain_text("Nam-gu Grid Watch")
    expect(visitor.locator("#public-board")).to_contain_text("1.5000")
    context.close()
