"""The control tower's indicators: each one computed from the platform's own tables.

One read per source package, each a handful of ``COUNT``/``SUM`` statements, so computing all of
them costs the same whatever the hub's size apart from the index scans.  Packages built as
separate projects are read only through their ``queries`` module (linkage, DP, civic; My Data
once its ``queries.donor_counts`` is on the hub): the tower imports them, nothing imports the
tower.
An indicator whose package is not on this hub is *not available* (``value`` None), never zero.

Each indicator says how many records its value rests on (``basis``).  On the public page and
to anyone but an operator, an indicator about people (trainees, donors, startups and their
employees, decision times) whose basis is 1..k-1 is suppressed, with the same k the secure-data
rules use by default (:data:`bitgoeul.privacy.obligations.DEFAULT_MIN_GROUP_SIZE`): a small
count, or an average over a few people, could point at someone.  Zero is shown: it discloses no
one.  Counts of things (datasets, jobs, tasks) are shown as they are.

Counting is a scan of tables that only grow (query runs, jobs, requests): 40 to 140 ms with
200,000 query runs (docs/benchmarks.md, "Control tower").  Operators and snapshots get
:func:`compute`, exact and fresh; everyone else gets :func:`public`, the suppressed values
counted at most ``PUBLIC_MAX_AGE_S`` seconds ago in this process, so that a crowd on the public
page, which needs no account, costs one count a minute rather than one per visit.
"""

from __future__ import annotations

import importlib
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from types import ModuleType
from typing import Any, Literal

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.models import Organization
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.civic import queries as civic_queries
from bitgoeul.compute.models import CreditEntry, CreditKind, Job
from bitgoeul.db.base import utcnow
from bitgoeul.dp import queries as dp_queries
from bitgoeul.governance.models import AccessRequest, RequestStatus
from bitgoeul.linkage import queries as linkage_queries
from bitgoeul.privacy.obligations import DEFAULT_MIN_GROUP_SIZE
from bitgoeul.programmes import queries as programme_queries
from bitgoeul.query.models import QueryRun
from bitgoeul.query.models import RunStatus as QueryStatus
from bitgoeul.testbed.models import TestbedSubmission, TestbedTask

Unit = Literal["count", "hours", "days", "epsilon"]
SUPPRESSION_K = DEFAULT_MIN_GROUP_SIZE

# The seed's targets for the city's programme.
TARGETS = {"startups_supported": 1000, "startup_jobs": 7000, "trainees": 5150}


@dataclass(frozen=True)
class Definition:
    key: str
    group: str
    unit: Unit
    source: str  # the package whose tables it reads
    about_people: bool = False  # small values suppressed for anyone but operators

    @property
    def target(self) -> int | None:
        return TARGETS.get(self.key)


DEFINITIONS: tuple[Definition, ...] = (
    Definition("datasets", "data", "count", "catalog"),
    Definition("dataset_versions", "data", "count", "catalog"),
    Definition("publishers", "data", "count", "catalog"),
    Definition("access_requests", "governance", "count", "governance"),
    Definition("access_approved", "governance", "count", "governance"),
    Definition("decision_days_median", "governance", "days", "governance", about_people=True),
    Definition("queries", "use", "count", "query"),
    Definition("query_refusals", "use", "count", "query"),
    Definition("jobs", "compute", "count", "compute"),
    Definition("cpu_hours_used", "compute", "hours", "compute"),
    Definition("gpu_hours_used", "compute", "hours", "compute"),
    Definition("cpu_hours_granted", "compute", "hours", "compute"),
    Definition("gpu_hours_granted", "compute", "hours", "compute"),
    Definition("testbed_tasks", "testbed", "count", "testbed"),
    Definition("testbed_submissions", "testbed", "count", "testbed"),
    Definition("linkage_runs", "privacy", "count", "linkage"),
    Definition("epsilon_spent", "privacy", "epsilon", "dp"),
    Definition("donors", "mydata", "count", "mydata", about_people=True),
    Definition("active_consents", "mydata", "count", "mydata", about_people=True),
    Definition("civic_problems", "civic", "count", "civic"),
    Definition("civic_challenges", "civic", "count", "civic"),
    Definition("startups_supported", "programmes", "count", "programmes", about_people=True),
    Definition("startup_jobs", "programmes", "count", "programmes", about_people=True),
    Definition("trainees", "programmes", "count", "programmes", about_people=True),
)
BY_KEY = {d.key: d for d in DEFINITIONS}
GROUPS = tuple(dict.fromkeys(d.group for d in DEFINITIONS))


