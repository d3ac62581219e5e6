"""What the SDK returns: typed views of the hub's JSON.

The fields a program is likely to use are typed; anything else the hub sends is kept
(``extra="allow"``) and readable as an attribute or through ``model_extra``, so a newer hub
never breaks an older SDK.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _HubModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Organization(_HubModel):
    slug: str
    name: str
    name_ko: str = ""
    kind: str = ""
    description: str = ""
    website: str = ""


class User(_HubModel):
    """You, as ``me()`` and ``login()`` answer: your role and organization."""

    username: str
    role: str
    display_name: str = ""
    email: str = ""
    organization: Organization | None = None


class ApiToken(_HubModel):
    id: int
    name: str
    prefix: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class NewApiToken(ApiToken):
    """A token just created: ``token`` is the secret, shown this once."""

    token: str


class Dataset(_HubModel):
    """A dataset as search lists it; ``dataset(slug)`` adds ``versions`` and ``latest``."""

    slug: str
    title: str
    title_ko: str = ""
    description: str = ""
    description_ko: str = ""
    publisher: str = ""
    publisher_name: str = ""
    sector: str = ""
    access_level: str = ""
    licence: str = ""
    keywords: list[str] = []
    latest_version: int | None = None


class DatasetList(_HubModel):
    """One page of search hits, the number of all hits, and facet counts."""

    items: list[Dataset]
    total: int
    facets: dict[str, Any] = {}


class DatasetVersion(_HubModel):
    """An immutable version of a dataset."""

    number: int
    source_filename: str = ""
    row_count: int = 0


class IngestRun(_HubModel):
    """One upload being turned into a version.

    ``status`` is ``running``, ``succeeded``, ``failed``, ``awaiting_choice`` (columns fell back
    to text because of a few cells, listed in ``text_fallbacks``: publish or discard it) or
    ``discarded``; ``version`` is the version it made.
    """

    id: int
    dataset: str = ""
    status: str = ""
    source_filename: str = ""
    rows_done: int = 0
    error_report: dict[str, Any] | None = None
    text_fallbacks: list[dict[str, Any]] = []
    version: int | None = None


class AppliedObligations(_HubModel):
    """What the agreement changed in a preview: the project and agreement it was read under,
    the columns left out, the rows kept (a SQL condition) and the identifier columns replaced
    by per-project pseudonyms.  Empty: nothing was changed."""

    project: int | None = None
    agreement: int | None = None
    hidden_columns: list[str] = []
    row_filter: str | None = None
    pseudonymised_columns: list[str] = []


class Preview(_HubModel):
    """The first rows of the latest version, as the policy lets you see them."""

    dataset: str = ""
    version: int | None = None
    columns: list[str] = []
    rows: list[list[Any]] = []
    applied: AppliedObligations = Field(default_factory=AppliedObligations)


class QueryResult(_HubModel):
    """What the SQL gateway answered: rows as the policy lets you see them."""

    columns: list[str] = []
    rows: list[list[Any]] = []
    row_count: int = 0
    truncated: bool = False
    suppressed_groups: int = 0
    datasets: list[dict[str, Any]] = []
    elapsed_ms: float = 0.0


class AuditEntry(_HubModel):
    """One entry of the hash-chained audit log, as ``audit()`` lists them (newest first)."""

    seq: int
    at: datetime
    actor_name: str
    action: str
    outcome: str
    resource_type: str = ""
    resource_id: str = ""
    detail: dict[str, Any] = {}


class ProjectMember(_HubModel):
    """Someone working on a project: ``lead`` (may add members) or ``member``."""

    username: str
    role: str
    organization: str | None = None


class Project(_HubModel):
    """A project: the purpose data is used for, its lead organization and its members."""

    id: int
    title: str
    purpose: str
    justification: str = ""
    lead_organization: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    created_at: datetime | None = None
    members: list[ProjectMember] = []


class AccessRequest(_HubModel):
    """A project's request for a restricted or secure dataset, and the steward's answer.

    ``status`` is ``pending``, ``approved``, ``rejected`` or ``withdrawn``; ``reason`` is the
    steward's reason for a rejection; ``agreement`` is the agreement an approval made.
    """

    id: int
    project: int
    dataset: str
    status: str
    project_title: str = ""
    project_purpose: str = ""
    project_justification: str = ""
    dataset_is_test_set: bool = False
    requested_columns: list[str] | None = None
    requested_days: int = 0
    note: str = ""
    reason: str = ""
    requested_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_at: datetime | None = None
    agreement: int | None = None


class Agreement(_HubModel):
    """The conditions under which a project uses a dataset, until it expires or is revoked."""

    id: int
    request: int
    project: int
    dataset: str
    project_title: str = ""
    columns: list[str] | None = None
    row_filter: str | None = None
    grants_identifiers: bool = False
    starts_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    active: bool = False


class Notification(_HubModel):
    """A message from the hub to you (a request answered, an agreement revoked …)."""

    id: int
    kind: str
    text: str
    link: str = ""
    created_at: datetime
    read_at: datetime | None = None


class QueryRun(_HubModel):
    """One of your queries or exports, as ``history()`` lists them (newest first).

    ``status`` is ``ok``, ``refused`` (the policy said no) or ``failed``; ``error`` says why.
    """

    id: int
    sql: str
    status: str
    created_at: datetime
    kind: str = ""
    project: int | None = None
    datasets: list[str] = []
    rows_returned: int | None = None
    suppressed_groups: int | None = None
    duration_ms: int | None = None
    error: str | None = None


class SavedQuery(_HubModel):
    """A query you keep under a name; running it later is checked like any other query."""

    id: int
    name: str
    sql: str
    project: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_FINISHED = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


class JobResources(_HubModel):
    """What a job asked for: cores, memory (MB), GPUs and its time limit (seconds)."""

    cpus: int = 1
    memory_mb: int = 2048
    gpus: int = 0
    time_limit_s: int = 3600


class JobOutput(_HubModel):
    """One file a job wrote (``log.txt`` is its log), as its SHA-256 manifest lists it."""

    path: str
    bytes: int
    sha256: str


class Job(_HubModel):
    """A job: code run in a sandbox next to the data, how it ended and what it wrote.

    ``status`` is ``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled`` or
    ``timed_out`` (``finished`` says whether it has ended); ``reason`` says why in words.
    ``release_status`` is ``not_required`` (open and registered data: the outputs are yours),
    ``held``, ``in_review``, ``returned``, ``released`` or ``rejected``.  ``datasets`` names
    each input's ``slug`` and ``version``; ``checks`` holds the automatic checks' findings for
    held outputs.  While the outputs are held from you (``outputs_held``), ``outputs``,
    ``exit_code``, ``checks`` and the reason are withheld until the release review lets them
    out: a file name or an exit code could carry values from the data.
    """

    id: int
    project: int
    status: str
    name: str = ""
    submitted_by: str | None = None
    organization: str = ""
    priority: int = 0
    executor: str = ""
    environment: str = ""
    entrypoint: str = ""
    arguments: list[str] = []
    resources: JobResources = JobResources()
    code_sha256: str = ""
    datasets: list[dict[str, Any]] = []
    reserved_cpu_hours: Decimal = Decimal(0)
    reserved_gpu_hours: Decimal = Decimal(0)
    used_cpu_hours: Decimal | None = None
    used_gpu_hours: Decimal | None = None
    cpu_seconds: float | None = None
    exit_code: int | None = None
    reason: str = ""
    release_status: str = ""
    outputs: list[JobOutput] = []
    outputs_held: bool = False
    checks: dict[str, Any] = {}
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in _FINISHED


class JobLog(_HubModel):
    """A chunk of a job's log from byte ``offset``; ask again from ``next_offset`` to follow
    it.  ``finished`` is true once the job has ended (read on until ``text`` is empty)."""

    text: str
    offset: int
    next_offset: int
    finished: bool


class ReleaseDecision(_HubModel):
    """One organization's decision on a release round: ``approve``, ``reject`` or ``return``."""

    organization: str
    verdict: str
    reviewer: str | None = None
    comment: str = ""
    created_at: datetime | None = None


