"""What people do at the DP door: a steward approves a profile and sets budgets; a researcher
asks for a quote, then releases it.

``quote`` passes the door (``dataset.dp_quote_decision``), plans the request with OpenDP and
signs it; nothing is read and nothing is spent.  ``release`` checks the signed quote, passes
the door again (``dataset.dp_release_decision``: the agreement may have ended since), and then:

1. returns the stored answer, free, if the same request was released on the same version
   (``dp.release_repeated``): asking again cannot average the noise away;
2. reserves the cost (ε, and δ for keys released with a threshold) on every budget scope
   (the dataset's and the project's) in one transaction, all or none: the budget rows are
   locked (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite, which takes
   the database's write lock before the balances are read), so two releases never both see
   the same balance;
3. computes the exact bounded aggregates through the door's view (``dp.aggregates``); if that
   fails, the reservation is refunded (``dp.refund``): no noise was drawn, nothing left;
4. draws the noise (OpenDP) and, in one transaction, moves the cost from reserved to spent,
   stores the answer and audits one ``dp.debit`` per scope with the measurement's hash and the
   balances.  If anything fails once noise is drawn the cost stays charged.

Under any concurrency, spent + reserved never exceeds a cap: the check and the reservation are
made under the lock.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.actions import record_event
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion
from bitgoeul.catalog.queries import get_dataset, version_of
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.dp import aggregates, mechanisms, queries
from bitgoeul.dp.models import (
    DATASET_SCOPE,
    DELTA_UNIT,
    MAX_PARTITION_LENGTH,
    MICRO,
    DpAudit,
    DpBoundedCopy,
    DpBudget,
    DpPersonRows,
    DpProfile,
    DpRelease,
    ReleaseStatus,
    partition_scope,
    project_scope,
)
from bitgoeul.dp.plan import Measurement, Plan, plan_request
from bitgoeul.dp.schemas import (
    GROUP_SIZES,
    BudgetPublic,
    DpRequest,
    GroupSizeAccuracy,
    MeanAccuracy,
    MeasureQuote,
    ProfileIn,
    Quote,
    Release,
)
from bitgoeul.engine import locked as engine
from bitgoeul.errors import AccessDenied, Conflict, NotFound, ValidationFailed
from bitgoeul.governance import donor_copies
from bitgoeul.governance.decision import DataAction
from bitgoeul.governance.doors import Door, Passage, Request
from bitgoeul.governance.models import GovernanceAudit
from bitgoeul.governance.queries import decision_context, get_project
from bitgoeul.messages import msg
from bitgoeul.privacy import views
from bitgoeul.storage.base import ObjectStore
from bitgoeul.storage.integrity import file_sha256

QUOTE_SALT = "bitgoeul.dp.quote"
QUOTE_MAX_AGE_S = 15 * 60
RELEASE_LIMITS = engine.Limits(timeout_s=300, memory_limit="4GB")


def _signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret(), salt=QUOTE_SALT)


def _scopes(project_id: int | None, partition: str | None = None) -> list[str]:
    """The budgets a release is charged on: the dataset's (or, on a time-partitioned
    dataset, the partition's: every project together) and the project's."""
    overall = DATASET_SCOPE if partition is None else partition_scope(partition)
    return [overall] + ([project_scope(project_id)] if project_id is not None else [])


def _steward_door(
    session: Session, *, actor: Actor, dataset: Dataset, event: DpAudit | None = None
) -> None:
    door = Door(session, actor=actor, event=event or GovernanceAudit.dataset_edit_metadata)
    with door:
        door.admit([Request(DataAction.edit_metadata, dataset, None)])


# --- the steward ------------------------------------------------------------------------------


def set_profile(session: Session, *, actor: Actor, slug: str, profile: ProfileIn) -> DpProfile:
    """Approve what DP requests on ``slug`` may use: the privacy unit, the public key sets,
    the bounds (and quantile candidates) of measured columns."""
    dataset = get_dataset(session, slug, publisher=False)
    _steward_door(session, actor=actor, dataset=dataset)
    version = version_of(session, dataset)
    classes = views.column_classes(views.schema_fields(version.table_schema))
    if classes.get(profile.person_column) != "direct_identifier":
        raise ValidationFailed(
            msg(
                "The privacy unit must be the dataset's direct identifier; '{column}' is not "
                "one in version {version}.",
                column=profile.person_column,
                version=version.number,
            )
        )
    for column in [*profile.keys, *profile.measures, *profile.threshold_keys]:
        if column not in classes:
            raise ValidationFailed(
                msg(
                    "Version {version} has no column '{column}'.",
                    version=version.number,
                    column=column,
                )
            )
        if classes[column] == "direct_identifier":
            raise ValidationFailed(
                msg(
                    "Column '{column}' identifies people; it can only be the privacy unit.",
                    column=column,
                )
            )
    if profile.partition_column is not None:
        _check_partitions(profile)
        if profile.partition_column in profile.threshold_keys:
            raise ValidationFailed(
                msg(
                    "The partition column '{column}' needs a public key set listing its "
                    "partitions (for example the months).",
                    column=profile.partition_column,
                )
            )
    row = queries.profile_of(session, dataset.id)
    if row is None:
        row = DpProfile(dataset_id=dataset.id, person_column="", max_rows_per_person=1)
        session.add(row)
    row.person_column = profile.person_column
    row.max_rows_per_person = profile.max_rows_per_person
    row.keys = {k: list(v) for k, v in profile.keys.items()}
    row.measures = {k: v.model_dump() for k, v in profile.measures.items()}
    row.partition_column = profile.partition_column
    row.threshold_keys = list(profile.threshold_keys)
    row.delta = profile.delta
    row.updated_by_id = actor.user_id
    session.flush()
    record_event(
        session,
        action=DpAudit.dp_profile_set,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail=queries.profile_dict(row),
    )
    session.commit()
    return row


def _check_partitions(profile: ProfileIn) -> None:
    column = profile.partition_column
    if column not in profile.keys:
        raise ValidationFailed(
            msg(
                "The partition column '{column}' needs a public key set listing its "
                "partitions (for example the months).",
                column=column,
            )
        )
    for value in profile.keys[str(column)]:
        if len(str(value)) > MAX_PARTITION_LENGTH:
            raise ValidationFailed(
                msg(
                    "Partition '{value}' is longer than {limit} characters; use shorter "
                    "values (for example 2026-01).",
                    value=str(value)[:60],
                    limit=MAX_PARTITION_LENGTH,
                )
            )


def _budget_scope(
    session: Session, dataset: Dataset, project_id: int | None, partition: str | None
) -> str:
    if project_id is not None:
        get_project(session, project_id)
        return project_scope(project_id)
    if partition is None:
        return DATASET_SCOPE
    profile = queries.profile_of(session, dataset.id)
    column = profile.partition_column if profile is not None else None
    if profile is None or column is None:
        raise ValidationFailed(
            msg(
                "Dataset '{slug}' is not partitioned; set its DP settings' partition column "
                "first, or set the dataset's cap.",
                slug=dataset.slug,
            )
        )
    allowed = [str(v) for v in profile.keys.get(column, [])]
    if partition not in allowed:
        raise ValidationFailed(
            msg(
                "'{partition}' is not a partition of this dataset; name one of: {allowed}.",
                partition=partition,
                allowed=", ".join(allowed) or "-",
            )
        )
    return partition_scope(partition)


def set_budget(
    session: Session,
    *,
    actor: Actor,
    slug: str,
    project_id: int | None,
    epsilon: float,
    partition: str | None = None,
    delta: float | None = None,
) -> DpBudget:
    """Set the ε cap of the dataset (``project_id`` None: all projects together), of one
    project on it, or of one partition of a time-partitioned dataset (all projects together,
    for the releases on that partition), and its δ cap (``delta`` None: unchanged, 0 for a
    new budget; releases grouped by keys released with a threshold spend δ).  A cap below
    what is already spent and reserved is refused."""
    if project_id is not None and partition is not None:
        raise ValidationFailed(msg("Name a project or a partition, not both."))
    dataset = get_dataset(session, slug, publisher=False)
    _steward_door(session, actor=actor, dataset=dataset)
    # The decision's audit entry holds the audit lock; release it before locking budgets
    # (releases lock budgets, then audit: one order everywhere, no deadlock on PostgreSQL).
    session.commit()
    scope = _budget_scope(session, dataset, project_id, partition)
    cap = round(epsilon * MICRO)
    delta_cap = None if delta is None else round(delta * DELTA_UNIT)
    _lock_budgets(session, dataset.id, [scope])
    budget = session.scalars(
        select(DpBudget)
        .where(DpBudget.dataset_id == dataset.id, DpBudget.scope == scope)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if budget is None:
        budget = DpBudget(
            dataset_id=dataset.id,
            scope=scope,
            project_id=project_id,
            cap_micro=cap,
            spent_micro=0,
            reserved_micro=0,
            delta_cap=0,
            delta_spent=0,
            delta_reserved=0,
        )
        session.add(budget)
    elif cap < budget.spent_micro + budget.reserved_micro:
        raise ValidationFailed(
            msg(
                "ε {used} of this budget is already spent or reserved; the cap cannot go below it.",
                used=(budget.spent_micro + budget.reserved_micro) / MICRO,
            )
        )
    if delta_cap is not None:
        if delta_cap < budget.delta_spent + budget.delta_reserved:
            raise ValidationFailed(
                msg(
                    "δ {used} of this budget is already spent or reserved; the δ cap cannot go "
                    "below it.",
                    used=(budget.delta_spent + budget.delta_reserved) / DELTA_UNIT,
                )
            )
        budget.delta_cap = delta_cap
    budget.cap_micro = cap
    session.flush()
    record_event(
        session,
        action=DpAudit.dp_budget_set,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail={
            **queries.balance(budget).model_dump(),
            "project": project_id,
            "partition": partition,
        },
    )
    session.commit()
    return budget


def read_budgets(session: Session, *, actor: Actor, slug: str) -> list[BudgetPublic]:
    """Every budget of ``slug`` with what is spent and reserved: the ledger is the stewards'
    (a researcher sees their own balances in each quote).  The reading is audited."""
    dataset = get_dataset(session, slug, publisher=False)
    _steward_door(session, actor=actor, dataset=dataset, event=DpAudit.dataset_dp_budgets_read)
    session.commit()
    return [queries.budget_public(slug, b) for b in queries.budgets(session, dataset.id)]


# --- the researcher -----------------------------------------------------------------------------


def _admit(
    session: Session, door: Door, *, actor: Actor, request: DpRequest
) -> tuple[Passage, Plan]:
    dataset = get_dataset(session, request.dataset, publisher=False)
    version = version_of(session, dataset, request.version)
    context = decision_context(
        session, actor=actor, dataset=dataset, version=version, project_id=request.project
    )
    passage = door.admit([Request(DataAction.dp_release, dataset, version, context)])[0]
    profile = queries.profile_of(session, dataset.id)
    if profile is None:
        raise ValidationFailed(
            msg(
                "Dataset '{slug}' has no approved DP settings yet; ask its steward.",
                slug=dataset.slug,
            )
        )
    classes = views.column_classes(views.schema_fields(version.table_schema))
    obligations = passage.decision.obligations
    visible = (
        set(classes)
        if obligations.visible_columns is None
        else set(obligations.visible_columns) & set(classes)
    )
    plan = plan_request(
        request, profile=queries.profile_dict(profile), columns=classes, visible=visible
    )
    return passage, plan


def measure_quotes(plan: Plan) -> list[MeasureQuote]:
    quotes: list[MeasureQuote] = []
    for position, measure in enumerate(plan.measures):
        parts = [m for m in plan.measurements if m.measure == position]
        main = parts[0]
        factor = main.bounds.factor if main.part == "sum" and main.bounds is not None else 1
        if main.part == "quantile" and main.bounds is not None:
            factor = main.bounds.factor
        single = len(parts) == 1 and main.part != "quantile"
        quotes.append(
            MeasureQuote(
                kind=measure.kind,
                column=measure.column,
                q=measure.q,
                mechanism=main.noise.mechanism,
                noise_scale=main.noise.scale / factor,
                accuracy_95=(
                    main.noise.accuracy_95 / factor
                    if single and main.noise.accuracy_95 is not None
                    else None
                ),
                epsilon=sum(p.noise.epsilon * p.groups_charged for p in parts),
                delta=sum(p.noise.delta for p in parts),
                threshold=main.noise.threshold,
                **_group_accuracy(parts),
            )
        )
    return quotes


def _group_accuracy(parts: list[Measurement]) -> dict[str, Any]:
    """A mean's and a quantile's accuracy, which depend on a group's size (read by no quote):
    as a formula in n and worked out for ``GROUP_SIZES``."""
    main = parts[0]
    if main.part == "quantile" and main.bounds is not None:
        rank = mechanisms.quantile_rank_error(main.noise, candidates=len(main.bounds.candidates))
        return {
            "rank_error_95": rank,
            "by_group_size": [
                GroupSizeAccuracy(rows=n, within=min(rank / n, 1.0)) for n in GROUP_SIZES
            ],
        }
    by_part = {p.part: p for p in parts}
    if set(by_part) != {"sum", "count"} or by_part["sum"].bounds is None:
        return {}
    total, count = by_part["sum"], by_part["count"]
    bounds = total.bounds
    assert bounds is not None  # noqa: S101 (checked above)
    # Each part at 97.5 %, so both hold together with probability >= 95 % (union bound).
    accuracy = MeanAccuracy(
        sum_accuracy=mechanisms.vector_accuracy(total.noise, mechanisms.ALPHA / 2) / bounds.factor,
        count_accuracy=mechanisms.vector_accuracy(count.noise, mechanisms.ALPHA / 2),
        bound=max(abs(bounds.lower), abs(bounds.upper)) / bounds.factor,
    )
    return {
        "mean_accuracy": accuracy,
        "by_group_size": [
            GroupSizeAccuracy(
                rows=n,
                within=mechanisms.mean_error_bound(
                    n,
                    sum_accuracy=accuracy.sum_accuracy,
                    count_accuracy=accuracy.count_accuracy,
                    bound=accuracy.bound,
                ),
            )
            for n in GROUP_SIZES
        ],
    }


def _groups(plan: Plan) -> list[dict[str, Any]]:
    return [dict(zip(plan.keys, values, strict=True)) for values in plan.group_values]


def _threshold_keys(plan: Plan) -> list[str]:
    return [k for k, approved in zip(plan.keys, plan.allowed, strict=True) if approved is None]


def _missing_budgets(session: Session, dataset: Dataset, scopes: list[str]) -> None:
    found = {b.scope for b in queries.budgets(session, dataset.id, scopes)}
    for scope in scopes:
        if scope not in found:
            raise AccessDenied(
                msg(
                    "No ε budget is set for '{scope}' on dataset '{slug}'; ask its steward to "
                    "set one.",
                    scope=scope,
                    slug=dataset.slug,
                )
            )


def quote(session: Session, *, settings: Settings, actor: Actor, request: DpRequest) -> Quote:
    """What ``request`` would cost and how accurate it would be; nothing is spent."""
    door = Door(
        session,
        actor=actor,
        event=DpAudit.dataset_dp_quote_decision,
        detail={"project": request.project},
    )
    with door:
        passage, plan = _admit(session, door, actor=actor, request=request)
        scopes = _scopes(request.project, request.partition)
        _missing_budgets(session, passage.dataset, scopes)
        balances = [
            queries.balance(b) for b in queries.budgets(session, passage.dataset.id, scopes)
        ]
        fixed = request.model_copy(update={"version": passage.version.number})
        token = _signer(settings).dumps(
            {
                "request": fixed.model_dump(mode="json"),
                "actor": actor.user_id,
                "cost": plan.cost_micro,
                "delta": plan.delta_cost,
            }
        )
        session.commit()
    return Quote(
        dataset=passage.slug,
        version=passage.version.number,
        project=request.project,
        partition=request.partition,
        groups=_groups(plan),
        threshold_keys=_threshold_keys(plan),
        measures=measure_quotes(plan),
        epsilon=plan.cost_micro / MICRO,
        delta=plan.delta_cost / DELTA_UNIT,
        balances=balances,
        token=token,
    )


def _claim(settings: Settings, actor: Actor, token: str) -> tuple[DpRequest, int, int]:
    try:
        claim = _signer(settings).loads(token, max_age=QUOTE_MAX_AGE_S)
    except SignatureExpired as error:
        raise ValidationFailed(msg("This quote has expired; ask for a new one.")) from error
    except BadSignature as error:
        raise ValidationFailed(msg("This is not a quote this hub signed.")) from error
    if claim.get("actor") != actor.user_id:
        raise AccessDenied(msg("This quote was made for another account."))
    request = DpRequest.model_validate(claim["request"])
    return request, int(claim["cost"]), int(claim.get("delta", 0))


def _measurement_sha256(plan: Plan, request: dict[str, Any], version: DatasetVersion) -> str:
    described = {
        "request": request,
        "version_sha256": version.parquet_sha256,
        "person_column": plan.person_column,
        "max_rows_per_person": plan.max_rows,
        "measurements": [
            {
                "measure": m.measure,
                "part": m.part,
                "column": m.column,
                "mechanism": m.noise.mechanism,
                "sensitivity": m.sensitivity,
                "scale": m.noise.scale,
                "epsilon": m.noise.epsilon,
                "groups_charged": m.groups_charged,
                "bounds": None if m.bounds is None else [m.bounds.lower, m.bounds.upper],
                "factor": None if m.bounds is None else m.bounds.factor,
                # only threshold measurements: earlier releases' hashes stay as they were
                **(
                    {"threshold": m.noise.threshold, "delta": m.noise.delta}
                    if m.noise.threshold is not None
                    else {}
                ),
            }
            for m in plan.measurements
        ],
    }
    text = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _view_sha256(passage: Passage, view: engine.View) -> str:
    """What a kept count or bounded copy was made from: the view's SQL and, for donated data,
    which donors' rows its source holds (a pool's view reads the door's consent-filtered copy,
    so its SQL no longer names them: without this a copy made before a withdrawal would be
    reused after it)."""
    donors = passage.decision.obligations.donor_filter
    which = f"\n-- donors {donor_copies.filter_sha256(donors)}" if donors is not None else ""
    return hashlib.sha256((view.select_sql + which).encode()).hexdigest()


def _person_rows(
    session: Session, passage: Passage, plan: Plan, view: engine.View
) -> aggregates.PersonRows:
    """The most rows one person has in this view of this version, and whether persons' hashes
    are distinct: counted once and kept (versions never change), so later releases know
    whether bounding would drop anything, and how to partition its window."""
    view_sha256 = _view_sha256(passage, view)
    found = session.execute(
        select(DpPersonRows.max_rows, DpPersonRows.person_hash_unique).where(
            DpPersonRows.version_id == passage.version.id,
            DpPersonRows.person_column == plan.person_column,
            DpPersonRows.view_sha256 == view_sha256,
        )
    ).first()
    if found is not None:
        return aggregates.PersonRows(int(found[0]), bool(found[1]))
    counted = aggregates.person_rows(plan.person_column, view, limits=RELEASE_LIMITS)
    session.add(
        DpPersonRows(
            version_id=passage.version.id,
            person_column=plan.person_column,
            view_sha256=view_sha256,
            max_rows=counted.most,
            person_hash_unique=counted.hash_unique,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # another release counted it at the same time: the same numbers
        session.rollback()
    return counted


def _bounded_copy(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    passage: Passage,
    plan: Plan,
    view: engine.View,
    hash_unique: bool,
) -> DpBoundedCopy:
    """The view's rows at most m per person, written once per version, view and limit (the
    first release that must drop rows pays for the per-person window; later ones read the
    copy)."""
    view_sha256 = _view_sha256(passage, view)
    partition_column = plan.partition_column or ""
    query = select(DpBoundedCopy).where(
        DpBoundedCopy.version_id == passage.version.id,
        DpBoundedCopy.view_sha256 == view_sha256,
        DpBoundedCopy.person_column == plan.person_column,
        DpBoundedCopy.partition_column == partition_column,
        DpBoundedCopy.max_rows == plan.max_rows,
    )
    found = session.scalars(query).first()
    if found is not None and store.exists(found.object_key):
        return found
    scratch = settings.ensure_data_dir() / "uploads"
    scratch.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dp-bounded-", dir=scratch) as folder:
        target = Path(folder) / "bounded.parquet"
        rows = aggregates.write_bounded_copy(
            view,
            person_column=plan.person_column,
            partition_column=plan.partition_column,
            max_rows=plan.max_rows,
            target=target,
            limits=RELEASE_LIMITS,
            hash_unique=hash_unique,
        )
        sha256 = file_sha256(target)
        key = f"dp-bounded/{sha256}.parquet"
        store.put_file(key, target)
    if found is not None:  # its file was removed: the same rows again
        found.object_key, found.sha256, found.row_count = key, sha256, rows
    else:
        found = DpBoundedCopy(
            version_id=passage.version.id,
            view_sha256=view_sha256,
            person_column=plan.person_column,
            partition_column=partition_column,
            max_rows=plan.max_rows,
            object_key=key,
            sha256=sha256,
            row_count=rows,
        )
        session.add(found)
    try:
        session.commit()
    except IntegrityError:  # another release wrote it at the same time
        session.rollback()
        found = session.scalars(query).one()
    return found


def forget_bounded_copies(session: Session, *, store: ObjectStore, version_ids: list[int]) -> int:
    """Remove the bounded copies of ``version_ids`` (their files and rows), for a caller that
    removes those versions' files (a My Data pool erasing withdrawn donations): a copy holds
    the version's rows and must go with them.  In the caller's transaction; how many."""
    copies = session.scalars(
        select(DpBoundedCopy).where(DpBoundedCopy.version_id.in_(version_ids))
    ).all()
    for copy in copies:
        if store.exists(copy.object_key):
            store.delete(copy.object_key)
        session.delete(copy)
    session.flush()
    return len(copies)


def _release_view(
    session: Session,
    door: Door,
    *,
    settings: Settings,
    store: ObjectStore,
    passage: Passage,
    plan: Plan,
    view: engine.View,
    persons: aggregates.PersonRows,
) -> tuple[engine.View, bool]:
    """What a release aggregates, and whether it is a bounded copy: the view itself when no
    person has more than m rows, else the bounded copy (checked against its SHA-256 like a
    version's file).  Either way nothing is left to bound."""
    if persons.most <= plan.max_rows:
        return view, False
    copy = _bounded_copy(
        session,
        settings=settings,
        store=store,
        passage=passage,
        plan=plan,
        view=view,
        hash_unique=persons.hash_unique,
    )
    what = f"the DP bounded copy of dataset '{passage.slug}' version {passage.version.number}"
    path = door.read_derived(
        store, passage, object_key=copy.object_key, sha256=copy.sha256, what=what
    )
    return engine.View(view.name, path, "SELECT * FROM {source}"), True


def _lock_budgets(session: Session, dataset_id: int, scopes: list[str]) -> None:
    """On SQLite, take the database's write lock before reading the budgets: ``BEGIN
    IMMEDIATE`` when no transaction is open yet at the driver (reads alone open none), else a
    write to the budget rows, which takes it as well; either way no other release can read
    the same balance until this transaction ends.  PostgreSQL locks the rows with
    ``SELECT … FOR UPDATE`` (``_locked_budgets``)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    connection = session.connection()
    if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    session.execute(
        update(DpBudget)
        .where(DpBudget.dataset_id == dataset_id, DpBudget.scope.in_(scopes))
        .values(reserved_micro=DpBudget.reserved_micro)
    )


def _locked_budgets(session: Session, dataset_id: int, scopes: list[str]) -> list[DpBudget]:
    _lock_budgets(session, dataset_id, scopes)
    return list(
        session.scalars(
            select(DpBudget)
            .where(DpBudget.dataset_id == dataset_id, DpBudget.scope.in_(scopes))
            .order_by(DpBudget.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _reserve(
    session: Session,
    *,
    actor: Actor,
    passage: Passage,
    request: DpRequest,
    request_sha256: str,
    measurement_sha256: str,
    cost: int,
    delta_cost: int = 0,
) -> int:
    """Reserve ``cost`` (ε) and ``delta_cost`` (δ) on every scope, all or none, and keep the
    release row; committed."""
    scopes = _scopes(request.project, request.partition)
    dataset = passage.dataset
    budgets = _locked_budgets(session, dataset.id, scopes)
    found = {b.scope: b for b in budgets}
    for scope in scopes:
        budget = found.get(scope)
        if budget is None:
            session.rollback()
            _missing_budgets(session, dataset, [scope])
            raise AssertionError("unreachable")  # pragma: no cover
        if budget.left_micro < cost:
            session.rollback()
            raise AccessDenied(
                msg(
                    "The ε budget '{scope}' of dataset '{slug}' has {left} left; this release "
                    "costs {cost}.",
                    scope=scope,
                    slug=dataset.slug,
                    left=budget.left_micro / MICRO,
                    cost=cost / MICRO,
                )
            )
        if budget.delta_left < delta_cost:
            session.rollback()
            delta_left, delta_asked = budget.delta_left / DELTA_UNIT, delta_cost / DELTA_UNIT
            raise AccessDenied(
                msg(
                    "The δ budget '{scope}' of dataset '{slug}' has {left} left; this "
                    "release, grouped by a key released with a threshold, costs δ {cost}. "
                    "Ask the steward to raise its δ cap.",
                    scope=scope,
                    slug=dataset.slug,
                    left=format(delta_left, "g"),
                    cost=format(delta_asked, "g"),
                )
            )
    for budget in budgets:
        budget.reserved_micro += cost
        budget.delta_reserved += delta_cost
    row = DpRelease(
        request_sha256=request_sha256,
        measurement_sha256=measurement_sha256,
        dataset_id=dataset.id,
        version_id=passage.version.id,
        project_id=request.project,
        partition=request.partition,
        actor_id=actor.user_id,
        status=ReleaseStatus.reserved,
        cost_micro=cost,
        delta_cost=delta_cost,
        request=request.model_dump(mode="json"),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(
            msg("The same request is being released right now; ask again in a moment.")
        ) from error
    session.commit()
    return row.id


def _finish(
    session: Session,
    *,
    actor: Actor,
    dataset: Dataset,
    release_id: int,
    scopes: list[str],
    answer: dict[str, Any] | None,
) -> list[DpBudget]:
    """Noise was drawn: the reservation becomes spending, audited per scope."""
    session.rollback()
    budgets = _locked_budgets(session, dataset.id, scopes)
    row = session.get(DpRelease, release_id, populate_existing=True)
    assert row is not None  # noqa: S101 (reserved by this release)
    cost = row.cost_micro
    for budget in budgets:
        budget.reserved_micro -= cost
        budget.spent_micro += cost
        budget.delta_reserved -= row.delta_cost
        budget.delta_spent += row.delta_cost
    row.status = ReleaseStatus.spent
    row.spent_at = datetime.now(UTC)
    row.answer = answer
    if answer is None:
        # Nothing was shown: free the request's slot, so asking again releases afresh.
        row.request_sha256 = hashlib.sha256(
            f"failed:{release_id}:{row.request_sha256}".encode()
        ).hexdigest()
    session.flush()
    for budget in budgets:
        record_event(
            session,
            action=DpAudit.dp_debit,
            actor_id=actor.user_id,
            actor_name=actor.username,
            resource_type="dataset",
            resource_id=dataset.slug,
            organization_id=dataset.publisher_id,
            detail={
                "release": release_id,
                "project": row.project_id,
                "partition": row.partition,
                "epsilon": cost / MICRO,
                "delta": row.delta_cost / DELTA_UNIT,
                "measurement_sha256": row.measurement_sha256,
                "request_sha256": row.request_sha256,
                "answered": answer is not None,
                **queries.balance(budget).model_dump(),
            },
        )
    session.commit()
    return budgets


def _refund(
    session: Session, *, actor: Actor, dataset: Dataset, release_id: int, scopes: list[str]
) -> None:
    """No noise was drawn: give the reservation back."""
    session.rollback()
    budgets = _locked_budgets(session, dataset.id, scopes)
    row = session.get(DpRelease, release_id, populate_existing=True)
    assert row is not None  # noqa: S101
    for budget in budgets:
        budget.reserved_micro -= row.cost_micro
        budget.delta_reserved -= row.delta_cost
    record_event(
        session,
        action=DpAudit.dp_refund,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=dataset.slug,
        organization_id=dataset.publisher_id,
        detail={
            "project": row.project_id,
            "partition": row.partition,
            "epsilon": row.cost_micro / MICRO,
            "delta": row.delta_cost / DELTA_UNIT,
            "measurement_sha256": row.measurement_sha256,
            "request_sha256": row.request_sha256,
        },
    )
    session.execute(delete(DpRelease).where(DpRelease.id == release_id))
    session.commit()


def release(
    session: Session, *, settings: Settings, store: ObjectStore, actor: Actor, token: str
) -> Release:
    """Spend a quote: the noisy statistics, or the stored ones of the same request."""
    request, quoted_cost, quoted_delta = _claim(settings, actor, token)
    assert request.version is not None  # noqa: S101 (a quote fixes the version)
    request_sha256 = request.sha256(version=request.version)
    door = Door(
        session,
        actor=actor,
        event=DpAudit.dataset_dp_release_decision,
        detail={"project": request.project, "request_sha256": request_sha256},
    )
    with door:
        passage, plan = _admit(session, door, actor=actor, request=request)
        dataset = passage.dataset
        scopes = _scopes(request.project, request.partition)
        quotes = measure_quotes(plan)
        if plan.cost_micro != quoted_cost or plan.delta_cost != quoted_delta:
            raise Conflict(
                msg("The dataset's DP settings changed since this quote; ask for a new one.")
            )
        stored = queries.stored_release(session, request_sha256)
        if stored is not None and stored.answer is not None:
            record_event(
                session,
                action=DpAudit.dp_release_repeated,
                actor_id=actor.user_id,
                actor_name=actor.username,
                resource_type="dataset",
                resource_id=dataset.slug,
                organization_id=dataset.publisher_id,
                detail={"release": stored.id, "project": request.project, "epsilon": 0},
            )
            balances = [queries.balance(b) for b in queries.budgets(session, dataset.id, scopes)]
            session.commit()
            return Release(
                dataset=dataset.slug,
                version=passage.version.number,
                project=request.project,
                partition=request.partition,
                release_id=stored.id,
                repeated=True,
                epsilon_charged=0,
                columns=stored.answer["columns"],
                rows=stored.answer["rows"],
                measures=quotes,
                balances=balances,
                measurement_sha256=stored.measurement_sha256,
            )
        measurement_sha256 = _measurement_sha256(
            plan, request.canonical(version=request.version), passage.version
        )
        session.commit()  # the decisions are kept whatever follows
        view, _hidden = door.view(
            store, passage, secret=settings.secret(), keep={plan.person_column.lower()}
        )
        persons = _person_rows(session, passage, plan, view)
        view, copied = _release_view(
            session,
            door,
            settings=settings,
            store=store,
            passage=passage,
            plan=plan,
            view=view,
            persons=persons,
        )
        release_id = _reserve(
            session,
            actor=actor,
            passage=passage,
            request=request,
            request_sha256=request_sha256,
            measurement_sha256=measurement_sha256,
            cost=plan.cost_micro,
            delta_cost=plan.delta_cost,
        )
        try:
            exact = aggregates.exact_aggregates(
                plan,
                view,
                limits=RELEASE_LIMITS,
                bound=False,
                every_row_has_a_person=copied,
            )
        except aggregates.TooManyGroups as error:
            # How many groups the data holds is the data's: the refusal is charged.
            _finish(
                session,
                actor=actor,
                dataset=dataset,
                release_id=release_id,
                scopes=scopes,
                answer=None,
            )
            raise ValidationFailed(
                msg(
                    "The data holds more than {limit} groups of these keys, too many to "
                    "release with a threshold; the quoted cost is charged. Group by fewer or "
                    "coarser columns.",
                    limit=aggregates.MAX_DATA_GROUPS,
                )
            ) from error
        except BaseException:
            _refund(session, actor=actor, dataset=dataset, release_id=release_id, scopes=scopes)
            raise
        try:
            columns, rows = aggregates.noisy_answer(plan, exact)
        except BaseException:
            _finish(
                session,
                actor=actor,
                dataset=dataset,
                release_id=release_id,
                scopes=scopes,
                answer=None,
            )
            raise
        budgets = _finish(
            session,
            actor=actor,
            dataset=dataset,
            release_id=release_id,
            scopes=scopes,
            answer={"columns": columns, "rows": rows},
        )
    return Release(
        dataset=dataset.slug,
        version=passage.version.number,
        project=request.project,
        partition=request.partition,
        release_id=release_id,
        repeated=False,
        epsilon_charged=plan.cost_micro / MICRO,
        delta_charged=plan.delta_cost / DELTA_UNIT,
        columns=columns,
        rows=rows,
        measures=quotes,
        balances=[queries.balance(b) for b in budgets],
        measurement_sha256=measurement_sha256,
    )


# --- publishing -----------------------------------------------------------------------------------


def publish_release(
    session: Session,
    *,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    release_id: int,
    title: str,
    slug: str | None = None,
) -> Dataset:
    """A steward of the source's publisher publishes a release's noisy statistics as a new
    open dataset, described with the ε it cost and the measurement's hash.  Publishing spends
    nothing more: what is published is already out (post-processing of a DP release)."""
    row = session.get(DpRelease, release_id)
    if row is None or row.status != ReleaseStatus.spent or row.answer is None:
        raise NotFound(msg("There is no released DP answer number {release}.", release=release_id))
    source = session.get(Dataset, row.dataset_id)
    version = session.get(DatasetVersion, row.version_id)
    assert source is not None  # noqa: S101 (a release keeps its dataset)
    assert version is not None  # noqa: S101
    _steward_door(session, actor=actor, dataset=source, event=DpAudit.dataset_dp_publish)
    session.commit()
    epsilon = row.cost_micro / MICRO
    described = (
        f"Differentially private statistics of dataset '{source.slug}' version "
        f"{version.number} (DP release {release_id}, ε {epsilon:g}, OpenDP; measurement "
        f"SHA-256 {row.measurement_sha256}). Every value carries noise; see the release's "
        "stated accuracy."
    )
    created = catalog_actions.create_dataset(
        session,
        actor=actor,
        data=DatasetCreate(
            slug=slug,
            title=title,
            description=described,
            publisher=source.publisher.slug,
            sector=source.sector,
            keywords=["differential-privacy", source.slug],
            licence=source.licence,
            access_level=AccessLevel.open,
        ),
    )
    with tempfile.TemporaryDirectory(prefix="bitgoeul-dp-") as folder:
        path = Path(folder) / f"{created.slug}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(row.answer["columns"])
            writer.writerows(row.answer["rows"])
        catalog_actions.publish_version(
            session,
            settings=settings,
            store=store,
            actor=actor,
            slug=created.slug,
            source=path,
            filename=path.name,
            note=f"DP release {release_id} of {source.slug}@{version.number}, ε {epsilon:g}",
        )
    record_event(
        session,
        action=DpAudit.dp_published,
        actor_id=actor.user_id,
        actor_name=actor.username,
        resource_type="dataset",
        resource_id=source.slug,
        organization_id=source.publisher_id,
        detail={
            "release": release_id,
            "published_as": created.slug,
            "epsilon": epsilon,
            "measurement_sha256": row.measurement_sha256,
        },
    )
    session.commit()
    return created
