"""The one policy decision point.

``decide(actor, action, dataset)`` answers allow/deny with a reason and obligations.  Pages,
downloads, the API and (later) the query gateway, jobs and linkage all ask this function; none
re-implements a rule.  This first version knows access levels and publisher stewardship;
project agreements extend it (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import AccessLevel, Dataset


class DataAction(StrEnum):
    view_metadata = "view_metadata"
    preview = "preview"
    download = "download"
    query = "query"
    use_in_job = "use_in_job"
    link = "link"
    publish_version = "publish_version"
    edit_metadata = "edit_metadata"
    # Asked about a not-yet-saved Dataset carrying the intended publisher_id.
    create_dataset = "create_dataset"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    obligations: dict[str, Any] = field(default_factory=dict)


_ROW_LEVEL = {DataAction.preview, DataAction.download, DataAction.query}
_STEWARD_ONLY = {DataAction.publish_version, DataAction.edit_metadata, DataAction.create_dataset}


def decide(actor: Actor, action: DataAction, dataset: Dataset) -> Decision:
    governs = actor.is_operator or actor.is_steward_of(dataset.publisher_id)
    if action == DataAction.view_metadata:
        return Decision(True, "dataset metadata is public in the catalog")
    if action in _STEWARD_ONLY:
        if governs:
            return Decision(True, "steward of the publishing organization")
        return Decision(False, "only the publisher's stewards and operators may change a dataset")
    if governs:
        return Decision(True, "steward of the publishing organization")
    level = dataset.access_level
    if level == AccessLevel.open and action in _ROW_LEVEL:
        return Decision(True, "open data")
    if level == AccessLevel.registered and action in _ROW_LEVEL:
        if actor.is_anonymous:
            return Decision(False, "sign in to use registered data")
        return Decision(True, "registered data, signed-in user")
    if level == AccessLevel.restricted:
        return Decision(False, "restricted data needs an approved project agreement")
    if level == AccessLevel.secure:
        return Decision(False, "secure data allows aggregate queries under an agreement only")
    return Decision(False, f"action {action.value} is not available for {level.value} data")
