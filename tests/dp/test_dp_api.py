"""The DP door over HTTP: a researcher quotes and releases; a steward sets budgets and sees
each project's spending."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.dp.conftest import SURVEY, Budgets
from tests.query.conftest import City

REQUEST = {
    "dataset": SURVEY,
    "group_by": ["district"],
    "measures": [{"kind": "count"}, {"kind": "quantile", "column": "income", "q": 0.5}],
    "epsilon": 0.5,
}


def test_a_researcher_quotes_then_releases_over_http(
    client: TestClient, city: City, budgets: Budgets
) -> None:
    project = budgets(project=2)
    member = city.cast.headers("member")
    quoted = client.post("/api/v1/dp/quote", json={**REQUEST, "project": project}, headers=member)
    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert body["epsilon"] == 0.5
    assert [m["mechanism"].split(" ")[0] for m in body["measures"]] == ["discrete", "exponential"]
    released = client.post("/api/v1/dp/release", json={"token": body["token"]}, headers=member)
    assert released.status_code == 200, released.text
    assert released.json()["columns"] == ["district", "count", "quantile(income, 0.5)"]
    assert {b["scope"]: b["left"] for b in released.json()["balances"]}[f"project:{project}"] == 1.5


def test_the_profile_is_public_and_the_ledger_is_the_stewards(
    client: TestClient, city: City, budgets: Budgets
) -> None:
    project = budgets(project=2)
    profile = client.get(f"/api/v1/datasets/{SURVEY}/dp/profile")
    assert profile.status_code == 200
    assert profile.json()["keys"]["district"] == ["Buk", "Seo", "Nam"]
    assert (
        client.get(
            f"/api/v1/datasets/{SURVEY}/dp/budgets", headers=city.cast.headers("member")
        ).status_code
        == 403
    )
    steward = city.cast.headers("steward_of_publisher")
    changed = client.put(
        f"/api/v1/datasets/{SURVEY}/dp/budgets",
        json={"project": project, "epsilon": 4},
        headers=steward,
    )
    assert changed.status_code == 200, changed.text
    ledger = client.get(f"/api/v1/datasets/{SURVEY}/dp/budgets", headers=steward).json()
    assert {b["scope"]: b["cap"] for b in ledger} == {
        "dataset": 1000.0,
        f"project:{project}": 4.0,
    }


def test_a_refusal_over_http_says_what_is_left(
    client: TestClient, city: City, budgets: Budgets
) -> None:
    project = budgets(project=0.4)
    member = city.cast.headers("member")
    token = client.post(
        "/api/v1/dp/quote", json={**REQUEST, "project": project}, headers=member
    ).json()["token"]
    refused = client.post("/api/v1/dp/release", json={"token": token}, headers=member)
    assert refused.status_code == 403
    assert "0.4 left" in refused.text
