"""The civic routes under ``/api/v1/civic``: problems, supports, follows, triage, the challenge
(metric, agreement, testbed task, pilot, measurements) and the control tower's counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.civic import actions, queries
from bitgoeul.civic.schemas import (
    ChallengeOpen,
    Counts,
    DeclineIn,
    MetricProposal,
    PilotIn,
    ProblemCreate,
    ProblemPage,
    ProblemPublic,
    ReadinessItem,
    TriageIn,
    WithdrawIn,
)
from bitgoeul.civic.states import ProblemState
from bitgoeul.config import Settings
from bitgoeul.errors import AccessDenied, ValidationFailed
from bitgoeul.messages import msg, validation_problems

router = APIRouter(prefix="/civic", tags=["civic"])

_PROBLEM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ProblemCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["title", "description", "district"],
                    "properties": {
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "district": {"type": "string"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "JPEG or PNG, at most 4; metadata is removed",
                        },
                    },
                }
            },
        },
    }
}


async def read_problem_form(
    request: Request, settings: Settings
) -> tuple[ProblemCreate, list[tuple[str, bytes]]]:
    """A new problem from JSON, or from a form with photos (pages, the SDK); each photo read
    up to one byte past the cap, so a huge file is refused without being held whole."""
    content_type = request.headers.get("content-type", "").lower()
    photos: list[tuple[str, bytes]] = []
    if content_type.startswith("application/json"):
        fields: Any = await request.json()
    else:
        form = await request.form()
        try:
            fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
            for upload in form.getlist("photos"):
                if isinstance(upload, UploadFile) and upload.filename:
                    data = await upload.read(settings.civic_photo_max_bytes + 1)
                    photos.append((upload.filename, data))
        finally:
            await form.close()
    try:
        return ProblemCreate.model_validate(fields), photos
    except ValidationError as exc:
        raise ValidationFailed(
            msg(
                "The problem is incomplete: {problems}",
                problems="; ".join(validation_problems(exc, whole="problem")),
            ),
            detail=validation_problems(exc, whole="problem"),
        ) from None


@router.get("/problems", response_model=ProblemPage)
def list_problems(
    session: SessionDep,
    state: ProblemState | None = None,
    district: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ProblemPage:
    """Problems, most supported first; public.  ``overdue``: triage past its deadline."""
    return queries.list_problems(
        session, state=state, district=district, overdue=overdue, limit=limit, offset=offset
    )


@router.post(
    "/problems", response_model=ProblemPublic, status_code=201, openapi_extra=_PROBLEM_BODY
)
async def post_problem(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """Post a problem: JSON, or multipart/form-data with up to four photos."""
    data, photos = await read_problem_form(request, settings)
    problem = actions.post_problem(
        session, settings=settings, store=store, actor=actor, data=data, photos=photos
    )
    return queries.problem_public(session, problem, actor=actor, settings=settings)


@router.get("/problems/{problem_id}", response_model=ProblemPublic)
def get_problem(
    problem_id: int, session: SessionDep, settings: SettingsDep, actor: CurrentActor
) -> ProblemPublic:
    problem = queries.get_problem(session, problem_id)
    return queries.problem_public(session, problem, actor=actor, settings=settings)


def _public(session: Session, settings: Settings, actor: Actor, problem_id: int) -> ProblemPublic:
    problem = queries.get_problem(session, problem_id)
    return queries.problem_public(session, problem, actor=actor, settings=settings)


@router.post("/problems/{problem_id}/supports", response_model=ProblemPublic, status_code=201)
def support(
    problem_id: int, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ProblemPublic:
    """Support a problem (once); the support that reaches the threshold sends it to triage."""
    actions.support_problem(session, settings=settings, actor=actor, problem_id=problem_id)
    return _public(session, settings, actor, problem_id)


@router.put("/problems/{problem_id}/follow", response_model=ProblemPublic)
def follow(
    problem_id: int, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ProblemPublic:
    actions.follow_problem(session, actor=actor, problem_id=problem_id, follow=True)
    return _public(session, settings, actor, problem_id)


@router.delete("/problems/{problem_id}/follow", response_model=ProblemPublic)
def unfollow(
    problem_id: int, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ProblemPublic:
    actions.follow_problem(session, actor=actor, problem_id=problem_id, follow=False)
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/withdrawal", response_model=ProblemPublic)
def withdraw(
    problem_id: int,
    body: WithdrawIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    actions.withdraw_problem(session, actor=actor, problem_id=problem_id, reason=body.reason)
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/triage", response_model=ProblemPublic)
def triage(
    problem_id: int,
    body: TriageIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """The city's triage answers: accept (``department``), decline (``reason``) or merge
    (``merge_into``).  Operators."""
    actions.triage_problem(
        session, settings=settings, actor=actor, problem_id=problem_id, answer=body
    )
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/decline", response_model=ProblemPublic)
def decline(
    problem_id: int,
    body: DeclineIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """Decline an accepted problem before its challenge opens (the department or operators)."""
    actions.decline_problem(session, actor=actor, problem_id=problem_id, reason=body.reason)
    return _public(session, settings, actor, problem_id)


@router.get("/problems/{problem_id}/readiness", response_model=list[ReadinessItem])
def readiness(problem_id: int, session: SessionDep) -> list[ReadinessItem]:
    """What could serve the challenge now (catalog metadata only); public."""
    problem = queries.get_problem(session, problem_id)
    challenge = queries.challenge_of(session, problem.id)
    if challenge is None:
        return []
    return queries.readiness(session, problem, challenge)


@router.put("/problems/{problem_id}/metric", response_model=ProblemPublic)
def propose_metric(
    problem_id: int,
    body: MetricProposal,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """Propose the testbed metric and the pilot's indicator (the department or operators)."""
    actions.propose_metric(session, actor=actor, problem_id=problem_id, proposal=body)
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/metric/agreement", response_model=ProblemPublic)
def agree_metric(
    problem_id: int, session: SessionDep, settings: SettingsDep, actor: CsrfChecked
) -> ProblemPublic:
    """Agree the other side's proposal."""
    actions.agree_metric(session, actor=actor, problem_id=problem_id)
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/challenge", response_model=ProblemPublic, status_code=201)
def open_challenge(
    problem_id: int,
    body: ChallengeOpen,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """Open the challenge as a testbed task of the department, on its hidden test set."""
    actions.open_challenge(
        session, settings=settings, store=store, actor=actor, problem_id=problem_id, spec=body
    )
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/pilot", response_model=ProblemPublic)
def start_pilot(
    problem_id: int,
    body: PilotIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    actions.start_pilot(session, actor=actor, problem_id=problem_id, pilot=body)
    return _public(session, settings, actor, problem_id)


@router.post("/problems/{problem_id}/measurements", response_model=ProblemPublic)
def measure(
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    """Measure the agreed indicator now, through the SQL gateway."""
    actions.measure_indicator(
        session, settings=settings, store=store, actor=actor, problem_id=problem_id
    )
    return _public(session, settings, actor, problem_id)


class CompletionIn(BaseModel):
    note: str = Field(default="", max_length=5_000)


@router.post("/problems/{problem_id}/completion", response_model=ProblemPublic)
def complete(
    problem_id: int,
    body: CompletionIn,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> ProblemPublic:
    actions.complete_challenge(session, actor=actor, problem_id=problem_id, note=body.note)
    return _public(session, settings, actor, problem_id)


@router.get("/counts", response_model=Counts)
def counts(session: SessionDep) -> Counts:
    """Problems by state and challenges (the control tower's figures); public."""
    return queries.challenge_counts(session)


class Escalated(BaseModel):
    escalated: list[int]


@router.post("/escalations", response_model=Escalated)
def escalate(session: SessionDep, actor: CsrfChecked) -> Escalated:
    """Tell operators of every triage past its deadline (once each).  Operators; the workers
    do it by themselves every few minutes."""
    if not actor.is_operator:
        raise AccessDenied(msg("Only operators escalate overdue triage."))
    return Escalated(escalated=[p.id for p in actions.escalate_overdue(session)])
