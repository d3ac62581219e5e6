"""A hub with a little of everything the control tower counts, for its tests.

Datasets, versions, access requests with known decision times, query runs, jobs with metered
hours, linkage runs and DP releases are written as rows (what the other packages' actions
would leave); credits and the programmes go through their own actions.  ``fill`` returns the
numbers a person would count by hand, so tests can check both the tower and plain SQL.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session
from tests.programmes.programme_city import People, application, approve

from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion, Sector
from bitgoeul.civic.models import CivicProblem
from bitgoeul.civic.states import ProblemState
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.models import Job, JobStatus, ReleaseStatus
from bitgoeul.db.base import utcnow
from bitgoeul.dp.models import DpRelease
from bitgoeul.dp.models import ReleaseStatus as DpStatus
from bitgoeul.governance.models import AccessRequest, Project, Purpose, RequestStatus
from bitgoeul.linkage.models import LinkageMethod, LinkageProject, LinkageRun, RunStatus
from bitgoeul.mydata.models import (
    Consent,
    ConsentStatus,
    Donation,
    DonationStatus,
    MyDataSource,
    Tier,
)
from bitgoeul.programmes.models import Cohort, Course, Enrolment, EnrolmentStatus
from bitgoeul.query.models import QueryRun, RunKind
from bitgoeul.query.models import RunStatus as QueryStatus
from bitgoeul.testbed.models import (
    Phase,
    SubmissionKind,
    SubmissionStatus,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
)


def _dataset(db: Session, slug: str, publisher_id: int, versions: int) -> Dataset:
    dataset = Dataset(
        slug=slug,
        title=slug,
        publisher_id=publisher_id,
        sector=Sector.energy,
        licence="CC-BY-4.0",
        access_level=AccessLevel.open,
    )
    db.add(dataset)
    db.flush()
    for number in range(1, versions + 1):
        db.add(
            DatasetVersion(
                dataset_id=dataset.id,
                number=number,
                source_filename="x.csv",
                source_format="csv",
                source_sha256="0" * 64,
                source_bytes=1,
                object_key=f"parquet/{slug}-{number}",
                parquet_sha256="0" * 64,
                parquet_bytes=1,
                row_count=1,
            )
        )
    return dataset


def fill(db: Session, people: People) -> dict[str, float]:
    kepco, kpx = people.cast.kepco, people.cast.kpx
    member = people.actors["member"]
    assert member.organization_id is not None
    meters = _dataset(db, "meters", kepco.id, 2)
    _dataset(db, "outages", kepco.id, 1)
    _dataset(db, "prices", kpx.id, 0)
    project = Project(
        title="Load study",
        purpose=Purpose.academic_research,
        justification="why",
        lead_organization_id=member.organization_id,
    )
    db.add(project)
    db.flush()
    now = utcnow()
    for status, days in [
        (RequestStatus.approved, 1),
        (RequestStatus.approved, 3),
        (RequestStatus.rejected, 5),
        (RequestStatus.pending, None),
    ]:
        db.add(
            AccessRequest(
                project_id=project.id,
                dataset_id=meters.id,
                requested_days=30,
                status=status,
                created_at=now - timedelta(days=10),
                decided_at=None if days is None else now - timedelta(days=10 - days),
            )
        )
    for status in [QueryStatus.ok] * 5 + [QueryStatus.refused] * 2 + [QueryStatus.failed]:
        db.add(
            QueryRun(
                user_id=member.user_id,
                kind=RunKind.query,
                sql="SELECT 1",
                sql_sha256="0" * 64,
                status=status,
                duration_ms=1,
            )
        )
    for used_cpu, used_gpu in [(Decimal("1.5"), Decimal(0)), (Decimal("2.25"), Decimal("0.5"))]:
        db.add(_job(project.id, member.organization_id, used_cpu, used_gpu))
    db.add(_job(project.id, member.organization_id, None, None, JobStatus.queued))
    linkage = LinkageProject(
        title="Elderly alone", method=LinkageMethod.exact, custodian_id=kpx.id, sources=[]
    )
    db.add(linkage)
    db.flush()
    for status in (RunStatus.succeeded, RunStatus.failed):
        db.add(LinkageRun(linkage_project_id=linkage.id, status=status, finished_at=now))
    version = db.query(DatasetVersion).filter_by(dataset_id=meters.id, number=1).one()
    for i, (micro, status) in enumerate(
        [(250_000, DpStatus.spent), (500_000, DpStatus.spent), (100_000, DpStatus.reserved)]
    ):
        db.add(
            DpRelease(
                request_sha256=f"{i}" * 64,
                measurement_sha256="0" * 64,
                dataset_id=meters.id,
                version_id=version.id,
                status=status,
                cost_micro=micro,
            )
        )
    _mydata(db, people, pool_id=db.query(Dataset).filter_by(slug="outages").one().id)
    _testbed(db, kepco.id, project.id, meters.id, member.user_id)
    for state in (
        ProblemState.open,
        ProblemState.triage,
        ProblemState.challenge,
        ProblemState.pilot,
        ProblemState.completed,
        ProblemState.declined,
    ):
        db.add(
            CivicProblem(
                title="Dark alley", description="No lights", district="Dong-gu", state=state
            )
        )
    db.commit()
    compute_actions.grant_credits(
        db,
        actor=people.actors["operator"],
        organization_slug="gist-lab",
        cpu_hours=Decimal(20),
        gpu_hours=Decimal(2),
    )
    approve(db, people, application(db, people, cpu=100, gpu=10, employees=12).id)
    approve(db, people, application(db, people, who="other_founder", employees=5, gpu=0).id)
    application(db, people, employees=40)  # submitted, not yet supported
    course = Course(slug="ai-basics", title="AI basics")
    db.add(course)
    db.flush()
    cohort = Cohort(
        course_id=course.id,
        name="2026 spring",
        starts_on=now.date(),
        ends_on=now.date() + timedelta(days=30),
        capacity=30,
    )
    db.add(cohort)
    db.flush()
    for who, status in [
        ("citizen", EnrolmentStatus.completed),
        ("member", EnrolmentStatus.completed),
        ("founder", EnrolmentStatus.enrolled),
    ]:
        user_id = people.actors[who].user_id
        assert user_id is not None
        db.add(Enrolment(cohort_id=cohort.id, user_id=user_id, status=status))
    db.commit()
    return {
        "datasets": 3,
        "dataset_versions": 3,
        "publishers": 2,
        "access_requests": 4,
        "access_approved": 2,
        "decision_days_median": 3.0,
        "queries": 8,
        "query_refusals": 2,
        "jobs": 3,
        "cpu_hours_used": 3.75,
        "gpu_hours_used": 0.5,
        "cpu_hours_granted": 20 + 100 + 100,
        "gpu_hours_granted": 2 + 10,
        "testbed_tasks": 2,
        "testbed_submissions": 3,
        "linkage_runs": 2,
        "donors": 2,
        "active_consents": 3,
        "civic_problems": 6,
        "civic_challenges": 3,
        "epsilon_spent": 0.75,
        "startups_supported": 2,
        "startup_jobs": 17,
        "trainees": 2,
    }


def _mydata(db: Session, people: People, pool_id: int) -> None:
    """Two residents donating (one of them twice) and one whose donation was deleted; three
    active consents, one withdrawn and one expired."""
    source = MyDataSource(slug="meters-pool", title="My meter readings", pool_dataset_id=pool_id)
    db.add(source)
    db.flush()
    now = utcnow()
    donors = [
        (people.actors["citizen"], DonationStatus.active, [ConsentStatus.active] * 2),
        (people.actors["citizen"], DonationStatus.active, [ConsentStatus.withdrawn]),
        (people.actors["member"], DonationStatus.active, [ConsentStatus.active]),
        (people.actors["founder"], DonationStatus.deleted, [ConsentStatus.expired]),
    ]
    for n, (who, status, consents) in enumerate(donors):
        assert who.user_id is not None
        donation = Donation(
            user_id=who.user_id,
            source_id=source.id,
            donor_key=f"k{n}",
            origin="upload",
            status=status,
        )
        db.add(donation)
        db.flush()
        for consent in consents:
            db.add(
                Consent(
                    donation_id=donation.id,
                    user_id=who.user_id,
                    purposes=["academic_research"],
                    tier=Tier.aggregates,
                    starts_at=now - timedelta(days=30),
                    ends_at=now + timedelta(days=300),
                    status=consent,
                )
            )


def _testbed(
    db: Session, organization_id: int, project_id: int, dataset_id: int, user_id: int | None
) -> None:
    """Two tasks; three submissions by participants and one baseline (not counted)."""
    now = utcnow()
    tasks = []
    for slug in ("demand", "outage-risk"):
        task = TestbedTask(
            slug=slug,
            title=slug,
            sector=Sector.energy,
            problem="Forecast",
            organization_id=organization_id,
            project_id=project_id,
            metric="mae",
            test_dataset_id=dataset_id,
            test_version=1,
            test_rows=10,
            id_column="id",
            label_column="kwh",
            split_seed="0" * 64,
            opens_at=now,
            final_phase_at=now + timedelta(days=10),
            deadline=now + timedelta(days=20),
        )
        db.add(task)
        tasks.append(task)
    db.flush()
    team = TestbedTeam(task_id=tasks[0].id, name="team")
    db.add(team)
    db.flush()
    for baseline in (False, False, False, True):
        db.add(
            TestbedSubmission(
                task_id=tasks[0].id,
                team_id=team.id,
                submitted_by_id=user_id,
                kind=SubmissionKind.predictions,
                phase=Phase.development,
                is_baseline=baseline,
                status=SubmissionStatus.scored,
                content_sha256="0" * 64,
                test_dataset_id=dataset_id,
                test_version=1,
                metric="mae",
            )
        )


def _job(
    project_id: int,
    organization_id: int,
    cpu: Decimal | None,
    gpu: Decimal | None,
    status: JobStatus = JobStatus.succeeded,
) -> Job:
    return Job(
        project_id=project_id,
        organization_id=organization_id,
        status=status,
        executor="local",
        environment="default",
        entrypoint="main.py",
        cpus=1,
        memory_mb=512,
        time_limit_s=60,
        code_sha256="0" * 64,
        release_status=ReleaseStatus.not_required,
        used_cpu_hours=cpu,
        used_gpu_hours=gpu,
    )