class Release(_HubModel):
    """Where a held job's outputs stand: the current ``round``, the requester's ``context``,
    each decision, the publishers still ``waiting_for``, and (for reviewers) the files the
    automatic checks blocked, which cannot be approved."""

    job: int
    release_status: str
    round: int | None = None
    requested_by: str | None = None
    context: str = ""
    decisions: list[ReleaseDecision] = []
    waiting_for: list[str] = []
    blocked_files: list[str] = []


class CreditEntry(_HubModel):
    """One movement of an organization's credits: ``kind`` ``cpu`` or ``gpu``, ``hours``
    (negative for a debit) and why (``grant``, ``job_reservation``, ``job_refund``)."""

    id: int
    kind: str
    hours: Decimal
    balance_after: Decimal
    reason: str
    note: str = ""
    job: int | None = None
    created_at: datetime | None = None


class CreditBalance(_HubModel):
    """An organization's CPU-hours and GPU-hours left, and its latest movements (newest first)."""

    organization: str
    cpu_hours: Decimal
    gpu_hours: Decimal
    history: list[CreditEntry] = []


class TestbedTask(_HubModel):
    """A benchmark task of the AI+ testbed: the problem, how it is scored, its phases.

    ``phase`` is ``upcoming``, ``development``, ``final`` or ``closed``.  Predict
    ``label_column`` (as the column ``prediction``) for every ``id_column`` value of the test
    inputs; a model finds them at ``$BITGOEUL_INPUT_DIR/<test_inputs_file>``.  ``terms`` are
    accepted when joining; a ``restricted`` or ``secure`` test set (``test_access_level``) is
    for participants of an organization who accepted them.
    """

    slug: str
    title: str
    title_ko: str = ""
    sector: str = ""
    problem: str = ""
    problem_ko: str = ""
    organizer: str = ""
    metric: str
    metric_description: str = ""
    higher_is_better: bool
    test_dataset: str = ""
    test_version: int = 0
    test_rows: int = 0
    test_inputs_file: str = ""
    id_column: str = "id"
    label_column: str = ""
    input_columns: list[str] = []
    training_datasets: list[str] = []
    accepts_predictions: bool = True
    accepts_models: bool = True
    public_fraction: float = 0.5
    daily_limit: int = 0
    show_logs: bool = True
    test_access_level: str = ""
    terms: str = ""
    opens_at: datetime | None = None
    final_phase_at: datetime | None = None
    deadline: datetime | None = None
    phase: str = ""
    teams: int = 0
    submissions: int = 0
    created_at: datetime | None = None


