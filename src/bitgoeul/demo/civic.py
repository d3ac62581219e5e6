"""The demo city's civic problems: six residents' problems in different states, made through
the real actions by the demo's accounts.

Six resident accounts (``RESIDENTS``, password ``demo``) support them.  One problem, evening
power cuts in Buk-gu, goes the whole way: the triage gives it to KEPCO, KEPCO proposes the
metric (MAPE of next-day household demand forecasts) and the indicator (the average outage
duration per month in KEPCO KDN's open outage records), the operator agrees, KEPCO opens it as a
testbed task on its hidden electricity test set, starts the pilot and the operator measures the
indicator through the SQL gateway.  The others stay open, in triage, accepted (by the city,
its metric not yet proposed), declined with a reason, and merged into a duplicate.  A problem
whose step fails on a tiny city (a test set too small to score) stays where it got, and the
build says so.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.civic import actions
from bitgoeul.civic.models import CivicProblem
from bitgoeul.civic.schemas import (
    ChallengeOpen,
    MetricProposal,
    PilotIn,
    ProblemCreate,
    TriageIn,
)
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.demo.institutions import DEMO_PASSWORD, EMAIL_DOMAIN
from bitgoeul.demo.sharing import demo_actor
from bitgoeul.demo.testbed import DEMO_TERMS
from bitgoeul.demo.testbed_data import DEMO_TASKS, ELECTRICITY
from bitgoeul.errors import BitgoeulError
from bitgoeul.storage.base import ObjectStore

RESIDENTS = ("jiwoo", "seoyeon", "minjun", "haeun", "doyun", "yuna")
OPERATOR = "operator"
CITIZEN = "citizen"
CHALLENGE_SLUG = "civic-evening-outages"
OUTAGES = "kdn-outage-events"


def _problem(title: str, description: str, district: str) -> ProblemCreate:
    return ProblemCreate(title=title, description=description, district=district)


PROBLEMS = {
    "outages": _problem(
        "Evening power cuts in Unam-dong when everyone turns the heating on",
        "Since November the power goes out for an hour or more on winter evenings in Unam-dong "
        "and Yongbong-dong, always around 7 pm. Older neighbours sit in the cold and the dark.",
        "Buk-gu",
    ),
    "underpass": _problem(
        "The underpass by Gwangju station floods after every heavy rain",
        "After a heavy rain the underpass next to Gwangju station fills with water within an "
        "hour; buses detour and pedestrians walk on the road.",
        "Buk-gu",
    ),
    "underpass_again": _problem(
        "Flooded road under the railway near the station",
        "The road under the railway by the station floods each summer and nobody warns drivers "
        "before they are in it.",
        "Buk-gu",
    ),
    "crossing": _problem(
        "The crossing light at Geumnam-ro 4-ga is too short for older people",
        "The green light for pedestrians at Geumnam-ro 4-ga lasts twenty seconds; older people "
        "are still in the middle of the road when it turns red.",
        "Dong-gu",
    ),
    "motorbikes": _problem(
        "Delivery motorbikes speeding on Chungjang-ro at night",
        "Delivery motorbikes race through the pedestrian street of Chungjang-ro after 10 pm; "
        "please ban them at night.",
        "Dong-gu",
    ),
    "bus": _problem(
        "Bus arrival times on route 518 are wrong in the evening",
        "The arrival board at the stops of route 518 shows buses that never come after 8 pm; "
        "people wait twenty minutes in the cold.",
        "Seo-gu",
    ),
}
DECLINED_BECAUSE = (
    "Traffic on Chungjang-ro is regulated by the Gwangju Metropolitan Police Agency, not by "
    "the city's data and AI teams. The city forwarded your problem to the police's traffic "
    "division on the day it was declined."
)


def has_demo_civic(session: Session) -> bool:
    return session.scalar(select(CivicProblem.id).limit(1)) is not None


def _residents(session: Session, settings: Settings) -> list[Actor]:
    actors = []
    for name in RESIDENTS:
        user = account_queries.get_user(session, name)
        if user is None:
            user = account_actions.create_user(
                session,
                username=name,
                password=DEMO_PASSWORD,
                role=Role.citizen,
                display_name=f"Demo resident {name}",
                email=f"{name}@{EMAIL_DOMAIN}",
                settings=settings,
            )
        actors.append(Actor.for_user(user, via="cli"))
    return actors


def ensure_demo_civic(session: Session, settings: Settings, store: ObjectStore) -> str:
    """Post the demo's problems and take each to its state, once."""
    if has_demo_civic(session):
        return "civic problems already there"
    residents = _residents(session, settings)
    citizen = demo_actor(session, CITIZEN)
    operator = demo_actor(session, OPERATOR)
    kepco = demo_actor(session, "kepco")
    ids: dict[str, int] = {}
    authors = {"underpass_again": residents[0], "motorbikes": residents[1], "bus": residents[2]}
    for key, data in PROBLEMS.items():
        author = authors.get(key, citizen)
        ids[key] = actions.post_problem(
            session, settings=settings, store=store, actor=author, data=data
        ).id

    def support(key: str, count: int) -> None:
        author_id = session.get(CivicProblem, ids[key]).author_id  # type: ignore[union-attr]
        for resident in [r for r in residents if r.user_id != author_id][:count]:
            actions.support_problem(session, settings=settings, actor=resident, problem_id=ids[key])

    support("crossing", 2)
    for key in ("outages", "underpass", "motorbikes", "bus"):
        support(key, settings.civic_support_min)
    actions.triage_problem(
        session,
        settings=settings,
        actor=operator,
        problem_id=ids["underpass_again"],
        answer=TriageIn(decision="merge", merge_into=ids["underpass"]),
    )
    actions.decline_problem(
        session, actor=operator, problem_id=ids["motorbikes"], reason=DECLINED_BECAUSE
    )
    actions.accept_problem(session, actor=operator, problem_id=ids["bus"], department="gwangju")
    said = _run_the_challenge(session, settings, store, ids["outages"], operator, kepco)
    return f"civic problems posted: {len(ids)} ({said})"


