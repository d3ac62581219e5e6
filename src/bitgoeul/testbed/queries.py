"""Reading the testbed: tasks, teams, invitations, a team's submissions and leaderboards (a
participant's test inputs are written by ``actions.write_test_inputs``: a door, audited).

Tasks and leaderboards are public, like the catalog's metadata: a city shows which problems it
asks companies to solve and who solves them best.  A team's submissions (files, hashes, log
excerpts) and its invitations are for its members, the organizer's stewards and operators; an
invitation is also for its invitee.  Private scores stay hidden from everyone until the
deadline.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, User
from bitgoeul.catalog.models import Dataset
from bitgoeul.db.base import utcnow
from bitgoeul.errors import AccessDenied, NotFound, ValidationFailed
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.testbed import scoring
from bitgoeul.testbed.access import (
    governs_task,
    has_accepted_terms,
    membership,
    phase_at,
    team_id_of,
    terms_sha256,
)
from bitgoeul.testbed.models import (
    InvitationStatus,
    Phase,
    SubmissionStatus,
    TestbedInvitation,
    TestbedRerun,
    TestbedSubmission,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)
from bitgoeul.testbed.schemas import (
    InvitationPublic,
    Leaderboard,
    LeaderboardRow,
    RerunPublic,
    SubmissionPublic,
    TaskPublic,
    TeamPublic,
)


def list_tasks(session: Session) -> list[TestbedTask]:
    return list(session.scalars(select(TestbedTask).order_by(TestbedTask.deadline.desc())))


def _slug_of_dataset(session: Session, dataset_id: int) -> str:
    return session.scalar(select(Dataset.slug).where(Dataset.id == dataset_id)) or ""


def task_public(session: Session, task: TestbedTask, *, now: datetime | None = None) -> TaskPublic:
    metric = scoring.metric_named(task.metric)
    organizer = session.get(Organization, task.organization_id)
    test_set = session.get(Dataset, task.test_dataset_id)
    assert test_set is not None  # noqa: S101 - RESTRICT keeps it
    test_slug = test_set.slug
    teams = session.scalar(
        select(func.count(TestbedTeam.id)).where(
            TestbedTeam.task_id == task.id, TestbedTeam.is_organizer.is_(False)
        )
    )
    submissions = session.scalar(
        select(func.count(TestbedSubmission.id)).where(TestbedSubmission.task_id == task.id)
    )
    return TaskPublic(
        slug=task.slug,
        title=task.title,
        title_ko=task.title_ko,
        sector=task.sector,
        problem=task.problem,
        problem_ko=task.problem_ko,
        organizer=organizer.slug if organizer else "",
        metric=metric.name,
        metric_description=metric.description,
        higher_is_better=metric.higher_is_better,
        test_dataset=test_slug,
        test_version=task.test_version,
        test_rows=task.test_rows,
        test_inputs_file=f"{test_slug}.parquet",
        id_column=task.id_column,
        label_column=task.label_column,
        input_columns=list(task.input_columns),
        training_datasets=list(task.training_datasets),
        accepts_predictions=task.accepts_predictions,
        accepts_models=task.accepts_models,
        public_fraction=task.public_fraction,
        daily_limit=task.daily_limit,
        show_logs=task.show_logs,
        test_access_level=test_set.access_level,
        terms=task.terms,
        opens_at=task.opens_at,
        final_phase_at=task.final_phase_at,
        deadline=task.deadline,
        phase=phase_at(task, now or utcnow()),
        teams=int(teams or 0),
        submissions=int(submissions or 0),
        created_at=task.created_at,
    )


# --- Teams and submissions --------------------------------------------------------------------


def _usernames(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
    return {row.id: row.username for row in rows}


def list_teams(session: Session, task: TestbedTask) -> list[TeamPublic]:
    teams = list(
        session.scalars(
            select(TestbedTeam).where(TestbedTeam.task_id == task.id).order_by(TestbedTeam.id)
        )
    )
    members = list(
        session.scalars(select(TestbedTeamMember).where(TestbedTeamMember.task_id == task.id))
    )
    names = _usernames(session, {m.user_id for m in members})
    by_team: dict[int, list[str]] = defaultdict(list)
    for member in members:
        by_team[member.team_id].append(names.get(member.user_id, "?"))
    return [
        TeamPublic(
            id=team.id,
            task=task.slug,
            name=team.name,
            is_organizer=team.is_organizer,
            members=sorted(by_team[team.id]),
            created_at=team.created_at,
        )
        for team in teams
    ]


def my_team(session: Session, *, actor: Actor, task: TestbedTask) -> TeamPublic | None:
    """The actor's team, saying whether they accepted the task's current terms (None: the
    task has none)."""
    member = membership(session, task, actor)
    if member is None:
        return None
    team = next(t for t in list_teams(session, task) if t.id == member.team_id)
    accepted = has_accepted_terms(task, member) if terms_sha256(task) else None
    return team.model_copy(update={"terms_accepted": accepted})


def get_team(session: Session, task: TestbedTask, team_id: int) -> TestbedTeam:
    team = session.get(TestbedTeam, team_id)
    if team is None or team.task_id != task.id:
        raise NotFound(msg("Task '{task}' has no team {team}.", task=task.slug, team=team_id))
    return team


def may_see_team(session: Session, actor: Actor, task: TestbedTask, team: TestbedTeam) -> bool:
    """A team's submissions: its members, the organizer's stewards and operators."""
    return governs_task(actor, task) or team_id_of(session, task, actor) == team.id


def team_submissions(
    session: Session,
    *,
    actor: Actor,
    task: TestbedTask,
    team: TestbedTeam,
    now: datetime | None = None,
) -> list[SubmissionPublic]:
    """A team's history, newest first (the day's count and the names read once for all)."""
    require_signed_in(actor)
    if not may_see_team(session, actor, task, team):
        raise AccessDenied(
            msg(
                "Only team '{team}', the organizer and operators see its history; the "
                "leaderboards on the task's page are for everyone.",
                team=team.name,
            )
        )
    found = list(
        session.scalars(
            select(TestbedSubmission)
            .where(TestbedSubmission.team_id == team.id)
            .order_by(TestbedSubmission.id.desc())
        )
    )
    now = now or utcnow()
    shared = _Shared.read(session, task, team, {s.submitted_by_id for s in found}, now)
    return [shared.public(s) for s in found]


def get_submission(session: Session, *, actor: Actor, submission_id: int) -> TestbedSubmission:
    """A submission, for its team, the organizer's stewards and operators (others: not found)."""
    require_signed_in(actor)
    submission = session.get(TestbedSubmission, submission_id)
    if submission is not None:
        task = session.get(TestbedTask, submission.task_id)
        team = session.get(TestbedTeam, submission.team_id)
        if task is not None and team is not None and may_see_team(session, actor, task, team):
            return submission
    raise NotFound(
        msg(
            "There is no testbed submission {submission} of yours; your team's page lists "
            "your submissions.",
            submission=submission_id,
        )
    )


