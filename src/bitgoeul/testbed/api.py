"""REST routes of the AI+ testbed: tasks, teams, invitations, submissions, leaderboards,
re-runs."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.compute.api import save_bundle
from bitgoeul.compute.executors import Executor
from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import (
    SOURCE_LANGUAGE,
    joined,
    msg,
    preferred_language,
    said,
    validation_problems,
)
from bitgoeul.testbed import actions, queries
from bitgoeul.testbed.access import get_task
from bitgoeul.testbed.models import TestbedTask
from bitgoeul.testbed.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationPublic,
    Leaderboard,
    ModelSpec,
    RerunPublic,
    SubmissionPublic,
    TaskCreate,
    TaskPublic,
    TaskUpdate,
    TeamCreate,
    TeamPublic,
    TermsAcceptance,
)
from bitgoeul.uploads import save_upload

router = APIRouter(prefix="/testbed", tags=["testbed"])


def _executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


def _work_dir(settings: SettingsDep) -> Path:
    work = settings.ensure_data_dir() / "work"
    work.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="testbed-", dir=work))


def save_predictions(upload: UploadFile, folder: Path, *, limit: int) -> Path:
    return save_upload(
        upload,
        folder / "upload",
        limit=limit,
        too_large=msg(
            "The predictions file is larger than this hub accepts ({limit} bytes); send only "
            "the id column and 'prediction'.",
            limit=limit,
        ),
    )


Shown = TypeVar("Shown", bound=BaseModel)


def _in_language(request: Request, shown: Shown, field: str) -> Shown:
    """``shown`` with its server-written ``field`` (a metric's description, a scoring error,
    stored in English) said in the language of the request's ``Accept-Language``."""
    lang = preferred_language(request.headers.get("accept-language"))
    if lang == SOURCE_LANGUAGE or not getattr(shown, field):
        return shown
    return shown.model_copy(update={field: said(getattr(shown, field), lang)})


def parse_model_spec(text: str | None) -> ModelSpec:
    if not text:
        return ModelSpec()
    try:
        return ModelSpec.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            msg(
                "spec: not valid JSON (line {line}, column {column}: {problem}); fix it and "
                "submit again.",
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            )
        ) from None
    except PydanticValidationError as exc:
        problems = joined(validation_problems(exc, prefix="spec.", whole=""))
        raise ValidationFailed(
            msg(
                "The model spec is invalid: {problems}. Fix it and submit again.", problems=problems
            )
        ) from None


@router.get("/tasks", response_model=list[TaskPublic])
def list_tasks(request: Request, session: SessionDep) -> list[TaskPublic]:
    """Every benchmark task, newest deadline first (public)."""
    return [
        _in_language(request, queries.task_public(session, task), "metric_description")
        for task in queries.list_tasks(session)
    ]


