"""Each role's journey through the pages it uses, in English and Korean, at 1280 and 390 px.

On every page :func:`page_checks.check_page` looks for sideways scrolling, links into
``/api/``, the wrong ``<html lang>``, tables cut off instead of scrolling in their box and, on
Korean pages, Hangul broken inside a word and English the hub itself says.  The researcher and
the operator must each meet, in both languages, a table wider than a phone that scrolls inside
its box (the table check is not passed by seeing none).  A page
is loaded once per language and looked at in both widths (the viewport is resized, the page
re-lays itself out), so the five roles stay within a couple of minutes.  Every problem of a
journey is collected before the test fails, so one run names them all.
"""

from __future__ import annotations

import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI
from page_checks import Problem, check_page, tables_scrolling_in_their_box
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.testbed.bench_city import TASK, publish, task_create, test_rows

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.cli.server import make_server
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.compute.schemas import JobSpec
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Agreement, Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ProjectCreate
from bitgoeul.testbed import actions as testbed_actions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import PASSWORD, build_small_city, open_job_project

from live_hub import serving

pytestmark = pytest.mark.e2e

WIDE, PHONE = 1280, 390

LANGUAGES = ("en", "ko")
SIGN_IN = {"en": "Sign in", "ko": "로그인"}


@dataclass
class Hub:
    url: str
    project_id: int
    job_id: int | None  # None where this machine cannot sandbox jobs (none can be queued)
    agreement_id: int


TASK_PAGE = f"/testbed/{TASK}"
JOB_CODE = 'print("hello")\n'


def _queued_job(app: FastAPI, project_id: int, work: Path) -> int:
    """The researcher's job on the restricted visits, left queued (this hub runs no jobs)."""
    with app.state.sessionmaker() as session:
        user = account_queries.get_user(session, "researcher")
        assert user is not None
        bundle = work / "job.zip"
        with zipfile.ZipFile(bundle, "w") as archive:
            archive.writestr("main.py", JOB_CODE)
        job = compute_actions.submit_job(
            session,
            settings=app.state.settings,
            executor=app.state.executor,
            actor=Actor.for_user(user, via="cli"),
            spec=JobSpec(project=project_id, datasets=["patient-visits"], entrypoint="main.py"),
            bundle_path=bundle,
        )
        return job.id


def _job_pages(hub: Hub) -> list[str]:
    """The queued job's page, where one could be queued (``./scripts/test`` says when not)."""
    return [] if hub.job_id is None else [f"/jobs/{hub.job_id}"]


def _pending_request(app: FastAPI) -> None:
    """A second project of the researcher's asks for the visits; CNUH has not answered."""
    with app.state.sessionmaker() as session:
        user = account_queries.get_user(session, "researcher")
        assert user is not None
        researcher = Actor.for_user(user, via="cli")
        project = governance.create_project(
            session,
            actor=researcher,
            data=ProjectCreate(
                title="Readmissions after heat waves",
                purpose=Purpose.health_research,
                justification="Which districts need cooling shelters first.",
            ),
        )
        governance.request_access(
            session,
            actor=researcher,
            data=AccessRequestCreate(project=project.id, dataset="patient-visits", days=90),
        )


@pytest.fixture
def hub(settings: Settings, tmp_path: Path) -> Iterator[Hub]:
    """The small city with a testbed task on a hidden test set, a citizen, and the
    researcher's project (an approved agreement on the visits) with a queued job."""
    server = make_server(settings, host="127.0.0.1", port=0, log_level="warning", run_jobs=False)
    app = cast("FastAPI", server.config.app)
    city = build_small_city(app.state.sessionmaker, app.state.store, settings, tmp_path)
    project_id = open_job_project(app.state.sessionmaker)
    with app.state.sessionmaker() as session:
        account_actions.create_user(
            session, username="citizen", password=PASSWORD, role=Role.citizen, settings=settings
        )
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
        testbed_actions.create_task(
            session,
            settings=settings,
            store=app.state.store,
            actor=city.kepco_steward,
            data=task_create(test_set.slug, "household-electricity"),
        )
    job_id = _queued_job(app, project_id, tmp_path) if sandbox_support().available else None
    _pending_request(app)
    with app.state.sessionmaker() as session:
        agreement = session.scalars(
            select(Agreement).where(Agreement.project_id == project_id)
        ).one()
        agreement_id = agreement.id
    with serving(server) as url:
        yield Hub(url=url, project_id=project_id, job_id=job_id, agreement_id=agreement_id)


