"""Whose consent covers a use of donated data: read at every decision, for the decision point.

``covering_tiers`` is the rule, pure: a consent covers a project when it is active at that
moment (``starts_at <= now < ends_at``, not withdrawn or expired), names the project's purpose,
and names no projects or names this one; its tier allows that tier and the narrower ones.  A
donor is covered at a tier when any of their consents is.

``donation_terms`` is what ``governance.queries.decision_context`` asks for every dataset (it is
registered there by ``bitgoeul.mydata``): None for a dataset that is not a pool; for a pool, the
consent epoch read now and, per tier, the donors in and out.  Every consent change (given,
renewed, withdrawn, expired, a donation deleted) raises the source's ``consent_epoch`` in the
same transaction, so the coverage is a function of the epoch and the clock; it is kept per
process for one (database, source, epoch, project) until the next start or end of a consent it
read, and recomputed whenever the epoch moves.  The epoch itself is read at every decision.

What this does not do: a query already running when a donor withdraws finishes with the rows it
started with (the withdrawal applies from the next use), and released aggregates, job outputs
and models are not recalled.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.governance.decision import TIERS, DonationTerms, DonorCoverage
from bitgoeul.governance.models import Project
from bitgoeul.mydata.models import (
    DONOR_COLUMN,
    Consent,
    ConsentStatus,
    Donation,
    DonationStatus,
    MyDataSource,
)


@dataclass(frozen=True)
class Grant:
    """One consent as the rule reads it."""

    donor: str
    purposes: frozenset[str]
    projects: frozenset[int]  # empty: any project with one of the purposes
    tier: str
    starts_at: datetime
    ends_at: datetime
    active: bool = True  # False once withdrawn or expired


def tier_rank(tier: str) -> int:
    return TIERS.index(tier)


def covers(grant: Grant, *, purpose: str, project_id: int, now: datetime) -> bool:
    return (
        grant.active
        and grant.starts_at <= now < grant.ends_at
        and purpose in grant.purposes
        and (not grant.projects or project_id in grant.projects)
    )


def covering_tiers(
    grants: Iterable[Grant], *, purpose: str, project_id: int, now: datetime
) -> dict[str, int]:
    """Donor → the widest tier (its rank in ``TIERS``) at which their consent covers the
    project now; donors with no covering consent are absent."""
    best: dict[str, int] = {}
    for grant in grants:
        if covers(grant, purpose=purpose, project_id=project_id, now=now):
            rank = tier_rank(grant.tier)
            if rank > best.get(grant.donor, -1):
                best[grant.donor] = rank
    return best


def coverage_by_tier(donors: set[str], best: Mapping[str, int]) -> dict[str, DonorCoverage]:
    """Per tier, the covered donors or the others, whichever is fewer."""
    result: dict[str, DonorCoverage] = {}
    for rank, tier in enumerate(TIERS):
        covered = frozenset(d for d, r in best.items() if r >= rank and d in donors)
        others = frozenset(donors - covered)
        if len(covered) <= len(others):
            result[tier] = DonorCoverage(covered, frozenset(), len(covered), len(others))
        else:
            result[tier] = DonorCoverage(None, others, len(covered), len(others))
    return result


def _next_change(grants: Iterable[Grant], now: datetime) -> datetime | None:
    """The next moment a consent read here starts or ends (the coverage changes then)."""
    moments = [
        moment
        for grant in grants
        if grant.active
        for moment in (grant.starts_at, grant.ends_at)
        if moment > now
    ]
    return min(moments) if moments else None


def source_grants(session: Session, source_id: int) -> tuple[set[str], list[Grant]]:
    """Every donor key the source's pool has held (deleted donations too: their rows must never
    pass a filter of the "everyone but" form) and the active consents on active donations.

    Read as two Core selects on the session's connection (no ORM row processing), the JSON
    lists as text decoded once per distinct value (donors mostly choose the same purposes):
    this runs at the first use after every consent change, over every consent of the pool."""
    connection = session.connection()
    donors = set(
        connection.scalars(
            select(Donation.donor_key).where(Donation.source_id == source_id).distinct()
        )
    )
    rows = connection.execute(
        select(
            Donation.donor_key,
            cast(Consent.purposes, Text),
            cast(Consent.projects, Text),
            Consent.tier,
            Consent.starts_at,
            Consent.ends_at,
        )
        .join(Donation, Donation.id == Consent.donation_id)
        .where(
            Donation.source_id == source_id,
            Donation.status == DonationStatus.active,
            Consent.status == ConsentStatus.active,
        )
    )
    purposes_of: dict[str, frozenset[str]] = {}
    projects_of: dict[str, frozenset[int]] = {}
    grants = []
    for donor, purposes_text, projects_text, tier, starts, ends in rows:
        purposes = purposes_of.get(purposes_text)
        if purposes is None:
            purposes = purposes_of[purposes_text] = frozenset(json.loads(purposes_text))
        projects = projects_of.get(projects_text)
        if projects is None:
            projects = projects_of[projects_text] = frozenset(
                int(p) for p in json.loads(projects_text)
            )
        grants.append(
            Grant(
                donor=donor,
                purposes=purposes,
                projects=projects,
                tier=str(tier),
                starts_at=starts,
                ends_at=ends,
            )
        )
    return donors, grants


_CACHE_SIZE = 512
_cache: OrderedDict[tuple[object, ...], tuple[dict[str, DonorCoverage], datetime | None]] = (
    OrderedDict()
)
_cache_lock = threading.Lock()


def coverage(
    session: Session, source: MyDataSource, project: Project | None, now: datetime
) -> dict[str, DonorCoverage]:
    if project is None:
        return {tier: DonorCoverage(frozenset(), frozenset(), 0, 0) for tier in TIERS}
    bind = session.get_bind()
    key = (
        str(bind.engine.url),
        source.id,
        source.created_at.isoformat(),
        source.consent_epoch,
        project.id,
        str(project.purpose),
    )
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and (hit[1] is None or now < hit[1]):
            _cache.move_to_end(key)
            return hit[0]
    donors, grants = source_grants(session, source.id)
    best = covering_tiers(grants, purpose=str(project.purpose), project_id=project.id, now=now)
    result = coverage_by_tier(donors, best)
    with _cache_lock:
        _cache[key] = (result, _next_change(grants, now))
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def pool_source(session: Session, dataset: Dataset) -> MyDataSource | None:
    return session.scalars(
        select(MyDataSource).where(MyDataSource.pool_dataset_id == dataset.id)
    ).one_or_none()


def donation_terms(
    session: Session, dataset: Dataset, version: DatasetVersion | None, project: Project | None
) -> DonationTerms | None:
    """The decision point's view of a pool (None for any other dataset)."""
    source = pool_source(session, dataset)
    if source is None:
        return None
    # Read the epoch as committed now, not as this session may have cached it.
    session.refresh(source, attribute_names=["consent_epoch"])
    latest = session.scalar(
        select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)
    )
    return DonationTerms(
        pool=dataset.slug,
        donor_column=DONOR_COLUMN,
        epoch=source.consent_epoch,
        is_latest_version=version is None or version.number == latest,
        coverage=coverage(session, source, project, datetime.now(UTC)),
    )
