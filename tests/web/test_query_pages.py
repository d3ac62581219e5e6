"""The query page: schema browser, results, refusals, export, saved queries and history."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from web_city import City, sign_in

SQL = 'SELECT district, sum(kwh) AS kwh FROM "household-electricity" GROUP BY district'


def test_the_schema_browser_lists_datasets_with_columns_and_classes(
    client: TestClient, city: City
) -> None:
    page = client.get("/query").text
    assert '"household-electricity"' in html.unescape(page)
    assert "<code>kwh</code>" in page
    assert "quasi-identifier" in page
    assert "identifier" in page  # patient_id in patient-visits
    narrowed = client.get("/query", params={"q": "outpatient"}).text
    assert "<code>kwh</code>" not in narrowed
    assert "<code>diagnosis</code>" in narrowed


def test_anonymous_visitors_are_told_why_registered_data_is_refused(
    client: TestClient, city: City
) -> None:
    response = client.post("/query", data={"sql": SQL})
    assert response.status_code in (401, 403)
    assert 'id="query-error"' in response.text
    assert "Saved queries" not in response.text


def test_a_signed_in_researcher_runs_a_query_and_sees_the_table(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post("/query", data={"csrf_token": csrf, "sql": SQL})
    assert response.status_code == 200, response.text
    table = response.text.split('id="result-table"', 1)[1]
    assert '<th scope="col">district</th>' in table
    assert "Dong-gu" in table
    assert "0.42" in table
    assert re.search(r"5 rows in [\d.]+ ms", response.text)
    assert "household-electricity@1" in response.text


def test_hostile_sql_is_refused_on_the_page_with_the_reason(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post(
        "/query", data={"csrf_token": csrf, "sql": "SELECT * FROM read_csv('/etc/passwd')"}
    )
    assert 400 <= response.status_code < 500
    assert 'id="query-error"' in response.text
    assert "root:" not in response.text


def test_a_syntax_error_is_shown_with_the_line_and_a_caret_and_the_sql_kept(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    sql = 'SELECT district,\n  sum(kwh\nFROM "household-electricity"'
    response = client.post("/query", data={"csrf_token": csrf, "sql": sql})
    assert response.status_code == 422
    shown = html.unescape(response.text)
    assert "syntax error at line 3, column 1" in shown
    excerpt = shown.split('id="syntax-excerpt"', 1)[1].split(">", 1)[1].split("</pre>", 1)[0]
    assert excerpt == 'FROM "household-electricity"\n^'
    assert sql in shown.replace("\r\n", "\n")  # the SQL stays in the editor
    korean = client.post("/query?lang=ko", data={"csrf_token": csrf, "sql": sql})
    assert "3행 1열의 구문 오류" in html.unescape(korean.text)


def test_export_downloads_the_result_as_csv(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post("/query/export", data={"csrf_token": csrf, "sql": SQL, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="query.csv"'
    assert response.text.splitlines()[0] == "district,kwh"


def test_export_of_data_one_may_not_download_shows_the_reason(
    client: TestClient, city: City
) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post(
        "/query/export",
        data={"csrf_token": csrf, "sql": 'SELECT * FROM "patient-visits"', "format": "parquet"},
    )
    assert response.status_code == 403
    assert 'id="query-error"' in response.text


def test_save_load_and_delete_a_query(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    saved = client.post(
        "/query/saved",
        data={"csrf_token": csrf, "sql": SQL, "name": "Use by district"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    loaded = client.get(saved.headers["location"]).text
    assert SQL in html.unescape(loaded)
    assert "Use by district" in loaded

    again = client.post(
        "/query/saved", data={"csrf_token": csrf, "sql": SQL, "name": "Use by district"}
    )
    assert again.status_code == 422
    assert "already have a saved query" in again.text

    saved_id = re.search(r'action="/query/saved/(\d+)/delete"', loaded)
    assert saved_id
    client.post(f"/query/saved/{saved_id.group(1)}/delete", data={"csrf_token": csrf})
    assert "No saved queries." in client.get("/query").text


def test_a_saved_query_without_a_name_is_explained(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    response = client.post("/query/saved", data={"csrf_token": csrf, "sql": SQL, "name": ""})
    assert response.status_code == 422
    assert "Give the query a name" in response.text


def test_history_lists_past_runs_and_reloads_one(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    client.post("/query", data={"csrf_token": csrf, "sql": SQL})
    page = client.get("/query").text
    run = re.search(r'href="/query\?run=(\d+)"', page)
    assert run
    reloaded = client.get("/query", params={"run": run.group(1)}).text
    assert SQL in html.unescape(reloaded.split('id="sql"', 1)[1].split("</textarea>", 1)[0])


def test_another_users_saved_query_or_run_cannot_be_loaded(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "researcher")
    saved = client.post(
        "/query/saved",
        data={"csrf_token": csrf, "sql": SQL, "name": "mine"},
        follow_redirects=False,
    )
    client.post("/query", data={"csrf_token": csrf, "sql": SQL})
    run = re.search(r'href="/query\?run=(\d+)"', client.get("/query").text)
    assert run
    client.cookies.clear()
    sign_in(client, "kepco")
    assert client.get(saved.headers["location"]).status_code == 404
    assert client.get("/query", params={"run": run.group(1)}).status_code == 404
