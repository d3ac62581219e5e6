"""Searching the catalog: Korean and English text, facets, and hostile queries."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, MakeDataset

from bitgoeul.catalog import search_text
from bitgoeul.catalog.actions import update_dataset
from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.queries import search_datasets
from bitgoeul.catalog.schemas import DatasetUpdate


def _slugs(db: Session, q: str = "", **filters: str) -> list[str]:
    return [item.slug for item in search_datasets(db, q=q, limit=100, **filters).items]


@pytest.fixture
def city(make_dataset: MakeDataset) -> None:
    make_dataset(
        slug="household-power",
        title="Hourly household electricity use",
        title_ko="가구별 시간당 전력사용량",
        description="Smart-meter readings for every household in Gwangju.",
        keywords=["smart meter", "전력"],
        licence="KOGL-1",
    )
    make_dataset(
        by="steward_of_other_org",
        slug="system-demand",
        title="System demand and marginal price",
        title_ko="계통 수요 및 계통한계가격",
        description="Hourly demand of the national grid.",
        access_level=AccessLevel.registered,
    )
    make_dataset(
        slug="grid-outages",
        title="Distribution grid outage events",
        title_ko="배전망 정전 이력",
        sector=Sector.energy,
        access_level=AccessLevel.restricted,
    )
    make_dataset(
        by="operator",
        publisher="gwangju",
        slug="bus-ridership",
        title="Bus ridership by stop",
        title_ko="정류장별 버스 승차 인원",
        description="Boardings per stop and hour, Électricité not included.",
        sector=Sector.mobility,
        access_level=AccessLevel.open,
    )


@pytest.mark.usefixtures("city")
def test_a_korean_word_finds_a_dataset_whose_title_contains_it_inside_a_compound(
    db: Session,
) -> None:
    # The publishers' names (한국전력공사, 한국전력거래소) contain 전력 too; the title wins.
    assert _slugs(db, "전력")[0] == "household-power"
    assert set(_slugs(db, "전력")) == {"household-power", "system-demand", "grid-outages"}
    assert _slugs(db, "사용량") == ["household-power"]
    assert _slugs(db, "시간당 전력") == ["household-power"]


@pytest.mark.usefixtures("city")
def test_korean_words_must_appear_in_order_not_just_as_scattered_syllables(db: Session) -> None:
    # 량사 shares both syllables with 전력사용량 but is not in it.
    assert _slugs(db, "량사") == []


@pytest.mark.usefixtures("city")
def test_english_search_ignores_case_and_accents(db: Session) -> None:
    assert _slugs(db, "ELECTRICITY") == ["household-power"]
    assert _slugs(db, "electricite") == ["bus-ridership"]


@pytest.mark.usefixtures("city")
def test_the_last_word_matches_as_a_prefix_while_typing(db: Session) -> None:
    assert _slugs(db, "househ") == ["household-power"]
    assert _slugs(db, "grid out") == ["grid-outages"]


@pytest.mark.usefixtures("city")
def test_every_word_of_a_query_must_match(db: Session) -> None:
    assert _slugs(db, "household outage") == []


@pytest.mark.usefixtures("city")
def test_a_title_match_ranks_above_a_description_match(db: Session) -> None:
    # "hourly" is in one title and in another's description.
    assert _slugs(db, "hourly") == ["household-power", "system-demand"]


@pytest.mark.usefixtures("city")
def test_keywords_and_the_publishers_korean_name_are_searchable(db: Session) -> None:
    assert _slugs(db, "smart meter") == ["household-power"]
    assert set(_slugs(db, "한국전력거래소")) == {"system-demand"}


@pytest.mark.usefixtures("city")
def test_facet_filters_narrow_the_results(db: Session) -> None:
    assert set(_slugs(db, sector="energy")) == {"household-power", "system-demand", "grid-outages"}
    assert _slugs(db, publisher="kpx") == ["system-demand"]
    assert _slugs(db, access_level="restricted") == ["grid-outages"]
    assert _slugs(db, licence="KOGL-1") == ["household-power"]
    assert _slugs(db, "grid", sector="energy", access_level="registered") == ["system-demand"]


@pytest.mark.usefixtures("city")
def test_facet_counts_follow_the_text_query(db: Session) -> None:
    results = search_datasets(db, q="grid")
    assert results.total == 2
    sectors = {f.value: f.count for f in results.facets["sector"]}
    assert sectors == {"energy": 2}
    publishers = {f.value: (f.label, f.count) for f in results.facets["publisher"]}
    assert publishers == {
        "kepco": ("Korea Electric Power Corporation", 1),
        "kpx": ("Korea Power Exchange", 1),
    }


@pytest.mark.usefixtures("city")
def test_a_facet_still_counts_the_alternatives_to_its_own_choice(db: Session) -> None:
    results = search_datasets(db, sector="mobility")
    assert results.total == 1
    sectors = {f.value: f.count for f in results.facets["sector"]}
    assert sectors == {"energy": 3, "mobility": 1}
    assert {f.value: f.count for f in results.facets["access_level"]} == {"open": 1}


@pytest.mark.usefixtures("city")
def test_an_empty_query_lists_everything_newest_first_in_pages(db: Session) -> None:
    first = search_datasets(db, limit=3)
    second = search_datasets(db, limit=3, offset=3)
    assert first.total == 4
    assert [i.slug for i in first.items] == ["bus-ridership", "grid-outages", "system-demand"]
    assert [i.slug for i in second.items] == ["household-power"]


@pytest.mark.usefixtures("city")
def test_editing_a_title_updates_the_index(db: Session, cast: Cast) -> None:
    update_dataset(
        db,
        actor=cast.actors["operator"],
        slug="bus-ridership",
        data=DatasetUpdate(title_ko="시내버스 이용객"),
    )
    assert _slugs(db, "이용객") == ["bus-ridership"]
    assert _slugs(db, "승차") == []


HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "전력*",
    "NEAR(a b)",
    "a NEAR b",
    "OR",
    "a OR b",
    "NOT",
    "AND AND",
    "(",
    ")",
    "((전력",
    "title:electricity",
    "search_title: x",
    "^electricity",
    "'; DROP TABLE datasets; --",
    "1' OR '1'='1",
    "a & b | !c",
    "a <-> b",
    "x:*",
    "\\",
    "\x00",
    "-electricity",
    "+",
    "{}[]",
    "🔌⚡",
    "   ",
]


@pytest.mark.usefixtures("city")
@pytest.mark.parametrize("q", HOSTILE)
def test_query_syntax_typed_by_a_user_is_only_text(api: TestClient, q: str) -> None:
    response = api.get("/api/v1/datasets", params={"q": q})
    assert response.status_code == 200, response.text
    assert api.get("/api/v1/datasets").json()["total"] == 4


@pytest.mark.usefixtures("city")
def test_bad_facet_values_are_refused_politely(api: TestClient) -> None:
    response = api.get("/api/v1/datasets", params={"sector": "nonsense"})
    assert response.status_code == 422
    assert "detail" in response.json()
    ok = api.get("/api/v1/datasets", params={"publisher": "x'; --", "licence": '"'})
    assert ok.status_code == 200
    assert ok.json()["total"] == 0


@pytest.mark.usefixtures("city")
def test_the_search_api_answers_items_total_and_facets(api: TestClient) -> None:
    body = api.get("/api/v1/datasets", params={"q": "사용량", "limit": 5}).json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["slug"] == "household-power"
    assert item["publisher"] == "kepco"
    assert item["publisher_name"] == "Korea Electric Power Corporation"
    assert item["sector"] == "energy"
    assert item["access_level"] == "open"
    assert set(body["facets"]) == {"sector", "publisher", "access_level", "licence"}
    assert api.get("/api/v1/facets", params={"q": "사용량"}).json()["licence"] == [
        {"value": "KOGL-1", "label": "KOGL-1", "count": 1}
    ]


def test_the_search_text_splits_hangul_into_bigrams_and_folds_latin() -> None:
    assert search_text.index_tokens("가구별 시간당 전력사용량 AI허브 Électricité") == [
        "가구", "구별", "별", "시간", "간당", "당",
        "전력", "력사", "사용", "용량", "량",
        "ai", "허브", "브", "electricite",
    ]  # fmt: skip
    terms = search_text.query_terms('사용량 "electric')
    assert search_text.fts5_query(terms) == '"사용 용량" AND "electric" *'
    assert search_text.tsquery(terms) == "('사용' <-> '용량') & 'electric':*"


@given(q=st.text(max_size=80))
def test_any_text_makes_a_query_of_plain_quoted_tokens(q: str) -> None:
    terms = search_text.query_terms(q)
    for term in terms:
        for token in term.tokens:
            assert token
            assert all(c.isalnum() for c in token)
    search_text.fts5_query(terms)
    search_text.tsquery(terms)


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=st.text(min_size=2, max_size=40).filter(lambda s: "\x00" not in s))
def test_any_query_finds_a_dataset_whose_title_contains_it(
    db: Session, make_dataset: MakeDataset, q: str
) -> None:
    dataset = make_dataset(slug="probe", title=f"Probe {q} end")
    try:
        found = search_datasets(db, q=q, limit=100)
        assert "probe" in [item.slug for item in found.items]
    finally:
        db.delete(dataset)
        db.commit()


@hypothesis_settings(max_examples=60, deadline=None)
@given(q=st.text(max_size=60))
def test_any_query_at_all_is_answered(q: str) -> None:
    # Pure transformation: never raises, never produces engine syntax from the input.
    assert isinstance(search_text.fts5_query(search_text.query_terms(q)), str)
