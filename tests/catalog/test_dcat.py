"""The DCAT-AP 3 JSON-LD catalog that harvesters read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import MakeDataset
from tests.catalog.test_datasets_api import add_version

from bitgoeul.catalog.models import AccessLevel

EU = "http://publications.europa.eu/resource/authority"


@pytest.fixture
def catalog(
    app: FastAPI, api: TestClient, db: Session, make_dataset: MakeDataset
) -> dict[str, Any]:
    power = make_dataset(
        slug="household-power",
        title="Hourly household electricity use",
        title_ko="가구별 시간당 전력사용량",
        description="Smart-meter readings.",
        keywords=["smart meter", "전력"],
        licence="CC-BY-4.0",
        access_level=AccessLevel.registered,
        temporal_start="2024-01-01",
        temporal_end="2024-12-31",
        spatial="Gwangju",
        update_frequency="hourly",
        contact_name="KEPCO data desk",
        contact_email="data@kepco.example",
    )
    add_version(app, db, power)
    make_dataset(
        slug="outages", title="Outages", access_level=AccessLevel.secure, licence="Custom-1"
    )
    response = api.get("/api/v1/catalog.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    document: dict[str, Any] = json.loads(response.text)
    return document


def _dataset(catalog: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(d for d in catalog["dcat:dataset"] if d["dct:identifier"] == slug)


def test_the_catalog_is_a_dcat_catalog_listing_every_dataset(catalog: dict[str, Any]) -> None:
    assert catalog["@type"] == "dcat:Catalog"
    assert catalog["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert catalog["@context"]["dct"] == "http://purl.org/dc/terms/"
    assert sorted(d["dct:identifier"] for d in catalog["dcat:dataset"]) == [
        "household-power",
        "outages",
    ]
    assert all(d["@type"] == "dcat:Dataset" for d in catalog["dcat:dataset"])


def test_a_dataset_carries_titles_in_english_and_korean_and_its_publisher(
    catalog: dict[str, Any],
) -> None:
    power = _dataset(catalog, "household-power")
    assert {"@value": "가구별 시간당 전력사용량", "@language": "ko"} in power["dct:title"]
    assert {"@value": "Hourly household electricity use", "@language": "en"} in power["dct:title"]
    publisher = power["dct:publisher"]
    assert publisher["@type"] == "foaf:Agent"
    assert {"@value": "한국전력공사", "@language": "ko"} in publisher["foaf:name"]


def test_controlled_values_use_the_eu_vocabularies(catalog: dict[str, Any]) -> None:
    power = _dataset(catalog, "household-power")
    assert power["dcat:theme"] == {"@id": f"{EU}/data-theme/ENER"}
    assert power["dct:accessRights"]["@id"] == f"{EU}/access-right/RESTRICTED"
    assert power["dct:accrualPeriodicity"] == {"@id": f"{EU}/frequency/HOURLY"}
    assert power["dct:license"]["@id"] == f"{EU}/licence/CC_BY_4_0"
    assert {"@value": "전력"} in power["dcat:keyword"]
    outages = _dataset(catalog, "outages")
    assert outages["dct:accessRights"]["@id"] == f"{EU}/access-right/NON_PUBLIC"
    assert outages["dct:license"] == {"@type": "dct:LicenseDocument", "dct:identifier": "Custom-1"}


def test_period_place_and_contact_are_described(catalog: dict[str, Any]) -> None:
    power = _dataset(catalog, "household-power")
    assert power["dct:temporal"] == {
        "@type": "dct:PeriodOfTime",
        "dcat:startDate": {"@value": "2024-01-01", "@type": "xsd:date"},
        "dcat:endDate": {"@value": "2024-12-31", "@type": "xsd:date"},
    }
    assert power["dct:spatial"]["skos:prefLabel"] == [{"@value": "Gwangju"}]
    assert power["dcat:contactPoint"] == {
        "@type": "vcard:Kind",
        "vcard:fn": "KEPCO data desk",
        "vcard:hasEmail": {"@id": "mailto:data@kepco.example"},
    }


def test_the_latest_version_is_the_distribution(catalog: dict[str, Any]) -> None:
    power = _dataset(catalog, "household-power")
    (distribution,) = power["dcat:distribution"]
    assert distribution["@type"] == "dcat:Distribution"
    assert distribution["dcat:accessURL"]["@id"].endswith("/datasets/household-power")
    assert distribution["dcat:mediaType"]["@id"].endswith("application/vnd.apache.parquet")
    assert int(distribution["dcat:byteSize"]["@value"]) > 0
    assert distribution["dcat:byteSize"]["@type"] == "xsd:nonNegativeInteger"
    assert "dcat:distribution" not in _dataset(catalog, "outages")