@dataclass
class Journey:
    """One role's walk: who signs in (``None``: nobody), the pages, and what it does.

    ``refused`` are addresses the role may not open, or that do not exist: each must answer
    with an error page (4xx) that passes the same checks, its reason in the page's language."""

    username: str | None
    paths: list[str]
    refused: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Every link on the pages seen (same site), each with the first page it was seen on.
    links: dict[str, str] = field(default_factory=dict)
    # Keeps a screenshot when BITGOEUL_E2E_SCREENSHOTS names a folder (conftest's fixture).
    screenshot: Callable[[Page, str], None] = lambda page, name: None
    role: str = ""
    # Pages (with their language) where a table wider than a phone scrolled inside its box.
    scrolled_tables: set[str] = field(default_factory=set)


JOURNEYS: dict[str, Callable[[Hub], Journey]] = {
    "anonymous": lambda hub: Journey(
        None,
        [
            "/",
            "/?sector=energy",
            "/datasets/household-electricity",
            "/datasets/patient-visits",
            "/organizations",
            "/organizations/kepco",
            "/query",
            "/testbed",
            TASK_PAGE,
            "/developers",
            "/login",
            "/dp",
        ],
        refused=[
            "/me",
            "/jobs",
            "/projects",
            "/requests",
            "/notifications",
            "/audit",
            "/tokens",
            "/credits",
            "/datasets/new",
            "/datasets/household-electricity/upload",
            "/ingest-runs/1",
            *_job_pages(hub),
            "/hub",
            "/linkage",
            "/no-such-page",
            "/datasets/no-such-dataset",
            "/organizations/no-such-organization",
            "/testbed/no-such-task",
            "/lang/fr",
            "/?page=0",
            "/jobs/not-a-number",
        ],
    ),
    "steward": lambda hub: Journey(
        "kepco",
        [
            "/",
            "/datasets/household-electricity",
            "/datasets/household-electricity/upload",
            "/datasets/new",
            "/requests",
            "/reviews",
            "/projects",
            "/jobs",
            "/query",
            "/testbed",
            TASK_PAGE,
            "/notifications",
            "/audit",
            "/credits",
            "/tokens",
            "/organizations/kepco",
            "/datasets/household-electricity/edit",
            "/linkage",
            "/me",
            # Projects are a public register of data use: any signed-in user reads one.
            f"/projects/{hub.project_id}",
        ],
        refused=[
            "/hub",
            "/hub/users",
            "/datasets/patient-visits/upload",
            "/datasets/patient-visits/edit",
            "/ingest-runs/999999",
            "/jobs/999999",
            "/agreements/999999",
        ],
    ),
    # The hospital's steward answers requests for its data and reviews jobs that read it.
    "reviewer": lambda hub: Journey(
        "cnuh",
        [
            "/requests",
            "/reviews",
            *_job_pages(hub),
            "/datasets/patient-visits",
            "/datasets/patient-visits/upload",
            "/datasets/patient-visits/edit",
            f"/agreements/{hub.agreement_id}",
            "/dp/budgets/patient-visits",
            "/audit",
            "/notifications",
        ],
    ),
    "researcher": lambda hub: Journey(
        "researcher",
        [
            "/",
            "/datasets/household-electricity",
            "/datasets/patient-visits",
            "/query",
            "/projects",
            f"/projects/{hub.project_id}",
            "/jobs",
            *_job_pages(hub),
            "/testbed",
            TASK_PAGE,
            "/notifications",
            "/audit",
            "/credits",
            "/tokens",
            "/me",
            f"/agreements/{hub.agreement_id}",
            "/projects?dataset=patient-visits",
            "/dp",
            "/linkage",
            "/testbed/invitations",
            "/developers",
        ],
        refused=[
            "/requests",
            "/reviews",
            "/hub",
            "/datasets/new",
            "/datasets/household-electricity/upload",
            "/datasets/household-electricity/edit",
            "/query/runs/999999",
        ],
    ),
    "citizen": lambda hub: Journey(
        "citizen",
        [
            "/me",
            "/my-data",
            "/",
            "/datasets/household-electricity",
            "/query",
            "/testbed",
            "/notifications",
            "/audit",
            "/tokens",
            "/organizations",
            "/developers",
            # What a citizen cannot do, each page says so (and names no feature that is not there).
            "/projects",
            f"/projects/{hub.project_id}",
            "/jobs",
            "/dp",
            "/linkage",
        ],
        refused=[
            "/requests",
            "/reviews",
            "/credits",
            "/datasets/new",
            "/datasets/patient-visits/upload",
            *_job_pages(hub),
            f"/agreements/{hub.agreement_id}",
            "/hub",
        ],
    ),
    "operator": lambda hub: Journey(
        "operator",
        [
            "/hub",
            "/hub/organizations",
            "/hub/organizations/kepco",
            "/hub/users",
            "/",
            "/organizations",
            "/requests",
            "/reviews",
            "/jobs",
            "/credits",
            "/audit",
            "/notifications",
            "/testbed",
            *_job_pages(hub),
            f"/projects/{hub.project_id}",
            f"/agreements/{hub.agreement_id}",
            "/datasets/new",
            "/datasets/patient-visits",
            "/datasets/patient-visits/upload",
            "/datasets/patient-visits/edit",
            "/query",
            "/dp",
            "/linkage",
            "/tokens",
            "/me",
        ],
        refused=["/hub/organizations/no-such-organization"],
    ),
}


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action^='/login'] button[type=submit]").click()
    expect(page.locator(".whoami")).to_contain_text(username)


