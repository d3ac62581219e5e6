"""The SDK's models are copies of the hub's response schemas; this keeps them honest.

Each SDK model names the schema(s) in ``/openapi.json`` it reads.  Every field the SDK declares
must be one the hub sends, a field the SDK requires must be one the hub always sends, and the
SDK must accept every JSON type the hub may send there (``null`` included).  A renamed,
dropped, newly nullable or retyped field on the server fails here instead of in a user's
script.  Fields the hub sends and the SDK does not declare are fine: the SDK keeps them
(``extra="allow"``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bitgoeul.app import create_app
from bitgoeul.client import _models
from bitgoeul.config import Settings

# SDK model -> the hub's schema(s) it is read from (a few SDK models serve two endpoints).
MIRRORS: dict[str, tuple[str, ...]] = {
    "Organization": ("OrganizationPublic",),
    "User": ("Me",),
    "ApiToken": ("ApiTokenPublic",),
    "NewApiToken": ("ApiTokenCreated",),
    "Dataset": ("DatasetSummary", "DatasetPublic"),
    "DatasetList": ("SearchResults",),
    "DatasetVersion": ("VersionPublic", "VersionSummary"),
    "IngestRun": ("IngestRunPublic",),
    "AppliedObligations": ("AppliedObligations",),
    # Two schemas are called Preview (catalog, mydata): FastAPI names them by module.
    "Preview": ("bitgoeul__catalog__schemas__Preview",),
    "QueryResult": ("QueryResponse",),
    "AuditEntry": ("AuditEventPublic",),
    "ProjectMember": ("MemberPublic",),
    "Project": ("ProjectPublic",),
    "AccessRequest": ("AccessRequestPublic",),
    "Agreement": ("AgreementPublic",),
    "Notification": ("NotificationPublic",),
    "QueryRun": ("QueryRunPublic",),
    "SavedQuery": ("SavedQueryPublic",),
    "JobResources": ("Resources",),
    "JobOutput": ("OutputFile",),
    "Job": ("JobPublic",),
    "JobLog": ("JobLog",),
    "ReleaseDecision": ("ReleaseDecisionPublic",),
    "Release": ("ReleasePublic",),
    "CreditEntry": ("CreditEntryPublic",),
    "CreditBalance": ("CreditBalance",),
    "TestbedTask": ("TaskPublic",),
    "TestbedTeam": ("TeamPublic",),
    "TestbedInvitation": ("InvitationPublic",),
    "TestbedSubmission": ("SubmissionPublic",),
    "LeaderboardRow": ("LeaderboardRow",),
    "Leaderboard": ("Leaderboard",),
    "TestbedRerun": ("RerunPublic",),
    "DpMeasureQuote": ("MeasureQuote",),
    "DpMeanAccuracy": ("MeanAccuracy",),
    "DpGroupSizeAccuracy": ("GroupSizeAccuracy",),
    "DpBalance": ("Balance",),
    "DpQuote": ("Quote",),
    "DpRelease": ("Release",),
    "DpBudget": ("BudgetPublic",),
    "LinkageProject": ("LinkageProjectPublic",),
    "LinkageRun": ("LinkageRunPublic",),
    "LinkageReview": ("LinkageReviewPublic",),
    "LinkageReviewPair": ("LinkageReviewPairPublic",),
    "CivicChallenge": ("ChallengePublic",),
    "CivicProblem": ("ProblemSummary", "ProblemPublic"),
    "CivicProblemList": ("ProblemPage",),
    "CivicCounts": ("Counts",),
    "TowerIndicator": ("IndicatorPublic",),
    "TowerIndicators": ("IndicatorsPublic",),
    "TowerDay": ("DayPublic",),
    "TowerSnapshot": ("SnapshotPublic",),
    "SupportApplication": ("ApplicationPublic",),
    "Cohort": ("CohortPublic",),
    "Lab": ("LabPublic",),
    "Course": ("CoursePublic",),
    "LabResult": ("LabResultPublic",),
    "LabJob": ("LabJobPublic",),
    "Enrolment": ("EnrolmentPublic",),
}


def _sdk_models() -> dict[str, type[BaseModel]]:
    return {
        name: value
        for name, value in vars(_models).items()
        if inspect.isclass(value)
        and issubclass(value, BaseModel)
        and value.__module__ == _models.__name__
        and not name.startswith("_")
    }


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``/openapi.json`` as the hub serves it (no database is needed to describe the API)."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("hub")), migrate=False)
    try:
        with TestClient(app) as client:
            response = client.get("/openapi.json")
        assert response.status_code == 200
        yield response.json()
    finally:
        app.state.engine.dispose()


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def kinds(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The JSON types a value under ``schema`` may have (``{}``: anything)."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema or "oneOf" in schema:
        found: set[str] = set()
        for option in schema.get("anyOf", schema.get("oneOf")):
            found |= kinds(option, defs)
        return found
    if "const" in schema:
        return {type(schema["const"]).__name__.replace("str", "string")}
    if "enum" in schema:
        return {"string"} if all(isinstance(v, str) for v in schema["enum"]) else set()
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return set(types)
    if "properties" in schema or "additionalProperties" in schema:
        return {"object"}
    return {"any"}


def _items(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    schema = _resolve(schema, defs)
    for option in [schema, *schema.get("anyOf", [])]:
        option = _resolve(option, defs)
        if option.get("type") == "array":
            items: dict[str, Any] = option.get("items", {})
            return items
    return None


def accepts(sdk: set[str], hub: set[str]) -> bool:
    """Whether an SDK field typed ``sdk`` reads every value the hub types ``hub``."""
    if "any" in sdk:
        return True
    widened = set(sdk) | ({"integer"} if "number" in sdk else set())
    return hub - {"any"} <= widened and ("any" not in hub or sdk >= {"any"})


def drift(model: type[BaseModel], mirrors: list[dict[str, Any]], defs: dict[str, Any]) -> list[str]:
    """What ``model`` expects that none of the hub's ``mirrors`` promise."""
    own = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    own_defs = own.get("$defs", {})
    problems = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        sent = [m for m in mirrors if key in m.get("properties", {})]
        if not sent:
            problems.append(f"{model.__name__}.{key}: the hub does not send it")
            continue
        if field.is_required() and not any(key in m.get("required", []) for m in sent):
            problems.append(f"{model.__name__}.{key}: required by the SDK, optional on the hub")
        ours = own["properties"][key]
        for mirror in sent:
            theirs = mirror["properties"][key]
            sdk_kinds, hub_kinds = kinds(ours, own_defs), kinds(theirs, defs)
            if not accepts(sdk_kinds, hub_kinds):
                problems.append(
                    f"{model.__name__}.{key}: the hub sends {sorted(hub_kinds)}, "
                    f"the SDK reads {sorted(sdk_kinds)}"
                )
            our_items, their_items = _items(ours, own_defs), _items(theirs, defs)
            if our_items is not None and their_items is not None:
                sdk_items, hub_items = kinds(our_items, own_defs), kinds(their_items, defs)
                if not accepts(sdk_items, hub_items):
                    problems.append(
                        f"{model.__name__}.{key}[]: the hub sends {sorted(hub_items)}, "
                        f"the SDK reads {sorted(sdk_items)}"
                    )
    return problems


