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
from bitgoeul.errors import ValidationFailed
from bitgoeul.governance.models import AccessRequest, Agreement, Project

ACCOUNTS = {
    "operator", "kepco", "kdn", "kpx", "lge", "naver", "skt", "kt", "lguplus", "nia", "kisa",
    "cnuh", "chosun", "gwangju", "researcher", "citizen",
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
        assert session.scalar(select(func.count()).select_from(Organization)) == 15
        assert session.scalar(select(func.count()).select_from(Dataset)) == len(CATALOGUE)
        assert session.scalar(select(func.count()).select_from(DatasetVersion)) == len(CATALOGUE)
        user = authenticate(session, settings=settings, username="cnuh", password="demo")
        assert user.role.value == "steward"

        # The demo project: KEPCO's meter data approved, the hospital's diagnoses pending.
        assert session.scalar(select(func.count()).select_from(Project)) == 1
        requests = {
            (r.dataset.slug, r.status.value) for r in session.scalars(select(AccessRequest))
        }
        assert requests == {
            ("kepco-household-electricity-hourly", "approved"),
            ("cnuh-visits-diagnoses", "pending"),
        }
        agreement = session.scalars(select(Agreement)).one()
        assert agreement.revoked_at is None
        assert not agreement.grants_identifiers
    engine.dispose()


def test_the_demo_is_never_built_into_a_production_hub(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(ValidationFailed, match="production"):
        build_demo_city(production, people=20)
