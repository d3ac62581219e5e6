"""Building the demo city into a hub: accounts, organizations, datasets; idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bitgoeul.accounts.actions import authenticate
from bitgoeul.accounts.models import Organization, User
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import CATALOGUE, build_demo_city
from bitgoeul.demo.civic import CIVIC_TASKS
from bitgoeul.demo.testbed_data import DEMO_TASKS, ELECTRICITY
from bitgoeul.errors import ValidationFailed
from bitgoeul.governance.models import AccessRequest, Agreement, Project
from bitgoeul.linkage.models import LinkageRun
from bitgoeul.mydata.models import MyDataSource
from bitgoeul.testbed import queries as testbed_queries

ACCOUNTS = {
    "operator", "kepco", "kdn", "kpx", "lge", "naver", "skt", "kt", "lguplus", "nia", "kisa",
    "cnuh", "chosun", "gwangju", "researcher", "citizen",
    "jiwoo", "seoyeon", "minjun", "haeun", "doyun", "yuna",
    *(f"citizen{i}" for i in range(2, 13)),
}  # fmt: skip


def test_building_the_demo_twice_creates_every_account_and_dataset_once(
    settings: Settings,
) -> None:
    built = build_demo_city(settings, people=200, seed=7)
    assert built.created
    assert {a.username for a in built.accounts} == ACCOUNTS
    assert {d.slug for d in built.datasets} == {s.slug for s in CATALOGUE}
    assert all(d.rows > 0 for d in built.datasets)
    assert {d.access_level for d in built.datasets} == {
        "open", "registered", "restricted", "secure"
    }  # fmt: skip
    assert (settings.resolved_data_dir / "demo-sources" / "cnuh-patients.csv").exists()

    again = build_demo_city(settings, people=500, seed=8)
    assert not again.created
    assert (again.people, again.seed) == (200, 7)
    assert again.datasets == built.datasets

    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        assert set(session.scalars(select(User.username))) >= ACCOUNTS
        operator = session.scalar(select(User).where(User.username == "operator"))
        assert operator is not None
        assert operator.organization is not None
        assert operator.organization.slug == "ai-hub"
        assert session.scalar(select(func.count()).select_from(Organization)) == 15 + 3  # startups
        # Each task: training + hidden test; each of the three demo linkages: its linked dataset.
        # My Data's three pools are published by the city as well.
        published = len(CATALOGUE) + 2 * len(DEMO_TASKS) + 3
        pools = set(session.scalars(select(MyDataSource.pool_dataset_id)))
        assert len(pools) == 3
        assert session.scalar(select(func.count()).select_from(Dataset)) == published + 3
        runs = session.scalars(select(LinkageRun)).all()
        assert [r.status.value for r in runs] == ["succeeded"] * 3
        assert sorted(r.report["method"] for r in runs) == ["bloom", "exact", "probabilistic"]
        assert (
            session.scalar(
                select(func.count())
                .select_from(DatasetVersion)
                .where(DatasetVersion.dataset_id.not_in(pools))
            )
            == published
        )
        user = authenticate(session, settings=settings, username="cnuh", password="demo")
        assert user.role.value == "steward"

        # The demo project: KEPCO's meter data approved, the hospital's diagnoses pending.
        # (Each testbed task also has its own project, for model submissions.)
        projects = session.scalars(select(Project.title)).all()
        assert len([t for t in projects if not t.startswith("Testbed: ")]) == 1
        requests = {
            (r.dataset.slug, r.status.value) for r in session.scalars(select(AccessRequest))
        }
        assert requests == {
            ("kepco-household-electricity-hourly", "approved"),
            ("cnuh-visits-diagnoses", "pending"),
            ("donated-household-electricity", "approved"),  # My Data's pool
        }
        agreements = session.scalars(select(Agreement)).all()
        assert len(agreements) == 2
        assert all(a.revoked_at is None and not a.grants_identifiers for a in agreements)
    engine.dispose()


def test_the_demo_is_never_built_into_a_production_hub(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(ValidationFailed, match="production"):
        build_demo_city(production, people=20)


def test_the_demo_startup_has_credits_and_its_example_job_runs_and_waits_for_review(
    settings: Settings,
) -> None:
    from bitgoeul.app import make_job_runner
    from bitgoeul.compute import queries as compute_queries
    from bitgoeul.compute.executors import make_executor
    from bitgoeul.compute.models import Job
    from bitgoeul.compute.sandbox import sandbox_support
    from bitgoeul.storage import make_store
    from bitgoeul.testbed.models import TestbedSubmission

    build_demo_city(settings, people=200, seed=7)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        lab = session.scalars(
            select(Organization).where(Organization.slug == "bitgoeul-labs")
        ).one()
        jobs = list(session.scalars(select(Job).order_by(Job.id)))
    if not sandbox_support().available:
        assert jobs == []
        engine.dispose()
        pytest.skip(f"no sandbox here: {sandbox_support().reason}")
    names = [j.name for j in jobs]
    assert names[0] == "Wellbeing check: inactivity episodes"
    # The startup's model submission to the flow task is the other job.
    assert names[1].startswith("testbed hourly-population-flow submission")
    store = make_store(settings)
    runner = make_job_runner(
        settings.model_copy(update={"environment": Environment.demo}),
        sessions,
        store,
        make_executor(settings),
    )
    runner.run_until_idle(timeout=120)
    with sessions() as session:
        model = session.scalars(
            select(TestbedSubmission).where(TestbedSubmission.job_id == jobs[1].id)
        ).one()
        assert model.status.value == "scored", model.error
        assert model.public_score is not None
        assert "predicted" in model.log_excerpt
        job = session.get(Job, jobs[0].id)
        assert job is not None
        assert job.status.value == "succeeded", job.reason
        assert job.release_status.value == "held"
        assert {o["path"] for o in job.outputs} == {"model.json", "summary.csv", "log.txt"}
        assert job.checks["blocked"] is False, job.checks
        balance = compute_queries.balance(session, lab.id)
        assert balance.cpu_hours < 100
        assert balance.gpu_hours == 10
    engine.dispose()


def test_the_demo_testbed_has_four_tasks_each_with_a_baseline_that_ran(
    settings: Settings,
) -> None:
    build_demo_city(settings, people=300, seed=7)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        tasks = {t.slug: t for t in testbed_queries.list_tasks(session)}
        # The four tasks, and the civic challenges KEPCO opened (demo/civic.py).
        assert set(tasks) == {t.slug for t in DEMO_TASKS} | set(CIVIC_TASKS)
        for demo in DEMO_TASKS:
            task = tasks[demo.slug]
            assert session.get(Dataset, task.test_dataset_id).holdout  # type: ignore[union-attr]
            board = testbed_queries.leaderboard(session, task=task)
            baseline = [row for row in board.rows if row.is_baseline]
            assert len(baseline) == 1, demo.slug
            assert baseline[0].rank is None
        # The startup's entry on the electricity task is ranked first among participants.
        electricity = testbed_queries.leaderboard(session, task=tasks[ELECTRICITY])
        assert [r.team for r in electricity.rows if not r.is_baseline] == ["Bitgoeul Labs"]
        assert electricity.rows[0].rank in (None, 1)
    engine.dispose()
