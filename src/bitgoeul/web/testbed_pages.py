"""Pages for the AI+ testbed: the task list, a task (its data and terms, how to submit, the
leaderboards, your team, its invitations and the upload form), your invitations (accept or
decline), a team's history and one submission with its re-runs.

Like the other pages these are a peer of ``testbed.api``: they read through
``testbed.queries`` and change state only through ``testbed.actions``, so who sees a team's
history, when the private leaderboard is revealed and the daily limit are the rules the API
enforces.  No page reads the hidden test set itself: the label column is named, never shown.
A refused form is shown again with the reason next to it; a form that worked redirects back
with a notice chosen from a fixed list (never text taken from the URL).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.references import parse_reference
from bitgoeul.compute.api import save_bundle
from bitgoeul.compute.executors import Executor
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import BitgoeulError, NotAuthenticated, NotFound, ValidationFailed
from bitgoeul.messages import msg
from bitgoeul.storage.base import ObjectStore
from bitgoeul.testbed import actions, queries
from bitgoeul.testbed.access import get_task, governs_task
from bitgoeul.testbed.api import save_predictions
from bitgoeul.testbed.models import Phase, TestbedSubmission, TestbedTask
from bitgoeul.testbed.schemas import InvitationCreate, InvitationPublic, ModelSpec, TeamCreate
from bitgoeul.web.governance_pages import form_errors
from bitgoeul.web.job_pages import stored_words
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

# What a redirect after a form may announce: ``?done=<one of these>``.
NOTICES = (
    "joined",
    "invited",
    "invitation_accepted",
    "invitation_declined",
    "terms_accepted",
    "submitted",
    "rerun",
)
FormName = Literal["join", "invite", "terms", "submit", "rerun", ""]
# A ticked "I accept the terms" box sends this value.
ACCEPTED = "yes"


def _signed_in(actor: Actor, doing: str) -> None:
    if actor.is_anonymous:
        raise NotAuthenticated(msg("Sign in to {doing}.", doing=doing))


def _notice(done: str) -> str:
    return done if done in NOTICES else ""


def _work_dir(settings: Settings) -> Path:
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="testbed-page-", dir=work))


# The task list -----------------------------------------------------------------------------


@router.get("/testbed", response_class=HTMLResponse)
def task_list(request: Request, session: SessionDep, actor: CurrentActor) -> Response:
    now = utcnow()
    waiting = (
        []
        if actor.is_anonymous
        else queries.my_invitations(session, actor=actor, pending_only=True)
    )
    return page(
        request,
        "testbed.html",
        no_store=not actor.is_anonymous,
        tasks=[queries.task_public(session, task, now=now) for task in queries.list_tasks(session)],
        waiting=len(waiting),
    )


# Your invitations --------------------------------------------------------------------------
# (Registered before ``/testbed/{slug}``, which would otherwise take "invitations" for a task.)


def _invitations_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    _signed_in(actor, msg("see your testbed invitations"))
    found = queries.my_invitations(session, actor=actor)
    return page(
        request,
        "testbed_invitations.html",
        status_code=status_code,
        no_store=True,
        invitations=found,
        with_terms=_tasks_with_terms(session, found),
        notice=notice,
        error=error,
    )


def _tasks_with_terms(session: Session, invitations: list[InvitationPublic]) -> set[str]:
    """The tasks, among these invitations', whose terms are accepted in joining."""
    return {i.task for i in invitations if get_task(session, i.task).terms.strip()}


@router.get("/testbed/invitations", response_class=HTMLResponse)
def invitation_list(
    request: Request, session: SessionDep, actor: CurrentActor, done: str = ""
) -> Response:
    return _invitations_page(request, session, actor, notice=_notice(done))


