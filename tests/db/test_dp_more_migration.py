"""Revision 0019 (DP partitions, person hashes) upgrades a database holding a DP profile,
budgets, a release and a per-person count, and downgrades again, without losing a row:
existing profiles stay unpartitioned, releases have no partition, counts are "not known"."""

from __future__ import annotations

from dp_migration_rows import TABLES, counts, fill
from sqlalchemy import MetaData, Table, select

from bitgoeul.config import Settings
from bitgoeul.db import make_engine, upgrade
from bitgoeul.db.upgrade import alembic_config

BEFORE = "0013_dp_budgets"


def test_upgrading_and_downgrading_keeps_every_profile_budget_release_and_count(
    fresh_settings: Settings,
) -> None:
    from alembic import command

    upgrade(fresh_settings, BEFORE)
    fill(fresh_settings)
    before = counts(fresh_settings)
    assert before == dict.fromkeys(TABLES, 1)

    upgrade(fresh_settings, "0019_dp_more")
    assert counts(fresh_settings) == before
    engine = make_engine(fresh_settings)
    with engine.connect() as conn:
        meta = MetaData()
        profiles = Table("dp_profiles", meta, autoload_with=conn)
        releases = Table("dp_releases", meta, autoload_with=conn)
        counted = Table("dp_person_rows", meta, autoload_with=conn)
        assert conn.execute(select(profiles.c.partition_column)).scalar_one() is None
        assert conn.execute(select(releases.c.partition)).scalar_one() is None
        assert conn.execute(select(counted.c.person_hash_unique)).scalar_one() is None
        assert conn.execute(select(counted.c.max_rows)).scalar_one() == 3
    engine.dispose()

    command.downgrade(alembic_config(fresh_settings), BEFORE)
    assert counts(fresh_settings) == before
