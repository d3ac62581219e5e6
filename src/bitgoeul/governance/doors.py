"""Every door into data passes here: decide, audit, refuse, written once.

A door (preview, download, query, export, a job's inputs, the testbed's test inputs and
scorer, and the steward's writes to a dataset) opens a ``Door`` for one use, names what it wants
to read as ``Request`` values (the dataset, the *version* it will read, the action and the
decision context), and calls ``admit``.  ``admit`` asks ``decide`` about each, appends one
audit entry per decision under the dataset's publisher (so each agency's stewards see every
use of their data, and every refusal), and raises ``AccessDenied`` naming every refusal.

The door's work runs inside ``with door:``.  Whatever stops it, a refusal, bad SQL, a file that
failed its integrity check or a crash, is recorded before it propagates: the transaction is
rolled back (nothing half-done stays), the door's decisions are written again with
``door_outcome`` "refused" (a domain error) or "failed" (a crash) instead of "ok", then the
door's own summary (``on_failure``), and all of it is committed.  A crash is recorded with its
kind only, never its message.

``read_path`` gives the verified local file of an admitted version.  A file whose SHA-256 is
not the published one is never read: the door records ``dataset.integrity_failed`` under the
publisher and tells every operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role, User
from bitgoeul.audit.actions import record_event
from bitgoeul.audit.models import AuditAction
from bitgoeul.datasets.models import Dataset, DatasetVersion
from bitgoeul.engine import locked as engine
from bitgoeul.errors import AccessDenied, BitgoeulError, Conflict, NotFound
from bitgoeul.governance import donor_copies, notifications
from bitgoeul.governance.decision import DataAction, Decision, DecisionContext, decide
from bitgoeul.governance.models import GovernanceAudit
from bitgoeul.messages import Message, msg
from bitgoeul.privacy import views
from bitgoeul.privacy.obligations import Obligations
from bitgoeul.privacy.pseudonyms import pseudonym_key
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import IntegrityFailed, missing_file, verify_file

# Writing a version to a file is not a query: it may take long, and it streams.
WRITE_LIMITS = engine.Limits(timeout_s=3600)


class DataChanged(Conflict):
    """The consent-filtered copy a use was decided to read was deleted between the decision
    and the read (a consent change superseded it): nothing was read and nothing is wrong with
    the store; running the use again decides it afresh."""


FailureSummary = Callable[[Session, BaseException, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Request:
    """What a door asks to do with one dataset: ``action`` on ``version`` (None: the dataset
    as a whole, for a steward's edit), in ``context``."""

    action: DataAction
    dataset: Dataset
    version: DatasetVersion | None
    context: DecisionContext | None = None


@dataclass(frozen=True)
class Passage:
    """A request the decision point allowed, with what it obliges."""

    dataset: Dataset
    version: DatasetVersion
    decision: Decision

    @property
    def slug(self) -> str:
        return self.dataset.slug


class Door:
    """One use of one door.  ``event`` names its decision entries (``dataset.query_decision``);
    ``detail`` is added to each (the project, the job, the task...), and ``failure_detail``
    over it when the entries are written again after a failure (a job that was never kept)."""

    def __init__(
        self,
        session: Session,
        *,
        actor: Actor,
        event: AuditAction,
        detail: dict[str, Any] | None = None,
        on_failure: FailureSummary | None = None,
        failure_detail: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.event = event
        self.detail = dict(detail or {})
        self.on_failure = on_failure
        self.failure_detail = dict(failure_detail or {})
        self.decisions: list[dict[str, Any]] = []  # each decision's audit entry, as written
        self._unreadable: Passage | None = None
        self._copies_written: set[str] = set()  # object keys of donor copies written here
        self._copy_store: ObjectStore | None = None

    # --- deciding -----------------------------------------------------------------------------

    def _entry(self, request: Request, decision: Decision) -> dict[str, Any]:
        detail: dict[str, Any] = {
            **self.detail,
            "action": request.action.value,
            "reason": decision.reason,
            "door_outcome": "ok",
        }
        if request.version is not None:
            detail["version"] = request.version.number
        if decision.obligations.agreement_id is not None:
            detail["agreement"] = decision.obligations.agreement_id
        donors = decision.obligations.donor_filter
        if donors is not None:
            # Donated data: the consent epoch the use was decided at and whose rows it read.
            detail["consent_epoch"] = donors.epoch
            detail["consent_tier"] = donors.tier
            detail["donors_included"] = donors.included
            detail["donors_excluded"] = donors.excluded
        return {
            "action": self.event,
            "outcome": "ok" if decision.allowed else "denied",
            "actor_id": self.actor.user_id,
            "actor_name": self.actor.username,
            "resource_type": "dataset",
            "resource_id": request.dataset.slug,
            "organization_id": request.dataset.publisher_id,
            "detail": detail,
        }

    def _decide(self, request: Request) -> Decision:
        """Ask the decision point and record the answer (no refusal raised)."""
        decision = decide(self.actor, request.action, request.dataset, context=request.context)
        entry = self._entry(request, decision)
        record_event(self.session, **entry)
        self.decisions.append(entry)
        return decision

    def admit(self, requests: Sequence[Request]) -> list[Passage]:
        """Decide every request; ``AccessDenied`` naming each refusal, or the passages."""
        passages: list[Passage] = []
        refusal: Message | None = None
        for request in requests:
            decision = self._decide(request)
            if not decision.allowed:
                this = msg(
                    "Dataset '{slug}': {reason}", slug=request.dataset.slug, reason=decision.reason
                )
                # Every refusal named, each still translatable.
                refusal = (
                    this if refusal is None else msg("{first}; {then}", first=refusal, then=this)
                )
            elif request.version is not None:
                passages.append(Passage(request.dataset, request.version, decision))
        if refusal is not None:
            raise AccessDenied(refusal)
        return passages

    # --- reading --------------------------------------------------------------------------------

    def read_path(self, store: ObjectStore, passage: Passage) -> Path:
        """The admitted version's file, after checking it is the published one."""
        what = f"dataset '{passage.slug}' version {passage.version.number}"
        return self._checked_file(
            store, passage, passage.version.object_key, passage.version.parquet_sha256, what
        )

    def read_derived(
        self, store: ObjectStore, passage: Passage, *, object_key: str, sha256: str, what: str
    ) -> Path:
        """A file the hub derived from the admitted version and keeps in the store (a DP
        bounded copy), after checking it against the SHA-256 recorded when it was written: it
        holds the version's rows, so a changed one is refused and reported like the version."""
        return self._checked_file(store, passage, object_key, sha256, what)

    def source(self, store: ObjectStore, passage: Passage) -> tuple[Path, Obligations]:
        """The verified file a door reads an admitted version through, and the obligations
        still to apply to it.  For donated data (a ``DonorFilter``) that is the version's
        filtered copy for the decision's consent epoch and coverage (``donor_copies``), written
        now from the verified version file when this is the first use since a consent change;
        the donor filter is then already applied."""
        obligations = passage.decision.obligations
        donors = obligations.donor_filter
        if donors is None:
            return self.read_path(store, passage), obligations
        copy = donor_copies.find(self.session, store, passage.version, donors)
        if copy is None:
            copy = donor_copies.write(
                self.session,
                store,
                version=passage.version,
                version_path=self.read_path(store, passage),
                donors=donors,
                actor_name=self.actor.username,
            )
            self._copies_written.add(copy.object_key)
            self._copy_store = store
        what = (
            f"the consent-filtered copy of dataset '{passage.slug}' version "
            f"{passage.version.number} (consent epoch {donors.epoch})"
        )
        path = self._checked_file(
            store, passage, copy.object_key, copy.sha256, what, missing_is_change=True
        )
        return path, replace(obligations, donor_filter=None)

    def _checked_file(
        self,
        store: ObjectStore,
        passage: Passage,
        object_key: str,
        expected: str,
        what: str,
        *,
        missing_is_change: bool = False,
    ) -> Path:
        """The verified local file of ``object_key``.  A changed file is an integrity failure;
        so is a missing one, unless ``missing_is_change`` (a donor copy deleted by a consent
        change since the decision): then ``DataChanged``, retryable, and no operator alarm."""
        try:
            try:
                path = store.local_file(object_key)
            except NotFound:
                if missing_is_change:
                    raise DataChanged(
                        msg(
                            "The data of dataset '{dataset}' changed while your use of it was "
                            "starting (a consent changed); nothing was read. Run it again.",
                            dataset=passage.slug,
                        )
                    ) from None
                raise missing_file(what, path=Path(object_key), expected=expected) from None
            verify_file(path, expected, what=what)
        except IntegrityFailed as error:
            # Reported at once (a caller that keeps its transaction keeps the report too);
            # ``__exit__`` reports it again after rolling back.
            self._unreadable = passage
            self._report_integrity(error)
            raise
        return path

    def view(
        self,
        store: ObjectStore,
        passage: Passage,
        *,
        secret: str,
        name: str = "__bg_view",
        keep: set[str] | None = None,
    ) -> tuple[engine.View, set[str]]:
        """The decision's view of an admitted version (``privacy.views``) over its verified
        file, for the locked engine; and the columns it leaves out."""
        path, obligations = self.source(store, passage)
        key = (
            pseudonym_key(secret, obligations.pseudonym_scope or "platform")
            if obligations.pseudonymise_columns
            else ""
        )
        fields = views.schema_fields(passage.version.table_schema)
        select_sql, hidden = views.view_sql(fields, obligations, key=key, keep=keep)
        return engine.View(name, path, select_sql), hidden

    def write(
        self,
        store: ObjectStore,
        passage: Passage,
        *,
        secret: str,
        target: Path,
        file_format: str,
    ) -> tuple[int, set[str]]:
        """Write the decision's view of an admitted version to ``target`` (Parquet, or CSV
        with a header); the rows written and the columns left out.  Governed downloads, job
        inputs and the testbed's test inputs are written here."""
        view, hidden = self.view(store, passage, secret=secret)
        rows = engine.write_view(view, target=target, file_format=file_format, limits=WRITE_LIMITS)
        return rows, hidden

    # --- failing --------------------------------------------------------------------------------

    def __enter__(self) -> Door:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None or not isinstance(error, Exception):
            return
        self.session.rollback()
        if self._copy_store is not None:  # copies written by this door whose rows rolled back
            donor_copies.orphaned(self.session, self._copy_store, self._copies_written)
        outcome = "refused" if isinstance(error, BitgoeulError) else "failed"
        for entry in self.decisions:
            entry["detail"].update(self.failure_detail, door_outcome=outcome)
            if isinstance(error, DataChanged):
                entry["detail"]["retryable"] = "the data changed since the decision"
            record_event(self.session, **entry)
        if isinstance(error, IntegrityFailed):
            self._report_integrity(error)
        if self.on_failure is not None:
            self.on_failure(self.session, error, self.decisions)
        self.session.commit()

    def _report_integrity(self, error: IntegrityFailed) -> None:
        failed = self._unreadable
        slug = failed.slug if failed else ""
        record_event(
            self.session,
            action=GovernanceAudit.dataset_integrity_failed,
            outcome="failed",
            actor_id=self.actor.user_id,
            actor_name=self.actor.username,
            resource_type="dataset",
            resource_id=slug,
            organization_id=failed.dataset.publisher_id if failed else None,
            detail={
                "version": failed.version.number if failed else None,
                "expected_sha256": error.expected,
                "found_sha256": error.found,
                "door": self.event,
            },
        )
        operators = self.session.scalars(
            select(User.id).where(User.role == Role.operator, User.is_active.is_(True))
        )
        notifications.notify(
            self.session,
            operators,
            kind="dataset.integrity_failed",
            text=msg(
                "The stored file of dataset '{dataset}' failed its integrity check and was not "
                "read; restore it from a backup or publish the version again.",
                dataset=slug,
            ),
            link=f"/datasets/{slug}" if slug else "/audit",
        )


def failure_reason(error: BaseException) -> str:
    """What an audit entry says of a failure: a domain error's message, a crash's kind only."""
    if isinstance(error, BitgoeulError):
        return error.message[:500]
    return f"internal error ({type(error).__name__})"
