"""Teams of a testbed task: created by a participant, grown by invitation (a member invites a
user, who joins only by accepting: a pending invitation binds no one, so nobody can be kept out
of a task by being invited), and the task's terms accepted when joining and kept on the
membership.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.db.base import utcnow
from bitgoeul.errors import (
    AccessDenied,
    Conflict,
    NotFound,
    ValidationFailed,
)
from bitgoeul.governance import notifications
from bitgoeul.governance.queries import require_signed_in
from bitgoeul.messages import msg
from bitgoeul.testbed.access import (
    get_task,
    governs_task,
    membership,
    phase_at,
    team_id_of,
    terms_sha256,
)
from bitgoeul.testbed.actions.tasks import ORGANIZER_TEAM, _audit, _member
from bitgoeul.testbed.models import (
    InvitationStatus,
    Phase,
    TestbedAudit,
    TestbedInvitation,
    TestbedTask,
    TestbedTeam,
    TestbedTeamMember,
)

# Invitations of one team waiting for an answer: enough for any real team, too few to spam.
MAX_PENDING_INVITATIONS = 20


def _refuse_label_holders(actor: Actor, task: TestbedTask) -> None:
    if governs_task(actor, task):
        raise AccessDenied(
            msg(
                "You can read this task's hidden labels (an operator, or a steward of the "
                "organizer), so you cannot compete; submit a baseline instead."
            )
        )


def _accepted_terms(task: TestbedTask, accept_terms: bool) -> str:
    """The SHA-256 of the terms the actor accepts in joining ("" when the task has none)."""
    current = terms_sha256(task)
    if current and not accept_terms:
        raise ValidationFailed(
            msg(
                "Task '{task}' has terms: read them (on the task's page, or bitgoeul testbed "
                "show {task}) and accept them to join (tick the box, or accept_terms).",
                task=task.slug,
            )
        )
    return current


def _refuse_closed(task: TestbedTask, doing: str) -> None:
    if phase_at(task, utcnow()) == Phase.closed:
        raise Conflict(
            msg(
                "Task '{task}' closed at its deadline; {doing}. Its leaderboards stay on its page.",
                task=task.slug,
                doing=doing,
            )
        )


def _lapse_invitations(session: Session, task: TestbedTask, user_id: int) -> None:
    """Someone who joined a team has no use for the other teams' invitations."""
    session.execute(
        update(TestbedInvitation)
        .where(
            TestbedInvitation.task_id == task.id,
            TestbedInvitation.user_id == user_id,
            TestbedInvitation.status == InvitationStatus.pending,
        )
        .values(status=InvitationStatus.lapsed, answered_at=utcnow())
    )


def create_team(
    session: Session, *, actor: Actor, task_slug: str, name: str, accept_terms: bool = False
) -> TestbedTeam:
    """A signed-in user opens a team on a task and becomes its first member, accepting the
    task's terms when it has some.  Invitations waiting for them lapse."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    _refuse_label_holders(actor, task)
    _refuse_closed(task, msg("no new teams"))
    if team_id_of(session, task, actor) is not None:
        raise Conflict(
            msg(
                "You are already on a team of task '{task}'; your team is on the task's page.",
                task=task.slug,
            )
        )
    if name.casefold() == ORGANIZER_TEAM.casefold() or session.scalar(
        select(TestbedTeam.id).where(
            TestbedTeam.task_id == task.id, func.lower(TestbedTeam.name) == name.lower()
        )
    ):
        raise Conflict(
            msg(
                "Task '{task}' already has a team named '{name}'; choose another name.",
                task=task.slug,
                name=name,
            )
        )
    accepted = _accepted_terms(task, accept_terms)
    team = TestbedTeam(task_id=task.id, name=name, created_by_id=actor.user_id)
    session.add(team)
    session.flush()
    assert actor.user_id is not None  # noqa: S101 - signed in
    session.add(_member(task, team, actor.user_id, accepted=accepted))
    _lapse_invitations(session, task, actor.user_id)
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_team_created,
        task=task,
        detail={"team": name, "terms_sha256": accepted},
    )
    session.commit()
    return team


def invite_to_team(
    session: Session, *, actor: Actor, task_slug: str, team_id: int, username: str
) -> TestbedInvitation:
    """A team member invites another user, who is told and joins only by accepting.

    A pending invitation stops the invitee from nothing (they may open or join another team),
    so inviting many people keeps no one out of the task; a team has at most
    ``MAX_PENDING_INVITATIONS`` waiting, and does not invite again someone who declined."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    team = session.get(TestbedTeam, team_id)
    if team is None or team.task_id != task.id:
        raise NotFound(msg("Task '{slug}' has no team {team_id}.", slug=task.slug, team_id=team_id))
    if team_id_of(session, task, actor) != team.id:
        raise AccessDenied(
            msg("Only the team's members invite others to it; ask one of them to invite you.")
        )
    _refuse_closed(task, msg("no more invitations"))
    user = account_queries.get_user(session, username)
    if user is None or not user.is_active:
        raise NotFound(
            msg(
                "There is no active user '{username}'; check the user name with the person "
                "you invite.",
                username=username,
            )
        )
    invitee = Actor.for_user(user, via="testbed")
    if not team.is_organizer and governs_task(invitee, task):
        raise Conflict(
            msg(
                "'{username}' can read this task's hidden labels (an operator, or a steward of "
                "the organizer), so they cannot compete on a team.",
                username=username,
            )
        )
    if team_id_of(session, task, invitee) is not None:
        raise Conflict(
            msg(
                "'{username}' is already on a team of task '{task}'.",
                username=username,
                task=task.slug,
            )
        )
    earlier = session.scalars(
        select(TestbedInvitation).where(
            TestbedInvitation.team_id == team.id, TestbedInvitation.user_id == user.id
        )
    ).one_or_none()
    if earlier is not None:
        raise Conflict(
            msg(
                "'{username}' declined your team's invitation; it is not sent again.",
                username=username,
            )
            if earlier.status == InvitationStatus.declined
            else msg(
                "'{username}' has been invited to your team already.",
                username=username,
            )
        )
    waiting = session.scalar(
        select(func.count(TestbedInvitation.id)).where(
            TestbedInvitation.team_id == team.id,
            TestbedInvitation.status == InvitationStatus.pending,
        )
    )
    if (waiting or 0) >= MAX_PENDING_INVITATIONS:
        raise Conflict(
            msg(
                "Team '{team}' has {count} invitations waiting for an answer; wait for some "
                "to be answered before inviting more.",
                team=team.name,
                count=MAX_PENDING_INVITATIONS,
            )
        )
    invitation = TestbedInvitation(
        task_id=task.id,
        team_id=team.id,
        user_id=user.id,
        invited_by_id=actor.user_id,
        status=InvitationStatus.pending,
    )
    session.add(invitation)
    session.flush()
    notifications.notify(
        session,
        {user.id},
        kind="testbed.invitation",
        text=msg(
            "{username} invites you to team '{team}' of testbed task '{task}'. Accept or "
            "decline it on your invitations page.",
            username=actor.username,
            team=team.name,
            task=task.title,
        ),
        link="/testbed/invitations",
    )
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_sent,
        task=task,
        detail={"team": team.name, "username": username, "invitation": invitation.id},
    )
    session.commit()
    return invitation