@dataclass(frozen=True)
class _Shared:
    """What every submission of one team shows alike, read once."""

    task: TestbedTask
    team: TestbedTeam
    test_slug: str
    names: dict[int, str]
    left_today: int | None
    revealed: bool

    @classmethod
    def read(
        cls,
        session: Session,
        task: TestbedTask,
        team: TestbedTeam,
        user_ids: set[int | None],
        now: datetime,
    ) -> _Shared:
        left = None
        if not team.is_organizer:
            used = submissions_today(session, team_id=team.id, now=now)
            left = max(0, task.daily_limit - used)
        return cls(
            task=task,
            team=team,
            test_slug=_slug_of_dataset(session, task.test_dataset_id),
            names=_usernames(session, {i for i in user_ids if i is not None}),
            left_today=left,
            revealed=now >= task.deadline,
        )

    def public(self, submission: TestbedSubmission) -> SubmissionPublic:
        return SubmissionPublic(
            id=submission.id,
            task=self.task.slug,
            team=self.team.name,
            submitted_by=self.names.get(submission.submitted_by_id or 0),
            kind=submission.kind,
            phase=submission.phase,
            is_baseline=submission.is_baseline,
            description=submission.description,
            status=submission.status,
            error=submission.error,
            filename=submission.filename,
            content_sha256=submission.content_sha256,
            job=submission.job_id,
            test_dataset=self.test_slug,
            test_version=submission.test_version,
            metric=submission.metric,
            environment=submission.environment,
            public_score=submission.public_score,
            private_score=submission.private_score if self.revealed else None,
            rows=submission.rows,
            log_excerpt=submission.log_excerpt,
            created_at=submission.created_at,
            scored_at=submission.scored_at,
            submissions_left_today=self.left_today,
        )


