"""Building the demo city into a hub: organizations, accounts, datasets and their versions.

Everything goes through the same actions a person would use (``create_organization``,
``create_user``, ``create_dataset``, ``publish_version``, and for the demo project
``create_project``, ``request_access``, ``approve_request``), so the demo exercises the real ingest
and leaves a real audit trail.  Building is idempotent and resumable: what exists is kept, what
is missing is made, and a finished demo is recognised without generating anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role, User
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import Dataset
from bitgoeul.catalog.queries import latest_versions
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker, upgrade
from bitgoeul.demo.civic import RESIDENTS as CIVIC_RESIDENTS
from bitgoeul.demo.civic import ensure_demo_civic, has_demo_civic
from bitgoeul.demo.compute import ensure_demo_compute, has_demo_credits
from bitgoeul.demo.datasets import CATALOGUE, DemoDatasetSpec, write_demo_files
from bitgoeul.demo.institutions import (
    CITIZEN_USERNAME,
    DEMO_PASSWORD,
    EMAIL_DOMAIN,
    INSTITUTIONS,
)
from bitgoeul.demo.linkage import ensure_demo_linkage
from bitgoeul.demo.mydata import CITIZENS as MYDATA_CITIZENS
from bitgoeul.demo.mydata import ensure_demo_mydata, has_demo_mydata
from bitgoeul.demo.population import generate_population
from bitgoeul.demo.programmes import ensure_demo_programmes, has_demo_programmes
from bitgoeul.demo.sharing import ensure_demo_sharing, has_demo_project
from bitgoeul.demo.testbed import ensure_demo_testbed, has_demo_testbed
from bitgoeul.demo.testbed_data import DEMO_TASKS, holdout_create_request, testbed_specs
from bitgoeul.errors import ValidationFailed
from bitgoeul.storage import ObjectStore, make_store

DEFAULT_PEOPLE = 2000
DEFAULT_SEED = 20260101
SOURCE_DIR_NAME = "demo-sources"
MANIFEST_NAME = "demo-city.json"


@dataclass(frozen=True)
class DemoOrganization:
    slug: str
    name: str
    name_ko: str
    kind: str


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    organization: str | None
    password: str = DEMO_PASSWORD


@dataclass(frozen=True)
class DemoDataset:
    slug: str
    publisher: str
    access_level: str
    rows: int
    source_filename: str


@dataclass(frozen=True)
class DemoSummary:
    """What the demo city holds; ``created`` is False when it was already there."""

    people: int
    seed: int
    created: bool
    source_dir: Path
    organizations: list[DemoOrganization]
    accounts: list[DemoAccount]
    datasets: list[DemoDataset]


def demo_settings(settings: Settings) -> Settings:
    """The same settings with demo semantics (the password ``demo`` is allowed)."""
    if settings.environment == Environment.production:
        raise ValidationFailed(
            "The demo city is not built into a production hub: its accounts share the "
            "password 'demo'. Use another data directory and BITGOEUL_ENVIRONMENT=demo."
        )
    if settings.environment in (Environment.demo, Environment.test):
        return settings
    return settings.model_copy(update={"environment": Environment.demo})


def build_demo_city(
    settings: Settings,
    *,
    people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Create the synthetic Gwangju demo city in the hub ``settings`` points at.

    Runs the migrations, then makes whatever is missing.  When the demo is already complete it
    returns its summary at once (with the size and seed it was built with, which may differ
    from ``people`` and ``seed``: delete the data directory to build another city).
    """

    def say(step: str) -> None:
        if progress is not None:
            progress(step)

    settings = demo_settings(settings)
    source_dir = settings.ensure_data_dir() / SOURCE_DIR_NAME
    say("migrating the database")
    upgrade(settings)
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            if _is_complete(session):
                return _summary(session, source_dir, people, seed, created=False)
            say("creating organizations and accounts")
            stewards = _ensure_accounts(session, settings)
            store = make_store(settings)
            missing = _datasets_without_versions(session)
            if missing:
                # A build that was interrupted resumes with the city it had started.
                started = _read_manifest(source_dir)
                people = started.get("people", people)
                seed = started.get("seed", seed)
                say(f"generating {people} synthetic residents of Gwangju")
                population = generate_population(people, seed)
                specs = write_demo_files(population, source_dir, seed, progress=say)
                say("deriving the testbed tasks' training data and hidden test sets")
                testbed = testbed_specs(population, source_dir / "testbed", seed)
                _write_manifest(source_dir, people, seed)
                hidden = {task.test.slug for task in DEMO_TASKS}
                for spec in [*specs, *testbed]:
                    if spec.slug in missing:
                        say(f"publishing {spec.slug} ({spec.rows:,} rows)")
                        _publish(
                            session,
                            settings,
                            store,
                            stewards[spec.publisher],
                            spec,
                            holdout=spec.slug in hidden,
                        )
            say("opening the demo project and its agreement")
            ensure_demo_sharing(session)
            say("granting compute credits and submitting the example job")
            say(ensure_demo_compute(session, settings))
            say("setting up the AI+ testbed tasks and running their baselines")
            say(
                ensure_demo_testbed(
                    session, settings, store, seed=_read_manifest(source_dir).get("seed", seed)
                )
            )
            say("running the demo's linkage projects (key custodian: KISA)")
            say(ensure_demo_linkage(session, settings, store))
            say("seeding the programmes: startups' applications and an academy course")
            say(ensure_demo_programmes(session, settings))
            say("posting residents' civic problems and running one as a challenge")
            say(ensure_demo_civic(session, settings, store))
            say("citizens donating their own data (My Data)")
            say(ensure_demo_mydata(session, settings, store))
            return _summary(session, source_dir, people, seed, created=True)
    finally:
        engine.dispose()


