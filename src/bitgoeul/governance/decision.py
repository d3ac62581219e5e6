"""The one policy decision point.

``decide(actor, action, dataset, context=...)`` answers allow/deny with a reason and
``Obligations``.  Pages, downloads, the API, the SQL gateway and (later) jobs and linkage all
ask this function; none re-implements a rule.

``decide`` does no I/O.  Whatever it needs to know about projects and agreements arrives in a
``DecisionContext``, loaded by ``governance.queries.decision_context`` at every request (never
cached), so an agreement that expired or was revoked a moment ago already denies.  The context
also carries the column classes (``direct_identifier``, ``quasi_identifier``, ``sensitive``,
``other``) of the very version the door will read, from its Table Schema: each version is
decided on its own columns.  ``Obligations`` (``privacy.obligations``) say what the door must
do; ``privacy.views`` applies them, the same way at every door.

The rules, per access level (stewards of the publisher and operators keep full access at every
level: they hold the data already and answer for it):

* open: anyone, anonymous included, may preview, download, query, use in a job and link;
* registered: the same for any signed-in user;
* restricted: row-level access for members of a project with an active agreement, limited to
  the agreement's columns and row filter, with direct identifiers pseudonymised per project
  unless the agreement grants them;
* secure: never preview or download; query, jobs and linkage only for members of a project
  with an active agreement, and only aggregates (groups of at least ``min_group_size`` people,
  the N-K dominance rule, no direct identifiers or sensitive columns in the output).

Linkage (``link``) reads a source's identifying columns and approved attributes inside the hub,
only within a linkage project that a steward of the dataset's publisher approved, and only for
a steward of the project's key custodian or an operator (``LinkageTerms``); a hidden test set
is never linked.

The DP door (``dp_release``) is for secure data only, under the same agreement as an aggregate
query (its columns and row filter), and obliges ``differential_privacy``: noisy statistics paid
from the dataset's ε budgets (``bitgoeul.dp``).  Stewards and operators pass, and pay, too.

Donated data (``mydata``): a pool dataset's rows belong to residents who donated them.  When the
context carries ``DonationTerms`` (read at every decision with the pool's consent epoch), every
use needs a project; the dataset's own rules are decided first, then the use's *tier*
(aggregates: an aggregate query or DP; jobs: rows inside a job; rows: pseudonymised rows) picks
the donors whose consent covers the project's purpose at that tier, and the obligations keep
only their rows (``DonorFilter``).  Only the pool's latest version is read; pools are never
linked nor used as a test set.  A resident's own records are read from an agency's dataset
(``mydata_transmit``) only by that resident, matched through their verified identity
(``MyDataTerms``), only the source's items and only their rows.

A testbed's hidden test set (``holdout``) is read through its own two actions only
(``testbed_inputs``, ``testbed_score``), by the task's participants under what its access level
needs (``TestbedTerms``: an organization and accepted terms for restricted and secure data),
with direct identifiers pseudonymised per task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from bitgoeul.accounts.actor import Actor
from bitgoeul.datasets.models import AccessLevel, Dataset
from bitgoeul.engine.sql import quote_name, quote_text
from bitgoeul.messages import msg
from bitgoeul.privacy.obligations import (
    DEFAULT_DOMINANCE_K,
    DEFAULT_DOMINANCE_N,
    DEFAULT_MIN_GROUP_SIZE,
    DonorFilter,
    Obligations,
)

__all__ = [
    "DEFAULT_DOMINANCE_K",
    "DEFAULT_DOMINANCE_N",
    "DEFAULT_MIN_GROUP_SIZE",
    "AgreementTerms",
    "ColumnClass",
    "DataAction",
    "Decision",
    "DecisionContext",
    "DonationTerms",
    "DonorCoverage",
    "LinkageTerms",
    "MyDataTerms",
    "Obligations",
    "TestbedTerms",
    "decide",
]


class DataAction(StrEnum):
    view_metadata = "view_metadata"
    preview = "preview"
    download = "download"
    query = "query"
    use_in_job = "use_in_job"
    link = "link"
    publish_version = "publish_version"
    edit_metadata = "edit_metadata"
    # Asked about a not-yet-saved Dataset carrying the intended publisher_id.
    create_dataset = "create_dataset"
    # A testbed task's hidden test set: its inputs (never the label) for a participant or a
    # model submission's job, and its labels for the platform's scorer, which returns a number.
    testbed_inputs = "testbed_inputs"
    testbed_score = "testbed_score"
    # Differentially private statistics of a secure dataset, paid from its ε budgets (``dp``).
    dp_release = "dp_release"
    # A resident's own records read from an agency's dataset to preview or donate (``mydata``).
    mydata_transmit = "mydata_transmit"


# Tiers of donated-data use, narrowest first; a consent at one tier allows those before it.
TIERS = ("aggregates", "jobs", "rows")


class ColumnClass(StrEnum):
    direct_identifier = "direct_identifier"
    quasi_identifier = "quasi_identifier"
    sensitive = "sensitive"
    other = "other"


@dataclass(frozen=True)
class AgreementTerms:
    """An active agreement's conditions, as the decision point needs them."""

    agreement_id: int
    columns: list[str] | None  # None: every column
    row_filter: str | None  # a SQL boolean expression over the dataset's columns
    grants_identifiers: bool
    expires_at: datetime


