"""The testbed journey in a real browser: KEPCO's steward has set up a next-day demand task on
a hidden test set; a researcher opens the testbed, joins with a new team, uploads a predictions
CSV, finds the score on the public leaderboard and in the team's history, then uploads a file
that misses an id and reads exactly which one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.testbed.bench_city import LABELS, predictions_csv, publish, task_create, test_rows
from web_city import build_small_city

from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings
from bitgoeul.testbed import actions
from live_hub import serving

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]


@pytest.fixture
def testbed_hub_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The small city, plus the bench's task: KEPCO's hidden test set, its steward organizing."""
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning")
    app = server.config.app
    city = build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with app.state.sessionmaker() as session:
        test_set = publish(
            session,
            settings,
            app.state.store,
            city.kepco_steward,
            tmp_path,
            title="Daily household demand (hidden test set)",
            rows=test_rows(),
            holdout=True,
        )
        actions.create_task(
            session,
            settings=app.state.settings,
            store=app.state.store,
            actor=city.kepco_steward,
            data=task_create(test_set.slug, "household-electricity"),
        )
    with serving(server) as url:
        yield url


def _signed_in(browser: Browser, hub_url: str, username: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="en-US")
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    return page


def _csv(content: bytes) -> list[dict[str, object]]:
    return [{"name": "predictions.csv", "mimeType": "text/csv", "buffer": content}]


def test_a_researcher_joins_submits_and_reads_the_score_and_a_precise_error(
    browser: Browser, testbed_hub_url: str, screenshot: Screenshot
) -> None:
    researcher = _signed_in(browser, testbed_hub_url, "researcher")
    researcher.get_by_role("link", name="Testbed").click()
    expect(researcher.get_by_role("heading", name="AI+ testbed")).to_be_visible()
    researcher.get_by_role("link", name="Next-day household demand").click()
    expect(researcher.locator("#test-set")).to_contain_text("kwh")

    researcher.get_by_label("Team name").fill("Gwangju Forecasters")
    researcher.get_by_role("button", name="Join with a new team").click()
    expect(researcher.locator("#notice")).to_contain_text("Your team is in")
    expect(researcher.locator("#team-name")).to_contain_text("Gwangju Forecasters")
    expect(researcher.locator("#left-today")).to_have_text("Submissions left today: 3 of 3.")

    researcher.locator("#tb-file").set_input_files(files=_csv(predictions_csv(shift=1.5)))
    researcher.get_by_label("Description").fill("yesterday plus a bit")
    screenshot(researcher, "testbed-submit")
    researcher.get_by_role("button", name="Submit", exact=True).click()
    expect(researcher.locator("#just-score")).to_have_text("1.5000")
    expect(researcher.locator("#left-today")).to_have_text("Submissions left today: 2 of 3.")
    board = researcher.locator("#public-board")
    expect(board).to_contain_text("Gwangju Forecasters")
    expect(board).to_contain_text("1.5000")
    screenshot(researcher, "testbed-leaderboard")

    researcher.get_by_role("link", name="Team history").click()
    history = researcher.locator("#team-submissions")
    expect(history).to_contain_text("1.5000")
    expect(history).to_contain_text("predictions.csv")
    expect(history).to_contain_text("Scored")

    researcher.get_by_role("link", name="Next-day household demand").click()
    missing = predictions_csv({k: v + 1 for k, v in LABELS.items() if k != "T007"})
    researcher.locator("#tb-file").set_input_files(files=_csv(missing))
    researcher.get_by_role("button", name="Submit", exact=True).click()
    expect(researcher.locator("#form-error")).to_have_text(
        "The predictions do not match the test set: 1 test-set id has no prediction ('T007'). "
        "Submit exactly one row for each test-set id."
    )
    # A refused file is not counted against the day.
    expect(researcher.locator("#left-today")).to_have_text("Submissions left today: 2 of 3.")
    screenshot(researcher, "testbed-refused")
    content = researcher.content()
    assert not [v for v in LABELS.values() if f"{v:.4f}" in content]


def test_a_teammate_is_invited_and_joins_by_accepting(
    browser: Browser, testbed_hub_url: str, screenshot: Screenshot
) -> None:
    researcher = _signed_in(browser, testbed_hub_url, "researcher")
    researcher.goto("/testbed/next-day-demand")
    researcher.get_by_label("Team name").fill("Gwangju Forecasters")
    researcher.get_by_role("button", name="Join with a new team").click()
    researcher.get_by_label("Invite someone (username)").fill("cnuh")
    researcher.get_by_role("button", name="Invite", exact=True).click()
    expect(researcher.locator("#notice")).to_contain_text("Invitation sent.")
    expect(researcher.locator("#team-invitations")).to_contain_text("cnuh")
    expect(researcher.locator("#team-members")).to_have_text("researcher")

    invitee = _signed_in(browser, testbed_hub_url, "cnuh")
    invitee.get_by_role("link", name="Testbed").click()
    invitee.get_by_role("link", name="Your invitations (1 waiting)").click()
    expect(invitee.locator("#invitations")).to_contain_text("Gwangju Forecasters")
    screenshot(invitee, "testbed-invitations")
    invitee.get_by_role("button", name="Accept and join").click()
    expect(invitee.locator("#notice")).to_contain_text("You joined the team.")
    expect(invitee.locator("#team-members")).to_have_text("cnuh, researcher")