def _is_complete(session: Session) -> bool:
    usernames = {i.username for i in INSTITUTIONS} | {CITIZEN_USERNAME}
    found = set(session.scalars(select(User.username).where(User.username.in_(usernames))))
    return (
        found == usernames
        and not _datasets_without_versions(session)
        and has_demo_project(session)
        and has_demo_credits(session)
        and has_demo_testbed(session)
        and has_demo_programmes(session)
        and has_demo_civic(session)
        and has_demo_mydata(session)
    )


def _datasets_without_versions(session: Session) -> set[str]:
    slugs = [spec.slug for spec in CATALOGUE]
    slugs += [spec.slug for task in DEMO_TASKS for spec in (task.training, task.test)]
    rows = session.execute(select(Dataset.slug, Dataset.id).where(Dataset.slug.in_(slugs)))
    datasets = {row.slug: row.id for row in rows}
    versions = latest_versions(session, list(datasets.values()))
    return {slug for slug in slugs if datasets.get(slug) not in versions}


def _ensure_accounts(session: Session, settings: Settings) -> dict[str, Actor]:
    """Every demo organization and account; returns each publisher's steward as an actor."""
    stewards: dict[str, Actor] = {}
    for institution in INSTITUTIONS:
        organization = account_queries.get_organization(session, institution.slug)
        if organization is None:
            organization = account_actions.create_organization(
                session,
                slug=institution.slug,
                name=institution.name,
                name_ko=institution.name_ko,
                kind=institution.kind,
                description=institution.description,
                website=institution.website,
            )
        user = account_queries.get_user(session, institution.username)
        if user is None:
            user = account_actions.create_user(
                session,
                username=institution.username,
                password=DEMO_PASSWORD,
                role=institution.role,
                organization_id=organization.id,
                display_name=f"{institution.name} ({institution.role.value})",
                email=institution.email,
                settings=settings,
            )
        if institution.role == Role.steward:
            stewards[institution.slug] = Actor.for_user(user, via="cli")
    if account_queries.get_user(session, CITIZEN_USERNAME) is None:
        account_actions.create_user(
            session,
            username=CITIZEN_USERNAME,
            password=DEMO_PASSWORD,
            role=Role.citizen,
            display_name="Demo citizen (시민)",
            email=f"{CITIZEN_USERNAME}@{EMAIL_DOMAIN}",
            settings=settings,
        )
    return stewards


def _publish(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    steward: Actor,
    spec: DemoDatasetSpec,
    *,
    holdout: bool = False,
) -> None:
    if session.scalar(select(Dataset.id).where(Dataset.slug == spec.slug)) is None:
        request = holdout_create_request(spec) if holdout else spec.create_request()
        catalog_actions.create_dataset(session, actor=steward, data=request)
    assert spec.path is not None  # noqa: S101 - write_demo_files always sets it
    catalog_actions.publish_version(
        session,
        settings=settings,
        store=store,
        actor=steward,
        slug=spec.slug,
        source=spec.path,
        filename=spec.filename,
        column_classes=spec.column_classes or None,
        note="Synthetic Gwangju demo data, generated by `bitgoeul demo`.",
    )


def _write_manifest(source_dir: Path, people: int, seed: int) -> None:
    manifest = {"people": people, "seed": seed, "datasets": [s.filename for s in CATALOGUE]}
    (source_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _read_manifest(source_dir: Path) -> dict[str, int]:
    path = source_dir / MANIFEST_NAME
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: int(data[key]) for key in ("people", "seed") if key in data}


def _summary(
    session: Session, source_dir: Path, people: int, seed: int, *, created: bool
) -> DemoSummary:
    built = _read_manifest(source_dir)
    slugs = [i.slug for i in INSTITUTIONS]
    organizations = {
        o.slug: o for o in session.scalars(select(Organization).where(Organization.slug.in_(slugs)))
    }
    ids = {o.id: o.slug for o in organizations.values()}
    accounts = []
    for institution in INSTITUTIONS:
        accounts.append(DemoAccount(institution.username, institution.role.value, institution.slug))
    accounts.append(DemoAccount(CITIZEN_USERNAME, Role.citizen.value, None))
    accounts += [DemoAccount(name, Role.citizen.value, None) for name in CIVIC_RESIDENTS]
    accounts += [
        DemoAccount(name, Role.citizen.value, None)
        for name in MYDATA_CITIZENS
        if name != CITIZEN_USERNAME
    ]
    catalogue_slugs = [spec.slug for spec in CATALOGUE]
    datasets = list(session.scalars(select(Dataset).where(Dataset.slug.in_(catalogue_slugs))))
    versions = latest_versions(session, [d.id for d in datasets])
    by_slug = {d.slug: d for d in datasets}
    summary_datasets = []
    for spec in CATALOGUE:
        dataset = by_slug.get(spec.slug)
        if dataset is None:
            continue
        version = versions.get(dataset.id)
        summary_datasets.append(
            DemoDataset(
                slug=spec.slug,
                publisher=ids.get(dataset.publisher_id, spec.publisher),
                access_level=dataset.access_level.value,
                rows=version.row_count if version else 0,
                source_filename=spec.filename,
            )
        )
    return DemoSummary(
        people=built.get("people", people),
        seed=built.get("seed", seed),
        created=created,
        source_dir=source_dir,
        organizations=[
            DemoOrganization(o.slug, o.name, o.name_ko, o.kind.value)
            for slug in slugs
            if (o := organizations.get(slug)) is not None
        ],
        accounts=accounts,
        datasets=summary_datasets,
    )