@dataclass(frozen=True)
class TestbedTerms:
    """The testbed task whose hidden test set this dataset is, and the actor's place in it, as
    the decision point needs them (the test set's access level is the dataset's own)."""

    __test__ = False  # not a pytest test class, whatever its name

    task: str
    input_columns: list[str]  # what a participant or a model sees: never the label
    id_column: str
    label_column: str
    is_participant: bool  # the actor is on one of the task's teams
    terms_accepted: bool  # the actor accepted the task's current terms (non-empty) on joining
    organization_id: int | None  # the actor's organization, which answers for them


@dataclass(frozen=True)
class LinkageTerms:
    """The linkage project a dataset is to be linked in, as the decision point needs it."""

    linkage_project_id: int
    approved_by_publisher: bool  # a steward of this dataset's publisher approved the project
    custodian_id: int  # the key custodian's organization, which runs the linkage
    columns: list[str]  # the identifying columns and approved attributes the run reads


@dataclass(frozen=True)
class DonorCoverage:
    """Whose consent covers a use at one tier: ``keep`` the covered donors (None: every donor
    but ``drop``), and how many donors are in and out."""

    keep: frozenset[str] | None
    drop: frozenset[str]
    included: int
    excluded: int


@dataclass(frozen=True)
class DonationTerms:
    """A donated-data pool, as the decision point needs it: the donor column, the consent epoch
    the coverage was read at, whether the version asked for is the pool's latest, and per tier
    the donors whose consent covers the context's project (its purpose, or it by name)."""

    pool: str
    donor_column: str
    epoch: int
    is_latest_version: bool
    coverage: Mapping[str, DonorCoverage]


@dataclass(frozen=True)
class MyDataTerms:
    """A resident's own records at a source: the agency dataset's identity column, the value
    the resident's verified identity gives it, and the items the source offers."""

    user_id: int
    source: str
    identity_column: str
    subject: str
    items: list[str]


@dataclass(frozen=True)
class DecisionContext:
    """The project an actor acts for and its agreement on the dataset (None: none active)."""

    project_id: int | None = None
    is_project_member: bool = False
    agreement: AgreementTerms | None = None
    column_classes: dict[str, str] = field(default_factory=dict)
    testbed: TestbedTerms | None = None
    linkage: LinkageTerms | None = None
    donation: DonationTerms | None = None
    mydata: MyDataTerms | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    obligations: Obligations = field(default_factory=Obligations)


# Actions that let rows, or facts derived from rows, out of the platform.
DATA_ACTIONS = frozenset(
    {
        DataAction.preview,
        DataAction.download,
        DataAction.query,
        DataAction.use_in_job,
        DataAction.link,
    }
)
_ROW_EXPORTS = frozenset({DataAction.preview, DataAction.download})
_TESTBED_ACTIONS = frozenset({DataAction.testbed_inputs, DataAction.testbed_score})
_STEWARD_ONLY = {DataAction.publish_version, DataAction.edit_metadata, DataAction.create_dataset}