class TestbedTeam(_HubModel):
    """A team on a task; ``is_organizer`` marks the organizer's baseline team.  On your own
    team, ``terms_accepted`` says whether you accepted the task's current terms."""

    id: int
    task: str
    name: str
    is_organizer: bool = False
    members: list[str] = []
    created_at: datetime | None = None
    terms_accepted: bool | None = None


class TestbedInvitation(_HubModel):
    """An invitation to join a team; ``status`` is ``pending`` (not a member yet), ``accepted``,
    ``declined`` or ``lapsed`` (the invitee joined another team of the task)."""

    id: int
    task: str
    task_title: str = ""
    team_id: int
    team: str
    invitee: str
    invited_by: str | None = None
    status: str
    created_at: datetime | None = None
    answered_at: datetime | None = None


class TestbedSubmission(_HubModel):
    """A submission and its scores.

    ``kind`` is ``predictions`` or ``model``; ``status`` is ``running`` (a model's job has not
    ended), ``scored`` or ``failed`` (``error`` says why; ``log_excerpt`` holds the end of a
    model's log when the task shows logs).  ``private_score`` stays ``None`` until the deadline.
    ``content_sha256``, ``test_version`` and ``environment`` say exactly what was scored, how.
    """

    id: int
    task: str
    team: str
    submitted_by: str | None = None
    kind: str
    phase: str = ""
    is_baseline: bool = False
    description: str = ""
    status: str
    error: str = ""
    filename: str = ""
    content_sha256: str = ""
    job: int | None = None
    test_dataset: str = ""
    test_version: int = 0
    metric: str = ""
    environment: dict[str, Any] = {}
    public_score: float | None = None
    private_score: float | None = None
    rows: int | None = None
    log_excerpt: str = ""
    created_at: datetime | None = None
    scored_at: datetime | None = None
    submissions_left_today: int | None = None

    @property
    def finished(self) -> bool:
        return self.status != "running"


