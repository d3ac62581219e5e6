"""The demo city's My Data: citizens with verified identities donate under different purposes,
a campaign runs, and the wellbeing project's query is a use only the covered donors see."""

from __future__ import annotations

from sqlalchemy import select

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import User
from bitgoeul.config import Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.mydata import CITIZENS
from bitgoeul.mydata import queries


def test_the_demo_citizens_donate_under_different_purposes_and_see_the_project_use(
    settings: Settings,
) -> None:
    build_demo_city(settings, people=200, seed=7)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        users = {
            u.username: u for u in session.scalars(select(User).where(User.username.in_(CITIZENS)))
        }
        assert set(users) == set(CITIZENS)
        purposes = set()
        for name in CITIZENS:
            actor = Actor.for_user(users[name], via="cli")
            donations = queries.my_donations(session, actor=actor)
            assert donations, name
            purposes |= {p for d in donations for c in d.consents for p in c.purposes}
            uses = queries.uses(session, actor=actor)
            meter = next(d for d in donations if d.source == "kepco-meter")
            covered = "public-service-improvement" in meter.consents[0].purposes
            assert bool([u for u in uses if u.source == "kepco-meter"]) == covered, name
        assert {"public-service-improvement", "academic-research", "health-research"} <= purposes
        counts = queries.donor_counts(session)
        assert counts.donors == len(CITIZENS)
        assert counts.by_source["kepco-meter"] == len(CITIZENS)
        (campaign,) = queries.list_campaigns(session)
        assert campaign.donors == len(CITIZENS) // 2
    engine.dispose()