def decide(
    actor: Actor,
    action: DataAction,
    dataset: Dataset,
    *,
    context: DecisionContext | None = None,
    now: datetime | None = None,
) -> Decision:
    if action == DataAction.mydata_transmit:
        return _transmit(actor, dataset, context)
    if context is not None and context.donation is not None:
        return _donated(actor, action, dataset, context, context.donation, now=now)
    governs = actor.is_operator or actor.is_steward_of(dataset.publisher_id)
    if action in _TESTBED_ACTIONS:
        return _testbed(actor, action, dataset, context, governs=governs)
    if action == DataAction.link:
        return _linkage(actor, dataset, context)
    if action == DataAction.view_metadata:
        return Decision(True, msg("dataset metadata is public in the catalog"))
    if action == DataAction.dp_release:
        return _dp(actor, dataset, context, governs=governs, now=now or datetime.now(UTC))
    if action in _STEWARD_ONLY:
        if governs:
            return Decision(True, msg("steward of the publishing organization"))
        return Decision(
            False, msg("only the publisher's stewards and operators may change a dataset")
        )
    if governs:
        return Decision(True, msg("steward of the publishing organization"))
    if dataset.holdout and action in DATA_ACTIONS:
        return Decision(
            False,
            msg(
                "this dataset is a testbed's hidden test set: its rows never leave; only the "
                "testbed's scorer reads them"
            ),
        )
    level = dataset.access_level
    if level == AccessLevel.open:
        return Decision(True, msg("open data"))
    if level == AccessLevel.registered:
        if actor.is_anonymous:
            return Decision(False, msg("sign in to use registered data"))
        return Decision(True, msg("registered data, signed-in user"))
    if level == AccessLevel.secure and action in _ROW_EXPORTS:
        return Decision(
            False,
            msg(
                "secure data is never available for {action}; "
                "run an aggregate query under a project agreement instead",
                action=action.value,
            ),
        )
    refusal = _agreement_refusal(actor, level, context, now or datetime.now(UTC))
    if refusal is not None:
        return Decision(False, refusal)
    assert context is not None  # noqa: S101 (checked above)
    assert context.agreement is not None  # noqa: S101
    obligations = _obligations(dataset, context, context.agreement)
    if action == DataAction.use_in_job:
        obligations = _in_a_job(obligations, context)
    return Decision(
        True,
        msg(
            "project {project} holds agreement {agreement}",
            project=context.project_id,
            agreement=context.agreement.agreement_id,
        ),
        obligations,
    )


_POOL_REFUSED = frozenset({DataAction.link, DataAction.testbed_inputs, DataAction.testbed_score})
_NOT_A_USE = frozenset({DataAction.view_metadata, *_STEWARD_ONLY})


def use_tier(action: DataAction, obligations: Obligations) -> str:
    """The tier a use of donated rows needs: aggregates (an aggregate-only query, DP), jobs
    (rows inside a job's sandbox) or rows (anything that shows rows)."""
    if action == DataAction.dp_release or (
        action == DataAction.query and obligations.aggregate_only
    ):
        return "aggregates"
    if action == DataAction.use_in_job:
        return "jobs"
    return "rows"