class LeaderboardRow(_HubModel):
    """A team's best submission on a board; ``rank`` is ``None`` for the organizer's baseline."""

    rank: int | None
    team: str
    is_baseline: bool = False
    score: float
    submission: int
    kind: str = ""
    submitted_at: datetime | None = None
    entries: int = 0


class Leaderboard(_HubModel):
    """A task's ``public`` or ``private`` leaderboard; the private one has ``revealed`` false
    (and no rows) until the deadline, ``message`` saying when."""

    task: str
    board: str
    metric: str
    higher_is_better: bool
    revealed: bool
    message: str = ""
    rows: list[LeaderboardRow] = []


class TestbedRerun(_HubModel):
    """An operator's re-run of a submission: its scores next to the original's, and whether
    they ``matches`` (``None`` while a model's re-run job has not ended)."""

    id: int
    submission: int
    requested_by: str | None = None
    job: int | None = None
    status: str
    error: str = ""
    environment: dict[str, Any] = {}
    public_score: float | None = None
    private_score: float | None = None
    original_public_score: float | None = None
    original_private_score: float | None = None
    matches: bool | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None


class DpGroupSizeAccuracy(_HubModel):
    """A mean's ± (column units) or a quantile's rank error (fraction of the group) at 95 %,
    for a group of ``rows`` rows; ``within`` is None when the group is too small for a bound."""

    rows: int
    within: float | None = None


class DpMeanAccuracy(_HubModel):
    """A mean's ± at 95 % as a function of its group's size n: ``formula`` (valid for
    n > count_accuracy), with the sum's and the count's ± at 97.5 % and the values' bound."""

    sum_accuracy: float
    count_accuracy: float
    bound: float
    formula: str = ""

    def within(self, rows: float) -> float | None:
        """The mean's ± at 95 % for a group of ``rows`` rows (None when too small)."""
        if rows <= self.count_accuracy:
            return None
        return (self.sum_accuracy + self.bound * self.count_accuracy) / (rows - self.count_accuracy)


class DpMeasureQuote(_HubModel):
    """One measure of a DP request: its mechanism, noise and accuracy, and its share of ε."""

    kind: str
    column: str | None = None
    q: float | None = None
    mechanism: str = ""
    noise_scale: float = 0.0
    accuracy_95: float | None = None
    rank_error_95: float | None = None  # a quantile: rows off the best candidate's rank
    mean_accuracy: DpMeanAccuracy | None = None  # a mean: its ± as a function of group size
    by_group_size: list[DpGroupSizeAccuracy] = []
    epsilon: float = 0.0
    delta: float = 0.0
    threshold: int | None = None  # keys released with a threshold: counts below are dropped


class DpBalance(_HubModel):
    """A budget's state: the ε cap, spent, reserved by releases in flight, and left (and the
    same for δ, which releases grouped by threshold keys spend)."""

    scope: str
    cap: float
    spent: float
    reserved: float = 0.0
    left: float
    delta_cap: float = 0.0
    delta_spent: float = 0.0
    delta_reserved: float = 0.0
    delta_left: float = 0.0


