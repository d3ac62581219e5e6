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
before.  Writing a copy deletes the version's copies of older epochs (``forget``, audited as
``dataset.donor_copies_deleted``); a republished pool deletes the older versions' copies, and
the retention sweep every copy of an older epoch.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.audit.actions import record_event
from bitgoeul.datasets.models import DatasetVersion
from bitgoeul.engine import locked as engine
from bitgoeul.governance.models import DonorCopy, GovernanceAudit
from bitgoeul.privacy import views
from bitgoeul.privacy.obligations import DonorFilter
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256

PREFIX = "donor-copies"
WRITE_LIMITS = engine.Limits(timeout_s=3600)


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
    record the copy in the caller's transaction, and forget the version's older epochs."""
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
) -> int:
    """Delete the copies of ``version_ids`` (of epochs before ``before_epoch`` when given): their
    files and rows, and one audit entry per version saying how many and why.  In the caller's
    transaction; how many."""
    if not version_ids:
        return 0
    query = select(DonorCopy).where(DonorCopy.version_id.in_(version_ids))
    if before_epoch is not None:
        query = query.where(DonorCopy.epoch < before_epoch)
    copies = session.scalars(query).all()
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


def orphaned(session: Session, store: ObjectStore, keys: set[str]) -> None:
    """Delete the files of ``keys`` that no recorded copy names (a door that failed after
    writing one: its row was rolled back)."""
    if not keys:
        return
    named = set(session.scalars(select(DonorCopy.object_key).where(DonorCopy.object_key.in_(keys))))
    for key in keys - named:
        if store.exists(key):
            store.delete(key)
