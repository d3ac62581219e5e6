"""ODRL 2.2 JSON-LD: each dataset's offer (from its access level) and each agreement.

The policies describe what ``decide`` enforces, for partners' tools to read; they are not
what the platform reads back.  Purposes use the closest W3C DPV purpose concept.  Terms the
ODRL vocabulary lacks (the k of the secure level, the N-K dominance rule) use the platform's
own namespace ``bitgoeul:``, as ODRL's profile mechanism allows.
"""

from __future__ import annotations

from typing import Any

from bitgoeul.datasets.models import AccessLevel, Dataset
from bitgoeul.governance.decision import ColumnClass
from bitgoeul.governance.models import Agreement, Project, Purpose

ODRL_CONTEXT: list[Any] = [
    "http://www.w3.org/ns/odrl.jsonld",
    {
        "dpv": "https://w3id.org/dpv#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "bitgoeul": "https://bitgoeul.kr/ns/policy#",
    },
]
PROFILE = "https://bitgoeul.kr/ns/policy"

DPV_PURPOSES = {
    Purpose.academic_research: "dpv:AcademicResearch",
    Purpose.public_service_improvement: "dpv:ServiceOptimisation",
    Purpose.commercial_product_development: "dpv:CommercialResearch",
    Purpose.ai_model_training: "dpv:ResearchAndDevelopment",
    Purpose.health_research: "dpv:ScientificResearch",
    Purpose.service_evaluation: "dpv:ImproveExistingProductsAndServices",
}


def _dataset_uri(base_url: str, dataset: Dataset) -> str:
    return f"{base_url.rstrip('/')}/datasets/{dataset.slug}"


def _org_uri(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/organizations/{slug}"


def _columns(classes: dict[str, str], *wanted: ColumnClass) -> list[str]:
    return sorted(name for name, cls in classes.items() if cls in wanted)


def dataset_offer(
    dataset: Dataset, *, base_url: str, column_classes: dict[str, str]
) -> dict[str, Any]:
    """The ``odrl:Offer`` a publisher makes for a dataset at its access level."""
    target = _dataset_uri(base_url, dataset)
    assigner = _org_uri(base_url, dataset.publisher.slug)
    level = dataset.access_level
    permissions: list[dict[str, Any]] = []
    prohibitions: list[dict[str, Any]] = []
    if level == AccessLevel.open:
        permissions.append({"target": target, "action": ["use", "read", "reproduce"]})
    elif level == AccessLevel.registered:
        permissions.append(
            {
                "target": target,
                "action": ["use", "read", "reproduce"],
                "constraint": [
                    {
                        "leftOperand": "recipient",
                        "operator": "isA",
                        "rightOperand": {"@id": "bitgoeul:RegisteredUser"},
                    }
                ],
            }
        )
    elif level == AccessLevel.restricted:
        permission: dict[str, Any] = {
            "target": target,
            "action": "use",
            "constraint": [
                {
                    "leftOperand": "recipient",
                    "operator": "isA",
                    "rightOperand": {"@id": "bitgoeul:MemberOfProjectWithAgreement"},
                }
            ],
        }
        identifiers = _columns(column_classes, ColumnClass.direct_identifier)
        if identifiers:
            permission["duty"] = [
                {"action": "anonymize", "bitgoeul:columns": identifiers},
            ]
        permissions.append(permission)
        prohibitions.append({"target": target, "action": "distribute"})
    else:
        permissions.append(
            {
                "target": target,
                "action": "aggregate",
                "constraint": [
                    {
                        "leftOperand": "recipient",
                        "operator": "isA",
                        "rightOperand": {"@id": "bitgoeul:MemberOfProjectWithAgreement"},
                    },
                    {
                        "leftOperand": "bitgoeul:groupSize",
                        "operator": "gteq",
                        "rightOperand": {
                            "@value": str(dataset.min_group_size),
                            "@type": "xsd:integer",
                        },
                    },
                ],
                "bitgoeul:dominanceRule": {
                    "n": dataset.dominance_n,
                    "k": dataset.dominance_k,
                },
                "bitgoeul:forbiddenOutputColumns": _columns(
                    column_classes, ColumnClass.direct_identifier, ColumnClass.sensitive
                ),
            }
        )
        prohibitions.extend(
            {"target": target, "action": action} for action in ("read", "reproduce", "distribute")
        )
    policy: dict[str, Any] = {
        "@context": ODRL_CONTEXT,
        "@type": "Offer",
        "uid": f"{target}/odrl/offer",
        "profile": PROFILE,
        "assigner": assigner,
        "target": target,
        "bitgoeul:accessLevel": level.value,
        "permission": permissions,
    }
    if prohibitions:
        policy["prohibition"] = prohibitions
    return policy


def agreement_policy(
    agreement: Agreement,
    *,
    project: Project,
    lead_organization: str,
    base_url: str,
    column_classes: dict[str, str],
) -> dict[str, Any]:
    """The ``odrl:Agreement`` between the publisher and the project's lead organization."""
    dataset = agreement.dataset
    target = _dataset_uri(base_url, dataset)
    constraints: list[dict[str, Any]] = [
        {
            "leftOperand": "purpose",
            "operator": "isA",
            "rightOperand": {"@id": DPV_PURPOSES[project.purpose]},
        },
        {
            "leftOperand": "dateTime",
            "operator": "gteq",
            "rightOperand": {"@value": agreement.starts_at.isoformat(), "@type": "xsd:dateTime"},
        },
        {
            "leftOperand": "dateTime",
            "operator": "lt",
            "rightOperand": {"@value": agreement.expires_at.isoformat(), "@type": "xsd:dateTime"},
        },
    ]
    if agreement.row_filter:
        constraints.append(
            {
                "leftOperand": "bitgoeul:rowFilter",
                "operator": "eq",
                "rightOperand": agreement.row_filter,
            }
        )
    secure = dataset.access_level == AccessLevel.secure
    permission: dict[str, Any] = {
        "target": target,
        "action": "aggregate" if secure else "use",
        "constraint": constraints,
    }
    if agreement.columns is not None:
        permission["bitgoeul:columns"] = list(agreement.columns)
    duties: list[dict[str, Any]] = []
    identifiers = _columns(column_classes, ColumnClass.direct_identifier)
    if agreement.columns is not None:
        identifiers = [name for name in identifiers if name in agreement.columns]
    if not secure and identifiers and not agreement.grants_identifiers:
        duties.append({"action": "anonymize", "bitgoeul:columns": identifiers})
    if secure:
        duties.append(
            {
                "action": "bitgoeul:suppressSmallGroups",
                "bitgoeul:minGroupSize": dataset.min_group_size,
                "bitgoeul:dominanceRule": {"n": dataset.dominance_n, "k": dataset.dominance_k},
            }
        )
    if duties:
        permission["duty"] = duties
    policy: dict[str, Any] = {
        "@context": ODRL_CONTEXT,
        "@type": "Agreement",
        "uid": f"{base_url.rstrip('/')}/api/v1/agreements/{agreement.id}",
        "profile": PROFILE,
        "assigner": _org_uri(base_url, dataset.publisher.slug),
        "assignee": _org_uri(base_url, lead_organization),
        "target": target,
        "permission": [permission],
        "prohibition": [{"target": target, "action": "distribute"}],
    }
    if secure:
        policy["prohibition"].extend(
            {"target": target, "action": action} for action in ("read", "reproduce")
        )
    if agreement.revoked_at is not None:
        policy["bitgoeul:revokedAt"] = agreement.revoked_at.isoformat()
    return policy
