"""Every table, imported in one place so Alembic and tests see the whole schema."""

from bitgoeul.accounts.models import ApiToken, LoginFailure, Organization, User, WebSession
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import Dataset, DatasetVersion, IngestRun

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Dataset",
    "DatasetVersion",
    "IngestRun",
    "LoginFailure",
    "Organization",
    "User",
    "WebSession",
]