def submission_public(
    session: Session, submission: TestbedSubmission, *, now: datetime | None = None
) -> SubmissionPublic:
    task = session.get(TestbedTask, submission.task_id)
    team = session.get(TestbedTeam, submission.team_id)
    assert task is not None  # noqa: S101 - CASCADE keeps them together
    assert team is not None  # noqa: S101
    shared = _Shared.read(session, task, team, {submission.submitted_by_id}, now or utcnow())
    return shared.public(submission)


def rerun_public(
    session: Session, rerun: TestbedRerun, *, now: datetime | None = None
) -> RerunPublic:
    """A re-run; private scores stay hidden until the deadline here too (``matches`` compares
    both parts all the same)."""
    original = session.get(TestbedSubmission, rerun.submission_id)
    assert original is not None  # noqa: S101 - CASCADE
    task = session.get(TestbedTask, original.task_id)
    assert task is not None  # noqa: S101
    revealed = (now or utcnow()) >= task.deadline
    names = _usernames(session, {rerun.requested_by_id} if rerun.requested_by_id else set())
    return RerunPublic(
        id=rerun.id,
        submission=rerun.submission_id,
        requested_by=names.get(rerun.requested_by_id or 0),
        job=rerun.job_id,
        status=rerun.status,
        error=rerun.error,
        environment=rerun.environment,
        public_score=rerun.public_score,
        private_score=rerun.private_score if revealed else None,
        original_public_score=original.public_score,
        original_private_score=original.private_score if revealed else None,
        matches=rerun.matches,
        created_at=rerun.created_at,
        finished_at=rerun.finished_at,
    )


def list_reruns(session: Session, *, actor: Actor, submission_id: int) -> list[TestbedRerun]:
    require_signed_in(actor)
    if not actor.is_operator:
        raise AccessDenied(
            msg("Only operators see re-runs; the submission's score is on its page.")
        )
    return list(
        session.scalars(
            select(TestbedRerun)
            .where(TestbedRerun.submission_id == submission_id)
            .order_by(TestbedRerun.id)
        )
    )


# --- Invitations ------------------------------------------------------------------------------


def _invitations_public(
    session: Session, invitations: list[TestbedInvitation]
) -> list[InvitationPublic]:
    names = _usernames(
        session,
        {i.user_id for i in invitations}
        | {i.invited_by_id for i in invitations if i.invited_by_id is not None},
    )
    tasks = {i.task_id: session.get(TestbedTask, i.task_id) for i in invitations}
    teams = {i.team_id: session.get(TestbedTeam, i.team_id) for i in invitations}
    shown: list[InvitationPublic] = []
    for invitation in invitations:
        task, team = tasks[invitation.task_id], teams[invitation.team_id]
        assert task is not None  # noqa: S101 - CASCADE keeps them together
        assert team is not None  # noqa: S101
        shown.append(
            InvitationPublic(
                id=invitation.id,
                task=task.slug,
                task_title=task.title,
                team_id=team.id,
                team=team.name,
                invitee=names.get(invitation.user_id, "?"),
                invited_by=names.get(invitation.invited_by_id or 0),
                status=invitation.status,
                created_at=invitation.created_at,
                answered_at=invitation.answered_at,
            )
        )
    return shown


def invitation_public(session: Session, invitation: TestbedInvitation) -> InvitationPublic:
    return _invitations_public(session, [invitation])[0]


def my_invitations(
    session: Session, *, actor: Actor, pending_only: bool = False
) -> list[InvitationPublic]:
    """The invitations sent to the actor, the waiting ones first, newest first."""
    require_signed_in(actor)
    query = select(TestbedInvitation).where(TestbedInvitation.user_id == actor.user_id)
    if pending_only:
        query = query.where(TestbedInvitation.status == InvitationStatus.pending)
    found = list(session.scalars(query.order_by(TestbedInvitation.id.desc())))
    found.sort(key=lambda i: i.status != InvitationStatus.pending)
    return _invitations_public(session, found)