class DpQuote(_HubModel):
    """What a DP request would cost and how accurate it would be; ``token`` releases it."""

    dataset: str
    version: int
    project: int | None = None
    partition: str | None = None
    groups: list[dict[str, Any]] = []
    threshold_keys: list[str] = []
    measures: list[DpMeasureQuote] = []
    epsilon: float
    delta: float = 0.0
    balances: list[DpBalance] = []
    token: str


class DpRelease(_HubModel):
    """Differentially private statistics; ``repeated`` is True for a stored answer (free)."""

    dataset: str
    version: int
    project: int | None = None
    partition: str | None = None
    release_id: int
    repeated: bool = False
    epsilon_charged: float
    delta_charged: float = 0.0
    columns: list[str] = []
    rows: list[list[Any]] = []
    measures: list[DpMeasureQuote] = []
    balances: list[DpBalance] = []
    measurement_sha256: str = ""


class DpBudget(_HubModel):
    """One ε budget of a dataset (``scope`` ``dataset``, ``project:<id>`` or
    ``partition:<value>``) with its spending."""

    dataset: str
    scope: str
    project: int | None = None
    partition: str | None = None
    cap: float
    spent: float
    reserved: float = 0.0
    left: float
    delta_cap: float = 0.0
    delta_spent: float = 0.0
    delta_reserved: float = 0.0
    delta_left: float = 0.0
    updated_at: datetime | None = None


class LinkageProject(_HubModel):
    """A linkage project: its sources, method, key custodian, and which publishers approved."""

    id: int
    title: str
    purpose: str = ""
    method: str
    custodian: str
    project_id: int | None = None
    sources: list[dict[str, Any]] = []
    threshold: float = 0.7
    publishers: list[str] = []
    approvals: list[dict[str, Any]] = []
    awaiting: list[str] = []
    created_at: datetime | None = None


class LinkageRun(_HubModel):
    """One run of a linkage project: status, the linked dataset and the match-rate report."""

    id: int
    linkage_project_id: int
    status: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    linked_dataset: str | None = None
    report: dict[str, Any] = {}
    error: str = ""


class LinkageReviewPair(_HubModel):
    """A pair of a run's clerical review sample: both records' identifying fields (the
    anchor's and the linked source's), its stratum and score, and its label once given."""

    id: int
    dataset: str
    stratum: str
    score: float | None = None
    match: bool | None = None
    anchor: dict[str, str | None] = {}
    record: dict[str, str | None] = {}


class LinkageReview(_HubModel):
    """A run's clerical review sample and the report's current quality estimate."""

    run_id: int
    anchor: str
    pairs: list[LinkageReviewPair] = []
    quality: dict[str, Any] = {}


class TowerIndicator(_HubModel):
    """One control-tower indicator: ``value`` None when not available, nothing measured yet,
    or suppressed (``suppressed``: about fewer than k people, shown only to operators)."""

    key: str
    group: str
    unit: str
    value: float | None = None
    available: bool = True
    suppressed: bool = False
    basis: int | None = None
    target: int | None = None
    progress: float | None = None


class TowerIndicators(_HubModel):
    """Every indicator now; ``exact`` for operators; datasets and versions per institution."""

    at: datetime
    exact: bool
    k: int
    indicators: list[TowerIndicator]
    institutions: list[dict[str, Any]] = []

    def get(self, key: str) -> TowerIndicator:
        """The indicator named ``key`` (KeyError when there is none)."""
        for indicator in self.indicators:
            if indicator.key == key:
                return indicator
        raise KeyError(key)


class TowerDay(_HubModel):
    """One day's snapshot: each indicator's value (None: none kept, or suppressed)."""

    day: date
    values: dict[str, float | None]


class TowerSnapshot(_HubModel):
    day: date
    taken_at: datetime
    created: bool
    values: dict[str, float | None] = {}


