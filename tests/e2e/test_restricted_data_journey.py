"""Restricted data in a real browser, in English and Korean, at 1280 and 390 px: a researcher
picks the project she works for on the dataset page, requests access from there, the
publisher's steward reads the project's purpose and justification and approves with a row
condition (a confirmation says so), and the researcher previews and downloads the data under the
agreement, told which columns were hidden, which rows kept and which identifiers
pseudonymised.  Every page on the way passes :func:`page_checks.check_page` at both widths (no
sideways scroll, no link into ``/api/``, no untranslated server message on Korean pages)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
WIDE, PHONE = 1280, 390


def _signed_in(browser: Browser, hub_url: str, username: str, lang: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="ko-KR" if lang == "ko" else "en-US")
    page = context.new_page()
    page.goto(f"/lang/{lang}?next=/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill("demo")
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
def test_pick_project_request_approve_preview_download(
    browser: Browser, hub_url: str, screenshot: Screenshot, lang: str
) -> None:
    problems: list[Problem] = []
    researcher = _signed_in(browser, hub_url, "researcher", lang)

    # A new researcher on a restricted dataset is sent to open a project first.
    researcher.goto("/datasets/patient-visits")
    expect(researcher.locator("#no-projects")).to_be_visible()
    _look(researcher, lang, problems)
    researcher.locator("#no-projects a").click()
    researcher.locator("#project-title").fill("Elderly wellbeing")
    researcher.locator("#project-purpose").select_option("health-research")
    researcher.locator("#project-justification").fill("Find elderly patients living alone.")
    researcher.locator("form[action='/projects'] button[type=submit]").click()
    expect(researcher.locator("h1")).to_have_text("Elderly wellbeing")

    # Back on the dataset: pick the project, then ask for the data from there.
    researcher.goto("/datasets/patient-visits")
    researcher.locator("#project-choice").select_option(label="Elderly wellbeing")
    researcher.locator("#project-form button[type=submit]").click()
    expect(researcher.locator("#no-agreement")).to_be_visible()
    _look(researcher, lang, problems)
    screenshot(researcher, f"restricted-{lang}-before")
    researcher.locator("#request-access").click()
    expect(researcher.locator("#request-dataset")).to_have_value("patient-visits")
    researcher.locator("#request-columns").fill("patient_id, district, age")
    researcher.locator("#request-note").fill("Ages by district for the wellbeing study.")
    _look(researcher, lang, problems)
    researcher.locator("form[action$='/requests'] button[type=submit]").click()
    researcher.goto("/datasets/patient-visits")
    expect(researcher.locator("#request-pending")).to_be_visible()
    expect(researcher.locator("#request-access")).to_have_count(0)

    # The steward sees why the project wants it, approves with a row condition.
    steward = _signed_in(browser, hub_url, "cnuh", lang)
    steward.goto("/requests")
    card = steward.locator("section.request").first
    expect(card).to_contain_text("Find elderly patients living alone.")
    expect(card).to_contain_text("Ages by district for the wellbeing study.")
    _look(steward, lang, problems)
    card.locator("input[name=row_filter]").fill("age > 50")
    card.locator(".approve-form button[type=submit]").click()
    confirmation = steward.locator("#approved-confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text("Elderly wellbeing")
    expect(steward.locator("section.agreement").first).to_contain_text("Elderly wellbeing")
    _look(steward, lang, problems)

    # The researcher previews under the agreement and is told what it changed.
    researcher.goto("/datasets/patient-visits")
    expect(researcher.locator("#agreement-state")).to_be_visible()
    applied = researcher.locator("#applied-obligations")
    expect(applied.locator("#applied-columns")).to_contain_text("name, diagnosis")
    expect(applied.locator("#applied-rows")).to_contain_text("age > 50")
    expect(applied.locator("#applied-identifiers")).to_contain_text("patient_id")
    preview = researcher.locator("table.preview")
    expect(preview).to_contain_text("Dong-gu")
    expect(preview).not_to_contain_text("Seo-gu")  # 45 years old: not in the agreement's rows
    expect(preview).not_to_contain_text("P001")  # pseudonymised for this project
    expect(preview).not_to_contain_text("Kim Minji")  # a hidden column
    _look(researcher, lang, problems)
    screenshot(researcher, f"restricted-{lang}-after")

    # ... and downloads the same view from the page (not from /api/).
    with researcher.expect_download() as event:
        researcher.locator("#download-csv").click()
    download = event.value
    assert download.suggested_filename == "patient-visits-v1.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert [row["district"] for row in rows] == ["Dong-gu", "Nam-gu"]
    assert set(rows[0]) == {"patient_id", "district", "age"}
    assert not any(row["patient_id"].startswith("P0") for row in rows)

    assert not problems, "\n".join(str(p) for p in problems)
