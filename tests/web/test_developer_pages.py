"""The developers' page replaces the pages' links into /api/; the API docs moved under it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

API_LINK = re.compile(r"""(?:href|action)=["'](?:https?://[^/"']+)?/api/""")


def test_every_page_footer_links_the_developers_page_not_the_api(client: TestClient) -> None:
    for path in ("/", "/organizations", "/login", "/developers", "/no-such-page"):
        html = client.get(path, headers={"accept": "text/html"}).text
        assert 'href="/developers"' in html, path
        assert not API_LINK.search(html), path


def test_developers_page_names_the_api_sdk_cli_and_feed_in_both_languages(
    client: TestClient,
) -> None:
    english = client.get("/developers")
    assert english.status_code == 200
    for heading in ("REST API", "Python SDK", "Command line", "Feeds"):
        assert heading in english.text
    assert "http://testserver/api/v1/catalog.jsonld" in english.text
    assert 'href="/developers/api-docs"' in english.text
    korean = client.get("/developers?lang=ko")
    assert '<html lang="ko">' in korean.text
    assert "파이썬 SDK" in korean.text
    assert "Command line" not in korean.text


def test_api_docs_are_served_under_developers_and_the_old_address_redirects(
    client: TestClient,
) -> None:
    docs = client.get("/developers/api-docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert "/openapi.json" in docs.text
    old = client.get("/api/docs", follow_redirects=False)
    assert old.status_code == 308
    assert old.headers["location"] == "/developers/api-docs"