def _run_the_challenge(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    problem_id: int,
    operator: Actor,
    kepco: Actor,
) -> str:
    actions.accept_problem(session, actor=operator, problem_id=problem_id, department="kepco")
    actions.propose_metric(
        session,
        actor=kepco,
        problem_id=problem_id,
        proposal=MetricProposal(
            metric="mape",
            indicator="Average length of a power cut (minutes), per month",
            dataset=OUTAGES,
            column="duration_min",
            period="started_at",
            every="month",
            aggregate="avg",
            baseline=80.0,
            target=40.0,
        ),
    )
    actions.agree_metric(session, actor=operator, problem_id=problem_id)
    electricity = next(task for task in DEMO_TASKS if task.slug == ELECTRICITY)
    now = utcnow()
    try:
        actions.open_challenge(
            session,
            settings=settings,
            store=store,
            actor=kepco,
            problem_id=problem_id,
            spec=ChallengeOpen(
                slug=CHALLENGE_SLUG,
                test_dataset=electricity.test.slug,
                id_column=electricity.id_column,
                label_column=electricity.label_column,
                training_datasets=[electricity.training.slug],
                terms=DEMO_TERMS,
                opens_at=now - timedelta(days=1),
                final_phase_at=now + timedelta(days=30),
                deadline=now + timedelta(days=44),
            ),
        )
    except BitgoeulError as error:
        session.rollback()
        return f"the challenge could not open on this city: {error.message}"
    actions.start_pilot(
        session,
        actor=kepco,
        problem_id=problem_id,
        pilot=PilotIn(
            description=(
                "Next-day demand forecasts from the challenge's leading entry guide feeder "
                "switching in Unam-dong and Yongbong-dong on winter evenings."
            )
        ),
    )
    actions.measure_indicator(
        session, settings=settings, store=store, actor=operator, problem_id=problem_id
    )
    return f"one in a pilot, its challenge {CHALLENGE_SLUG}"
