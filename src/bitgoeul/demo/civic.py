"""The demo city's civic problems: one in each state of the civic state machine, made through
the real actions by the demo's accounts.

Six resident accounts (``RESIDENTS``, password ``demo``) support them.  One problem, evening
power cuts in Buk-gu, goes the whole way to a running pilot: the triage gives it to KEPCO, KEPCO
proposes the metric (MAPE of next-day household demand forecasts) and the indicator (the
average outage duration per month in KEPCO KDN's open outage records), the operator agrees,
KEPCO opens it as a testbed task on its hidden electricity test set, starts the pilot and the
operator measures the indicator through the SQL gateway.  Another KEPCO problem went the whole
way before (its challenge closed, its pilot measured, completed), and a third is an open
challenge without a pilot yet.  The others stay open, in triage, accepted (by the city, its
metric not yet proposed), with a metric proposed by Gwangju and waiting for the operator, with
a metric agreed (proposed by the operator, agreed by KEPCO), declined with a reason, merged
into a duplicate, and withdrawn by its author.  A problem whose step fails on a tiny city (a
test set too small to score) stays where it got, and the build says so.
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
OPEN_CHALLENGE_SLUG = "civic-new-town-overloads"
COMPLETED_CHALLENGE_SLUG = "civic-storm-outages"
CIVIC_TASKS = (CHALLENGE_SLUG, OPEN_CHALLENGE_SLUG, COMPLETED_CHALLENGE_SLUG)
OUTAGES = "kdn-outage-events"
BUS_RIDERSHIP = "gwangju-bus-ridership-hourly"


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
    "crowded_buses": _problem(
        "Buses to Cheomdan are too full to board at rush hour",
        "Every morning between 7 and 9 the buses from Songjeong station to the Cheomdan "
        "science park pass full; people wait for the third or fourth bus.",
        "Gwangsan-gu",
    ),
    "heat": _problem(
        "Apartments in Suwan lose power on the hottest summer days",
        "When everyone runs the air conditioning in August, whole blocks in Suwan-dong lose "
        "power for hours. Predict the peaks and prepare the grid before they come.",
        "Gwangsan-gu",
    ),
    "new_town": _problem(
        "Transformers overload in the new apartment blocks of Hyocheon",
        "Since the new blocks in Hyocheon filled up, transformers trip on winter evenings; "
        "KEPCO needs to know which ones before they fail.",
        "Nam-gu",
    ),
    "storms": _problem(
        "Power cuts in Hwajeong during every summer storm",
        "Each storm takes the power out in Hwajeong-dong for an hour or two; the lifts stop and "
        "the pumps of the apartment blocks with them.",
        "Seo-gu",
    ),
    "streetlights": _problem(
        "Street lights out along the Gwangju stream path",
        "Half the lights along the stream path between Yangrim bridge and Balsan village are "
        "out; people avoid walking there after dark.",
        "Nam-gu",
    ),
}
WITHDRAWN_BECAUSE = "The district fixed the lights two days after I posted; thank you."
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
    authors = {
        "underpass_again": residents[0],
        "motorbikes": residents[1],
        "bus": residents[2],
        "streetlights": residents[3],
        "crowded_buses": residents[4],
    }
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
    for key in (
        "outages",
        "underpass",
        "motorbikes",
        "bus",
        "crowded_buses",
        "heat",
        "new_town",
        "storms",
    ):
        support(key, settings.civic_support_min)
    actions.withdraw_problem(
        session, actor=residents[3], problem_id=ids["streetlights"], reason=WITHDRAWN_BECAUSE
    )
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
    _propose_bus_metric(session, ids["crowded_buses"], operator, demo_actor(session, "gwangju"))
    _agree_heat_metric(session, ids["heat"], operator, kepco)
    said = [
        _run_the_challenge(session, settings, store, ids["outages"], operator, kepco),
        _open_only(session, settings, store, ids["new_town"], operator, kepco),
        _completed(session, settings, store, ids["storms"], operator, kepco),
    ]
    return f"civic problems posted: {len(ids)} ({'; '.join(said)})"


def _propose_bus_metric(session: Session, problem_id: int, operator: Actor, city: Actor) -> None:
    """Gwangju takes the crowded buses and proposes its metric; the operator has yet to agree."""
    actions.accept_problem(session, actor=operator, problem_id=problem_id, department="gwangju")
    actions.propose_metric(
        session,
        actor=city,
        problem_id=problem_id,
        proposal=MetricProposal(
            metric="mae",
            indicator="Average boardings per bus and hour, per month (fewer: less crowded)",
            dataset=BUS_RIDERSHIP,
            column="boardings",
            period="date",
            every="month",
            aggregate="avg",
            baseline=40.0,
            target=30.0,
        ),
    )


def _agree_heat_metric(session: Session, problem_id: int, operator: Actor, kepco: Actor) -> None:
    """The operator proposes the summer peaks' metric and KEPCO agrees; no challenge yet."""
    actions.accept_problem(session, actor=operator, problem_id=problem_id, department="kepco")
    actions.propose_metric(
        session,
        actor=operator,
        problem_id=problem_id,
        proposal=MetricProposal(
            metric="mape",
            indicator="Average customers cut off by an outage, per month",
            dataset=OUTAGES,
            column="customers_affected",
            period="started_at",
            every="month",
            aggregate="avg",
            baseline=60.0,
            target=30.0,
        ),
    )
    actions.agree_metric(session, actor=kepco, problem_id=problem_id)