@dataclass(frozen=True)
class Reading:
    """A value and the number of records it rests on.  ``value`` None: nothing to measure yet
    (the median of no decisions), or, with ``available`` false, a package not on this hub."""

    value: float | None
    basis: int
    available: bool = True

    @classmethod
    def count(cls, n: int) -> Reading:
        return cls(float(n), n)


NOT_AVAILABLE = Reading(None, 0, available=False)


@dataclass(frozen=True)
class Indicator:
    definition: Definition
    value: float | None
    basis: int
    available: bool = True
    suppressed: bool = False

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def progress(self) -> float | None:
        """The share of the target reached (0..1), when there is a target and a value."""
        target = self.definition.target
        if target is None or self.value is None:
            return None
        return min(1.0, max(0.0, self.value / target))


@dataclass(frozen=True)
class Indicators:
    at: datetime
    items: list[Indicator]
    k: int = SUPPRESSION_K

    def get(self, key: str) -> Indicator:
        return next(i for i in self.items if i.key == key)

    def values(self) -> dict[str, float | None]:
        return {i.key: i.value for i in self.items}

    def bases(self) -> dict[str, int]:
        return {i.key: i.basis for i in self.items}

    def in_group(self, group: str) -> list[Indicator]:
        return [i for i in self.items if i.definition.group == group]


def is_small(value: float | None, basis: int, k: int = SUPPRESSION_K) -> bool:
    """A value resting on 1..k-1 records: not shown outside the operators."""
    return value is not None and 0 < basis < k


def suppressed(indicators: Indicators) -> Indicators:
    """What anyone may see: indicators about people resting on too few records are blanked."""
    items = [
        replace(i, value=None, suppressed=True)
        if i.definition.about_people and is_small(i.value, i.basis, indicators.k)
        else i
        for i in indicators.items
    ]
    return replace(indicators, items=items)


def _scalar(session: Session, statement: Select[Any]) -> Any:
    return session.scalar(statement)


def _count(session: Session, statement: Select[Any]) -> int:
    return int(_scalar(session, statement) or 0)


def _catalog(session: Session) -> dict[str, Reading]:
    datasets = _count(session, select(func.count()).select_from(Dataset))
    versions = _count(session, select(func.count()).select_from(DatasetVersion))
    publishers = _count(session, select(func.count(distinct(Dataset.publisher_id))))
    return {
        "datasets": Reading.count(datasets),
        "dataset_versions": Reading.count(versions),
        "publishers": Reading.count(publishers),
    }


def _decision_days_in_python(session: Session) -> Reading:
    decided = session.execute(
        select(AccessRequest.created_at, AccessRequest.decided_at).where(
            AccessRequest.status.in_([RequestStatus.approved, RequestStatus.rejected]),
            AccessRequest.decided_at.is_not(None),
        )
    ).all()
    days = [
        max(0.0, (decided_at - created_at).total_seconds() / 86400)
        for created_at, decided_at in decided
        if decided_at is not None
    ]
    return Reading(round(statistics.median(days), 2) if days else None, len(days))