@router.post("/testbed/invitations/{invitation_id}/accept", response_class=HTMLResponse)
def accept_invitation(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    invitation_id: int,
    accept_terms: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _signed_in(actor, msg("answer an invitation"))
    try:
        team = actions.accept_invitation(
            session,
            actor=actor,
            invitation_id=invitation_id,
            accept_terms=accept_terms == ACCEPTED,
        )
        task = session.get(TestbedTask, team.task_id)
        assert task is not None  # noqa: S101 - CASCADE
    except BitgoeulError as exc:
        session.rollback()
        return _invitations_page(
            request, session, actor, error=exc.message, status_code=exc.status_code
        )
    return redirect_to(f"/testbed/{task.slug}?done=invitation_accepted#team")


@router.post("/testbed/invitations/{invitation_id}/decline", response_class=HTMLResponse)
def decline_invitation(
    request: Request, session: SessionDep, actor: CsrfChecked, invitation_id: int
) -> Response:
    _signed_in(actor, msg("answer an invitation"))
    try:
        actions.decline_invitation(session, actor=actor, invitation_id=invitation_id)
    except BitgoeulError as exc:
        session.rollback()
        return _invitations_page(
            request, session, actor, error=exc.message, status_code=exc.status_code
        )
    return redirect_to("/testbed/invitations?done=invitation_declined")


# A task ------------------------------------------------------------------------------------


def _training_datasets(session: Session, references: list[str]) -> list[dict[str, Any]]:
    """Each training dataset's reference (``slug`` or ``slug@2``), slug and catalog title."""
    found: list[dict[str, Any]] = []
    for reference in references:
        slug, number = parse_reference(reference)  # checked when the task was set up
        version = "" if number is None else str(number)
        try:
            dataset = catalog_queries.get_dataset(session, slug)
        except NotFound:
            dataset = None
        found.append({"slug": slug, "version": version, "dataset": dataset})
    return found


def _task_page(
    request: Request,
    session: Session,
    actor: Actor,
    slug: str,
    *,
    notice: str = "",
    submitted: int | None = None,
    error: str = "",
    error_for: FormName = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    task = get_task(session, slug)
    now = utcnow()
    public = queries.task_public(session, task, now=now)
    team = None if actor.is_anonymous else queries.my_team(session, actor=actor, task=task)
    left = None
    if team is not None and not team.is_organizer:
        used = queries.submissions_today(session, team_id=team.id, now=now)
        left = max(0, task.daily_limit - used)
    taking = public.phase in (Phase.development, Phase.final)
    just_submitted = None
    if submitted is not None and team is not None:
        try:
            found = queries.get_submission(session, actor=actor, submission_id=submitted)
        except NotFound:
            found = None
        if found is not None and found.task_id == task.id:
            just_submitted = queries.submission_public(session, found, now=now)
    governs = governs_task(actor, task)
    invited = (
        [
            i
            for i in queries.my_invitations(session, actor=actor, pending_only=True)
            if i.task == slug
        ]
        if team is None and not actor.is_anonymous
        else []
    )
    sent = (
        queries.team_invitations(
            session, actor=actor, task=task, team=queries.get_team(session, task, team.id)
        )
        if team is not None
        else []
    )
    return page(
        request,
        "testbed_task.html",
        said=stored_words(request),
        status_code=status_code,
        no_store=not actor.is_anonymous,
        task=public,
        training=_training_datasets(session, public.training_datasets),
        public_board=queries.leaderboard(session, task=task, board="public", now=now),
        private_board=queries.leaderboard(session, task=task, board="private", now=now),
        team=team,
        left=left,
        may_join=(
            not actor.is_anonymous and team is None and not governs and public.phase != Phase.closed
        ),
        governs=governs,
        invited=invited,
        sent=sent,
        terms_to_accept=(
            team is not None and bool(public.terms) and not team.terms_accepted and not governs
        ),
        may_submit=team is not None and (team.is_organizer or taking),
        notice=notice,
        just_submitted=just_submitted,
        error=error,
        error_for=error_for,
        values=values or {},
    )


@router.get("/testbed/{slug}", response_class=HTMLResponse)
def task_detail(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    slug: str,
    done: str = "",
    submission: int | None = None,
) -> Response:
    return _task_page(request, session, actor, slug, notice=_notice(done), submitted=submission)


@router.get("/testbed/{slug}/test-inputs")
def download_test_inputs(
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    slug: str,
    format: Literal["csv", "parquet"] = "csv",
) -> Response:
    """The test set without its label, downloaded from the task's page: the API's decision,
    audit and file (``testbed.queries.write_test_inputs``)."""
    folder = _work_dir(settings)
    background.add_task(shutil.rmtree, folder, ignore_errors=True)
    try:
        path = actions.write_test_inputs(
            session,
            settings=settings,
            store=store,
            actor=actor,
            task_slug=slug,
            dest=folder,
            file_format=format,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(path, filename=path.name)


@router.post("/testbed/{slug}/teams", response_class=HTMLResponse)
def join_task(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: str,
    name: Annotated[str, Form(max_length=200)] = "",
    accept_terms: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    _signed_in(actor, msg("join a testbed task"))
    try:
        try:
            team_name = TeamCreate(name=name).name
        except ValidationError as exc:
            raise ValidationFailed(
                msg("The team is not valid: {problems}", problems=form_errors(exc))
            ) from None
        actions.create_team(
            session,
            actor=actor,
            task_slug=slug,
            name=team_name,
            accept_terms=accept_terms == ACCEPTED,
        )
    except BitgoeulError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            actor,
            slug,
            error=exc.message,
            error_for="join",
            values={"name": name},
            status_code=exc.status_code,
        )
    return redirect_to(f"/testbed/{slug}?done=joined#team")


@router.post("/testbed/{slug}/teams/{team_id}/invitations", response_class=HTMLResponse)
def invite(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: str,
    team_id: int,
    username: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A team member invites a user, who is told and joins only by accepting."""
    _signed_in(actor, msg("invite someone to your team"))
    try:
        try:
            who = InvitationCreate(username=username.strip()).username
        except ValidationError as exc:
            raise ValidationFailed(
                msg("The invitation is not valid: {problems}", problems=form_errors(exc))
            ) from None
        actions.invite_to_team(session, actor=actor, task_slug=slug, team_id=team_id, username=who)
    except BitgoeulError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            actor,
            slug,
            error=exc.message,
            error_for="invite",
            values={"username": username},
            status_code=exc.status_code,
        )
    return redirect_to(f"/testbed/{slug}?done=invited#team")


@router.post("/testbed/{slug}/terms", response_class=HTMLResponse)
def accept_terms(
    request: Request,
    session: SessionDep,
    actor: CsrfChecked,
    slug: str,
    accept_terms: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A member accepts the task's current terms."""
    _signed_in(actor, msg("accept a task's terms"))
    try:
        actions.accept_terms(
            session, actor=actor, task_slug=slug, accept_terms=accept_terms == ACCEPTED
        )
    except BitgoeulError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            actor,
            slug,
            error=exc.message,
            error_for="terms",
            status_code=exc.status_code,
        )
    return redirect_to(f"/testbed/{slug}?done=terms_accepted#team")


def _model_spec(entrypoint: str, description: str) -> ModelSpec:
    try:
        return ModelSpec(entrypoint=entrypoint.strip() or "predict.py", description=description)
    except ValidationError as exc:
        raise ValidationFailed(
            msg("The model is not valid: {problems}", problems=form_errors(exc))
        ) from None


def _submit(
    request: Request,
    session: Session,
    settings: Settings,
    store: ObjectStore,
    actor: Actor,
    slug: str,
    *,
    kind: str,
    file: UploadFile | None,
    bundle: UploadFile | None,
    entrypoint: str,
    description: str,
) -> TestbedSubmission:
    folder = _work_dir(settings)
    try:
        if kind == "model":
            if bundle is None or not bundle.filename:
                raise ValidationFailed(
                    msg("bundle: choose the model's code, a .zip or .tar.gz file.")
                )
            spec = _model_spec(entrypoint, description)
            path = save_bundle(bundle, folder, limit=settings.job_max_bundle_bytes)
            executor: Executor = request.app.state.executor
            submission = actions.submit_model(
                session,
                settings=settings,
                executor=executor,
                actor=actor,
                task_slug=slug,
                bundle_path=path,
                spec=spec,
            )
            request.app.state.job_runner.wake()
            return submission
        if file is None or not file.filename:
            raise ValidationFailed(msg("file: choose a predictions file, CSV or Parquet."))
        path = save_predictions(file, folder, limit=settings.testbed_max_predictions_bytes)
        return actions.submit_predictions(
            session,
            settings=settings,
            store=store,
            actor=actor,
            task_slug=slug,
            upload=path,
            filename=file.filename,
            description=description,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.post("/testbed/{slug}/submissions", response_class=HTMLResponse)
def submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    slug: str,
    kind: Annotated[str, Form(max_length=20)] = "predictions",
    file: Annotated[UploadFile | None, File()] = None,
    bundle: Annotated[UploadFile | None, File()] = None,
    entrypoint: Annotated[str, Form(max_length=500)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A predictions ``file`` (scored now) or a model ``bundle`` with its ``entrypoint``."""
    _signed_in(actor, msg("submit to a testbed task"))
    try:
        submission = _submit(
            request,
            session,
            settings,
            store,
            actor,
            slug,
            kind=kind,
            file=file,
            bundle=bundle,
            entrypoint=entrypoint,
            description=description,
        )
    except BitgoeulError as exc:
        session.rollback()
        return _task_page(
            request,
            session,
            actor,
            slug,
            error=exc.message,
            error_for="submit",
            values={"kind": kind, "entrypoint": entrypoint, "description": description},
            status_code=exc.status_code,
        )
    return redirect_to(f"/testbed/{slug}?done=submitted&submission={submission.id}#submit")


# A team's history --------------------------------------------------------------------------


@router.get("/testbed/{slug}/teams/{team_id}", response_class=HTMLResponse)
def team_history(
    request: Request, session: SessionDep, actor: CurrentActor, slug: str, team_id: int
) -> Response:
    task = get_task(session, slug)
    team = queries.get_team(session, task, team_id)
    now = utcnow()
    found = queries.team_submissions(session, actor=actor, task=task, team=team, now=now)
    return page(
        request,
        "testbed_team.html",
        said=stored_words(request),
        no_store=True,
        task=queries.task_public(session, task, now=now),
        team=next(t for t in queries.list_teams(session, task) if t.id == team.id),
        submissions=found,
    )


# One submission and its re-runs ------------------------------------------------------------


def _submission_of_task(
    session: Session, actor: Actor, task: TestbedTask, submission_id: int
) -> TestbedSubmission:
    found = queries.get_submission(session, actor=actor, submission_id=submission_id)
    if found.task_id != task.id:
        raise NotFound(
            msg(
                "Task '{task}' has no submission {submission}; your team's page lists yours.",
                task=task.slug,
                submission=submission_id,
            )
        )
    return found


def _submission_page(
    request: Request,
    session: Session,
    actor: Actor,
    slug: str,
    submission_id: int,
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    task = get_task(session, slug)
    found = _submission_of_task(session, actor, task, submission_id)
    reruns = (
        queries.list_reruns(session, actor=actor, submission_id=found.id)
        if actor.is_operator
        else []
    )
    return page(
        request,
        "testbed_submission.html",
        said=stored_words(request),
        status_code=status_code,
        no_store=True,
        task=queries.task_public(session, task),
        submission=queries.submission_public(session, found),
        team_id=found.team_id,
        reruns=[queries.rerun_public(session, r) for r in reruns],
        notice=notice,
        error=error,
    )


@router.get("/testbed/{slug}/submissions/{submission_id}", response_class=HTMLResponse)
def submission_detail(
    request: Request,
    session: SessionDep,
    actor: CurrentActor,
    slug: str,
    submission_id: int,
    done: str = "",
) -> Response:
    return _submission_page(request, session, actor, slug, submission_id, notice=_notice(done))


@router.post("/testbed/{slug}/submissions/{submission_id}/reruns", response_class=HTMLResponse)
def rerun(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    slug: str,
    submission_id: int,
) -> Response:
    """An operator scores a submission again; ``matches`` says whether the scores agree."""
    _signed_in(actor, msg("re-run a submission"))
    task = get_task(session, slug)
    _submission_of_task(session, actor, task, submission_id)
    try:
        executor: Executor = request.app.state.executor
        actions.rerun_submission(
            session,
            settings=settings,
            store=store,
            executor=executor,
            actor=actor,
            submission_id=submission_id,
        )
        request.app.state.job_runner.wake()
    except BitgoeulError as exc:
        session.rollback()
        return _submission_page(
            request,
            session,
            actor,
            slug,
            submission_id,
            error=exc.message,
            status_code=exc.status_code,
        )
    return redirect_to(f"/testbed/{slug}/submissions/{submission_id}?done=rerun#reruns")