def _to_challenge(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    problem_id: int,
    operator: Actor,
    kepco: Actor,
    *,
    slug: str,
    proposal: MetricProposal,
    opens_days: int,
    final_days: int,
    deadline_days: int,
) -> str | None:
    """Accept for KEPCO, agree ``proposal``, open the challenge on KEPCO's hidden electricity
    test set (days from now); the reason it could not open, or None."""
    actions.accept_problem(session, actor=operator, problem_id=problem_id, department="kepco")
    actions.propose_metric(session, actor=kepco, problem_id=problem_id, proposal=proposal)
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
                slug=slug,
                test_dataset=electricity.test.slug,
                id_column=electricity.id_column,
                label_column=electricity.label_column,
                training_datasets=[electricity.training.slug],
                terms=DEMO_TERMS,
                opens_at=now + timedelta(days=opens_days),
                final_phase_at=now + timedelta(days=final_days),
                deadline=now + timedelta(days=deadline_days),
            ),
        )
    except BitgoeulError as error:
        session.rollback()
        return f"the challenge {slug} could not open on this city: {error.message}"
    return None


def _outages_per_month(baseline: float, target: float) -> MetricProposal:
    return MetricProposal(
        metric="mape",
        indicator="Outages recorded per month",
        dataset=OUTAGES,
        column="",
        period="started_at",
        every="month",
        aggregate="count",
        baseline=baseline,
        target=target,
    )


def _open_only(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    problem_id: int,
    operator: Actor,
    kepco: Actor,
) -> str:
    """A challenge open for entries, no pilot yet."""
    failed = _to_challenge(
        session,
        settings,
        store,
        problem_id,
        operator,
        kepco,
        slug=OPEN_CHALLENGE_SLUG,
        proposal=_outages_per_month(12.0, 6.0),
        opens_days=-2,
        final_days=40,
        deadline_days=60,
    )
    return failed or f"one open challenge, {OPEN_CHALLENGE_SLUG}"


def _completed(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    problem_id: int,
    operator: Actor,
    kepco: Actor,
) -> str:
    """A challenge that ran in the spring, whose pilot was measured and which is completed."""
    failed = _to_challenge(
        session,
        settings,
        store,
        problem_id,
        operator,
        kepco,
        slug=COMPLETED_CHALLENGE_SLUG,
        proposal=MetricProposal(
            metric="mape",
            indicator="Average length of a power cut (minutes), per month",
            dataset=OUTAGES,
            column="duration_min",
            period="started_at",
            every="month",
            aggregate="avg",
            baseline=90.0,
            target=45.0,
        ),
        opens_days=-120,
        final_days=-90,
        deadline_days=-75,
    )
    if failed:
        return failed
    actions.start_pilot(
        session,
        actor=kepco,
        problem_id=problem_id,
        pilot=PilotIn(
            description=(
                "Before each storm forecast, feeders in Hwajeong-dong are switched by the "
                "winning entry's demand forecasts, so a fault isolates fewer blocks."
            )
        ),
    )
    actions.measure_indicator(
        session, settings=settings, store=store, actor=operator, problem_id=problem_id
    )
    actions.complete_challenge(
        session,
        actor=kepco,
        problem_id=problem_id,
        note="The pilot ended in September; KEPCO now switches feeders this way across Seo-gu.",
    )
    return f"one completed, its challenge {COMPLETED_CHALLENGE_SLUG}"


def _run_the_challenge(
    session: Session,
    settings: Settings,
    store: ObjectStore,
    problem_id: int,
    operator: Actor,
    kepco: Actor,
) -> str:
    """The evening outages: a challenge open for entries and a pilot measured."""
    failed = _to_challenge(
        session,
        settings,
        store,
        problem_id,
        operator,
        kepco,
        slug=CHALLENGE_SLUG,
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
        opens_days=-1,
        final_days=30,
        deadline_days=44,
    )
    if failed:
        return failed
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
