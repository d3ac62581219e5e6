"""``/me`` tells a citizen what they donated (My Data) and leads to ``/my-data``; a citizen who
donated nothing is told what donating is; nobody is told donating does not exist."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.mydata.conftest import DONORS, DonorCity

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings


def _me(api: TestClient, db: Session, settings: Settings, user_id: int | None, lang: str) -> str:
    user = db.get(User, user_id)
    assert user is not None
    cookie, _csrf = account_actions.start_web_session(db, settings=settings, user=user)
    api.cookies.set(SESSION_COOKIE, cookie)
    response = api.get("/me", params={"lang": lang})
    assert response.status_code == 200
    return response.text


def _section(html: str) -> str:
    return html.split('id="me-my-data"', 1)[1].split("</section>", 1)[0]


def test_a_donor_sees_what_they_donated_and_where_to_manage_it(
    api: TestClient, db: Session, settings: Settings, town: DonorCity
) -> None:
    html = _me(api, db, settings, town.citizens[0].user_id, "en")
    section = _section(html)
    assert "Donations you keep on the hub: 1; consents in force: 1." in section
    assert 'href="/my-data"' in section
    assert "cannot donate" not in html
    korean = _section(_me(api, db, settings, town.citizens[0].user_id, "ko"))
    assert "허브에 맡긴 기부: 1건, 유효한 동의: 1건." in korean


def test_a_citizen_who_donated_nothing_is_told_what_donating_is(
    api: TestClient, db: Session, settings: Settings, town: DonorCity
) -> None:
    section = _section(_me(api, db, settings, town.citizens[DONORS].user_id, "en"))
    assert "You have not donated anything." in section
    assert 'href="/my-data"' in section


def test_only_citizens_are_shown_my_data(
    api: TestClient, db: Session, settings: Settings, town: DonorCity
) -> None:
    html = _me(api, db, settings, town.hub_steward.user_id, "en")
    assert 'id="me-my-data"' not in html
    assert 'id="me-not-held"' in html
