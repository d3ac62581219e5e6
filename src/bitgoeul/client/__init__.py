"""The Bitgoeul Python SDK: use a hub's REST API from Python.

    from bitgoeul.client import Client

    with Client("http://127.0.0.1:8000") as hub:
        hub.login("researcher", "demo")
        for dataset in hub.datasets(q="electricity").items:
            print(dataset.slug, dataset.title)

The public surface is what ``__all__`` lists; the modules behind it are private.  See docs/sdk.md.
"""

from bitgoeul.client._client import Client
from bitgoeul.client._errors import (
    AccessDenied,
    BitgoeulAPIError,
    Conflict,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ServerError,
    TooLarge,
    ValidationFailed,
)
from bitgoeul.client._models import (
    AccessRequest,
    Agreement,
    ApiToken,
    AuditEntry,
    CreditBalance,
    CreditEntry,
    Dataset,
    DatasetList,
    DatasetVersion,
    Job,
    JobLog,
    JobOutput,
    JobResources,
    Leaderboard,
    LeaderboardRow,
    NewApiToken,
    Notification,
    Organization,
    Preview,
    Project,
    ProjectMember,
    QueryResult,
    QueryRun,
    Release,
    ReleaseDecision,
    SavedQuery,
    TestbedInvitation,
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
    User,
)

__all__ = [
    "AccessDenied",
    "AccessRequest",
    "Agreement",
    "ApiToken",
    "AuditEntry",
    "BitgoeulAPIError",
    "Client",
    "Conflict",
    "CreditBalance",
    "CreditEntry",
    "Dataset",
    "DatasetList",
    "DatasetVersion",
    "Job",
    "JobLog",
    "JobOutput",
    "JobResources",
    "Leaderboard",
    "LeaderboardRow",
    "NewApiToken",
    "NotAuthenticated",
    "NotFound",
    "Notification",
    "Organization",
    "Preview",
    "Project",
    "ProjectMember",
    "QueryResult",
    "QueryRun",
    "RateLimited",
    "Release",
    "ReleaseDecision",
    "SavedQuery",
    "ServerError",
    "TestbedInvitation",
    "TestbedRerun",
    "TestbedSubmission",
    "TestbedTask",
    "TestbedTeam",
    "TooLarge",
    "User",
    "ValidationFailed",
]