def _donated(
    actor: Actor,
    action: DataAction,
    dataset: Dataset,
    context: DecisionContext,
    terms: DonationTerms,
    *,
    now: datetime | None,
) -> Decision:
    """A donated-data pool: the dataset's own rules first, then only consenting donors' rows."""
    base = decide(actor, action, dataset, context=replace(context, donation=None), now=now)
    if action in _NOT_A_USE or not base.allowed:
        return base
    if action in _POOL_REFUSED:
        return Decision(False, msg("donated data is never linked nor used as a testbed's test set"))
    if not terms.is_latest_version:
        return Decision(
            False,
            msg(
                "donated data is read at its latest version only (donors' withdrawals and "
                "deletions apply to it); leave out the version number"
            ),
        )
    if context.project_id is None:
        return Decision(
            False,
            msg(
                "donated data is used only within a project whose purpose its donors chose; "
                "name the project you are working for"
            ),
        )
    tier = use_tier(action, base.obligations)
    coverage = terms.coverage.get(tier, DonorCoverage(frozenset(), frozenset(), 0, 0))
    return Decision(
        True,
        msg(
            "{base}; donated data: {included} donors' consent covers project {project} at "
            "tier '{tier}', {excluded} left out (consent epoch {epoch})",
            base=base.reason,
            included=coverage.included,
            project=context.project_id,
            tier=tier,
            excluded=coverage.excluded,
            epoch=terms.epoch,
        ),
        replace(
            base.obligations,
            donor_filter=DonorFilter(
                column=terms.donor_column,
                keep=coverage.keep,
                drop=coverage.drop,
                epoch=terms.epoch,
                tier=tier,
                included=coverage.included,
                excluded=coverage.excluded,
            ),
        ),
    )


def _transmit(actor: Actor, dataset: Dataset, context: DecisionContext | None) -> Decision:
    """A resident reads their own records at a source, to preview or donate them: only the
    source's items and only the rows of their verified identity, whatever the access level."""
    terms = context.mydata if context is not None else None
    if actor.is_anonymous:
        return Decision(False, msg("sign in to see your own records"))
    if dataset.holdout:
        return Decision(False, msg("a testbed's hidden test set is never transmitted"))
    if terms is None or terms.user_id != actor.user_id:
        return Decision(
            False,
            msg("only the person a verified identity names reads their own records this way"),
        )
    return Decision(
        True,
        msg(
            "the resident's own records at source '{source}', matched by verified identity",
            source=terms.source,
        ),
        Obligations(
            visible_columns=list(terms.items),
            row_filter=f"{quote_name(terms.identity_column)} = {quote_text(terms.subject)}",
        ),
    )


def _testbed(
    actor: Actor,
    action: DataAction,
    dataset: Dataset,
    context: DecisionContext | None,
    *,
    governs: bool,
) -> Decision:
    """The testbed's two doors into a hidden test set; stewards get no wider view here.

    A participant needs what the test set's access level needs: an account (open, registered);
    an organization and the task's accepted terms (restricted, secure).  Direct identifiers
    are pseudonymised per task, for everyone alike, so that every submission is keyed the same
    way: the scorer reads the id column through the same pseudonyms."""
    terms = context.testbed if context is not None else None
    if not dataset.holdout or terms is None:
        return Decision(False, msg("only a testbed task's hidden test set is read this way"))
    if actor.is_anonymous or not (terms.is_participant or governs):
        return Decision(False, msg("join a team of testbed task '{task}' first", task=terms.task))
    if not governs:
        refusal = _testbed_refusal(dataset.access_level, terms)
        if refusal is not None:
            return Decision(False, refusal)
    classes = context.column_classes if context is not None else {}
    if action == DataAction.testbed_score:
        read = [terms.id_column, terms.label_column]
        return Decision(
            True,
            msg(
                "the scorer of task '{task}' reads the labels; only a score leaves",
                task=terms.task,
            ),
            _testbed_obligations(terms, read, classes, keyed=[terms.id_column]),
        )
    return Decision(
        True,
        msg("the inputs of task '{task}', without the label", task=terms.task),
        _testbed_obligations(terms, terms.input_columns, classes, keyed=terms.input_columns),
    )


