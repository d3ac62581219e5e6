"""The server-rendered pages, without a browser: HTML answers, authorization, CSRF, language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.ingest.workbooks import METER_ROWS, XLSX_TYPE, xlsx_bytes
from web_city import City, csrf_token_in, sign_in


def test_home_lists_datasets_with_facets(client: TestClient, city: City) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Hourly household electricity use" in response.text
    assert "Outpatient visits" in response.text
    assert 'href="/?publisher=kepco"' in response.text


def test_search_filters_by_facet_and_text(client: TestClient, city: City) -> None:
    by_sector = client.get("/", params={"sector": "healthcare"})
    assert "Outpatient visits" in by_sector.text
    assert "Hourly household electricity use" not in by_sector.text
    by_korean = client.get("/", params={"q": "전력"})
    assert "Hourly household electricity use" in by_korean.text
    assert "Outpatient visits" not in by_korean.text


def test_unknown_facet_values_are_ignored_not_an_error(client: TestClient, city: City) -> None:
    response = client.get("/", params={"sector": "no-such-sector", "access_level": "x"})
    assert response.status_code == 200
    assert "Outpatient visits" in response.text


def test_dataset_page_shows_metadata_schema_and_versions(client: TestClient, city: City) -> None:
    response = client.get("/datasets/household-electricity")
    assert response.status_code == 200
    assert "meters.csv" in response.text
    assert "<code>kwh</code>" in response.text
    assert 'data-class="quasi_identifier">quasi-identifier</span>' in response.text


def test_column_classes_are_named_in_the_readers_language(client: TestClient, city: City) -> None:
    korean = client.get("/datasets/household-electricity", params={"lang": "ko"}).text
    schema = korean.split('<table class="schema">', 1)[1].split("</table>", 1)[0]
    assert 'data-class="quasi_identifier">준식별자</span>' in schema
    assert ">quasi_identifier<" not in schema


def test_anonymous_visitor_is_told_to_sign_in_to_preview(client: TestClient, city: City) -> None:
    response = client.get("/datasets/household-electricity")
    assert 'id="preview-refused"' in response.text
    assert "sign in to use registered data" in response.text
    assert "M001" not in response.text
    assert "/download?" not in response.text


def test_signed_in_researcher_sees_preview_profile_and_download(
    client: TestClient, city: City
) -> None:
    sign_in(client, "researcher")
    response = client.get("/datasets/household-electricity")
    assert "M001" in response.text
    assert 'class="chart"' in response.text
    assert "/datasets/household-electricity/download?format=csv" in response.text
    assert "/api/v1/datasets/household-electricity/download" not in response.text


def test_restricted_dataset_page_explains_its_access_level(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    response = client.get("/datasets/patient-visits")
    assert response.status_code == 200
    assert "needs an approved project agreement" in response.text
    assert 'id="preview-refused"' in response.text
    assert "Kim Minji" not in response.text


def test_missing_dataset_is_a_404_page(client: TestClient) -> None:
    response = client.get("/datasets/nothing-here", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "There is no dataset" in response.text
    assert "<html" in response.text


def test_the_korean_catalog_lists_each_dataset_with_its_korean_description(
    client: TestClient, city: City
) -> None:
    results = client.get("/", params={"lang": "ko"}).text.split('<ol class="results">', 1)[1]
    assert "광주 가구의 스마트 계량기 검침값입니다." in results
    assert "Smart-meter readings of Gwangju households." not in results
    english = client.get("/", params={"lang": "en"}).text.split('<ol class="results">', 1)[1]
    assert "Smart-meter readings of Gwangju households." in english


def test_korean_page_shows_korean_titles_and_interface(client: TestClient, city: City) -> None:
    response = client.get("/datasets/household-electricity", params={"lang": "ko"})
    assert '<html lang="ko">' in response.text
    assert "가구별 시간대 전력 사용량" in response.text
    assert "광주 가구의 스마트 계량기 검침값입니다." in response.text
    assert "데이터셋 정보" in response.text


def test_language_switch_sets_a_cookie_and_returns_to_the_page(
    client: TestClient, city: City
) -> None:
    response = client.get("/lang/ko", params={"next": "/organizations"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/organizations"
    assert client.cookies.get("lang") == "ko"
    assert "전남대학교병원" in client.get("/organizations").text


def test_language_switch_never_redirects_off_site(client: TestClient) -> None:
    response = client.get("/lang/en", params={"next": "//evil.example"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_organization_page_lists_its_datasets(client: TestClient, city: City) -> None:
    response = client.get("/organizations/kepco")
    assert response.status_code == 200
    assert "Hourly household electricity use" in response.text
    assert "Outpatient visits" not in response.text


def test_anonymous_visitor_cannot_see_the_upload_form(client: TestClient, city: City) -> None:
    response = client.get("/datasets/household-electricity/upload", headers={"accept": "text/html"})
    assert response.status_code == 401
    assert 'name="file"' not in response.text
    assert "/login?next=" in response.text


def test_steward_of_another_organization_gets_403(client: TestClient, city: City) -> None:
    sign_in(client, "cnuh")
    response = client.get("/datasets/household-electricity/upload", headers={"accept": "text/html"})
    assert response.status_code == 403
    assert 'name="file"' not in response.text


def test_steward_sees_the_upload_form(client: TestClient, city: City) -> None:
    sign_in(client, "kepco")
    response = client.get("/datasets/household-electricity/upload")
    assert response.status_code == 200
    assert 'name="file"' in response.text
    assert 'name="csrf_token"' in response.text


def test_form_post_without_csrf_token_is_refused(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    response = client.post("/tokens", data={"name": "no csrf"}, headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert "no csrf" not in client.get("/tokens").text


def test_login_form_without_its_cookie_token_is_refused(client: TestClient, city: City) -> None:
    response = client.post(
        "/login",
        data={"username": "researcher", "password": "demo", "csrf_token": "forged"},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 403


def test_wrong_password_shows_the_form_again(client: TestClient, city: City) -> None:
    form = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": "researcher",
            "password": "wrong",
            "csrf_token": csrf_token_in(form.text),
        },
    )
    assert response.status_code == 401
    assert "The username or password is wrong." in response.text


def test_token_is_shown_once_then_listed_and_revocable(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    created = client.post("/tokens", data={"name": "laptop", "csrf_token": csrf})
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    assert 'id="new-token-value">bgt_' in created.text
    listing = client.get("/tokens")
    assert "laptop" in listing.text
    assert "new-token-value" not in listing.text
    token_id = listing.text.split('action="/tokens/')[1].split("/revoke")[0]
    revoked = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200
    assert "revoked" in revoked.text


def test_steward_uploads_a_version_and_sees_its_ingest_run(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "note": "second batch"},
        files={"file": ("more.csv", b"meter_id,district,hour,kwh\nM9,Dong-gu,5,0.3\n")},
    )
    assert response.status_code == 200
    assert str(response.url).rsplit("/", 2)[-2] == "ingest-runs"
    assert 'id="ingest-version"' in response.text
    assert "version=2" in response.text


def test_steward_uploads_an_xlsx_workbook_and_it_becomes_a_version_with_its_rows(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "note": "from Excel"},
        files={"file": ("more.xlsx", xlsx_bytes(METER_ROWS), XLSX_TYPE)},
    )
    assert response.status_code == 200, response.text
    assert str(response.url).rsplit("/", 2)[-2] == "ingest-runs"
    assert "version=2" in response.text
    version = client.get("/api/v1/datasets/household-electricity/versions/2").json()
    assert (version["source_filename"], version["row_count"]) == ("more.xlsx", 3)
    preview = client.get("/api/v1/datasets/household-electricity/preview").json()
    assert preview["columns"] == ["meter_id", "district", "kwh"]
    assert [row[0] for row in preview["rows"]] == ["M-001", "M-002", "M-003"]


def test_an_upload_without_the_csrf_token_is_refused_and_publishes_nothing(
    client: TestClient, city: City
) -> None:
    sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"note": "forged"},
        files={"file": ("more.xlsx", xlsx_bytes(METER_ROWS), XLSX_TYPE)},
        headers={"accept": "text/html"},
    )
    assert response.status_code == 403
    assert "CSRF" in response.text
    dataset = client.get("/api/v1/datasets/household-electricity").json()
    assert [v["number"] for v in dataset["versions"]] == [1]


def test_bad_file_shows_the_validation_report(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    schema = (
        '{"fields": [{"name": "meter_id", "type": "string"},'
        ' {"name": "kwh", "type": "number", "constraints": {"minimum": 0}}]}'
    )
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "schema": schema},
        files={"file": ("bad.csv", b"meter_id,kwh\nM1,0.5\nM2,lots\nM3,-1\n")},
    )
    assert response.status_code == 422
    assert 'class="report"' in response.text
    assert "lots" in response.text


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_bad_schema_json_is_explained_on_the_form(
    client: TestClient, city: City, text: str
) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "schema": text},
        files={"file": ("ok.csv", b"meter_id,kwh\nM1,0.5\n")},
    )
    assert response.status_code == 422
    assert "The schema" in response.text


def test_steward_creates_a_dataset_from_the_form(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/new",
        data={
            "csrf_token": csrf,
            "title": "Grid outages",
            "title_ko": "배전 정전",
            "sector": "energy",
            "access_level": "open",
            "keywords": "grid, outage",
        },
    )
    assert response.status_code == 200
    assert str(response.url).endswith("/datasets/grid-outages/upload")
    assert client.get("/datasets/grid-outages").status_code == 200


def test_researcher_cannot_open_the_new_dataset_form(client: TestClient, city: City) -> None:
    sign_in(client, "researcher")
    response = client.get("/datasets/new", headers={"accept": "text/html"})
    assert response.status_code == 403


def test_pages_send_a_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_user_text_is_escaped(client: TestClient, city: City) -> None:
    response = client.get("/", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_ingest_run_page_is_hidden_from_other_stewards(client: TestClient, city: City) -> None:
    sign_in(client, "cnuh")
    response = client.get("/ingest-runs/1", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "meters.csv" not in response.text


def test_publisher_steward_sees_the_ingest_run_page(client: TestClient, city: City) -> None:
    sign_in(client, "kepco")
    response = client.get("/ingest-runs/1")
    assert response.status_code == 200
    assert "meters.csv" in response.text
    assert 'data-run-url="/api/v1/ingest-runs/1"' in response.text


def test_unknown_address_is_a_404_page_that_still_knows_who_is_signed_in(
    client: TestClient, city: City
) -> None:
    sign_in(client, "researcher")
    response = client.get("/no/such/page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Signed in as researcher" in response.text


def test_sign_out_ends_the_session(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 200
    assert "Signed in as" not in response.text
    assert client.get("/tokens", headers={"accept": "text/html"}).status_code == 401


def test_taken_dataset_name_is_explained_on_the_form(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/new",
        data={
            "csrf_token": csrf,
            "slug": "household-electricity",
            "title": "Again",
            "sector": "energy",
        },
    )
    assert response.status_code == 422
    assert "exists already" in response.text
    assert 'value="Again"' in response.text


def test_column_classes_typed_one_per_line_reach_the_schema(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "column_classes": "meter_id = direct_identifier\n"},
        files={"file": ("again.csv", b"meter_id,kwh\nM1,0.5\n")},
    )
    assert response.status_code == 200
    page = client.get("/datasets/household-electricity", params={"version": 2})
    assert "class-direct_identifier" in page.text


def test_a_column_classes_line_without_equals_is_explained(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "kepco")
    response = client.post(
        "/datasets/household-electricity/upload",
        data={"csrf_token": csrf, "column_classes": "meter_id direct_identifier"},
        files={"file": ("again.csv", b"meter_id,kwh\nM1,0.5\n")},
    )
    assert response.status_code == 422
    assert "Column classes, line 1" in response.text