def _governance(session: Session) -> dict[str, Reading]:
    table = select(
        func.count(), func.count().filter(AccessRequest.status == RequestStatus.approved)
    ).select_from(AccessRequest)
    is_decided = AccessRequest.status.in_(
        [RequestStatus.approved, RequestStatus.rejected]
    ) & AccessRequest.decided_at.is_not(None)
    if session.get_bind().dialect.name == "postgresql":
        # One statement: the counts and the median decision time, counted by PostgreSQL
        # (``percentile_cont(0.5)`` is the median, the mean of the middle two for an even
        # count, as ``statistics.median``), instead of sending every decided request's two
        # timestamps to Python.
        days = func.greatest(
            0.0, func.extract("epoch", AccessRequest.decided_at - AccessRequest.created_at) / 86400
        )
        requests, approved, decided, median = session.execute(
            table.add_columns(
                func.count().filter(is_decided),
                func.percentile_cont(0.5).within_group(days).filter(is_decided),
            )
        ).one()
        decision = Reading(round(float(median), 2) if decided else None, int(decided or 0))
    else:
        requests, approved = session.execute(table).one()
        decision = _decision_days_in_python(session)
    return {
        "access_requests": Reading.count(int(requests or 0)),
        "access_approved": Reading.count(int(approved or 0)),
        "decision_days_median": decision,
    }


def _queries(session: Session) -> dict[str, Reading]:
    # One scan for both counts: the table grows with every query the hub answers.
    total, refused = session.execute(
        select(
            func.count(), func.count().filter(QueryRun.status == QueryStatus.refused)
        ).select_from(QueryRun)
    ).one()
    return {
        "queries": Reading.count(int(total or 0)),
        "query_refusals": Reading.count(int(refused or 0)),
    }


def _compute(session: Session) -> dict[str, Reading]:
    jobs, cpu, gpu, metered = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Job.used_cpu_hours), 0),
            func.coalesce(func.sum(Job.used_gpu_hours), 0),
            func.count(Job.used_cpu_hours),
        ).select_from(Job)
    ).one()
    granted = dict.fromkeys(CreditKind, (0.0, 0))
    for kind, hours, n in session.execute(
        select(CreditEntry.kind, func.coalesce(func.sum(CreditEntry.hours), 0), func.count())
        .where(CreditEntry.reason == "grant")
        .group_by(CreditEntry.kind)
    ):
        granted[CreditKind(kind)] = (float(hours), int(n))
    return {
        "jobs": Reading.count(int(jobs)),
        "cpu_hours_used": Reading(round(float(cpu or 0), 6), int(metered)),
        "gpu_hours_used": Reading(round(float(gpu or 0), 6), int(metered)),
        "cpu_hours_granted": Reading(*_rounded(granted[CreditKind.cpu])),
        "gpu_hours_granted": Reading(*_rounded(granted[CreditKind.gpu])),
    }


def _rounded(pair: tuple[float, int]) -> tuple[float, int]:
    return round(pair[0], 6), pair[1]


def _testbed(session: Session) -> dict[str, Reading]:
    tasks = _count(session, select(func.count()).select_from(TestbedTask))
    submissions = _count(
        session,
        select(func.count())
        .select_from(TestbedSubmission)
        .where(TestbedSubmission.is_baseline.is_(False)),
    )
    return {
        "testbed_tasks": Reading.count(tasks),
        "testbed_submissions": Reading.count(submissions),
    }


def _linkage(session: Session) -> dict[str, Reading]:
    total, _succeeded = linkage_queries.run_counts(session)
    return {"linkage_runs": Reading.count(total)}


def _dp(session: Session) -> dict[str, Reading]:
    releases, epsilon = dp_queries.spent_totals(session)
    return {"epsilon_spent": Reading(round(epsilon, 6), releases)}


