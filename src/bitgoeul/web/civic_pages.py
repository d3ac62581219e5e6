"""The civic pages: the list of residents' problems, the form to post one (with photos), and a
problem's page, where residents support and follow it, the city's triage answers, the
department and the operator agree the metric, the challenge opens and its pilot is tracked.

Every form posts to a route here that calls ``civic.actions``, the same calls the API, the CLI
and the SDK make; a refusal is shown above the page with its reason (and the status the API
would answer), what was typed is kept.  Photos are served from here, as stored (metadata
removed), with ``nosniff``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.deps import CsrfChecked, CurrentActor, SessionDep, SettingsDep, StoreDep
from bitgoeul.accounts.models import Organization, OrganizationKind
from bitgoeul.civic import actions, queries
from bitgoeul.civic.api import read_problem_form
from bitgoeul.civic.schemas import (
    DISTRICTS,
    MAX_PHOTOS,
    ChallengeOpen,
    MetricProposal,
    PilotIn,
    TriageIn,
)
from bitgoeul.civic.states import ProblemState
from bitgoeul.config import Settings
from bitgoeul.errors import BitgoeulError
from bitgoeul.messages import joined, validation_problems
from bitgoeul.testbed import scoring
from bitgoeul.web.views import page, redirect_to

router = APIRouter(include_in_schema=False)

# What the problem's page says after each action (``?notice=``), and the triage's answers.
NOTICES = (
    "posted", "supported", "followed", "unfollowed", "withdrawn", "triaged", "declined",
    "proposed", "agreed", "opened", "piloted", "measured", "completed",
)  # fmt: skip
DECISIONS = ("accept", "decline", "merge")

Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=300)]


def _departments(session: Session) -> list[Organization]:
    return list(
        session.scalars(
            select(Organization)
            .where(Organization.kind == OrganizationKind.agency)
            .order_by(Organization.name)
        )
    )


@router.get("/civic", response_class=HTMLResponse)
def civic_list(
    request: Request,
    session: SessionDep,
    state: Annotated[ProblemState | None, Query()] = None,
    district: Annotated[str, Query(max_length=40)] = "",
    overdue: bool = False,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    listing = queries.list_problems(
        session,
        state=state,
        district=district if district in DISTRICTS else None,
        overdue=overdue,
        offset=offset,
    )
    return page(
        request,
        "civic.html",
        listing=listing,
        counts=queries.challenge_counts(session),
        states=list(ProblemState),
        state=state.value if state else "",
        district=district,
        districts=DISTRICTS,
        overdue=overdue,
        offset=offset,
    )


def _new_page(
    request: Request,
    *,
    asked: dict[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    return page(
        request,
        "civic_new.html",
        status_code=status_code,
        asked=asked or {},
        districts=DISTRICTS,
        max_photos=MAX_PHOTOS,
        error=error,
        no_store=True,
    )


@router.get("/civic/new", response_class=HTMLResponse)
def civic_new(request: Request, actor: CurrentActor) -> Response:
    if actor.is_anonymous:
        return redirect_to("/login?next=/civic/new")
    return _new_page(request)


@router.post("/civic/problems", response_class=HTMLResponse)
async def civic_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> Response:
    form = await request.form()
    asked = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        data, photos = await read_problem_form(request, settings)
        problem = actions.post_problem(
            session, settings=settings, store=store, actor=actor, data=data, photos=photos
        )
    except BitgoeulError as error:
        return _new_page(request, asked=asked, error=error.message, status_code=error.status_code)
    return redirect_to(f"/civic/problems/{problem.id}?notice=posted")


def _problem_page(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    problem_id: int,
    *,
    notice: str = "",
    error: str = "",
    asked: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    problem = queries.get_problem(session, problem_id)
    public = queries.problem_public(session, problem, actor=actor, settings=settings)
    challenge = queries.challenge_of(session, problem.id)
    live_readiness = (
        queries.readiness(session, problem, challenge)
        if challenge is not None and public.challenge is not None and not public.challenge.agreed
        else []
    )
    return page(
        request,
        "civic_problem.html",
        status_code=status_code,
        problem=public,
        districts=DISTRICTS,
        departments=_departments(session),
        metrics=sorted(scoring.METRICS),
        decisions=DECISIONS,
        live_readiness=live_readiness,
        can_measure=(
            public.challenge is not None
            and public.challenge.agreed
            and (actor.is_operator or actor.is_steward_of(problem.department_id))
        ),
        notice=notice,
        error=error,
        asked=asked or {},
        no_store=True,
    )


@router.get("/civic/problems/{problem_id}", response_class=HTMLResponse)
def civic_problem(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CurrentActor,
    notice: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    return _problem_page(
        request,
        session,
        settings,
        actor,
        problem_id,
        notice=notice if notice in NOTICES else "",
    )


@router.get("/civic/problems/{problem_id}/photos/{photo_id}")
def civic_photo(problem_id: int, photo_id: int, session: SessionDep, store: StoreDep) -> Response:
    media_type, data = queries.photo_bytes(session, store, problem_id=problem_id, photo_id=photo_id)
    return Response(
        data,
        media_type=media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "public, max-age=86400",
        },
    )


def _act(
    request: Request,
    session: Session,
    settings: Settings,
    actor: Actor,
    problem_id: int,
    notice: str,
    do: Callable[[], object],
    asked: dict[str, Any] | None = None,
) -> Response:
    """Run one action; back to the problem's page with a notice, or the refusal shown."""
    try:
        do()
    except ValidationError as exc:
        session.rollback()
        return _problem_page(
            request,
            session,
            settings,
            actor,
            problem_id,
            error=joined(validation_problems(exc)),
            asked=asked,
            status_code=422,
        )
    except BitgoeulError as error:
        session.rollback()
        return _problem_page(
            request,
            session,
            settings,
            actor,
            problem_id,
            error=error.message,
            asked=asked,
            status_code=error.status_code,
        )
    return redirect_to(f"/civic/problems/{problem_id}?notice={notice}")


