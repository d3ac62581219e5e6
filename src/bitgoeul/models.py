"""Every table, imported in one place so Alembic and tests see the whole schema."""

from bitgoeul.accounts.models import ApiToken, LoginFailure, Organization, User, WebSession
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import Dataset, DatasetVersion, IngestRun
from bitgoeul.civic.models import (
    CivicChallenge,
    CivicFollow,
    CivicMeasurement,
    CivicPhoto,
    CivicProblem,
    CivicSupport,
    CivicTransition,
)
from bitgoeul.compute.models import (
    CreditAccount,
    CreditEntry,
    Job,
    JobWorker,
    OutputRelease,
    ReleaseDecision,
)
from bitgoeul.dp.models import DpBoundedCopy, DpBudget, DpPersonRows, DpProfile, DpRelease
from bitgoeul.governance.models import (
    AccessRequest,
    Agreement,
    Notification,
    Project,
    ProjectChoice,
    ProjectMember,
)
from bitgoeul.linkage.models import LinkageApproval, LinkageProject, LinkageRun
from bitgoeul.mydata.models import (
    Campaign,
    Consent,
    ConsentEvent,
    Donation,
    MyDataIdentity,
    MyDataSource,
    ProjectUse,
    Receipt,
)
from bitgoeul.query.models import QueryRun, SavedQuery
from bitgoeul.testbed.models import (
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)

__all__ = [
    "AccessRequest",
    "Agreement",
    "ApiToken",
    "AuditEvent",
    "Campaign",
    "CivicChallenge",
    "CivicFollow",
    "CivicMeasurement",
    "CivicPhoto",
    "CivicProblem",
    "CivicSupport",
    "CivicTransition",
    "Consent",
    "ConsentEvent",
    "CreditAccount",
    "CreditEntry",
    "Dataset",
    "DatasetVersion",
    "Donation",
    "DpBoundedCopy",
    "DpBudget",
    "DpPersonRows",
    "DpProfile",
    "DpRelease",
    "IngestRun",
    "Job",
    "JobWorker",
    "LinkageApproval",
    "LinkageProject",
    "LinkageRun",
    "LoginFailure",
    "MyDataIdentity",
    "MyDataSource",
    "Notification",
    "Organization",
    "OutputRelease",
    "Project",
    "ProjectChoice",
    "ProjectMember",
    "ProjectUse",
    "QueryRun",
    "Receipt",
    "ReleaseDecision",
    "SavedQuery",
    "TestbedRerun",
    "TestbedSubmission",
    "TestbedTask",
    "TestbedTeam",
    "TestbedTeamMember",
    "User",
    "WebSession",
]
