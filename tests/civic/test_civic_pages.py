"""The civic pages, in English and Korean: the list, the form (with a photo), a problem's page
and its forms, each refusal shown above the page with what was typed kept."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.catalog.conftest import Browser
from tests.civic.civic_city import CivicCity
from tests.civic.photo_files import GPS, jpeg_with_exif

from bitgoeul.civic.states import ProblemState

FORM = {
    "title": "Broken crossing light at Geumnam-ro",
    "description": "The pedestrian light at the crossing stays red for three minutes at night.",
    "district": "Dong-gu",
}


def test_the_list_shows_problems_in_both_languages(api: TestClient, civic: CivicCity) -> None:
    problem_id = civic.post()
    english = api.get("/civic?lang=en")
    assert english.status_code == 200
    assert "Power cuts every week in Nam-gu" in english.text
    assert f'href="/civic/problems/{problem_id}"' in english.text
    korean = api.get("/civic?lang=ko")
    assert "시민 문제" in korean.text
    assert "공감 모으는 중" in korean.text
    assert api.get("/civic?state=triage").text.count("/civic/problems/") == 0


def test_posting_from_the_form_keeps_no_photo_metadata(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    assert api.get("/civic/new", follow_redirects=False).status_code == 303
    csrf = browser("citizen")
    assert 'name="photos"' in api.get("/civic/new").text
    response = api.post(
        "/civic/problems",
        data={**FORM, "csrf_token": csrf},
        files=[("photos", ("crossing.jpg", jpeg_with_exif(), "image/jpeg"))],
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = api.get(response.headers["location"])
    assert "Your problem is posted" in page.text
    assert "Broken crossing light" in page.text
    src = page.text.split('<img src="', 1)[1].split('"', 1)[0]
    assert GPS not in api.get(src).content


def test_a_refused_form_shows_why_and_keeps_what_was_typed(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    csrf = browser("citizen")
    response = api.post(
        "/civic/problems",
        data={**FORM, "csrf_token": csrf},
        files=[("photos", ("fake.png", b"not an image at all", "image/png"))],
    )
    assert response.status_code == 422
    assert "not a JPEG or PNG" in response.text
    assert "three minutes at night" in response.text
    korean = api.post(
        "/civic/problems?lang=ko",
        data={**FORM, "csrf_token": csrf},
        files=[("photos", ("fake.png", b"not an image at all", "image/png"))],
    )
    assert "JPEG나 PNG 이미지가 아닙니다" in korean.text


def test_a_form_without_its_csrf_token_is_refused(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    browser("citizen")
    assert api.post("/civic/problems", data=FORM).status_code == 403


def test_residents_support_and_follow_from_the_page(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    problem_id = civic.post()
    csrf = browser("member")
    page = api.get(f"/civic/problems/{problem_id}")
    assert 'id="civic-support-button"' in page.text
    response = api.post(
        f"/civic/problems/{problem_id}/support", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    page = api.get(f"/civic/problems/{problem_id}?notice=supported")
    assert "your support is counted" in page.text
    assert 'id="civic-supported"' in page.text
    again = api.post(f"/civic/problems/{problem_id}/support", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "You already support problem" in again.text


def test_the_triage_form_is_the_operators_and_answers(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    problem_id = civic.post()
    civic.to_triage(problem_id)
    csrf = browser("member")
    assert 'id="civic-triage-form"' not in api.get(f"/civic/problems/{problem_id}").text
    refused = api.post(
        f"/civic/problems/{problem_id}/triage",
        data={"csrf_token": csrf, "decision": "accept", "department": "kepco"},
    )
    assert refused.status_code == 403
    csrf = browser("operator")
    page = api.get(f"/civic/problems/{problem_id}")
    assert 'id="civic-triage-form"' in page.text
    no_reason = api.post(
        f"/civic/problems/{problem_id}/triage", data={"csrf_token": csrf, "decision": "decline"}
    )
    assert no_reason.status_code == 422
    assert "reason" in no_reason.text
    api.post(
        f"/civic/problems/{problem_id}/triage",
        data={"csrf_token": csrf, "decision": "accept", "department": "kepco"},
    )
    assert civic.problem(problem_id).state == ProblemState.accepted


def test_the_challenge_page_shows_progress_computed_from_measurements(
    api: TestClient, browser: Browser, civic: CivicCity
) -> None:
    problem_id = civic.post()
    civic.to_triage(problem_id)
    civic.accept(problem_id)
    civic.agree(problem_id)
    civic.open_challenge(problem_id)
    csrf = browser("steward_of_publisher")
    api.post(
        f"/civic/problems/{problem_id}/pilot",
        data={"csrf_token": csrf, "description": "New feeders on three streets."},
    )
    page = api.get(f"/civic/problems/{problem_id}")
    assert "Not measured yet." in page.text
    assert 'id="civic-measure"' in page.text
    api.post(f"/civic/problems/{problem_id}/measure", data={"csrf_token": csrf})
    page = api.get(f"/civic/problems/{problem_id}?lang=ko")
    assert "목표까지 50 %" in page.text
    assert f'href="/testbed/civic-{problem_id}"' in page.text
    assert 'id="civic-measurements"' in page.text
