"""A city for civic problems: the catalog's cast (KEPCO, the department; KPX; a researcher, a
citizen, an operator), more residents to support, an open dataset measuring the indicator
(monthly outage minutes) and KEPCO's hidden test set for the challenge.

Import the fixtures by name into a test module (``civic``, ``residents``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, _user, api, cast, issue_tokens  # noqa: F401
from tests.testbed.bench_city import publish, test_rows

from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.civic import actions
from bitgoeul.civic import queries as civic_queries
from bitgoeul.civic.models import CivicProblem
from bitgoeul.civic.schemas import ChallengeOpen, MetricProposal, ProblemCreate, TriageIn
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.storage import make_store
from bitgoeul.storage.base import ObjectStore

RESIDENTS = 6
# Monthly minutes without power in Nam-gu: the pilot brings them from 50 towards 20.
OUTAGE_ROWS = [["2026-01", 52.0], ["2026-01", 48.0], ["2026-02", 40.0], ["2026-03", 35.0]]


@dataclass
class CivicCity:
    cast: Cast
    settings: Settings
    store: ObjectStore
    residents: list[Actor]
    indicator: Dataset
    test_set: Dataset
    tmp: Path

    def actor(self, who: str) -> Actor:
        return self.cast.actors[who]

    def headers(self, who: str) -> dict[str, str]:
        if who.startswith("resident"):
            return {"Authorization": f"Bearer {self.cast.tokens[who]}"}
        return self.cast.headers(who)

    def post(self, who: str = "citizen", title: str = "Power cuts every week in Nam-gu") -> int:
        problem = actions.post_problem(
            self._db,
            settings=self.settings,
            store=self.store,
            actor=self.actor(who),
            data=ProblemCreate(
                title=title,
                description="The power goes out for an hour almost every week on our street.",
                district="Nam-gu",
            ),
        )
        return problem.id

    _db: Session = None  # type: ignore[assignment]

    def to_triage(self, problem_id: int) -> None:
        for resident in self.residents[: self.settings.civic_support_min]:
            actions.support_problem(
                self._db, settings=self.settings, actor=resident, problem_id=problem_id
            )

    def accept(self, problem_id: int) -> None:
        actions.triage_problem(
            self._db,
            settings=self.settings,
            actor=self.actor("operator"),
            problem_id=problem_id,
            answer=TriageIn(decision="accept", department="kepco"),
        )

    def proposal(self, **overrides: Any) -> MetricProposal:
        values: dict[str, Any] = {
            "metric": "mae",
            "indicator": "Minutes without power per month in Nam-gu",
            "dataset": self.indicator.slug,
            "column": "minutes",
            "period": "month",
            "aggregate": "avg",
            "baseline": 50.0,
            "target": 20.0,
        }
        values.update(overrides)
        return MetricProposal(**values)

    def agree(self, problem_id: int) -> None:
        actions.propose_metric(
            self._db,
            actor=self.actor("steward_of_publisher"),
            problem_id=problem_id,
            proposal=self.proposal(),
        )
        actions.agree_metric(self._db, actor=self.actor("operator"), problem_id=problem_id)

    def challenge_spec(self, **overrides: Any) -> ChallengeOpen:
        now = utcnow()
        values: dict[str, Any] = {
            "test_dataset": self.test_set.slug,
            "label_column": "kwh",
            "final_phase_at": now + timedelta(days=10),
            "deadline": now + timedelta(days=20),
        }
        values.update(overrides)
        return ChallengeOpen(**values)

    def open_challenge(self, problem_id: int, **overrides: Any) -> None:
        actions.open_challenge(
            self._db,
            settings=self.settings,
            store=self.store,
            actor=self.actor("steward_of_publisher"),
            problem_id=problem_id,
            spec=self.challenge_spec(**overrides),
        )

    def problem(self, problem_id: int) -> CivicProblem:
        self._db.expire_all()
        problem = self._db.get(CivicProblem, problem_id)
        assert problem is not None
        return problem


@pytest.fixture
def civic(db: Session, settings: Settings, cast: Cast, tmp_path: Path) -> CivicCity:  # noqa: F811
    settings.civic_support_min = 3
    civic_queries.forget_thresholds()  # PostgreSQL runs reuse one database URL
    residents = {
        f"resident{i}": _user(db, f"resident{i}", Role.citizen, None) for i in range(RESIDENTS)
    }
    cast.tokens.update(issue_tokens(db, residents))
    db.commit()
    for who, user in residents.items():
        cast.actors[who] = Actor.for_user(user, via="token")
    store = make_store(settings)
    steward = cast.actors["steward_of_publisher"]
    indicator = _publish_indicator(db, settings, store, steward, tmp_path)
    test_set = publish(
        db,
        settings,
        store,
        steward,
        tmp_path,
        title="Hidden household demand",
        rows=test_rows(),
        holdout=True,
    )
    city = CivicCity(
        cast=cast,
        settings=settings,
        store=store,
        residents=[cast.actors[w] for w in residents],
        indicator=indicator,
        test_set=test_set,
        tmp=tmp_path,
    )
    city._db = db
    return city


def _publish_indicator(
    db: Session, settings: Settings, store: ObjectStore, steward: Actor, tmp: Path
) -> Dataset:
    from bitgoeul.catalog import actions as catalog_actions
    from bitgoeul.catalog.models import Sector
    from bitgoeul.catalog.schemas import DatasetCreate

    dataset = catalog_actions.create_dataset(
        db,
        actor=steward,
        data=DatasetCreate(
            title="Monthly outage minutes in Nam-gu",
            sector=Sector.energy,
            access_level=AccessLevel.open,
        ),
    )
    source = tmp / "outages.csv"
    source.write_text(
        "month,minutes\n" + "".join(f"{m},{v}\n" for m, v in OUTAGE_ROWS), encoding="utf-8"
    )
    catalog_actions.publish_version(
        db,
        settings=settings,
        store=store,
        actor=steward,
        slug=dataset.slug,
        source=source,
        filename=source.name,
    )
    return dataset


Poster = Callable[..., int]