class SupportApplication(_HubModel):
    """A startup's support application and the operator's answer."""

    id: int
    organization: str
    status: str
    summary: str = ""
    employees: int = 0
    cpu_hours: Decimal = Decimal(0)
    gpu_hours: Decimal = Decimal(0)
    data_access_help: bool = False
    testbed_sponsorship: bool = False
    granted_cpu_hours: Decimal = Decimal(0)
    granted_gpu_hours: Decimal = Decimal(0)
    review_note: str = ""
    created_at: datetime | None = None
    decided_at: datetime | None = None


class Cohort(_HubModel):
    id: int
    name: str
    starts_on: date
    ends_on: date
    capacity: int
    enrolled: int = 0


class Lab(_HubModel):
    """A hands-on lab: ``kind`` "task" (a testbed task and the score that passes it) or "job"
    (a compute job on ``dataset`` whose answer.json must equal ``aggregate`` of ``column``
    within ``tolerance``; the hub computes the right value, never shown)."""

    slug: str
    title: str
    kind: str = "task"
    task: str = ""
    metric: str = ""
    higher_is_better: bool = True
    pass_mark: float = 0.0
    dataset: str = ""
    aggregate: str | None = None
    column: str = ""
    tolerance: float = 0.0


class Course(_HubModel):
    slug: str
    title: str
    title_ko: str = ""
    description: str = ""
    cohorts: list[Cohort] = []
    labs: list[Lab] = []
    completed: int = 0


class LabResult(_HubModel):
    lab: str
    score: float | None = None
    passed: bool = False
    graded_at: datetime | None = None
    job: int | None = None


class LabJob(_HubModel):
    """A job attached to a job lab: ``status`` waiting, passed or failed, with the answer the
    job wrote and, when it failed, why."""

    id: int
    lab: str
    job: int
    status: str
    answer: float | None = None
    problem: str = ""
    graded_at: datetime | None = None


class Enrolment(_HubModel):
    """An enrolment in a cohort: ``status`` enrolled, completed or withdrawn."""

    id: int
    course: str
    cohort: str
    cohort_id: int
    status: str
    completed_at: datetime | None = None
    results: list[LabResult] = []
    lab_jobs: list[LabJob] = []


class CivicChallenge(_HubModel):
    """What the department and the operator agreed for a civic problem, its testbed task, its
    pilot and the indicator's measured series; ``progress`` (0 to 1) is computed by the hub."""

    department: str
    department_name: str = ""
    metric: str = ""
    indicator: str = ""
    dataset: str = ""
    column: str = ""
    period: str = ""
    every: str = ""
    aggregate: str = "avg"
    baseline: float = 0.0
    target: float = 0.0
    proposed_by: str | None = None
    agreed: bool = False
    agreed_at: datetime | None = None
    readiness: list[dict[str, Any]] = []
    task: str | None = None
    best_score: float | None = None
    pilot: str = ""
    pilot_started_at: datetime | None = None
    measurements: list[dict[str, Any]] = []
    current: float | None = None
    progress: float | None = None
    measured_at: datetime | None = None


class CivicProblem(_HubModel):
    """A resident's problem: its state, support, timeline and (once accepted) challenge.
    ``allowed`` lists what the signed-in user may do to it now."""

    id: int
    title: str
    district: str
    state: str
    supports: int
    author: str | None = None
    created_at: datetime
    triage_due_at: datetime | None = None
    overdue: bool = False
    department: str | None = None
    description: str = ""
    threshold: int = 0
    reason: str = ""
    merged_into: int | None = None
    photos: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    followers: int = 0
    supported: bool = False
    following: bool = False
    allowed: list[str] = []
    challenge: CivicChallenge | None = None


class CivicProblemList(_HubModel):
    total: int
    problems: list[CivicProblem]


class CivicCounts(_HubModel):
    """Problems by state, challenges, pilots, completed and triage overdue."""

    problems: dict[str, int]
    challenges: int
    pilots: int
    completed: int
    overdue_triage: int