def _own_pending_invitation(
    session: Session, actor: Actor, invitation_id: int
) -> tuple[TestbedInvitation, TestbedTask, TestbedTeam]:
    """The invitation, when it is the actor's own and not answered yet; others' are not found."""
    require_signed_in(actor)
    invitation = session.get(TestbedInvitation, invitation_id)
    if invitation is None or invitation.user_id != actor.user_id:
        raise NotFound(
            msg(
                "There is no testbed invitation {invitation} for you; your invitations page "
                "lists those waiting.",
                invitation=invitation_id,
            )
        )
    if invitation.status != InvitationStatus.pending:
        raise Conflict(
            msg(
                "Invitation {invitation} was answered already; it cannot be answered again.",
                invitation=invitation_id,
            )
        )
    task = session.get(TestbedTask, invitation.task_id)
    team = session.get(TestbedTeam, invitation.team_id)
    assert task is not None  # noqa: S101 - CASCADE keeps them together
    assert team is not None  # noqa: S101
    return invitation, task, team


def accept_invitation(
    session: Session, *, actor: Actor, invitation_id: int, accept_terms: bool = False
) -> TestbedTeam:
    """The invitee joins the team, accepting the task's terms when it has some; their other
    invitations to the task lapse and the inviter hears of it.  Only the invitee may."""
    invitation, task, team = _own_pending_invitation(session, actor, invitation_id)
    _refuse_closed(task, msg("no one joins a team any more"))
    if not team.is_organizer:
        _refuse_label_holders(actor, task)
    if team_id_of(session, task, actor) is not None:
        raise Conflict(
            msg(
                "You are already on a team of task '{task}'; your team is on the task's page.",
                task=task.slug,
            )
        )
    accepted = _accepted_terms(task, accept_terms)
    assert actor.user_id is not None  # noqa: S101 - signed in
    session.add(_member(task, team, actor.user_id, accepted=accepted))
    _lapse_invitations(session, task, actor.user_id)
    invitation.status = InvitationStatus.accepted
    invitation.answered_at = utcnow()
    if invitation.invited_by_id is not None:
        notifications.notify(
            session,
            {invitation.invited_by_id},
            kind="testbed.team",
            text=msg(
                "{username} accepted your invitation and joined team '{team}' of testbed task "
                "'{task}'.",
                username=actor.username,
                team=team.name,
                task=task.title,
            ),
            link=f"/testbed/{task.slug}#team",
        )
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_accepted,
        task=task,
        detail={"team": team.name, "invitation": invitation.id, "terms_sha256": accepted},
    )
    session.commit()
    return team


def decline_invitation(session: Session, *, actor: Actor, invitation_id: int) -> TestbedInvitation:
    """The invitee says no: they stay off the team, and the team does not invite them again."""
    invitation, task, team = _own_pending_invitation(session, actor, invitation_id)
    invitation.status = InvitationStatus.declined
    invitation.answered_at = utcnow()
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_invitation_declined,
        task=task,
        detail={"team": team.name, "invitation": invitation.id},
    )
    session.commit()
    return invitation


def accept_terms(
    session: Session, *, actor: Actor, task_slug: str, accept_terms: bool
) -> TestbedTeamMember:
    """A member accepts the task's current terms (new terms, or a team from before terms)."""
    require_signed_in(actor)
    task = get_task(session, task_slug)
    member = membership(session, task, actor)
    if member is None:
        raise AccessDenied(
            msg(
                "Join a team of task '{task}' first; you accept its terms in joining.",
                task=task.slug,
            )
        )
    current = terms_sha256(task)
    if not current:
        raise ValidationFailed(msg("Task '{task}' has no terms to accept.", task=task.slug))
    if not accept_terms:
        raise ValidationFailed(
            msg("accept_terms: tick the box (or send true) to accept the task's terms.")
        )
    member.terms_sha256 = current
    member.terms_accepted_at = utcnow()
    _audit(
        session,
        actor=actor,
        action=TestbedAudit.testbed_terms_accepted,
        task=task,
        detail={"terms_sha256": current},
    )
    session.commit()
    return member
