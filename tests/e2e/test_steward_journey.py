"""The steward's upload and edit journey in Chromium, in English and Korean, at 1280 and 390 px.

An upload with bad cells is held and names them; the steward publishes it as text (English)
or discards it (Korean); the same file again gets a notice; a failed upload ends its progress
bar with the error; the edit page changes the licence and a column's class.  Every page is
checked with :func:`page_checks.check_page` at both widths.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, Route, expect

from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import PASSWORD, build_small_city

from live_hub import serving

pytestmark = pytest.mark.e2e

WIDE, PHONE = 1280, 390
UPLOAD = "/datasets/household-electricity/upload"
EDIT = "/datasets/household-electricity/edit"
BAD = (
    "meter_id,district,hour,kwh,read_on\n"
    "M1,Dong-gu,1,0.5,2026-11-29\n"
    "M2,Seo-gu,2,0.7,2026-11-31\n"
    "M3,Nam-gu,3,not-a-number,2026-12-01\n"
    "M4,Buk-gu,4,1.5,2026-12-02\n"
)
# What the steward publishes as text in English; the Korean walk discards a file of its own.
PUBLISHED = BAD.encode()
DISCARDED = (BAD + "M5,Gwangsan-gu,5,2.5,2026-12-03\n").encode()
MESSAGES = {
    "en": {"network": "did not reach the hub", "status": "The upload failed (413"},
    "ko": {"network": "허브에 닿지 못했습니다", "status": "업로드에 실패했습니다(413"},
}


@pytest.fixture
def hub_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=False)
    app = server.config.app
    build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    with serving(server) as url:
        yield url


def _look(page: Page, problems: list[Problem], lang: str) -> None:
    for width in (WIDE, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        problems.extend(check_page(page, lang=lang))
    page.set_viewport_size({"width": WIDE, "height": 900})


def _upload(page: Page, content: bytes) -> None:
    page.goto(UPLOAD)
    page.set_input_files(
        "#file", files=[{"name": "meters.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.locator("#upload-form button[type=submit]").click()


def _held_upload(page: Page, problems: list[Problem], lang: str) -> None:
    _upload(page, PUBLISHED if lang == "en" else DISCARDED)
    fallbacks = page.locator("#text-fallbacks")
    expect(fallbacks).to_be_visible()
    expect(fallbacks).to_contain_text("2026-11-31")
    expect(fallbacks).to_contain_text("not-a-number")
    expect(fallbacks).to_contain_text("read_on")
    _look(page, problems, lang)
    if lang == "en":
        page.locator("#publish-as-text").click()
        expect(page.locator("#ingest-version")).to_be_visible()
    else:
        page.locator("#discard-upload").click()
        expect(page.locator("#ingest-discarded")).to_be_visible()
    expect(page.locator("#fallback-choice")).to_have_count(0)
    _look(page, problems, lang)


def _identical_upload(page: Page, problems: list[Problem], lang: str) -> None:
    """A clean file becomes a version; the same file again gets a notice, and no version."""
    clean = f"meter_id,district,hour,kwh\nM-{lang},Dong-gu,1,0.5\n".encode()
    _upload(page, clean)
    expect(page.locator("#ingest-version")).to_be_visible()
    versions = page.locator("section[aria-labelledby='h-versions'] tbody tr")
    page.goto("/datasets/household-electricity")
    before = versions.count()
    latest = page.locator("tr.current td").first.inner_text()
    _upload(page, clean)
    notice = page.locator("#upload-notice")
    expect(notice).to_be_visible()
    number = latest.removeprefix("v")
    said = {"en": f"identical to version {number} of", "ko": f"버전 {number}와(과) 똑같은 파일"}
    expect(notice).to_contain_text(said[lang])
    _look(page, problems, lang)
    page.goto("/datasets/household-electricity")
    expect(versions).to_have_count(before)  # no new version
    expect(page.locator("tr.current td").first).to_have_text(latest)


def _failed_uploads(page: Page, lang: str) -> None:
    """The bar ends with the error, whether the network fails or something else answers."""

    def offline(route: Route) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.continue_()

    def proxy_refuses(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=413, body="Request Entity Too Large", content_type="text/plain")
        else:
            route.continue_()

    for handler, said in ((offline, "network"), (proxy_refuses, "status")):
        page.route(f"**{UPLOAD}", handler)
        _upload(page, b"meter_id,kwh\nM1,1\n")
        text = page.locator("#upload-progress-text")
        expect(text).to_contain_text(MESSAGES[lang][said])
        expect(page.locator("#upload-progress-row")).to_have_class("progress-row progress-failed")
        expect(page.locator("#upload-form button[type=submit]")).to_be_enabled()
        page.unroute(f"**{UPLOAD}", handler)


def _select_keeps_its_width_on_a_phone(page: Page, selector: str) -> None:
    """A choice in a table is as wide on a phone as on a wide screen: the table scrolls in its
    box rather than cut the chosen class's name."""
    width = "(el) => el.getBoundingClientRect().width"
    wide = page.locator(selector).evaluate(width)
    page.set_viewport_size({"width": PHONE, "height": 900})
    narrow = page.locator(selector).evaluate(width)
    page.set_viewport_size({"width": WIDE, "height": 900})
    assert narrow >= wide - 1, f"{selector} is {narrow} px wide on a phone, {wide} px wide"


def _edit(page: Page, problems: list[Problem], lang: str) -> None:
    licence, meter_class = (
        ("LicenseRef-KOGL-Type1", "direct_identifier")
        if lang == "en"
        else ("CC0-1.0", "quasi_identifier")
    )
    page.goto("/datasets/household-electricity")
    page.locator("#edit-dataset").click()
    expect(page.locator("#edit-form")).to_be_visible()
    _look(page, problems, lang)
    page.locator("#licence").select_option(licence)
    meter = page.locator("select[name='class:meter_id']")
    meter.select_option(meter_class)
    _select_keeps_its_width_on_a_phone(page, "select[name='class:meter_id']")
    page.locator("#min_group_size").fill("15")
    page.locator("#edit-form button[type=submit]").click()
    expect(page.locator("#edit-saved")).to_be_visible()
    expect(page.locator("#licence")).to_have_value(licence)
    expect(page.locator("select[name='class:meter_id']")).to_have_value(meter_class)
    expect(page.locator("#min_group_size")).to_have_value("15")
    _look(page, problems, lang)


def test_steward_journey(browser: Browser, hub_url: str) -> None:
    context = browser.new_context(base_url=hub_url, locale="en-US")
    page = context.new_page()
    problems: list[Problem] = []
    try:
        page.goto("/login")
        page.locator("#username").fill("kepco")
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action^='/login'] button[type=submit]").click()
        expect(page.locator(".whoami")).to_contain_text("kepco")
        for lang in ("en", "ko"):
            page.goto(f"/lang/{lang}?next=/")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            _held_upload(page, problems, lang)
            _identical_upload(page, problems, lang)
            _failed_uploads(page, lang)
            _edit(page, problems, lang)
    finally:
        context.close()
    found = [str(problem) for problem in problems]
    assert not found, f"steward: {len(found)} problems:\n" + "\n".join(found)
