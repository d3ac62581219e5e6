"""The journeys docs/web.md describes, walked in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

Screenshot = Callable[[Page, str], None]
TITLE = "Hourly household electricity use"
TITLE_KO = "가구별 시간대 전력 사용량"


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


def test_visitor_searches_in_english_and_korean(page: Page, screenshot: Screenshot) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Find data in Gwangju's AI hub")).to_be_visible()
    screenshot(page, "home")
    search = page.get_by_role("searchbox")
    search.fill("electricity")
    search.press("Enter")
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    expect(page.get_by_role("link", name="Outpatient visits")).to_have_count(0)
    search = page.get_by_role("searchbox")
    search.fill("전력")
    search.press("Enter")
    expect(page.get_by_role("link", name=TITLE)).to_be_visible()
    page.get_by_role("link", name=TITLE).click()
    expect(page.locator("#preview-refused")).to_contain_text("sign in")


def test_researcher_sees_schema_profile_and_preview(page: Page, screenshot: Screenshot) -> None:
    sign_in(page, "researcher")
    page.goto("/datasets/household-electricity")
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator("table.schema")).to_contain_text("quasi-identifier")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("table.preview")).to_contain_text("M001")
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    screenshot(page, "dataset")


def test_steward_uploads_a_new_version(page: Page, tmp_path: Path, screenshot: Screenshot) -> None:
    sign_in(page, "kepco")
    page.goto("/datasets/household-electricity")
    page.get_by_role("link", name="Upload a new version").click()
    source = tmp_path / "more-meters.csv"
    source.write_text("meter_id,district,hour,kwh\nM010,Seo-gu,6,0.7\n", encoding="utf-8")
    page.get_by_label("Data file").set_input_files(source)
    page.get_by_label("Note for this version").fill("June batch")
    page.get_by_role("button", name="Upload and publish").click()
    page.wait_for_url(re.compile(r"/ingest-runs/\d+$"))
    expect(page.locator("#ingest-status")).to_have_text("published")
    screenshot(page, "ingest-run")
    page.get_by_role("link", name="See version 2").click()
    expect(page.locator("tr.current")).to_contain_text("more-meters.csv")
    expect(page.locator("table.preview")).to_contain_text("M010")


def test_steward_uploading_a_bad_file_sees_the_error_report(
    page: Page, tmp_path: Path, screenshot: Screenshot
) -> None:
    sign_in(page, "kepco")
    page.goto("/datasets/household-electricity/upload")
    source = tmp_path / "bad.csv"
    source.write_text("meter_id,kwh\nM1,0.5\nM2,lots\n", encoding="utf-8")
    page.get_by_label("Data file").set_input_files(source)
    page.get_by_label("Table Schema (JSON, optional)").fill(
        '{"fields": [{"name": "meter_id", "type": "string"}, {"name": "kwh", "type": "number"}]}'
    )
    page.get_by_role("button", name="Upload and publish").click()
    report = page.locator("table.report")
    expect(report).to_be_visible()
    expect(report).to_contain_text("lots")
    expect(page.locator("#upload-error")).to_contain_text("The file was not published.")
    screenshot(page, "upload-report")


def test_visitor_switches_to_korean(page: Page, screenshot: Screenshot) -> None:
    page.goto("/datasets/household-electricity")
    page.get_by_role("link", name="한국어").click()
    expect(page.get_by_role("heading", name=TITLE_KO)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    page.goto("/")
    expect(page.get_by_role("link", name=TITLE_KO)).to_be_visible()
    expect(page.get_by_role("button", name="검색")).to_be_visible()
    screenshot(page, "home-ko")


def test_user_creates_and_revokes_an_api_token(page: Page) -> None:
    sign_in(page, "researcher")
    page.goto("/tokens")
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token-value")).to_have_text(re.compile(r"^bgt_"))
    row = page.get_by_role("row").filter(has_text="notebook")
    expect(row).to_contain_text("active")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("row").filter(has_text="notebook")).to_contain_text("revoked")
    expect(page.locator("#new-token-value")).to_have_count(0)