def _optional(module: str) -> ModuleType | None:
    """A package's queries module, or None when the package is not on this hub."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


# Packages read through a function of their queries module that may not be on every hub yet:
# module -> (function, the indicators it feeds).
OPTIONAL_SOURCES = {
    "bitgoeul.mydata.queries": ("donor_counts", ("donors", "active_consents")),
}


def _optional_function(module: str) -> Callable[[Session], Any] | None:
    function, _keys = OPTIONAL_SOURCES[module]
    found = getattr(_optional(module), function, None)
    return found if callable(found) else None


def indicators_not_installed() -> list[str]:
    """The indicators whose package is not on this hub (they say "not available")."""
    return [
        key
        for module, (_function, keys) in OPTIONAL_SOURCES.items()
        if _optional_function(module) is None
        for key in keys
    ]


def _mydata(session: Session) -> dict[str, Reading]:
    counts = _optional_function("bitgoeul.mydata.queries")
    if counts is None:
        return {"donors": NOT_AVAILABLE, "active_consents": NOT_AVAILABLE}
    found = counts(session)
    return {
        "donors": Reading.count(int(found.donors)),
        "active_consents": Reading.count(int(found.active_consents)),
    }


def _civic(session: Session) -> dict[str, Reading]:
    counts = civic_queries.challenge_counts(session)
    return {
        "civic_problems": Reading.count(sum(counts.problems.values())),
        "civic_challenges": Reading.count(counts.challenges),
    }


def _programmes(session: Session) -> dict[str, Reading]:
    supported = programme_queries.supported_startups(session)
    return {
        "startups_supported": Reading.count(len(supported)),
        "startup_jobs": Reading(float(sum(supported.values())), len(supported)),
        "trainees": Reading.count(programme_queries.trainee_count(session)),
    }


SOURCES: tuple[Callable[[Session], dict[str, Reading]], ...] = (
    _catalog,
    _governance,
    _queries,
    _compute,
    _testbed,
    _linkage,
    _dp,
    _mydata,
    _civic,
    _programmes,
)


def compute(session: Session) -> Indicators:
    """Every indicator, now, exactly (for operators and snapshots)."""
    readings: dict[str, Reading] = {}
    for source in SOURCES:
        readings.update(source(session))
    missing = set(BY_KEY) - set(readings)
    if missing:  # a definition without a source is a bug, not an unavailable package
        raise RuntimeError(f"indicators without a source: {sorted(missing)}")
    return Indicators(
        at=utcnow(),
        items=[
            Indicator(d, readings[d.key].value, readings[d.key].basis, readings[d.key].available)
            for d in DEFINITIONS
        ],
    )


PUBLIC_MAX_AGE_S = 60.0
_public: dict[str, tuple[float, Indicators]] = {}
_public_lock = threading.Lock()


def public(session: Session) -> Indicators:
    """What anyone may see (:func:`suppressed`), counted at most ``PUBLIC_MAX_AGE_S`` seconds
    ago by this process for this database (``Indicators.at`` says when)."""
    key = str(session.get_bind().engine.url)
    moment = time.monotonic()
    with _public_lock:
        kept = _public.get(key)
    if kept is not None and kept[0] > moment:
        return kept[1]
    shown = suppressed(compute(session))
    with _public_lock:
        _public[key] = (moment + PUBLIC_MAX_AGE_S, shown)
    return shown


def forget_public() -> None:
    """Drop the kept public values (a snapshot was just taken; tests that reuse a database)."""
    with _public_lock:
        _public.clear()


@dataclass(frozen=True)
class Institution:
    slug: str
    name: str
    name_ko: str
    datasets: int
    versions: int


def by_institution(session: Session) -> list[Institution]:
    """Datasets and versions per publishing institution (public facts of the catalog)."""
    versions = (
        select(Dataset.publisher_id.label("publisher_id"), func.count().label("n"))
        .join(DatasetVersion, DatasetVersion.dataset_id == Dataset.id)
        .group_by(Dataset.publisher_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Organization.slug,
            Organization.name,
            Organization.name_ko,
            func.count(Dataset.id),
            func.coalesce(func.max(versions.c.n), 0),
        )
        .join(Dataset, Dataset.publisher_id == Organization.id)
        .outerjoin(versions, versions.c.publisher_id == Organization.id)
        .group_by(Organization.slug, Organization.name, Organization.name_ko)
        .order_by(func.count(Dataset.id).desc(), Organization.slug)
    )
    return [Institution(slug, name, name_ko, int(d), int(v)) for slug, name, name_ko, d, v in rows]
