"""The steward's pages: held uploads and the choice, identical re-uploads, the edit page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_city import City
from web_city import sign_in as _sign_in

BAD_METERS = (
    "meter_id,district,hour,kwh,read_on\n"
    "M1,Dong-gu,1,0.5,2026-11-29\n"
    "M2,Seo-gu,2,0.7,2026-11-31\n"
    "M3,Nam-gu,3,not-a-number,2026-12-01\n"
    "M4,Buk-gu,4,1.5,2026-12-02\n"
)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in as ``username``, leaving whoever was signed in before."""
    client.cookies.clear()
    return _sign_in(client, username)


def _versions(client: TestClient) -> list[int]:
    dataset = client.get("/api/v1/datasets/household-electricity").json()
    return [v["number"] for v in dataset["versions"]]


def _upload(client: TestClient, csrf: str, content: bytes, name: str = "meters.csv") -> object:
    return client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf},
        files={"file": (name, content)},
    )


def _run_id(url: object) -> int:
    return int(str(url).rstrip("/").rsplit("/", 1)[-1])


def test_an_upload_with_bad_cells_shows_them_and_waits_for_a_choice(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    response = _upload(client, csrf, BAD_METERS.encode())
    assert response.status_code == 200  # type: ignore[attr-defined]
    page = response.text  # type: ignore[attr-defined]
    assert "/ingest-runs/" in str(response.url)  # type: ignore[attr-defined]
    assert 'id="text-fallbacks"' in page
    assert "2026-11-31" in page
    assert "not-a-number" in page
    assert 'id="publish-as-text"' in page
    assert 'id="discard-upload"' in page
    assert _versions(client) == [1]


def test_publishing_as_text_from_the_page_makes_the_version(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    run = _run_id(_upload(client, csrf, BAD_METERS.encode()).url)  # type: ignore[attr-defined]
    response = client.post(f"/ingest-runs/{run}/publish", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert 'id="ingest-version"' in response.text
    assert 'id="publish-as-text"' not in response.text
    assert _versions(client) == [2, 1]
    again = client.post(f"/ingest-runs/{run}/publish", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert 'id="choice-error"' in again.text
    assert _versions(client) == [2, 1]


def test_discarding_from_the_page_publishes_nothing(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    run = _run_id(_upload(client, csrf, BAD_METERS.encode()).url)  # type: ignore[attr-defined]
    response = client.post(f"/ingest-runs/{run}/discard", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert 'id="ingest-discarded"' in response.text
    assert _versions(client) == [1]


def test_the_choice_needs_the_csrf_token_and_the_publishers_steward(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    run = _run_id(_upload(client, csrf, BAD_METERS.encode()).url)  # type: ignore[attr-defined]
    forged = client.post(
        f"/ingest-runs/{run}/publish",
        data={"csrf_token": "forged"},
        headers={"accept": "text/html"},
    )
    assert forged.status_code == 403
    other = sign_in(client, "cnuh")
    refused = client.post(f"/ingest-runs/{run}/publish", data={"csrf_token": other})
    assert refused.status_code == 404
    assert _versions(client) == [1]


def test_an_identical_upload_shows_a_notice_and_makes_no_version(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    content = b"meter_id,district,hour,kwh\nM9,Dong-gu,5,0.3\n"
    assert _upload(client, csrf, content).status_code == 200  # type: ignore[attr-defined]
    response = _upload(client, csrf, content)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert 'id="upload-notice"' in response.text  # type: ignore[attr-defined]
    assert "identical to version 2" in response.text  # type: ignore[attr-defined]
    assert _versions(client) == [2, 1]


def test_the_identical_upload_notice_is_in_korean(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    content = b"meter_id,district,hour,kwh\nM9,Dong-gu,5,0.3\n"
    _upload(client, csrf, content)
    client.cookies.set("lang", "ko")
    response = _upload(client, csrf, content)
    assert "똑같은 파일" in response.text  # type: ignore[attr-defined]


def test_the_upload_form_carries_its_failure_messages_for_the_progress_bar(
    client: TestClient, city: City
) -> None:
    sign_in(client, "kepco")
    page = client.get("/datasets/household-electricity/upload").text
    assert 'data-error-network="' in page
    assert 'data-error-status="The upload failed ({status}).' in page


# The edit page -----------------------------------------------------------------------------


def _edit_form(client: TestClient) -> dict[str, str]:
    page = client.get("/datasets/household-electricity/edit").text
    fields = dict(re.findall(r'<input[^>]* name="([^"]+)"[^>]* value="([^"]*)"', page))
    for name in ("description", "description_ko"):
        found = re.search(rf'<textarea[^>]* name="{name}"[^>]*>([^<]*)</textarea>', page)
        fields[name] = found.group(1) if found else ""
    for name, value in re.findall(
        r'<select[^>]* name="([^"]+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]*)"[^>]*'
        r"selected",
        page,
        flags=re.S,
    ):
        fields[name] = value
    return fields


def test_only_stewards_of_the_publisher_and_operators_see_the_edit_page(
    client: TestClient, city: City
) -> None:
    assert client.get("/datasets/household-electricity/edit").status_code in (401, 303, 200)
    sign_in(client, "researcher")
    assert client.get("/datasets/household-electricity/edit").status_code == 403
    sign_in(client, "cnuh")
    assert client.get("/datasets/household-electricity/edit").status_code == 403
    sign_in(client, "operator")
    assert client.get("/datasets/household-electricity/edit").status_code == 200
    sign_in(client, "kepco")
    page = client.get("/datasets/household-electricity/edit").text
    assert 'name="class:meter_id"' in page
    assert "LicenseRef-KOGL-Type1" in page


def test_a_steward_edits_metadata_licence_access_and_thresholds(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    form = _edit_form(client)
    form.update(
        {
            "csrf_token": csrf,
            "title": "Household electricity, hourly",
            "description_ko": "새 설명",
            "keywords": "electricity, 전력",
            "licence": "LicenseRef-KOGL-Type1",
            "access_level": "restricted",
            "min_group_size": "20",
            "dominance_k": "0.8",
        }
    )
    response = client.post("/datasets/household-electricity/edit", data=form)
    assert response.status_code == 200, response.text
    assert 'id="edit-saved"' in response.text
    sign_in(client, "operator")
    dataset = client.get("/api/v1/datasets/household-electricity").json()
    assert dataset["title"] == "Household electricity, hourly"
    assert dataset["description_ko"] == "새 설명"
    assert dataset["keywords"] == ["electricity", "전력"]
    assert (dataset["licence"], dataset["access_level"]) == ("LicenseRef-KOGL-Type1", "restricted")
    assert (dataset["min_group_size"], dataset["dominance_k"]) == (20, 0.8)
    audit = client.get("/api/v1/audit", params={"action": "dataset.updated"}).json()
    entries = audit["items"] if isinstance(audit, dict) else audit
    assert any("licence" in e["detail"]["fields"] for e in entries)


def test_a_licence_not_in_the_list_is_refused_and_nothing_changes(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    form = _edit_form(client)
    form.update({"csrf_token": csrf, "licence": "WTFPL", "title": "Changed"})
    response = client.post("/datasets/household-electricity/edit", data=form)
    assert response.status_code == 422
    assert 'id="form-errors"' in response.text
    dataset = client.get("/api/v1/datasets/household-electricity").json()
    assert (dataset["title"], dataset["licence"]) == (
        "Hourly household electricity use",
        "CC-BY-4.0",
    )


def test_changing_a_column_class_publishes_the_same_rows_as_a_new_version(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    form = _edit_form(client)
    assert form["class:meter_id"] == "quasi_identifier"
    form.update({"csrf_token": csrf, "class:meter_id": "direct_identifier"})
    response = client.post("/datasets/household-electricity/edit", data=form)
    assert response.status_code == 200, response.text
    assert _versions(client) == [2, 1]
    first = client.get("/api/v1/datasets/household-electricity/versions/1").json()
    second = client.get("/api/v1/datasets/household-electricity/versions/2").json()
    assert second["row_count"] == first["row_count"]
    classes = {f["name"]: f["classification"] for f in second["table_schema"]["fields"]}
    assert classes["meter_id"] == "direct_identifier"
    assert "Column classes changed from version 1" in second["note"]
    # Saving again without changes makes no version.
    again = _edit_form(client)
    again["csrf_token"] = csrf
    client.post("/datasets/household-electricity/edit", data=again)
    assert _versions(client) == [2, 1]


def test_an_unknown_column_class_is_refused(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    form = _edit_form(client)
    form.update({"csrf_token": csrf, "class:meter_id": "secret-ish"})
    response = client.post("/datasets/household-electricity/edit", data=form)
    assert response.status_code == 422
    assert _versions(client) == [1]


def test_the_edit_page_needs_the_csrf_token(client: TestClient, city: City) -> None:
    sign_in(client, "kepco")
    form = _edit_form(client)
    form.update({"csrf_token": "forged", "title": "Forged"})
    response = client.post(
        "/datasets/household-electricity/edit", data=form, headers={"accept": "text/html"}
    )
    assert response.status_code == 403
    assert client.get("/api/v1/datasets/household-electricity").json()["title"] != "Forged"


def test_a_failed_uploads_report_is_shown_in_the_readers_language(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    failed = _upload(client, csrf, b"meter_id,kwh\nM1,1\nM2\n")
    assert failed.status_code == 422  # type: ignore[attr-defined]
    runs = client.get("/api/v1/datasets/household-electricity/ingest-runs").json()
    run = runs[0]["id"]
    english = client.get(f"/ingest-runs/{run}").text
    assert "Row 3 has 1 cells; the header has 2." in english
    client.cookies.set("lang", "ko")
    korean = client.get(f"/ingest-runs/{run}").text
    assert "3행의 칸은 1개인데 머리글은 2개입니다." in korean
    assert "Row 3 has 1 cells" not in korean
    listed = client.get(
        "/api/v1/datasets/household-electricity/ingest-runs", headers={"Accept-Language": "ko"}
    ).json()
    assert "머리글" in listed[0]["error_report"]["errors"][0]["message"]