def _linkage(actor: Actor, dataset: Dataset, context: DecisionContext | None) -> Decision:
    """Linkage, whatever the access level: inside an approved linkage project, by its key
    custodian. Nothing leaves here: the run publishes a new restricted or secure dataset, which
    every door then governs by its own policy."""
    terms = context.linkage if context is not None else None
    if dataset.holdout:
        return Decision(False, msg("a testbed's hidden test set is never linked"))
    if terms is None:
        return Decision(
            False,
            msg("data is linked only in a linkage project that every source's publisher approved"),
        )
    if not terms.approved_by_publisher:
        return Decision(
            False,
            msg(
                "a steward of the publisher has not approved linkage project {id}",
                id=terms.linkage_project_id,
            ),
        )
    if not (actor.is_operator or actor.is_steward_of(terms.custodian_id)):
        return Decision(
            False,
            msg(
                "only a steward of the key custodian or an operator runs linkage project {id}",
                id=terms.linkage_project_id,
            ),
        )
    return Decision(
        True,
        msg(
            "linkage project {id}, approved by the publisher, run by the key custodian",
            id=terms.linkage_project_id,
        ),
        Obligations(visible_columns=list(terms.columns)),
    )


def _testbed_refusal(level: AccessLevel | None, terms: TestbedTerms) -> str | None:
    if level is None or level not in (AccessLevel.restricted, AccessLevel.secure):
        return None  # open or registered: a signed-in participant, checked above
    if terms.organization_id is None:
        return msg(
            "the test set of task '{task}' is {level}: only participants who belong to an "
            "organization use it; ask an operator to add your account to yours",
            task=terms.task,
            level=level.value,
        )
    if not terms.terms_accepted:
        return msg(
            "the test set of task '{task}' is {level}: accept the task's terms first",
            task=terms.task,
            level=level.value,
        )
    return None


def _testbed_obligations(
    terms: TestbedTerms, visible: list[str], classes: dict[str, str], *, keyed: list[str]
) -> Obligations:
    """Only ``visible``; the direct identifiers among ``keyed`` pseudonymised in the task's
    scope (``testbed:<task>``), so pseudonyms differ from task to task and from projects."""
    identifiers = [name for name in keyed if classes.get(name) == ColumnClass.direct_identifier]
    return Obligations(
        visible_columns=list(visible),
        pseudonymise_columns=identifiers,
        pseudonym_scope=f"testbed:{terms.task}",
    )


def _dp(
    actor: Actor,
    dataset: Dataset,
    context: DecisionContext | None,
    *,
    governs: bool,
    now: datetime,
) -> Decision:
    """The DP door: noisy statistics of a secure dataset, paid from its ε budgets.  The same
    agreement as an aggregate query is needed (stewards and operators too are charged: the
    budget is the dataset's, whoever spends it); only the agreement's columns and rows."""
    if dataset.holdout:
        return Decision(
            False,
            msg(
                "this dataset is a testbed's hidden test set: its rows never leave; only the "
                "testbed's scorer reads them"
            ),
        )
    if dataset.access_level != AccessLevel.secure:
        return Decision(
            False,
            msg(
                "differentially private releases are for secure data; query this dataset "
                "through the SQL gateway"
            ),
        )
    obligations = Obligations(aggregate_only=True, differential_privacy=True)
    if governs:
        return Decision(True, msg("steward of the publishing organization"), obligations)
    refusal = _agreement_refusal(actor, AccessLevel.secure, context, now)
    if refusal is not None:
        return Decision(False, refusal)
    assert context is not None  # noqa: S101
    assert context.agreement is not None  # noqa: S101
    agreement = context.agreement
    project = context.project_id
    return Decision(
        True,
        msg(
            "project {project} holds agreement {agreement}; ε from its budgets",
            project=project,
            agreement=agreement.agreement_id,
        ),
        replace(
            obligations,
            visible_columns=list(agreement.columns) if agreement.columns is not None else None,
            row_filter=agreement.row_filter,
            agreement_id=agreement.agreement_id,
        ),
    )


def _in_a_job(obligations: Obligations, context: DecisionContext) -> Obligations:
    """A job reads rows inside the sandbox, so secure data is not aggregate-only there; but
    direct identifiers stay pseudonymised (secure: always), and nothing the job writes leaves
    before the release review."""
    if not obligations.aggregate_only:
        return replace(obligations, review_outputs=True)
    visible = obligations.visible_columns
    identifiers = [
        name
        for name, cls in context.column_classes.items()
        if cls == ColumnClass.direct_identifier and (visible is None or name in visible)
    ]
    return replace(
        obligations,
        aggregate_only=False,
        forbidden_output_columns=[],
        pseudonymise_columns=identifiers,
        review_outputs=True,
    )


