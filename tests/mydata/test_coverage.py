"""The consent-coverage rule (``mydata.coverage``), checked against a plain restatement of it
on generated consents, and the filter it becomes (``privacy.views.donor_condition``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bitgoeul.governance.decision import TIERS
from bitgoeul.mydata.coverage import Grant, coverage_by_tier, covering_tiers
from bitgoeul.privacy.obligations import DonorFilter
from bitgoeul.privacy.views import donor_condition

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
PURPOSES = ["academic-research", "health-research", "ai-model-training"]

grants = st.builds(
    Grant,
    donor=st.sampled_from([f"d{i}" for i in range(6)]),
    purposes=st.frozensets(st.sampled_from(PURPOSES), max_size=3),
    projects=st.frozensets(st.integers(1, 4), max_size=2),
    tier=st.sampled_from(TIERS),
    starts_at=st.integers(-5, 5).map(lambda d: NOW + timedelta(days=d)),
    ends_at=st.integers(-5, 10).map(lambda d: NOW + timedelta(days=d)),
    active=st.booleans(),
)


def _covered(grant: Grant, purpose: str, project: int, tier: str) -> bool:
    return (
        grant.active
        and grant.starts_at <= NOW
        and grant.ends_at > NOW
        and purpose in grant.purposes
        and (len(grant.projects) == 0 or project in grant.projects)
        and TIERS.index(grant.tier) >= TIERS.index(tier)
    )


@given(
    st.lists(grants, max_size=12),
    st.sampled_from(PURPOSES),
    st.integers(1, 4),
)
def test_a_donor_is_covered_at_a_tier_exactly_when_one_consent_covers_it(
    consents: list[Grant], purpose: str, project: int
) -> None:
    donors = {f"d{i}" for i in range(6)}
    best = covering_tiers(consents, purpose=purpose, project_id=project, now=NOW)
    by_tier = coverage_by_tier(donors, best)
    for tier in TIERS:
        expected = {
            d
            for d in donors
            if any(_covered(g, purpose, project, tier) for g in consents if g.donor == d)
        }
        coverage = by_tier[tier]
        kept = coverage.keep if coverage.keep is not None else donors - coverage.drop
        assert kept == expected
        assert coverage.included == len(expected)
        assert coverage.excluded == len(donors) - len(expected)
        # The filter carries the shorter list.
        listed = coverage.keep if coverage.keep is not None else coverage.drop
        assert len(listed) <= len(donors) - len(listed)


@given(st.lists(grants, max_size=12), st.sampled_from(PURPOSES), st.integers(1, 4))
def test_a_wider_tier_never_covers_more_donors_than_a_narrower_one(
    consents: list[Grant], purpose: str, project: int
) -> None:
    donors = {f"d{i}" for i in range(6)}
    by_tier = coverage_by_tier(
        donors, covering_tiers(consents, purpose=purpose, project_id=project, now=NOW)
    )
    counts = [by_tier[tier].included for tier in TIERS]
    assert counts == sorted(counts, reverse=True)


@settings(deadline=None)  # a DuckDB connection per example; the machine may be busy
@given(
    st.frozensets(st.text(alphabet="abc'\"; -,", min_size=0, max_size=6), max_size=5),
    st.booleans(),
)
def test_the_donor_filter_quotes_every_key(keys: frozenset[str], keep: bool) -> None:
    import duckdb

    donors = DonorFilter(
        column="donor",
        keep=keys if keep else None,
        drop=frozenset() if keep else keys,
        epoch=1,
        tier="rows",
        included=0,
        excluded=0,
    )
    universe = sorted(keys | {"zzz"})
    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (donor VARCHAR)")
    conn.executemany("INSERT INTO t VALUES (?)", [[k] for k in universe] + [[None]])
    found = {
        r[0]
        for r in conn.execute(f"SELECT donor FROM t WHERE {donor_condition(donors)}").fetchall()
    }
    assert found == (set(keys) if keep else set(universe) - set(keys))