def team_invitations(
    session: Session, *, actor: Actor, task: TestbedTask, team: TestbedTeam
) -> list[InvitationPublic]:
    """Whom a team invited and what they answered: for its members, the organizer's stewards
    and operators."""
    require_signed_in(actor)
    if not may_see_team(session, actor, task, team):
        raise AccessDenied(
            msg(
                "Only team '{team}', the organizer and operators see its invitations.",
                team=team.name,
            )
        )
    found = session.scalars(
        select(TestbedInvitation)
        .where(TestbedInvitation.team_id == team.id)
        .order_by(TestbedInvitation.id.desc())
    )
    return _invitations_public(session, list(found))


# --- Leaderboards -----------------------------------------------------------------------------


def leaderboard(
    session: Session,
    *,
    task: TestbedTask,
    board: Literal["public", "private"] = "public",
    now: datetime | None = None,
) -> Leaderboard:
    """Each team's best score (ties: the earlier submission first), and the baseline, unranked.

    ``public``: every scored submission, on the public part.  ``private``: final-phase
    submissions on the private part, shown only from the deadline on.
    """
    if board not in ("public", "private"):
        raise ValidationFailed(msg("board: choose 'public' or 'private'."))
    metric = scoring.metric_named(task.metric)
    now = now or utcnow()
    if board == "private" and now < task.deadline:
        return Leaderboard(
            task=task.slug,
            board="private",
            metric=metric.name,
            higher_is_better=metric.higher_is_better,
            revealed=False,
            message=msg(
                "The private leaderboard is revealed at the deadline, {deadline}.",
                deadline=task.deadline.isoformat(),
            ),
            rows=[],
        )
    query = select(TestbedSubmission).where(
        TestbedSubmission.task_id == task.id,
        TestbedSubmission.status == SubmissionStatus.scored,
    )
    if board == "private":
        query = query.where(
            (TestbedSubmission.phase == Phase.final) | TestbedSubmission.is_baseline.is_(True)
        )
    submissions = list(session.scalars(query))
    teams = {
        t.id: t for t in session.scalars(select(TestbedTeam).where(TestbedTeam.task_id == task.id))
    }
    sign = -1.0 if metric.higher_is_better else 1.0

    def score_of(submission: TestbedSubmission) -> float:
        value = submission.public_score if board == "public" else submission.private_score
        assert value is not None  # noqa: S101 - scored submissions have both
        return value

    best: dict[int, TestbedSubmission] = {}
    entries: dict[int, int] = defaultdict(int)
    for submission in submissions:
        entries[submission.team_id] += 1
        held = best.get(submission.team_id)
        key = (sign * score_of(submission), submission.created_at, submission.id)
        if held is None or key < (sign * score_of(held), held.created_at, held.id):
            best[submission.team_id] = submission
    ordered = sorted(best.values(), key=lambda s: (sign * score_of(s), s.created_at, s.id))
    rows: list[LeaderboardRow] = []
    rank = 0
    for submission in ordered:
        team = teams[submission.team_id]
        if not team.is_organizer:
            rank += 1
        rows.append(
            LeaderboardRow(
                rank=None if team.is_organizer else rank,
                team=team.name,
                is_baseline=team.is_organizer,
                score=score_of(submission),
                submission=submission.id,
                kind=submission.kind,
                submitted_at=submission.created_at,
                entries=entries[submission.team_id],
            )
        )
    message = (
        "Best public-part score per team, over every scored submission."
        if board == "public"
        else "Best private-part score per team, over its final-phase submissions."
    )
    return Leaderboard(
        task=task.slug,
        board=board,
        metric=metric.name,
        higher_is_better=metric.higher_is_better,
        revealed=True,
        message=message,
        rows=rows,
    )


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def submissions_today(session: Session, *, team_id: int, now: datetime) -> int:
    """The team's submissions since 00:00 UTC (files refused on upload are never stored)."""
    count: int | None = session.scalar(
        select(func.count(TestbedSubmission.id)).where(
            TestbedSubmission.team_id == team_id,
            TestbedSubmission.created_at >= _day_start(now),
        )
    )
    return count or 0
