"""Every table, imported in one place so Alembic and tests see the whole schema."""

from bitgoeul.accounts.models import ApiToken, LoginFailure, Organization, User, WebSession
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import IngestRun
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
from bitgoeul.datasets.models import Dataset, DatasetVersion
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
from bitgoeul.programmes.models import (
    Cohort,
    Course,
    Enrolment,
    Lab,
    LabResult,
    SupportApplication,
)
from bitgoeul.query.models import QueryRun, SavedQuery
from bitgoeul.testbed.models import (
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)
from bitgoeul.tower.models import TowerSnapshot

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
    "Cohort",
    "Consent",
    "ConsentEvent",
    "Course",
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
    "Enrolment",
    "IngestRun",
    "Job",
    "JobWorker",
    "Lab",
    "LabResult",
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
    "SupportApplication",
    "TestbedRerun",
    "TestbedSubmission",
    "TestbedTask",
    "TestbedTeam",
    "TestbedTeamMember",
    "TowerSnapshot",
    "User",
    "WebSession",
]
