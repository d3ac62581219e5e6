from fastapi.testclient import TestClient


def test_health_check_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_document_is_served(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Bitgoeul"


def test_an_error_is_said_in_the_language_the_caller_asked_for(client: TestClient) -> None:
    english = client.get("/lang/fr")
    assert english.status_code == 404
    assert english.json() == {"detail": "There is no 'fr' translation; choose one of en, ko."}
    korean = client.get("/lang/fr", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert korean.json() == {"detail": "'fr' 번역은 없습니다. en, ko 중에서 고르세요."}


def test_an_error_page_follows_the_chosen_language(client: TestClient) -> None:
    client.cookies.set("lang", "ko")
    page = client.get("/lang/fr", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "&#39;fr&#39; 번역은 없습니다. en, ko 중에서 고르세요." in page.text
    assert "There is no" not in page.text
