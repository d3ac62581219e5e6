"""Revision 0022 (DP δ: keys released with a threshold) upgrades a database holding a DP
profile, budgets, a release and a per-person count, and downgrades again, without losing a
row: existing profiles get no threshold keys, budgets a δ cap of 0, releases a δ cost of 0."""

from __future__ import annotations

from dp_migration_rows import TABLES, counts, fill
from sqlalchemy import MetaData, Table, select

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

BEFORE = "0021_linkage_review"
AFTER = "0022_dp_delta"


def test_upgrading_and_downgrading_keeps_every_profile_budget_and_release_at_delta_zero(
    fresh_settings: Settings,
) -> None:
    from alembic import command

    upgrade(fresh_settings, BEFORE)
    fill(fresh_settings)
    before = counts(fresh_settings)
    assert before == dict.fromkeys(TABLES, 1)

    upgrade(fresh_settings, AFTER)
    assert counts(fresh_settings) == before
    engine = make_engine(fresh_settings)
    with engine.connect() as conn:
        meta = MetaData()
        profiles = Table("dp_profiles", meta, autoload_with=conn)
        budgets = Table("dp_budgets", meta, autoload_with=conn)
        releases = Table("dp_releases", meta, autoload_with=conn)
        assert conn.execute(select(profiles.c.threshold_keys, profiles.c.delta)).one() == ([], None)
        assert conn.execute(
            select(budgets.c.cap_micro, budgets.c.spent_micro, budgets.c.delta_cap,
                   budgets.c.delta_spent, budgets.c.delta_reserved)
        ).one() == (5_000_000, 1_000_000, 0, 0, 0)  # fmt: skip
        assert conn.execute(select(releases.c.cost_micro, releases.c.delta_cost)).one() == (
            1_000_000,
            0,
        )
    engine.dispose()

    command.downgrade(alembic_config(fresh_settings), BEFORE)
    assert counts(fresh_settings) == before
