"""The catalog as DCAT-AP 3.0 JSON-LD, for harvesters (national and European data portals).

Served at ``GET /api/v1/catalog.jsonld``.  Controlled values use the EU Publications Office
vocabularies DCAT-AP recommends (data themes, access rights, frequencies, file types).  The
latest version of each dataset is its one ``dcat:Distribution``.  Only metadata is exported:
everything here is public in the catalog anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion, Sector

EU = "http://publications.europa.eu/resource/authority"

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "spdx": "http://spdx.org/rdf/terms#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

THEMES = {
    Sector.energy: "ENER",
    Sector.healthcare: "HEAL",
    Sector.mobility: "TRAN",
    Sector.public_administration: "GOVE",
    Sector.telecom: "TECH",
    Sector.consumer_electronics: "TECH",
    Sector.commerce: "ECON",
    Sector.security: "JUST",
    Sector.ai_training: "TECH",
    Sector.environment: "ENVI",
}

ACCESS_RIGHTS = {
    AccessLevel.open: "PUBLIC",
    AccessLevel.registered: "RESTRICTED",
    AccessLevel.restricted: "RESTRICTED",
    AccessLevel.secure: "NON_PUBLIC",
}

FREQUENCIES = {
    "continuous": "UPDATE_CONT",
    "hourly": "HOURLY",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "annual": "ANNUAL",
    "irregular": "IRREG",
    "never": "NEVER",
    "unknown": "UNKNOWN",
}

# Licence identifiers stewards use, mapped to the EU licence vocabulary where it has them.
LICENCES = {
    "CC0-1.0": f"{EU}/licence/CC0",
    "CC-BY-4.0": f"{EU}/licence/CC_BY_4_0",
    "CC-BY-SA-4.0": f"{EU}/licence/CC_BY_SA_4_0",
    "CC-BY-NC-4.0": f"{EU}/licence/CC_BY_NC_4_0",
    "CC-BY-ND-4.0": f"{EU}/licence/CC_BY_ND_4_0",
    "ODbL-1.0": f"{EU}/licence/ODBL",
    "KOGL-1": "https://www.kogl.or.kr/info/licenseType1.do",
    "KOGL-2": "https://www.kogl.or.kr/info/licenseType2.do",
    "KOGL-3": "https://www.kogl.or.kr/info/licenseType3.do",
    "KOGL-4": "https://www.kogl.or.kr/info/licenseType4.do",
}

PARQUET_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet"


def _text(en: str, ko: str) -> list[dict[str, str]]:
    values = [{"@value": en, "@language": "en"}] if en else []
    if ko:
        values.append({"@value": ko, "@language": "ko"})
    return values


def _typed(value: Any, datatype: str) -> dict[str, str]:
    return {"@value": str(value), "@type": datatype}


def _licence(licence: str) -> dict[str, Any]:
    uri = LICENCES.get(licence)
    node: dict[str, Any] = {"@type": "dct:LicenseDocument", "dct:identifier": licence}
    if uri:
        node["@id"] = uri
    return node


def _agent(dataset: Dataset, base_url: str) -> dict[str, Any]:
    org = dataset.publisher
    return {
        "@id": f"{base_url}/organizations/{org.slug}",
        "@type": "foaf:Agent",
        "foaf:name": _text(org.name, org.name_ko),
        "dct:identifier": org.slug,
    }


def _distribution(
    dataset: Dataset, version: DatasetVersion, *, base_url: str, api: str
) -> dict[str, Any]:
    return {
        "@id": f"{api}/datasets/{dataset.slug}/versions/{version.number}",
        "@type": "dcat:Distribution",
        "dct:title": _text(f"{dataset.title} (version {version.number})", ""),
        "dcat:accessURL": {"@id": f"{base_url}/datasets/{dataset.slug}"},
        "dcat:downloadURL": {
            "@id": f"{api}/datasets/{dataset.slug}/download?version={version.number}"
        },
        "dcat:mediaType": {"@id": PARQUET_MEDIA_TYPE},
        "dct:format": {"@id": f"{EU}/file-type/PARQUET"},
        "dcat:byteSize": _typed(version.parquet_bytes, "xsd:nonNegativeInteger"),
        "dct:license": _licence(dataset.licence),
        "dct:rights": {
            "@type": "dct:RightsStatement",
            "rdfs:label": _text(f"Access level: {dataset.access_level.value}", ""),
        },
        "dct:issued": _typed(version.created_at.isoformat(), "xsd:dateTime"),
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "http://spdx.org/rdf/terms#checksumAlgorithm_sha256"},
            "spdx:checksumValue": _typed(version.parquet_sha256, "xsd:hexBinary"),
        },
    }


def dataset_node(
    dataset: Dataset, latest: DatasetVersion | None, *, base_url: str
) -> dict[str, Any]:
    api = f"{base_url}/api/v1"
    node: dict[str, Any] = {
        "@id": f"{base_url}/datasets/{dataset.slug}",
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.slug,
        "dct:title": _text(dataset.title, dataset.title_ko),
        "dct:description": _text(dataset.description or dataset.title, dataset.description_ko),
        "dct:publisher": _agent(dataset, base_url),
        "dcat:theme": {"@id": f"{EU}/data-theme/{THEMES[dataset.sector]}"},
        "dcat:keyword": [{"@value": keyword} for keyword in dataset.keywords],
        "dct:license": _licence(dataset.licence),
        "dct:accessRights": {
            "@id": f"{EU}/access-right/{ACCESS_RIGHTS[dataset.access_level]}",
            "@type": "dct:RightsStatement",
        },
        "dct:accrualPeriodicity": {
            "@id": f"{EU}/frequency/{FREQUENCIES.get(dataset.update_frequency, 'UNKNOWN')}"
        },
        "dcat:landingPage": {"@id": f"{base_url}/datasets/{dataset.slug}"},
        "dct:issued": _typed(dataset.created_at.isoformat(), "xsd:dateTime"),
        "dct:modified": _typed(dataset.updated_at.isoformat(), "xsd:dateTime"),
    }
    if dataset.temporal_start or dataset.temporal_end:
        period: dict[str, Any] = {"@type": "dct:PeriodOfTime"}
        if dataset.temporal_start:
            period["dcat:startDate"] = _typed(dataset.temporal_start.isoformat(), "xsd:date")
        if dataset.temporal_end:
            period["dcat:endDate"] = _typed(dataset.temporal_end.isoformat(), "xsd:date")
        node["dct:temporal"] = period
    if dataset.spatial:
        if dataset.spatial.startswith(("http://", "https://")):
            node["dct:spatial"] = {"@id": dataset.spatial, "@type": "dct:Location"}
        else:
            node["dct:spatial"] = {
                "@type": "dct:Location",
                "skos:prefLabel": [{"@value": dataset.spatial}],
            }
    if dataset.contact_name or dataset.contact_email:
        contact: dict[str, Any] = {"@type": "vcard:Kind"}
        contact["vcard:fn"] = dataset.contact_name or dataset.publisher.name
        if dataset.contact_email:
            contact["vcard:hasEmail"] = {"@id": f"mailto:{dataset.contact_email}"}
        node["dcat:contactPoint"] = contact
    if latest is not None:
        node["dcat:version"] = str(latest.number)
        node["dcat:distribution"] = [_distribution(dataset, latest, base_url=base_url, api=api)]
    return node


def catalog_document(
    datasets: Sequence[Dataset],
    latest: dict[int, DatasetVersion],
    *,
    base_url: str,
) -> dict[str, Any]:
    base_url = base_url.rstrip("/")
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/v1/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": _text(
            "Bitgoeul — Gwangju AI hub data catalog", "빛고을 광주 AI 허브 데이터 카탈로그"
        ),
        "dct:description": _text(
            "Datasets published by the agencies of the Gwangju AI hub city, each under a usage "
            "policy.",
            "광주 AI 허브 도시의 기관들이 이용 정책과 함께 공개하는 데이터셋.",
        ),
        "dct:publisher": {
            "@id": f"{base_url}/",
            "@type": "foaf:Agent",
            "foaf:name": _text("Gwangju AI hub", "광주 AI 허브"),
        },
        "foaf:homepage": {"@id": f"{base_url}/"},
        "dct:language": [
            {"@id": f"{EU}/language/ENG"},
            {"@id": f"{EU}/language/KOR"},
        ],
        "dcat:dataset": [
            dataset_node(dataset, latest.get(dataset.id), base_url=base_url) for dataset in datasets
        ],
    }
