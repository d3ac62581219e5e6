"""A problem's whole way, through the actions: posted, supported to triage, accepted by KEPCO,
its metric proposed and agreed, opened as KEPCO's testbed task, piloted, measured, completed;
every step on the timeline and in the audit log."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import _user
from tests.civic.civic_city import CivicCity

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.audit.models import AuditEvent
from bitgoeul.audit.queries import verify_chain
from bitgoeul.civic import actions, queries
from bitgoeul.civic.models import CivicTransition
from bitgoeul.civic.schemas import PilotIn, TriageIn
from bitgoeul.civic.states import ProblemState
from bitgoeul.db.base import utcnow
from bitgoeul.errors import Conflict
from bitgoeul.governance.models import Notification
from bitgoeul.testbed.models import TestbedTask


def test_a_problem_becomes_a_testbed_challenge_and_a_measured_pilot(
    db: Session, civic: CivicCity
) -> None:
    problem_id = civic.post()
    assert civic.problem(problem_id).state == ProblemState.open
    civic.to_triage(problem_id)
    problem = civic.problem(problem_id)
    assert problem.state == ProblemState.triage
    assert problem.threshold == 3
    assert problem.supports == 3
    assert problem.triage_due_at is not None

    civic.accept(problem_id)
    assert civic.problem(problem_id).state == ProblemState.accepted
    civic.agree(problem_id)
    assert civic.problem(problem_id).state == ProblemState.metric_agreed
    challenge = queries.challenge_of(db, problem_id)
    assert challenge is not None
    assert civic.indicator.slug in [item["slug"] for item in challenge.readiness]

    civic.open_challenge(problem_id)
    assert civic.problem(problem_id).state == ProblemState.challenge
    task = db.scalars(select(TestbedTask).where(TestbedTask.slug == f"civic-{problem_id}")).one()
    assert task.organization_id == civic.cast.kepco.id
    assert task.metric == "mae"

    actions.start_pilot(
        db,
        actor=civic.actor("steward_of_publisher"),
        problem_id=problem_id,
        pilot=PilotIn(description="Feeder reconfiguration on the three worst streets."),
    )
    actions.measure_indicator(
        db,
        settings=civic.settings,
        store=civic.store,
        actor=civic.actor("operator"),
        problem_id=problem_id,
    )
    public = queries.problem_public(
        db, civic.problem(problem_id), actor=civic.actor("anonymous"), settings=civic.settings
    )
    assert public.challenge is not None
    assert [(m.period, m.value) for m in public.challenge.measurements] == [
        ("2026-01", 50.0),
        ("2026-02", 40.0),
        ("2026-03", 35.0),
    ]
    # (35 - 50) / (20 - 50): half the way, computed from the measured series.
    assert public.challenge.current == 35.0
    assert public.challenge.progress == pytest.approx(0.5)

    actions.complete_challenge(db, actor=civic.actor("operator"), problem_id=problem_id)
    assert civic.problem(problem_id).state == ProblemState.completed

    steps = db.scalars(
        select(CivicTransition.to_state)
        .where(CivicTransition.problem_id == problem_id)
        .order_by(CivicTransition.id)
    ).all()
    assert steps == [
        "open",
        "triage",
        "accepted",
        "metric_proposed",
        "metric_agreed",
        "challenge",
        "pilot",
        "completed",
    ]
    audited = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.resource_type == "civic_problem", AuditEvent.resource_id == str(problem_id)
        )
    ).all()
    for action in (
        "civic.post",
        "civic.reach_threshold",
        "civic.accept",
        "civic.propose_metric",
        "civic.agree_metric",
        "civic.open_challenge",
        "civic.start_pilot",
        "civic.indicator_measured",
        "civic.complete",
    ):
        assert action in audited
    assert verify_chain(db).ok


def test_followers_hear_of_each_transition_and_operators_of_triage(
    db: Session, civic: CivicCity
) -> None:
    problem_id = civic.post()
    civic.to_triage(problem_id)
    author = civic.actor("citizen").user_id
    operator = civic.actor("operator").user_id
    kinds = dict(
        db.execute(
            select(Notification.user_id, Notification.kind).where(
                Notification.user_id.in_([author, operator])
            )
        ).all()
    )
    assert kinds == {author: "civic.transition", operator: "civic.triage"}


def test_a_person_supports_a_problem_once(db: Session, civic: CivicCity) -> None:
    problem_id = civic.post()
    resident = civic.residents[0]
    actions.support_problem(db, settings=civic.settings, actor=resident, problem_id=problem_id)
    with pytest.raises(Conflict, match="already support"):
        actions.support_problem(db, settings=civic.settings, actor=resident, problem_id=problem_id)
    with pytest.raises(Conflict, match="You posted"):
        actions.support_problem(
            db, settings=civic.settings, actor=civic.actor("citizen"), problem_id=problem_id
        )
    assert civic.problem(problem_id).supports == 1


def test_the_threshold_grows_with_the_active_users(db: Session, civic: CivicCity) -> None:
    civic.settings.civic_support_share = 0.5
    civic.post()  # the author is active now: one audited action
    active = queries.active_users(db, settings=civic.settings)
    assert active >= 2  # the steward published, the citizen posted
    assert queries.support_threshold(db, settings=civic.settings) == max(3, -(-active // 2))
    civic.settings.civic_support_share = 0.0
    assert queries.support_threshold(db, settings=civic.settings) == 3


def test_a_busier_hub_needs_more_supports_and_counts_only_recent_enabled_accounts(
    db: Session, civic: CivicCity
) -> None:
    """With 40 more people active, a share of 20 % is above the floor of 3: the problem waits
    in ``open`` past three supports and reaches triage at the scaled threshold, which it
    keeps.  Disabled accounts and activity older than the window do not count."""
    civic.settings.civic_support_share = 0.2
    problem_id = civic.post()
    crowd = [_user(db, f"neighbour{i}", Role.citizen, None) for i in range(40)]
    db.commit()
    actors = [Actor.for_user(user, via="token") for user in crowd]
    for actor in actors:  # each follows the problem: one audited action each
        actions.follow_problem(db, actor=actor, problem_id=problem_id)
    active = queries.active_users(db, settings=civic.settings)
    assert active >= 40
    queries.forget_thresholds()
    threshold = queries.support_threshold(db, settings=civic.settings)
    assert threshold == math.ceil(0.2 * active) > civic.settings.civic_support_min

    for supporter in actors[: threshold - 1]:
        actions.support_problem(db, settings=civic.settings, actor=supporter, problem_id=problem_id)
    assert civic.problem(problem_id).state == ProblemState.open
    assert civic.problem(problem_id).supports == threshold - 1
    actions.support_problem(
        db, settings=civic.settings, actor=actors[threshold - 1], problem_id=problem_id
    )
    reached = civic.problem(problem_id)
    assert reached.state == ProblemState.triage
    assert reached.threshold == threshold

    for user in crowd[:20]:
        user.is_active = False
    db.commit()
    assert queries.active_users(db, settings=civic.settings) == active - 20
    later = utcnow() + timedelta(days=civic.settings.civic_active_days + 1)
    assert queries.active_users(db, settings=civic.settings, now=later) == 0
    assert queries.support_threshold(db, settings=civic.settings, now=later) == 3


def test_merging_moves_supports_and_may_send_the_kept_problem_to_triage(
    db: Session, civic: CivicCity
) -> None:
    kept = civic.post(title="Street lights out on Baekun-ro")
    duplicate = civic.post("member", title="Dark street at Baekun-ro at night")
    for resident in civic.residents[:2]:
        actions.support_problem(db, settings=civic.settings, actor=resident, problem_id=kept)
    actions.support_problem(
        db, settings=civic.settings, actor=civic.residents[2], problem_id=duplicate
    )
    actions.triage_problem(
        db,
        settings=civic.settings,
        actor=civic.actor("operator"),
        problem_id=duplicate,
        answer=TriageIn(decision="merge", merge_into=kept),
    )
    assert civic.problem(duplicate).state == ProblemState.merged
    assert civic.problem(duplicate).merged_into_id == kept
    # Two supports, plus the duplicate's supporter and its author: four, past the threshold.
    assert civic.problem(kept).supports == 4
    assert civic.problem(kept).state == ProblemState.triage


def test_a_decline_needs_a_reason_residents_can_read(db: Session, civic: CivicCity) -> None:
    problem_id = civic.post()
    civic.to_triage(problem_id)
    actions.triage_problem(
        db,
        settings=civic.settings,
        actor=civic.actor("operator"),
        problem_id=problem_id,
        answer=TriageIn(decision="decline", reason="KEPCO already replaces this line in March."),
    )
    problem = civic.problem(problem_id)
    assert problem.state == ProblemState.declined
    assert problem.reason == "KEPCO already replaces this line in March."


def test_an_indicator_on_dates_is_measured_per_month(db: Session, civic: CivicCity) -> None:
    from bitgoeul.catalog import actions as catalog_actions
    from bitgoeul.catalog.models import AccessLevel, Sector
    from bitgoeul.catalog.schemas import DatasetCreate

    steward = civic.actor("steward_of_publisher")
    daily = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            title="Outage minutes per day", sector=Sector.energy, access_level=AccessLevel.open
        ),
    )
    source = civic.tmp / "daily.csv"
    source.write_text(
        "day,minutes\n2026-01-03,60\n2026-01-20,40\n2026-02-11,30\n2026-02-25,20\n",
        encoding="utf-8",
    )
    catalog_actions.publish_version(
        db,
        settings=civic.settings,
        store=civic.store,
        actor=steward,
        slug=daily.slug,
        source=source,
        filename=source.name,
    )
    problem_id = civic.post()
    civic.to_triage(problem_id)
    civic.accept(problem_id)
    actions.propose_metric(
        db,
        actor=civic.actor("operator"),
        problem_id=problem_id,
        proposal=civic.proposal(dataset=daily.slug, period="day", every="month", target=10.0),
    )
    actions.agree_metric(db, actor=civic.actor("steward_of_publisher"), problem_id=problem_id)
    actions.measure_indicator(
        db,
        settings=civic.settings,
        store=civic.store,
        actor=civic.actor("steward_of_publisher"),
        problem_id=problem_id,
    )
    challenge = queries.challenge_of(db, problem_id)
    assert challenge is not None
    series = [(m.period, m.value) for m in queries.measurements(db, challenge.id)]
    assert series == [("2026-01", 50.0), ("2026-02", 25.0)]
    # (25 - 50) / (10 - 50)
    public = queries.challenge_public(db, challenge)
    assert public.progress == pytest.approx(0.625)


def test_readiness_lists_residents_donation_pools_of_the_department(
    db: Session, civic: CivicCity
) -> None:
    from bitgoeul.catalog import actions as catalog_actions
    from bitgoeul.catalog.models import AccessLevel, Sector
    from bitgoeul.catalog.schemas import DatasetCreate
    from bitgoeul.mydata import actions as mydata_actions

    pool = catalog_actions.create_dataset(
        db,
        actor=civic.actor("steward_of_publisher"),
        data=DatasetCreate(
            title="Donated household power bills",
            sector=Sector.energy,
            access_level=AccessLevel.restricted,
        ),
    )
    mydata_actions.create_source(
        db,
        actor=civic.actor("operator"),
        slug="kepco-bills",
        title="My KEPCO power bills",
        title_ko="내 전기요금",
        pool_slug=pool.slug,
        items=["kwh"],
        item_fields=[{"name": "kwh", "type": "number"}],
        agency_slug=civic.indicator.slug,
    )
    problem_id = civic.post()
    civic.to_triage(problem_id)
    civic.accept(problem_id)
    civic.agree(problem_id)
    challenge = queries.challenge_of(db, problem_id)
    assert challenge is not None
    donations = [i for i in challenge.readiness if i["kind"] == "donation"]
    assert donations == [
        {
            "kind": "donation",
            "slug": pool.slug,
            "title": "My KEPCO power bills",
            "access_level": "",
            "publisher": "kepco",
            "why": "donation",
            "word": "",
        }
    ]


def test_readiness_lists_the_departments_secure_data_that_answers_through_dp(
    db: Session, civic: CivicCity
) -> None:
    """A secure dataset of the department with approved DP settings is listed twice: as a
    dataset (metadata anyone sees) and as a source of DP releases; one without DP settings
    only as a dataset."""
    from bitgoeul.catalog import actions as catalog_actions
    from bitgoeul.catalog.models import AccessLevel, Sector
    from bitgoeul.catalog.schemas import DatasetCreate
    from bitgoeul.dp.models import DpProfile

    steward = civic.actor("steward_of_publisher")
    made = {}
    for title in ("Household meter readings", "Feeder load records"):
        made[title] = catalog_actions.create_dataset(
            db,
            actor=steward,
            data=DatasetCreate(title=title, sector=Sector.energy, access_level=AccessLevel.secure),
        )
    db.add(
        DpProfile(
            dataset_id=made["Household meter readings"].id,
            person_column="meter_id",
            max_rows_per_person=24,
        )
    )
    db.commit()
    problem_id = civic.post()
    civic.to_triage(problem_id)
    civic.accept(problem_id)
    civic.agree(problem_id)
    challenge = queries.challenge_of(db, problem_id)
    assert challenge is not None
    kinds: dict[str, set[str]] = {}
    for item in challenge.readiness:
        kinds.setdefault(item["slug"], set()).add(item["kind"])
    assert kinds[made["Household meter readings"].slug] == {"dataset", "dp_release"}
    assert kinds[made["Feeder load records"].slug] == {"dataset"}
    assert kinds[civic.indicator.slug] == {"dataset"}


def test_the_threshold_is_kept_a_few_minutes_then_recounted(
    db: Session, civic: CivicCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    civic.settings.civic_support_share = 0.5
    first = queries.support_threshold(db, settings=civic.settings)
    for resident in civic.residents:  # six more active users
        actions.follow_problem(db, actor=resident, problem_id=civic.post())
    assert queries.support_threshold(db, settings=civic.settings) == first
    later = time.monotonic() + queries.THRESHOLD_TTL_S + 1
    monkeypatch.setattr(queries.time, "monotonic", lambda: later)
    assert queries.support_threshold(db, settings=civic.settings) > first