_LINKS_JS = """() => [...document.querySelectorAll('a[href]:not([href^="#"])')]
  .map((a) => new URL(a.getAttribute('href'), document.baseURI))
  .filter((u) => u.origin === location.origin && !u.pathname.startsWith('/lang/'))
  .map((u) => u.pathname + u.search)"""


def _look(page: Page, journey: Journey, lang: str) -> None:
    """Check the page as it is, wide and then on a phone (leaves the viewport at phone width)."""
    for link in page.evaluate(_LINKS_JS):
        journey.links.setdefault(link, page.url)
    for width in (WIDE, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        journey.problems.extend(check_page(page, lang=lang))
        if width == PHONE and tables_scrolling_in_their_box(page):
            journey.scrolled_tables.add(f"{lang} {page.url}")
        where = re.sub(r"[^a-z0-9]+", "-", page.url.split("//", 1)[-1].partition("/")[2])
        journey.screenshot(page, f"{journey.role}-{lang}-{width}-{where.strip('-') or 'home'}")


def _visit(page: Page, journey: Journey, path: str, lang: str, *, refused: bool = False) -> None:
    response = page.goto(path)
    assert response is not None
    if not refused and response.status >= 400:
        journey.problems.append(Problem(page.url, 0, f"answered {response.status}"))
    if refused:
        if not 400 <= response.status < 500:
            journey.problems.append(Problem(page.url, 0, f"answered {response.status}, not 4xx"))
        if "text/html" not in (response.headers.get("content-type") or ""):
            journey.problems.append(Problem(page.url, 0, "the refusal is not a page"))
            return
        reason = page.locator(".error-page .error-message")
        if not reason.count() or not reason.first.inner_text().strip():
            journey.problems.append(Problem(page.url, 0, "the error page says no reason"))
    _look(page, journey, lang)


def _menu_folds_on_a_phone(page: Page, journey: Journey) -> None:
    """At 390 px the navigation hides behind "Menu" and opens with it; at 1280 px it shows."""
    page.set_viewport_size({"width": PHONE, "height": 900})
    catalog = page.locator("nav .nav a[href='/']")
    menu = page.locator("details.nav-menu > summary")
    expect(menu).to_be_visible()
    expect(catalog).to_be_hidden()
    menu.click()
    expect(catalog).to_be_visible()
    _look(page, journey, page.evaluate("() => document.documentElement.lang"))
    menu.click()
    expect(catalog).to_be_hidden()
    page.set_viewport_size({"width": WIDE, "height": 900})
    expect(menu).to_be_hidden()
    expect(catalog).to_be_visible()


def _links_lead_somewhere(page: Page, journey: Journey) -> None:
    """No page links to an address that is not there (a feature that does not exist)."""
    for link, seen_on in sorted(journey.links.items()):
        response = page.request.get(link, max_redirects=0)
        if response.status == 404:
            journey.problems.append(Problem(seen_on, 0, f"links to {link}, which answers 404"))


def _citizen_sees_what_they_can_do(page: Page) -> None:
    """A citizen is offered no project, job, DP or linkage work (none is open to them); the
    pages that would hold them say why and point to what the hub holds about them."""
    page.goto("/")
    for path in ("/projects", "/jobs", "/dp", "/linkage"):
        expect(page.locator(f"nav .nav a[href='{path}']")).to_have_count(0)
    expect(page.locator("nav .nav a[href='/me']")).to_have_count(1)
    page.goto("/projects")
    expect(page.locator("#citizen-projects a[href='/me']")).to_be_visible()
    expect(page.locator("form[action='/projects']")).to_have_count(0)
    page.goto("/jobs")
    expect(page.locator("#citizen-jobs a[href='/me']")).to_be_visible()
    expect(page.locator("#job-form")).to_have_count(0)
    page.goto("/me")
    expect(page.locator("#me-audit")).to_be_visible()
    expect(page.locator("#me-not-held")).to_be_visible()
    # What they may do with their own data: donate it (My Data), from their record too.
    expect(page.locator("nav .nav a[href='/my-data']")).to_have_count(1)
    expect(page.locator("#me-my-data a[href='/my-data']")).to_be_visible()


# What the server says back to a form, read in both languages and widths ---------------------

UPLOAD = "/datasets/household-electricity/upload"
BAD_READINGS = b"meter_id,kwh\nM1,0.5\nM2,lots\n"
READINGS_SCHEMA = (
    '{"fields": [{"name": "meter_id", "type": "string"}, {"name": "kwh", "type": "number"}]}'
)


def _send(page: Page, journey: Journey, lang: str, form: str, shown: str) -> None:
    """Submit ``form`` (already filled in), wait for ``shown`` and look at the answer."""
    page.locator(f"{form} button[type=submit]").first.click()
    expect(page.locator(shown).first).to_be_visible()
    _look(page, journey, lang)
    page.set_viewport_size({"width": WIDE, "height": 900})


def _wrong_password(page: Page, journey: Journey, lang: str) -> None:
    page.goto("/login")
    page.locator("#username").fill("researcher")
    page.locator("#password").fill("not-the-password")
    _send(page, journey, lang, "form[action^='/login']", "main .error")


def _steward_forms(page: Page, journey: Journey, lang: str) -> None:
    """An upload's validation report, a broken schema and column classes, a dataset form with
    a bad e-mail and dates the wrong way round, an API token that would never expire."""
    page.goto(UPLOAD)
    page.set_input_files(
        "#file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_READINGS}]
    )
    page.locator("#schema").fill(READINGS_SCHEMA)
    _send(page, journey, lang, "#upload-form", "table.report")
    page.goto(UPLOAD)
    page.set_input_files(
        "#file", files=[{"name": "ok.csv", "mimeType": "text/csv", "buffer": b"meter_id\nM1\n"}]
    )
    page.locator("#schema").fill('{"fields": [')
    _send(page, journey, lang, "#upload-form", "#upload-error")
    page.goto(UPLOAD)
    page.set_input_files(
        "#file", files=[{"name": "ok.csv", "mimeType": "text/csv", "buffer": b"meter_id\nM1\n"}]
    )
    page.locator("#column_classes").fill("meter_id direct_identifier")
    _send(page, journey, lang, "#upload-form", "#upload-error")
    page.goto("/datasets/new")
    page.locator("#title").fill("Street lights")
    page.locator("#temporal_start").fill("2026-12-31")
    page.locator("#temporal_end").fill("2026-01-01")
    page.locator("#contact_email").fill("nobody")
    page.evaluate("() => document.querySelector('#contact_email').type = 'text'")
    _send(page, journey, lang, "form[action='/datasets/new']", "#form-errors")


def _researcher_forms(page: Page, journey: Journey, lang: str) -> None:
    """A job the hub refuses (not an archive) and a SQL syntax error."""
    page.goto("/jobs")
    page.locator("#job-bundle").set_input_files(
        files=[{"name": "job.zip", "mimeType": "application/zip", "buffer": b"not a zip"}]
    )
    page.locator("#job-entrypoint").fill("main.py")
    page.locator("#job-datasets").select_option("household-electricity")
    _send(page, journey, lang, "#job-form", "#form-error")
    page.goto("/query")
    page.locator("#sql").fill('SELECT meter_id FROM "household-electricity" WHERE')
    page.locator("#run-query").click()
    expect(page.locator("main .error").first).to_be_visible()
    _look(page, journey, lang)


def _results_before_facets_on_a_phone(page: Page) -> None:
    page.goto("/")
    page.set_viewport_size({"width": PHONE, "height": 900})
    results = page.locator(".results-area").bounding_box()
    facets = page.locator(".facets").bounding_box()
    assert results is not None
    assert facets is not None
    assert results["y"] < facets["y"], "on a phone the catalog's results come before its facets"
    page.set_viewport_size({"width": WIDE, "height": 900})
    results = page.locator(".results-area").bounding_box()
    facets = page.locator(".facets").bounding_box()
    assert results is not None
    assert facets is not None
    assert facets["x"] < results["x"], "on a wide screen the facets stand left of the results"


def _researcher_queries(page: Page, journey: Journey, lang: str) -> None:
    """A result table and a refusal, both read at both widths."""
    page.goto("/query")
    page.locator("#sql").fill('SELECT * FROM "household-electricity" ORDER BY meter_id')
    page.locator("#run-query").click()
    expect(page.locator("main table").first).to_contain_text("M001")
    _look(page, journey, lang)
    page.goto("/query")
    page.locator("#sql").fill('SELECT * FROM "patient-visits"')
    page.locator("#run-query").click()
    expect(page.locator("main .error").first).to_be_visible()
    _look(page, journey, lang)


def _opens_each_notification(page: Page, journey: Journey, lang: str) -> None:
    """Every notification leads to a page (never JSON, never a 404)."""
    page.goto("/notifications")
    links = page.locator("ul.notifications a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    if not hrefs and journey.role in ("researcher", "reviewer"):
        journey.problems.append(Problem(page.url, 0, "no notification to open"))
    for href in hrefs:
        assert href is not None
        _visit(page, journey, href, lang)


@pytest.mark.parametrize("role", list(JOURNEYS))
def test_role_journey(
    role: str, browser: Browser, hub: Hub, screenshot: Callable[[Page, str], None]
) -> None:
    journey = JOURNEYS[role](hub)
    journey.role, journey.screenshot = role, screenshot
    context = browser.new_context(base_url=hub.url, locale="en-US")
    page = context.new_page()
    try:
        if journey.username is not None:
            _sign_in(page, journey.username)
        for lang in LANGUAGES:
            page.set_viewport_size({"width": WIDE, "height": 900})
            page.goto(f"/lang/{lang}?next=/")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            if journey.username is None:
                expect(page.locator(".header-tools")).to_contain_text(SIGN_IN[lang])
            _menu_folds_on_a_phone(page, journey)
            for path in journey.paths:
                _visit(page, journey, path, lang)
            for path in journey.refused:
                _visit(page, journey, path, lang, refused=True)
            if role == "anonymous":
                _results_before_facets_on_a_phone(page)
                _wrong_password(page, journey, lang)
            if role == "steward":
                _steward_forms(page, journey, lang)
            if role == "researcher":
                _researcher_forms(page, journey, lang)
            if role == "researcher":
                _researcher_queries(page, journey, lang)
            if role != "anonymous":
                _opens_each_notification(page, journey, lang)
            if role == "citizen":
                _citizen_sees_what_they_can_do(page)
        _links_lead_somewhere(page, journey)
    finally:
        context.close()
    if role in ("researcher", "operator"):
        # Not a vacuous pass: their pages hold tables wider than a phone (a query's result,
        # the audit trail), and each of those scrolled inside its box in both languages.
        for lang in LANGUAGES:
            if not any(seen.startswith(lang) for seen in journey.scrolled_tables):
                journey.problems.append(Problem("", PHONE, f"no table wider than a phone ({lang})"))
    problems = [str(p) for p in journey.problems]
    assert not problems, f"{role}: {len(problems)} problems:\n" + "\n".join(problems)