@router.post("/civic/problems/{problem_id}/support", response_class=HTMLResponse)
def civic_support(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "supported",
        lambda: actions.support_problem(
            session, settings=settings, actor=actor, problem_id=problem_id
        ),
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/follow", response_class=HTMLResponse)
def civic_follow(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    follow: Annotated[str, Form(max_length=5)] = "yes",
) -> Response:
    wanted = follow != "no"
    return _act(
        request, session, settings, actor, problem_id, "followed" if wanted else "unfollowed",
        lambda: actions.follow_problem(
            session, actor=actor, problem_id=problem_id, follow=wanted
        ),
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/withdraw", response_class=HTMLResponse)
def civic_withdraw(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    reason: Text = "",
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "withdrawn",
        lambda: actions.withdraw_problem(
            session, actor=actor, problem_id=problem_id, reason=reason
        ),
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/triage", response_class=HTMLResponse)
def civic_triage(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    decision: Annotated[str, Form(max_length=10)],
    department: Short = "",
    reason: Text = "",
    merge_into: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    asked = {"decision": decision, "reason": reason, "merge_into": merge_into}

    def do() -> None:
        answer = TriageIn.model_validate(
            {
                "decision": decision,
                "department": department or None,
                "reason": reason,
                "merge_into": int(merge_into) if merge_into.strip().isdigit() else None,
            }
        )
        actions.triage_problem(
            session, settings=settings, actor=actor, problem_id=problem_id, answer=answer
        )

    return _act(request, session, settings, actor, problem_id, "triaged", do, asked)


@router.post("/civic/problems/{problem_id}/decline", response_class=HTMLResponse)
def civic_decline(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    reason: Text = "",
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "declined",
        lambda: actions.decline_problem(
            session, actor=actor, problem_id=problem_id, reason=reason
        ),
        {"reason": reason},
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/metric", response_class=HTMLResponse)
def civic_metric(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    metric: Annotated[str, Form(max_length=40)] = "",
    indicator: Short = "",
    dataset: Short = "",
    column: Short = "",
    period: Short = "",
    aggregate: Annotated[str, Form(max_length=10)] = "avg",
    every: Annotated[str, Form(max_length=10)] = "",
    baseline: Annotated[str, Form(max_length=40)] = "",
    target: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    asked = {
        "metric": metric,
        "indicator": indicator,
        "dataset": dataset,
        "column": column,
        "period": period,
        "aggregate": aggregate,
        "every": every,
        "baseline": baseline,
        "target": target,
    }

    def do() -> None:
        proposal = MetricProposal.model_validate(asked)
        actions.propose_metric(session, actor=actor, problem_id=problem_id, proposal=proposal)

    return _act(request, session, settings, actor, problem_id, "proposed", do, asked)


@router.post("/civic/problems/{problem_id}/agree", response_class=HTMLResponse)
def civic_agree(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "agreed",
        lambda: actions.agree_metric(session, actor=actor, problem_id=problem_id),
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/challenge", response_class=HTMLResponse)
def civic_challenge(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
    test_dataset: Short = "",
    label_column: Short = "",
    id_column: Short = "id",
    training: Short = "",
    terms: Text = "",
    final_phase_at: Annotated[str, Form(max_length=40)] = "",
    deadline: Annotated[str, Form(max_length=40)] = "",
    slug: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    asked = {
        "test_dataset": test_dataset,
        "label_column": label_column,
        "id_column": id_column,
        "training": training,
        "terms": terms,
        "final_phase_at": final_phase_at,
        "deadline": deadline,
        "slug": slug,
    }

    def do() -> None:
        spec = ChallengeOpen.model_validate(
            {
                "slug": slug.strip() or None,
                "test_dataset": test_dataset,
                "label_column": label_column,
                "id_column": id_column or "id",
                "training_datasets": [s.strip() for s in training.split(",") if s.strip()],
                "terms": terms,
                "final_phase_at": _day(final_phase_at),
                "deadline": _day(deadline),
            }
        )
        actions.open_challenge(
            session, settings=settings, store=store, actor=actor, problem_id=problem_id, spec=spec
        )

    return _act(request, session, settings, actor, problem_id, "opened", do, asked)


def _day(text: str) -> str:
    """A date from ``<input type=date>`` as the end of that day in Korea; anything else as
    typed (the schema says what is wrong with it)."""
    text = text.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text}T23:59:59+09:00"
    return text


@router.post("/civic/problems/{problem_id}/pilot", response_class=HTMLResponse)
def civic_pilot(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    description: Text = "",
) -> Response:
    def do() -> None:
        pilot = PilotIn.model_validate({"description": description})
        actions.start_pilot(session, actor=actor, problem_id=problem_id, pilot=pilot)

    return _act(
        request, session, settings, actor, problem_id, "piloted", do, {"description": description}
    )


@router.post("/civic/problems/{problem_id}/measure", response_class=HTMLResponse)
def civic_measure(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    actor: CsrfChecked,
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "measured",
        lambda: actions.measure_indicator(
            session, settings=settings, store=store, actor=actor, problem_id=problem_id
        ),
    )  # fmt: skip


@router.post("/civic/problems/{problem_id}/complete", response_class=HTMLResponse)
def civic_complete(
    request: Request,
    problem_id: int,
    session: SessionDep,
    settings: SettingsDep,
    actor: CsrfChecked,
    note: Text = "",
) -> Response:
    return _act(
        request, session, settings, actor, problem_id, "completed",
        lambda: actions.complete_challenge(session, actor=actor, problem_id=problem_id, note=note),
    )  # fmt: skip
