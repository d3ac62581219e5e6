"""Filtered copies of donated-data pools: the consent filter paid once per consent change.

A use of a My Data pool reads only the rows of donors whose consent covers it (the decision's
``DonorFilter``, ``privacy.views.donor_condition``).  Joining a million rows against the donor
keys at every query costs about a fifth of the query, so the door writes the filtered rows once,
at the first use under a coverage after a consent change (``write``), keeps them in the object
store like a version (``DonorCopy``: key, SHA-256, checked before every read by
``Door.read_derived``), and later uses under the same coverage read the copy with no join.

A copy belongs to one (version, consent epoch, tier, coverage).  Every consent change raises
the epoch, so the next use looks for a copy at the new epoch, finds none and writes one from
the verified version file with the fresh coverage: a withdrawal is effective at the next use as
before.  A copy of an older epoch is never read by a new use (each decides at the current
epoch), but a use decided just before the consent change may be about to read it, so it is not
deleted at once: writing a copy deletes the version's copies of older epochs superseded more
than ``SUPERSEDED_GRACE`` ago (``forget``, audited as ``dataset.donor_copies_deleted``).  A
copy's supersession is the moment the first copy of a newer epoch of its version was written.
A republished pool deletes the older versions' copies, and the retention sweep every copy of a
pool whose donors' retention ended, at once.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.audit.actions import record_event
from bitgoeul.datasets.models import DatasetVersion
from bitgoeul.db.base import utcnow
from bitgoeul.engine import locked as engine
from bitgoeul.governance.models import DonorCopy, GovernanceAudit
from bitgoeul.privacy import views
from bitgoeul.privacy.obligations import DonorFilter
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256

PREFIX = "donor-copies"
WRITE_LIMITS = engine.Limits(timeout_s=3600)
# How long a superseded copy outlives its supersession: longer than a use takes from its
# decision to opening the copy (a query decided at the older epoch just before a consent change
# still reads it), short enough that withdrawn donors' rows do not linger.  New uses never read
# it; the retention sweep does not wait.
SUPERSEDED_GRACE = timedelta(minutes=10)


def filter_sha256(donors: DonorFilter) -> str:
    """Which donors a copy holds: the SHA-256 of the condition that chose its rows."""
    return hashlib.sha256(views.donor_condition(donors).encode()).hexdigest()


def find(
    session: Session, store: ObjectStore, version: DatasetVersion, donors: DonorFilter
) -> DonorCopy | None:
    """The version's copy for this coverage at this epoch, when its file is still stored."""
    copy = session.scalars(
        select(DonorCopy)
        .where(
            DonorCopy.version_id == version.id,
            DonorCopy.filter_sha256 == filter_sha256(donors),
            DonorCopy.epoch == donors.epoch,
        )
        .order_by(DonorCopy.id.desc())
    ).first()
    if copy is None or not store.exists(copy.object_key):
        return None
    return copy


def write(
    session: Session,
    store: ObjectStore,
    *,
    version: DatasetVersion,
    version_path: Path,
    donors: DonorFilter,
    actor_name: str,
) -> DonorCopy:
    """Write the covered donors' rows of ``version_path`` (already verified) to the store,
    record the copy in the caller's transaction, and forget the version's older epochs'
    copies superseded more than ``SUPERSEDED_GRACE`` ago."""
    condition = views.donor_condition(donors)
    view = engine.View("__bg_pool", version_path, f"SELECT * FROM {views.SOURCE} WHERE {condition}")
    with tempfile.TemporaryDirectory(prefix="donor-copy-") as folder:
        target = Path(folder) / "copy.parquet"
        rows = engine.write_view(view, target=target, file_format="parquet", limits=WRITE_LIMITS)
        sha256 = file_sha256(target)
        key = f"{PREFIX}/{sha256}.parquet"
        if not store.exists(key):
            store.put_file(key, target)
    copy = DonorCopy(
        version_id=version.id,
        epoch=donors.epoch,
        tier=donors.tier,
        filter_sha256=hashlib.sha256(condition.encode()).hexdigest(),
        object_key=key,
        sha256=sha256,
        row_count=rows,
    )
    session.add(copy)
    session.flush()
    forget(
        session,
        store,
        version_ids=[version.id],
        before_epoch=donors.epoch,
        reason="superseded by a newer consent epoch",
        actor_name=actor_name,
        keep_keys={key},
        superseded_before=utcnow() - SUPERSEDED_GRACE,
    )
    return copy


def forget(
    session: Session,
    store: ObjectStore,
    *,
    version_ids: list[int],
    reason: str,
    before_epoch: int | None = None,
    actor_name: str = "platform",
    keep_keys: set[str] | None = None,
    superseded_before: datetime | None = None,
) -> int:
    """Delete the copies of ``version_ids`` (of epochs before ``before_epoch`` when given; only
    those superseded before ``superseded_before`` when given): their files and rows, and one
    audit entry per version saying how many and why.  In the caller's transaction; how many."""
    if not version_ids:
        return 0
    query = select(DonorCopy).where(DonorCopy.version_id.in_(version_ids))
    if before_epoch is not None:
        query = query.where(DonorCopy.epoch < before_epoch)
    copies = list(session.scalars(query).all())
    if superseded_before is not None:
        copies = [c for c in copies if _superseded_at(session, c) <= superseded_before]
    if not copies:
        return 0
    gone = {c.id for c in copies}
    still_used = set(
        session.scalars(
            select(DonorCopy.object_key).where(
                DonorCopy.object_key.in_({c.object_key for c in copies}),
                DonorCopy.id.not_in(gone),
            )
        )
    ) | (keep_keys or set())
    by_version: dict[int, list[DonorCopy]] = {}
    for copy in copies:
        by_version.setdefault(copy.version_id, []).append(copy)
        if copy.object_key not in still_used and store.exists(copy.object_key):
            store.delete(copy.object_key)
        session.delete(copy)
    for version_id, deleted in sorted(by_version.items()):
        version = session.get(DatasetVersion, version_id)
        record_event(
            session,
            action=GovernanceAudit.donor_copies_deleted,
            actor_name=actor_name,
            resource_type="dataset",
            resource_id=version.dataset.slug if version is not None else "",
            organization_id=version.dataset.publisher_id if version is not None else None,
            detail={
                "version": version.number if version is not None else None,
                "copies": len(deleted),
                "consent_epochs": sorted({c.epoch for c in deleted}),
                "reason": reason,
            },
        )
    session.flush()
    return len(copies)


def _superseded_at(session: Session, copy: DonorCopy) -> datetime:
    """When ``copy`` stopped being current: when its version's first copy of a newer epoch was
    written (now when there is none yet)."""
    first_newer = session.scalar(
        select(func.min(DonorCopy.created_at)).where(
            DonorCopy.version_id == copy.version_id, DonorCopy.epoch > copy.epoch
        )
    )
    return first_newer if first_newer is not None else utcnow()


def orphaned(session: Session, store: ObjectStore, keys: set[str]) -> None:
    """Delete the files of ``keys`` that no recorded copy names (a door that failed after
    writing one: its row was rolled back)."""
    if not keys:
        return
    named = set(session.scalars(select(DonorCopy.object_key).where(DonorCopy.object_key.in_(keys))))
    for key in keys - named:
        if store.exists(key):
            store.delete(key)
