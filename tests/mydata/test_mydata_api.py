"""The My Data API, as each role: who may preview, donate, consent, withdraw, see uses, run
campaigns and read the counts; bad input answered with what to fix, nothing lost."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import WHO
from tests.mydata.conftest import DONORS, MONTHS, POOL, SOURCE, Ask, DonorCity, consent_of, kwh

from bitgoeul.catalog.models import AccessLevel  # noqa: F401  (the pool's level, in docs)

BASE = "/api/v1/mydata"


def test_sources_are_listed_for_everyone_with_whether_the_asker_is_connected(
    api: TestClient, town: DonorCity
) -> None:
    for who in WHO:
        response = api.get(f"{BASE}/sources", headers=town.headers(who))
        assert response.status_code == 200
        (source,) = response.json()
        assert source["slug"] == SOURCE
        assert source["pool"] == POOL
        assert source["connected"] is False
    mine = api.get(f"{BASE}/sources", headers=town.headers(0)).json()
    assert mine[0]["connected"] is True


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("anonymous", 401),
        ("citizen", 404),
        ("member", 404),
        ("steward_of_other_org", 404),
        ("steward_of_publisher", 404),
        ("operator", 404),
    ],
)
def test_only_a_resident_with_a_verified_identity_previews_records(
    api: TestClient, town: DonorCity, who: str, code: int
) -> None:
    response = api.get(f"{BASE}/sources/{SOURCE}/preview", headers=town.headers(who))
    assert response.status_code == code
    if code == 404:
        assert "not verified" in response.json()["detail"]


def test_a_preview_holds_exactly_the_residents_own_rows_of_the_items(
    api: TestClient, town: DonorCity
) -> None:
    body = api.get(f"{BASE}/sources/{SOURCE}/preview", headers=town.headers(7)).json()
    assert body["columns"] == ["district", "month", "kwh"]
    assert [row[2] for row in body["rows"]] == [kwh(7, m) for m in MONTHS]


def test_a_donation_drops_the_chosen_items_and_rows(
    api: TestClient, town: DonorCity, ask: Ask
) -> None:
    created = api.post(
        f"{BASE}/donations",
        json={
            "source": SOURCE,
            "items": ["month", "kwh"],
            "drop_rows": [0],
            "consent": {"purposes": ["academic-research"], "tier": "aggregates", "days": 30},
        },
        headers=town.headers(DONORS),
    )
    assert created.status_code == 201, created.text
    donation = created.json()
    assert donation["items"] == ["month", "kwh"]
    assert donation["row_count"] == len(MONTHS) - 1
    assert donation["dropped_rows"] == 1
    (consent,) = donation["consents"]
    assert consent["events"][0]["kind"] == "given"
    assert consent["events"][0]["receipt"] is not None
    total = ask(f'SELECT count(*) AS n FROM "{POOL}"')
    assert total.rows[0][0] == DONORS * len(MONTHS) + len(MONTHS) - 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"source": "nope"}, "no My Data source"),
        ({"source": SOURCE, "items": ["household_id"]}, "offers no item"),
        ({"source": SOURCE, "drop_rows": [99]}, "not in the preview"),
        ({"source": SOURCE, "drop_rows": [0, 1, 2]}, "Nothing is left"),
        ({"source": SOURCE, "items": []}, "at least one item"),
    ],
)
def test_a_bad_donation_says_what_to_fix_and_keeps_nothing(
    api: TestClient, town: DonorCity, body: dict[str, object], fragment: str
) -> None:
    response = api.post(f"{BASE}/donations", json=body, headers=town.headers(DONORS + 1))
    assert response.status_code in (404, 422), response.text
    assert fragment in response.json()["detail"]
    assert api.get(f"{BASE}/donations", headers=town.headers(DONORS + 1)).json() == []


def test_a_second_donation_from_one_source_is_refused(api: TestClient, town: DonorCity) -> None:
    response = api.post(f"{BASE}/donations", json={"source": SOURCE}, headers=town.headers(0))
    assert response.status_code == 409
    assert "already donate" in response.json()["detail"]


@pytest.mark.parametrize("who", WHO)
def test_nobody_else_withdraws_or_reads_a_donors_consent(
    api: TestClient, db: Session, town: DonorCity, who: str
) -> None:
    consent = consent_of(db, town, 0)
    response = api.post(f"{BASE}/consents/{consent}/withdraw", headers=town.headers(who))
    assert response.status_code == (401 if who == "anonymous" else 404)
    listed = api.get(f"{BASE}/donations", headers=town.headers(who))
    assert listed.status_code == (401 if who == "anonymous" else 200)
    if who != "anonymous":
        assert listed.json() == []
    assert api.get(f"{BASE}/uses", headers=town.headers(who)).status_code == (
        401 if who == "anonymous" else 200
    )


def test_a_donor_withdraws_once_and_sees_the_use_before_it(
    api: TestClient, db: Session, town: DonorCity, ask: Ask
) -> None:
    ask(f'SELECT count(*) AS n FROM "{POOL}"')
    uses = api.get(f"{BASE}/uses", headers=town.headers(0)).json()
    assert len(uses) == 1
    assert uses[0]["project"] == town.project_id
    assert uses[0]["door"] == "query"
    assert uses[0]["purpose"] == "academic-research"
    consent = consent_of(db, town, 0)
    withdrawn = api.post(f"{BASE}/consents/{consent}/withdraw", headers=town.headers(0))
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    # The response states that released results are not recalled, in English and Korean.
    assert "are not recalled" in withdrawn.json()["not_recalled"]
    assert "회수되지 않습니다" in withdrawn.json()["not_recalled_ko"]
    listed = api.get(f"{BASE}/donations", headers=town.headers(0)).json()
    [mine] = [c for d in listed for c in d["consents"] if c["id"] == consent]
    assert "are not recalled" in mine["not_recalled"]
    others = [c for d in listed for c in d["consents"] if c["status"] == "active"]
    assert all(c["not_recalled"] == "" for c in others)
    again = api.post(f"{BASE}/consents/{consent}/withdraw", headers=town.headers(0))
    assert again.status_code == 409
    ask(f'SELECT count(*) AS n FROM "{POOL}"')
    assert len(api.get(f"{BASE}/uses", headers=town.headers(0)).json()) == 1  # not the second


def test_a_receipt_fetched_from_the_api_verifies_and_a_changed_one_does_not(
    api: TestClient, db: Session, town: DonorCity
) -> None:
    donation = api.get(f"{BASE}/donations", headers=town.headers(1)).json()[0]
    receipt_id = donation["consents"][0]["events"][0]["receipt"]
    receipt = api.get(f"{BASE}/receipts/{receipt_id}", headers=town.headers(1)).json()
    assert api.get(f"{BASE}/receipts/{receipt_id}", headers=town.headers(2)).status_code == 404
    key = api.get(f"{BASE}/receipt-key").json()["public_key"]
    ok = api.post(
        f"{BASE}/receipts/verify", json={"document": receipt["document"], "public_key": key}
    ).json()
    assert ok["valid"] is True
    changed = {**receipt["document"], "bitgoeul:tier": "rows"}
    bad = api.post(f"{BASE}/receipts/verify", json={"document": changed}).json()
    assert bad["valid"] is False
    assert "changed" in bad["reason"]


@pytest.mark.parametrize("who", WHO)
def test_only_operators_start_campaigns_and_read_the_counts(
    api: TestClient, town: DonorCity, who: str
) -> None:
    campaign = {
        "slug": f"power-{who.replace('_', '-')}",
        "source": SOURCE,
        "purpose": "public-service-improvement",
        "target_donors": 100,
        "title": "Power for the elderly",
        "title_ko": "어르신을 위한 전력 데이터",
        "explanation": "Your meter readings help find elderly people living alone.",
        "explanation_ko": "전력 계량 기록은 홀로 사는 어르신을 찾는 데 쓰입니다.",
        "starts_on": "2026-12-01",
        "ends_on": "2027-03-01",
    }
    created = api.post(f"{BASE}/campaigns", json=campaign, headers=town.headers(who))
    counts = api.get(f"{BASE}/counts", headers=town.headers(who))
    if who == "operator":
        assert created.status_code == 201, created.text
        assert created.json()["donors"] == 0  # nobody chose that purpose yet
        assert counts.json() == {
            "donors": DONORS,
            "active_consents": DONORS,
            "donations": DONORS,
            "by_source": {SOURCE: DONORS},
        }
    else:
        assert created.status_code == (401 if who == "anonymous" else 403)
        assert counts.status_code == (401 if who == "anonymous" else 403)
    assert api.get(f"{BASE}/campaigns").status_code == 200


def test_an_uploaded_file_is_checked_by_the_same_ingest(api: TestClient, town: DonorCity) -> None:
    bad = api.post(
        f"{BASE}/donations/upload",
        data={"source": SOURCE},
        files={"file": ("meter.csv", b"district,month,kwh\nBuk,1,lots\n", "text/csv")},
        headers=town.headers(DONORS),
    )
    assert bad.status_code == 422
    assert api.get(f"{BASE}/donations", headers=town.headers(DONORS)).json() == []
    good = api.post(
        f"{BASE}/donations/upload",
        data={
            "source": SOURCE,
            "consent": '{"purposes": ["academic-research"], "tier": "jobs"}',
        },
        files={"file": ("meter.csv", b"district,month,kwh\nBuk,1,120\nBuk,2,130\n", "text/csv")},
        headers=town.headers(DONORS),
    )
    assert good.status_code == 201, good.text
    assert good.json()["origin"] == "upload"
    assert good.json()["row_count"] == 2