@router.post("/tasks", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
def create_task(
    body: TaskCreate,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> TaskPublic:
    """An operator, or a steward of the test set's publisher, sets up a task."""
    task = actions.create_task(session, settings=settings, store=store, actor=actor, data=body)
    return queries.task_public(session, task)


@router.get("/tasks/{slug}", response_model=TaskPublic)
def get_task_route(request: Request, slug: str, session: SessionDep) -> TaskPublic:
    shown = queries.task_public(session, get_task(session, slug))
    return _in_language(request, shown, "metric_description")


@router.patch("/tasks/{slug}", response_model=TaskPublic)
def update_task(slug: str, body: TaskUpdate, session: SessionDep, actor: CsrfChecked) -> TaskPublic:
    """The organizer changes texts, limits or the calendar (not the test set or metric)."""
    task = actions.update_task(session, actor=actor, task_slug=slug, data=body)
    return queries.task_public(session, task)


@router.get("/tasks/{slug}/teams", response_model=list[TeamPublic])
def list_teams(slug: str, session: SessionDep) -> list[TeamPublic]:
    return queries.list_teams(session, get_task(session, slug))


@router.get("/tasks/{slug}/team", response_model=TeamPublic | None)
def my_team(slug: str, session: SessionDep, actor: CurrentActor) -> TeamPublic | None:
    """Your team on this task, or null."""
    return queries.my_team(session, actor=actor, task=get_task(session, slug))


@router.post("/tasks/{slug}/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED)
def create_team(slug: str, body: TeamCreate, session: SessionDep, actor: CsrfChecked) -> TeamPublic:
    """Join the task by opening a team (``accept_terms`` when the task has terms); invite
    teammates with .../teams/{id}/invitations."""
    task = get_task(session, slug)
    actions.create_team(
        session, actor=actor, task_slug=slug, name=body.name, accept_terms=body.accept_terms
    )
    mine = queries.my_team(session, actor=actor, task=task)
    assert mine is not None  # noqa: S101 - just joined
    return mine


@router.post("/tasks/{slug}/terms", response_model=TeamPublic)
def accept_terms(
    slug: str, body: TermsAcceptance, session: SessionDep, actor: CsrfChecked
) -> TeamPublic:
    """A member accepts the task's current terms (after they changed, or joined before any)."""
    task = get_task(session, slug)
    actions.accept_terms(session, actor=actor, task_slug=slug, accept_terms=body.accept_terms)
    mine = queries.my_team(session, actor=actor, task=task)
    assert mine is not None  # noqa: S101 - a member
    return mine


@router.post(
    "/tasks/{slug}/teams/{team_id}/invitations",
    response_model=InvitationPublic,
    status_code=status.HTTP_201_CREATED,
)
def invite(
    slug: str, team_id: int, body: InvitationCreate, session: SessionDep, actor: CsrfChecked
) -> InvitationPublic:
    """A team member invites a user; they are told, and join only if they accept."""
    invitation = actions.invite_to_team(
        session, actor=actor, task_slug=slug, team_id=team_id, username=body.username
    )
    return queries.invitation_public(session, invitation)


@router.get("/tasks/{slug}/teams/{team_id}/invitations", response_model=list[InvitationPublic])
def team_invitations(
    slug: str, team_id: int, session: SessionDep, actor: CurrentActor
) -> list[InvitationPublic]:
    """Whom the team invited and their answers: its members, the organizer, operators."""
    task = get_task(session, slug)
    team = queries.get_team(session, task, team_id)
    return queries.team_invitations(session, actor=actor, task=task, team=team)


@router.get("/invitations", response_model=list[InvitationPublic])
def my_invitations(
    session: SessionDep, actor: CurrentActor, pending: bool = False
) -> list[InvitationPublic]:
    """Your invitations, the waiting ones first (``pending=true``: only those)."""
    return queries.my_invitations(session, actor=actor, pending_only=pending)


@router.post("/invitations/{invitation_id}/accept", response_model=TeamPublic)
def accept_invitation(
    invitation_id: int,
    session: SessionDep,
    actor: CsrfChecked,
    body: InvitationAccept | None = None,
) -> TeamPublic:
    """The invitee joins the team (``accept_terms`` when the task has terms); only they may."""
    team = actions.accept_invitation(
        session,
        actor=actor,
        invitation_id=invitation_id,
        accept_terms=body is not None and body.accept_terms,
    )
    task = session.get(TestbedTask, team.task_id)
    assert task is not None  # noqa: S101 - CASCADE
    mine = queries.my_team(session, actor=actor, task=task)
    assert mine is not None  # noqa: S101 - just joined
    return mine


@router.post("/invitations/{invitation_id}/decline", response_model=InvitationPublic)
def decline_invitation(
    invitation_id: int, session: SessionDep, actor: CsrfChecked
) -> InvitationPublic:
    """The invitee says no; the team does not invite them again.  Only they may."""
    invitation = actions.decline_invitation(session, actor=actor, invitation_id=invitation_id)
    return queries.invitation_public(session, invitation)


@router.get("/tasks/{slug}/teams/{team_id}/submissions", response_model=list[SubmissionPublic])
def team_submissions(
    request: Request, slug: str, team_id: int, session: SessionDep, actor: CurrentActor
) -> list[SubmissionPublic]:
    """A team's history: for its members, the organizer's stewards and operators."""
    task = get_task(session, slug)
    team = queries.get_team(session, task, team_id)
    return [
        _in_language(request, shown, "error")
        for shown in queries.team_submissions(session, actor=actor, task=task, team=team)
    ]


@router.post(
    "/tasks/{slug}/submissions",
    response_model=SubmissionPublic,
    status_code=status.HTTP_201_CREATED,
)
def submit(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    background: BackgroundTasks,
    file: Annotated[UploadFile | None, File(description="Predictions: CSV or Parquet")] = None,
    bundle: Annotated[UploadFile | None, File(description="A model: .zip or .tar.gz")] = None,
    spec: Annotated[str | None, Form(description="JSON for a model: entrypoint, resources")] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
) -> SubmissionPublic:
    """Submit a predictions ``file`` (scored now) or a model ``bundle`` (run as a job, scored
    when it ends)."""
    if (file is None) == (bundle is None):
        raise ValidationFailed(
            msg("Send either a predictions 'file' or a model 'bundle', not both.")
        )
    folder = _work_dir(settings)
    try:
        if file is not None:
            path = save_predictions(file, folder, limit=settings.testbed_max_predictions_bytes)
            submission = actions.submit_predictions(
                session,
                settings=settings,
                store=store,
                actor=actor,
                task_slug=slug,
                upload=path,
                filename=file.filename or "predictions.csv",
                description=description,
            )
        else:
            assert bundle is not None  # noqa: S101 - checked above
            model_spec = parse_model_spec(spec)
            if description and not model_spec.description:
                model_spec = model_spec.model_copy(update={"description": description})
            path = save_bundle(bundle, folder, limit=settings.job_max_bundle_bytes)
            submission = actions.submit_model(
                session,
                settings=settings,
                executor=_executor(request),
                actor=actor,
                task_slug=slug,
                bundle_path=path,
                spec=model_spec,
            )
            request.app.state.job_runner.wake()
    finally:
        background.add_task(shutil.rmtree, folder, ignore_errors=True)
    return _in_language(request, queries.submission_public(session, submission), "error")


@router.get("/submissions/{submission_id}", response_model=SubmissionPublic)
def get_submission(
    request: Request, submission_id: int, session: SessionDep, actor: CurrentActor
) -> SubmissionPublic:
    found = queries.get_submission(session, actor=actor, submission_id=submission_id)
    return _in_language(request, queries.submission_public(session, found), "error")


@router.get("/tasks/{slug}/leaderboard", response_model=Leaderboard)
def leaderboard(
    slug: str,
    session: SessionDep,
    board: Annotated[Literal["public", "private"], Query()] = "public",
) -> Leaderboard:
    """Public during the task; the private one from the deadline on (public)."""
    return queries.leaderboard(session, task=get_task(session, slug), board=board)


@router.get("/tasks/{slug}/test-inputs", response_class=FileResponse)
def download_test_inputs(
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CurrentActor,
    background: BackgroundTasks,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
) -> FileResponse:
    """The test set without its label, for the task's participants; predict every row."""
    folder = _work_dir(settings)
    background.add_task(shutil.rmtree, folder, ignore_errors=True)
    path = actions.write_test_inputs(
        session,
        settings=settings,
        store=store,
        actor=actor,
        task_slug=slug,
        dest=folder,
        file_format=format,
    )
    return FileResponse(path, filename=path.name)


@router.post(
    "/submissions/{submission_id}/reruns",
    response_model=RerunPublic,
    status_code=status.HTTP_201_CREATED,
)
def rerun(
    request: Request,
    submission_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> RerunPublic:
    """An operator scores a submission again (a model: as a new job; see ``matches``)."""
    found = actions.rerun_submission(
        session,
        settings=settings,
        store=store,
        executor=_executor(request),
        actor=actor,
        submission_id=submission_id,
    )
    request.app.state.job_runner.wake()
    return _in_language(request, queries.rerun_public(session, found), "error")


@router.get("/submissions/{submission_id}/reruns", response_model=list[RerunPublic])
def list_reruns(
    request: Request, submission_id: int, session: SessionDep, actor: CurrentActor
) -> list[RerunPublic]:
    found = queries.list_reruns(session, actor=actor, submission_id=submission_id)
    return [_in_language(request, queries.rerun_public(session, r), "error") for r in found]
