"""The jobs journey of docs/jobs.md, in a real browser against a hub whose job runner runs: an
operator grants the lab credits, a researcher opens a project, submits code on registered
(open to members) data through the form, watches its log arrive live, and downloads what it
wrote."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from page_checks import check_page
from playwright.sync_api import Browser, Page, expect

from bitgoeul.compute.sandbox import sandbox_support

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
    ),
]

Screenshot = Callable[[Page, str], None]

# Two lines a couple of seconds apart, so the page shows the log while the job still runs.
SCRIPT = """\
import os, pathlib, time
import pyarrow.parquet as pq
inputs = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
table = pq.read_table(inputs / "household-electricity.parquet")
print("epoch 1: read", table.num_rows, "readings", flush=True)
time.sleep(2)
print("epoch 2: summarising", flush=True)
time.sleep(2)
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
(out / "summary.txt").write_text(f"{table.num_rows} readings\\n")
print("done", flush=True)
"""


def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", SCRIPT)
    return buffer.getvalue()


def _signed_in(browser: Browser, hub_url: str, username: str) -> Page:
    context = browser.new_context(base_url=hub_url, locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    return page


def test_submit_a_job_watch_its_log_and_download_the_output(
    browser: Browser, hub_url: str, screenshot: Screenshot, tmp_path: Path
) -> None:
    operator = _signed_in(browser, hub_url, "operator")
    # An operator signs in to the hub page, where credits are granted from.
    expect(operator.locator("#hub-counts")).to_be_visible()
    operator.get_by_role("link", name="Grant credits").click()
    operator.locator("#grant-organization").select_option("gist-ai-lab")
    operator.locator("#grant-cpu").fill("5")
    operator.locator("#grant-note").fill("pilot study")
    operator.get_by_role("button", name="Grant credits").click()
    expect(operator.locator("#balance-cpu")).to_have_text("5")
    expect(operator.locator("table.ledger")).to_contain_text("pilot study")

    researcher = _signed_in(browser, hub_url, "researcher")
    researcher.get_by_role("link", name="Projects").click()
    researcher.get_by_label("Title").fill("Household load study")
    researcher.get_by_label("Purpose").select_option("academic-research")
    researcher.get_by_label("Justification").fill("Summarise meter readings next to the data.")
    researcher.get_by_role("button", name="Create project").click()
    expect(researcher.get_by_role("heading", name="Household load study")).to_be_visible()

    researcher.get_by_role("link", name="Jobs").click()
    researcher.locator("#job-bundle").set_input_files(
        files=[{"name": "code.zip", "mimeType": "application/zip", "buffer": _code()}]
    )
    researcher.locator("#job-entrypoint").fill("main.py")
    researcher.locator("#job-datasets").select_option("household-electricity")
    researcher.locator("#job-memory").fill("512")
    researcher.locator("#job-time-limit").fill("60")
    researcher.locator("#job-name").fill("reading count")
    screenshot(researcher, "job-form")
    researcher.get_by_role("button", name="Submit job").click()
    expect(researcher.get_by_role("heading", name="reading count")).to_be_visible()

    # The same page, never reloaded, fills the log: the poller of static/job-log.js.
    researcher.evaluate("window.bitgoeulSamePage = true")
    expect(researcher.locator("#job-log-live")).to_be_visible()
    expect(researcher.locator("#job-log")).to_contain_text("epoch 2: summarising")
    assert researcher.evaluate("window.bitgoeulSamePage === true")
    expect(researcher.locator("#job-log")).to_contain_text("epoch 1: read 5 readings")
    screenshot(researcher, "job-running")

    # When the job ends the page reloads itself and shows the outcome and the outputs.
    expect(researcher.locator("#job-status")).to_contain_text("Succeeded")
    expect(researcher.locator("#job-log")).to_contain_text("done")
    with researcher.expect_download() as downloading:
        researcher.get_by_role("link", name="summary.txt").click()
    saved = tmp_path / "summary.txt"
    downloading.value.save_as(saved)
    assert saved.read_text() == "5 readings\n"
    screenshot(researcher, "job-done")


def _passes(page: Page) -> None:
    """No sideways scroll, no link into the API, no English the hub says (``page_checks``)."""
    problems = check_page(page, lang="ko")
    assert not problems, "\n".join(str(p) for p in problems)


def test_a_korean_researcher_on_a_phone_is_refused_in_korean_then_gets_the_output(
    browser: Browser, hub_url: str, screenshot: Screenshot, tmp_path: Path
) -> None:
    """The same journey in Korean at 390 px: a refusal that says what to do, in Korean; the
    log and the output downloaded through pages, never the API."""
    operator = _signed_in(browser, hub_url, "operator")
    operator.goto("/credits")
    operator.locator("#grant-organization").select_option("gist-ai-lab")
    operator.locator("#grant-cpu").fill("5")
    operator.get_by_role("button", name="Grant credits").click()
    expect(operator.locator("#balance-cpu")).to_have_text("5")

    context = browser.new_context(
        base_url=hub_url,
        locale="ko-KR",
        viewport={"width": 390, "height": 844},
        accept_downloads=True,
    )
    phone = context.new_page()
    phone.goto("/login")
    phone.locator("#username").fill("researcher")
    phone.locator("#password").fill("demo")
    phone.locator("#password").press("Enter")
    expect(phone.get_by_text("researcher 님으로 로그인됨")).to_be_attached()

    phone.goto("/projects")
    phone.locator("#project-title").fill("가구 전력 연구")
    phone.locator("#project-purpose").select_option("academic-research")
    phone.locator("#project-justification").fill("데이터 옆에서 검침값을 요약합니다.")
    phone.locator("#project-justification").evaluate("field => field.form.requestSubmit()")
    expect(phone.get_by_role("heading", name="가구 전력 연구")).to_be_visible()

    phone.goto("/jobs")
    _passes(phone)
    phone.locator("#job-bundle").set_input_files(
        files=[{"name": "code.zip", "mimeType": "application/zip", "buffer": _code()}]
    )
    phone.locator("#job-entrypoint").fill("train.py")
    phone.locator("#job-datasets").select_option("household-electricity")
    phone.locator("#job-memory").fill("512")
    phone.locator("#job-time-limit").fill("60")
    phone.get_by_role("button", name="작업 제출").click()
    expect(phone.locator("#form-error")).to_have_text(
        "'train.py'은(는) 번들에 없는 파일입니다. 번들 맨 위의 파일: main.py."
    )
    _passes(phone)
    screenshot(phone, "job-refused-ko-390")

    phone.locator("#job-bundle").set_input_files(
        files=[{"name": "code.zip", "mimeType": "application/zip", "buffer": _code()}]
    )
    phone.locator("#job-entrypoint").fill("main.py")
    phone.get_by_role("button", name="작업 제출").click()
    expect(phone.locator("#job-status")).to_contain_text("성공")
    _passes(phone)
    with phone.expect_download() as downloading:
        phone.get_by_role("link", name="summary.txt").click()
    saved = tmp_path / "summary.txt"
    downloading.value.save_as(saved)
    assert saved.read_text() == "5 readings\n"
    whole_log = phone.locator("#job-log-link")
    expect(whole_log).to_have_text("전체 로그(텍스트)")
    phone.goto(whole_log.get_attribute("href") or "")
    expect(phone.locator("body")).to_contain_text("epoch 2: summarising")
    screenshot(phone, "job-done-ko-390")
    context.close()