def _agreement_refusal(
    actor: Actor, level: AccessLevel, context: DecisionContext | None, now: datetime
) -> str | None:
    needs = (
        msg("restricted data needs an approved project agreement")
        if level == AccessLevel.restricted
        else msg("secure data allows aggregate queries under an approved project agreement only")
    )
    if actor.is_anonymous:
        return msg("sign in: {needs}", needs=needs)
    if context is None or context.project_id is None:
        return msg("{needs}; name the project you are working for", needs=needs)
    if not context.is_project_member:
        return msg(
            "{needs}; you are not a member of project {project}",
            needs=needs,
            project=context.project_id,
        )
    agreement = context.agreement
    if agreement is None:
        return msg(
            "{needs}; project {project} has no active agreement for this dataset "
            "(request access, or ask for a new agreement if it expired or was revoked)",
            needs=needs,
            project=context.project_id,
        )
    if agreement.expires_at <= now:
        return msg(
            "{needs}; agreement {agreement} has expired",
            needs=needs,
            agreement=agreement.agreement_id,
        )
    return None


def _obligations(
    dataset: Dataset, context: DecisionContext, agreement: AgreementTerms
) -> Obligations:
    classes = context.column_classes
    visible = list(agreement.columns) if agreement.columns is not None else None

    def in_view(name: str) -> bool:
        return visible is None or name in visible

    identifiers = [
        name
        for name, cls in classes.items()
        if cls == ColumnClass.direct_identifier and in_view(name)
    ]
    base = Obligations(
        visible_columns=visible,
        pseudonym_scope=f"project:{context.project_id}",
        row_filter=agreement.row_filter,
        min_group_size=dataset.min_group_size or DEFAULT_MIN_GROUP_SIZE,
        dominance_n=dataset.dominance_n or DEFAULT_DOMINANCE_N,
        dominance_k=dataset.dominance_k or DEFAULT_DOMINANCE_K,
        agreement_id=agreement.agreement_id,
    )
    if dataset.access_level == AccessLevel.secure:
        forbidden = [
            name
            for name, cls in classes.items()
            if cls in (ColumnClass.direct_identifier, ColumnClass.sensitive)
        ]
        return replace(base, aggregate_only=True, forbidden_output_columns=forbidden)
    return replace(base, pseudonymise_columns=[] if agreement.grants_identifiers else identifiers)


# --- A job's outputs ---------------------------------------------------------------------------


class OutputAction(StrEnum):
    """What a person asks of a job's outputs (its log is one of them)."""

    read = "read"  # read the log, see the outputs' names and download them
    review = "review"  # decide the job's release review


@dataclass(frozen=True)
class JobOutputs:
    """What the decision needs to know about a job's outputs: whether the release review still
    holds them, and the publishers of the datasets the job read."""

    held: bool
    publisher_ids: frozenset[int]


def decide_outputs(actor: Actor, action: OutputAction, outputs: JobOutputs) -> Decision:
    """Who may read a job's outputs, and who reviews their release.

    Operators and the stewards of an organization whose data the job read review the release,
    and so read the outputs it holds.  Outputs that are not held (the job read only open or
    registered data, or the review let them out) are read by whoever may see the job
    (``compute.queries.may_see``: its project's members and its reviewers)."""
    reviewer = actor.is_operator or any(actor.is_steward_of(o) for o in outputs.publisher_ids)
    if reviewer:
        return Decision(True, "a reviewer of this job's release")
    if action == OutputAction.review:
        return Decision(
            False,
            msg(
                "Only operators and the stewards of the organizations whose data the job read "
                "review its release."
            ),
        )
    if outputs.held:
        return Decision(False, msg("the release review holds this job's log and outputs"))
    return Decision(True, "the outputs are not held")