def test_every_sdk_model_names_the_schema_it_mirrors(openapi: dict[str, Any]) -> None:
    assert set(MIRRORS) == set(_sdk_models())
    schemas = openapi["components"]["schemas"]
    missing = sorted({s for names in MIRRORS.values() for s in names} - set(schemas))
    assert missing == [], f"no such schema in /openapi.json: {missing}"


@pytest.mark.parametrize("name", sorted(MIRRORS))
def test_the_sdk_model_reads_what_the_hub_sends(name: str, openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    model = _sdk_models()[name]
    assert drift(model, [schemas[s] for s in MIRRORS[name]], schemas) == []


def test_drift_is_found_when_the_hub_renames_drops_or_nulls_a_field() -> None:
    class Thing(BaseModel):
        slug: str
        size: int = 0
        kept: str = ""

    hub = {
        "properties": {
            "slug": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "size_bytes": {"type": "integer"},
            "kept": {"type": "integer"},
        },
        "required": ["kept"],
    }
    assert drift(Thing, [hub], {}) == [
        "Thing.slug: required by the SDK, optional on the hub",
        "Thing.slug: the hub sends ['null', 'string'], the SDK reads ['string']",
        "Thing.size: the hub does not send it",
        "Thing.kept: the hub sends ['integer'], the SDK reads ['string']",
    ]
