"""The sharing journey of docs/governance.md, in a real browser: a researcher opens a project
and asks for a restricted dataset, the publisher's steward approves it with conditions, the
researcher is notified and queries it (identifiers pseudonymised), the steward sees the use
and revokes the agreement, and the next query is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
SQL = 'SELECT patient_id, district, age FROM "patient-visits" ORDER BY age'


def _signed_in(browser: Browser, hub_url: str, username: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="en-US")
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    return page


def test_request_approve_query_revoke(
    browser: Browser, hub_url: str, screenshot: Screenshot
) -> None:
    researcher = _signed_in(browser, hub_url, "researcher")
    researcher.get_by_role("link", name="Projects").click()
    researcher.get_by_label("Title").fill("Elderly wellbeing check")
    researcher.get_by_label("Purpose").select_option("public-service-improvement")
    researcher.get_by_label("Justification").fill("Spot older patients who stop visiting.")
    researcher.get_by_role("button", name="Create project").click()
    expect(researcher.get_by_role("heading", name="Elderly wellbeing check")).to_be_visible()
    researcher.get_by_label("Dataset").select_option("patient-visits")
    researcher.get_by_label("Days", exact=True).fill("30")
    researcher.get_by_label("Note to the steward").fill("Ages by district only.")
    researcher.get_by_role("button", name="Send request").click()
    expect(researcher.locator("table.requests")).to_contain_text("Pending")
    project_url = researcher.url.split("#")[0]
    screenshot(researcher, "project")

    steward = _signed_in(browser, hub_url, "cnuh")
    steward.get_by_role("link", name="Requests").click()
    request = steward.locator("section.request").first
    expect(request).to_contain_text("Elderly wellbeing check")
    expect(request).to_contain_text("Ages by district only.")
    request.get_by_label("Columns granted").fill("patient_id, district, age")
    screenshot(steward, "queue")
    request.get_by_role("button", name="Approve").click()
    expect(steward.locator("#no-pending")).to_be_visible()
    expect(steward.locator("section.agreement").first).to_contain_text("Active")

    researcher.goto("/")
    expect(researcher.locator("#nav-notifications .count-badge")).to_have_text("1")
    researcher.locator("#nav-notifications").click()
    expect(researcher.locator("ul.notifications")).to_contain_text("approved")
    researcher.goto(project_url)
    researcher.get_by_role("link", name="Query under this project").click()
    researcher.get_by_role("textbox", name="SQL").fill(SQL)
    researcher.get_by_role("button", name="Run").click()
    table = researcher.locator("#result-table")
    expect(table).to_contain_text("Seo-gu")
    expect(table).not_to_contain_text("P002")  # pseudonymised with this project's key
    expect(researcher.locator("#result-summary")).to_contain_text("3 rows")
    screenshot(researcher, "query")

    steward.get_by_role("link", name="Uses of my data").click()
    expect(steward.locator("#audit-entries")).to_contain_text(
        "researcher (researcher) queried dataset patient-visits for project Elderly wellbeing check"
    )
    steward.get_by_role("link", name="Requests").click()
    agreement = steward.locator("section.agreement").first
    agreement.get_by_label("Reason").fill("Study paused by the ethics board.")
    agreement.get_by_role("button", name="Revoke").click()
    expect(steward.locator("section.agreement").first).to_contain_text("Revoked")

    researcher.get_by_role("button", name="Run").click()
    expect(researcher.locator("#query-error")).to_contain_text("patient-visits")
    expect(researcher.locator("#result-table")).to_have_count(0)
