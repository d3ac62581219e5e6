"""A resident donates their own records, sees a project use them, withdraws, and sees the
next use leave them out, in a real browser; then keeps the receipt.

The donors' city of ``tests/mydata`` (twelve donors, a researcher's academic project with an
agreement on the donated-electricity pool) is served by a live hub.  A thirteenth resident
with a verified identity signs in, previews their meter readings, drops a row, donates for
academic research, and sees the researcher's next query listed as a use of their data; they
withdraw with one click, the researcher queries again, and that use is not listed (the count
the researcher gets is the other donors' only).  The receipt link serves the signed JSON-LD
record, which verifies.  Every page passes :func:`page_checks.check_page` at 1280 and 390 px,
in English and in Korean.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_checks import Problem, check_page
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session
from tests.live_hub import serving
from tests.mydata.conftest import DONORS, MONTHS, POOL, SOURCE, Ask, DonorCity, ask, cast, town  # noqa: F401

from bitgoeul.accounts.models import User
from bitgoeul.accounts.passwords import hash_password
from bitgoeul.cli.server import make_server
from bitgoeul.config import Settings
from bitgoeul.mydata import receipts

pytestmark = pytest.mark.e2e

WIDE, PHONE = 1280, 390
PASSWORD = "a long journey password"
COUNT = f'SELECT count(*) AS n FROM "{POOL}"'


def _checked(page: Page, lang: str) -> None:
    duplicated = page.evaluate(
        "() => { const ids = [...document.querySelectorAll('[id]')].map(e => e.id);"
        " return ids.filter((id, i) => ids.indexOf(id) !== i); }"
    )
    assert not duplicated, f"ids used twice on {page.url}: {duplicated}"
    problems: list[Problem] = []
    for width in (WIDE, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        problems.extend(check_page(page, lang=lang))
    page.set_viewport_size({"width": WIDE, "height": 900})
    assert not problems, "\n".join(str(p) for p in problems)


@pytest.fixture
def donor_hub(db: Session, settings: Settings, town: DonorCity) -> Iterator[tuple[str, str]]:  # noqa: F811
    """The donors' city served live; the resident who has not donated yet, with a password."""
    user = db.get(User, town.citizens[DONORS].user_id)
    assert user is not None
    user.password_hash = hash_password(PASSWORD, settings=settings)
    db.commit()
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning")
    with serving(server) as url:
        yield url, user.username


def _uses(page: Page) -> int:
    page.goto("/my-data")
    return page.locator("tr.use").count()


def test_a_resident_donates_sees_a_use_withdraws_and_the_next_use_leaves_them_out(
    browser: Browser,
    donor_hub: tuple[str, str],
    ask: Ask,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, username = donor_hub
    context = browser.new_context(base_url=url, locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()

    page.goto("/my-data")
    expect(page.locator("#no-donations")).to_be_visible()
    _checked(page, "en")
    page.goto(f"/my-data/sources/{SOURCE}")
    expect(page.locator("#preview tbody tr")).to_have_count(len(MONTHS))
    _checked(page, "en")
    page.locator("#drop-0").check()
    page.locator("#purpose-academic-research").check()
    page.locator("#tier-aggregates").check()
    page.locator("#donate").click()
    expect(page.locator("#mydata-notice")).to_be_visible()
    _checked(page, "en")

    before = ask(COUNT).rows[0][0]
    assert before == DONORS * len(MONTHS) + len(MONTHS) - 1  # their rows, less the dropped one
    assert _uses(page) == 1
    use = page.locator("tr.use").first
    expect(use).to_contain_text("Study")  # the project
    expect(use).to_contain_text("Academic research")  # its purpose
    _checked(page, "en")

    page.locator("button[id^=withdraw-]").first.click()
    expect(page.locator(".consent-state").first).to_contain_text("Withdrawn")
    after = ask(COUNT).rows[0][0]
    assert after == DONORS * len(MONTHS)  # the next use leaves them out
    assert _uses(page) == 1  # the query after the withdrawal did not use their data

    receipt_href = page.locator("a[href^='/my-data/receipts/']").first.get_attribute("href")
    assert receipt_href is not None
    document = json.loads(page.request.get(receipt_href).text())
    assert receipts.verify(document).valid

    page.goto("/my-data?lang=ko")
    expect(page.locator("tr.use")).to_have_count(1)
    _checked(page, "ko")
    page.goto(f"/my-data/sources/{SOURCE}?lang=ko")
    _checked(page, "ko")
    context.close()
