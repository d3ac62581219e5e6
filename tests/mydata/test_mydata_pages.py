"""My Data's pages, in English and Korean: a donor previews, donates with a consent, sees a use
and withdraws with one click; others cannot reach a donor's consent; operators start campaigns."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import WHO
from tests.mydata.conftest import DONORS, MONTHS, POOL, SOURCE, Ask, DonorCity, consent_of, kwh

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings


def _sign_in(api: TestClient, db: Session, settings: Settings, user_id: int | None) -> str:
    user = db.get(User, user_id)
    assert user is not None
    cookie, csrf = account_actions.start_web_session(db, settings=settings, user=user)
    api.cookies.set(SESSION_COOKIE, cookie)
    return csrf


def test_a_citizen_donates_sees_a_use_and_withdraws_on_the_pages(
    api: TestClient, db: Session, settings: Settings, town: DonorCity, ask: Ask
) -> None:
    citizen = town.citizens[DONORS]
    csrf = _sign_in(api, db, settings, citizen.user_id)
    home = api.get("/my-data")
    assert home.status_code == 200
    assert 'id="nav-my-data"' in home.text
    assert "no-donations" in home.text
    source = api.get(f"/my-data/sources/{SOURCE}")
    assert str(kwh(DONORS, MONTHS[0])) in source.text
    donated = api.post(
        f"/my-data/sources/{SOURCE}/donate",
        data={
            "csrf_token": csrf,
            "items": ["district", "month", "kwh"],
            "drop": ["1"],
            "purposes": ["academic-research"],
            "tier": "aggregates",
            "days": "30",
            "retention_days": "0",
        },
        follow_redirects=False,
    )
    assert donated.status_code == 303, donated.text
    ask(f'SELECT count(*) AS n FROM "{POOL}"')
    page = api.get("/my-data?notice=donated").text
    assert 'id="mydata-notice"' in page
    assert len(re.findall(r'<tr class="use">', page)) == 1
    consent = re.search(r'id="withdraw-(\d+)"', page)
    assert consent is not None
    withdrawn = api.post(
        f"/my-data/consents/{consent.group(1)}/withdraw",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    # The page the withdrawal leads to says what it does not undo, in English and Korean.
    landing = api.get(withdrawn.headers["location"]).text
    assert "are not recalled" in landing
    assert "approved job outputs" in landing
    landing_ko = api.get(withdrawn.headers["location"] + "&lang=ko").text
    assert "회수되지 않습니다" in landing_ko
    assert "철회 전에 학습된 모델" in landing_ko
    ask(f'SELECT count(*) AS n FROM "{POOL}"')
    after = api.get("/my-data").text
    assert len(re.findall(r'<tr class="use">', after)) == 1
    assert "Withdrawn" in after
    receipt = re.search(r'href="(/my-data/receipts/\d+)"', after)
    assert receipt is not None
    document = api.get(receipt.group(1))
    assert document.headers["content-type"].startswith("application/ld+json")
    korean = api.get("/my-data?lang=ko").text
    assert "내 데이터의 모든 이용" in korean


def test_a_donation_without_a_purpose_is_refused_on_the_page_with_the_reason(
    api: TestClient, db: Session, settings: Settings, town: DonorCity
) -> None:
    csrf = _sign_in(api, db, settings, town.citizens[DONORS].user_id)
    refused = api.post(
        f"/my-data/sources/{SOURCE}/donate",
        data={"csrf_token": csrf, "items": ["kwh"]},
    )
    assert refused.status_code == 422
    assert 'id="mydata-error"' in refused.text
    assert "purposes" in refused.text
    assert "no-donations" in api.get("/my-data").text


def test_the_pages_send_anonymous_visitors_to_sign_in(api: TestClient, town: DonorCity) -> None:
    for path in ("/my-data", f"/my-data/sources/{SOURCE}"):
        response = api.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
    assert api.get("/my-data/campaigns").status_code == 200


@pytest.mark.parametrize("who", [w for w in WHO if w != "anonymous"])
def test_nobody_else_withdraws_a_donors_consent_on_the_pages(
    api: TestClient, db: Session, settings: Settings, town: DonorCity, who: str
) -> None:
    csrf = _sign_in(api, db, settings, town.cast.actors[who].user_id)
    consent = consent_of(db, town, 0)
    response = api.post(f"/my-data/consents/{consent}/withdraw", data={"csrf_token": csrf})
    assert response.status_code == 404
    page = api.get("/my-data").text
    assert f'id="consent-{consent}"' not in page
    campaign = api.post(
        "/my-data/campaigns",
        data={
            "csrf_token": csrf, "slug": f"c-{who.replace('_', '-')}", "source": SOURCE,
            "purpose": "health-research", "target_donors": "10", "title": "T", "title_ko": "티",
            "explanation": "E", "explanation_ko": "이", "starts_on": "2026-12-01",
            "ends_on": "2027-01-01",
        },
        follow_redirects=False,
    )  # fmt: skip
    assert campaign.status_code == (303 if who == "operator" else 403)


def test_a_withdrawal_without_the_csrf_token_is_refused(
    api: TestClient, db: Session, settings: Settings, town: DonorCity
) -> None:
    _sign_in(api, db, settings, town.citizens[0].user_id)
    consent = consent_of(db, town, 0)
    response = api.post(f"/my-data/consents/{consent}/withdraw", data={})
    assert response.status_code == 403
    assert "Withdrawn" not in api.get("/my-data").text
