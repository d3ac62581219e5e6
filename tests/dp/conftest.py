"""The DP door's city: the query tests' income survey (secure), with the steward's DP settings.

``survey_profile`` approves district and age as public keys (every value they take), income and
age as measured columns with bounds and quantile candidates, one row per person; ``budgets``
sets the dataset's and a project's caps; ``dp_quote`` and ``dp_release`` run the real actions
as the researcher.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.catalog.conftest import cast  # noqa: F401
from tests.query.conftest import City, Grant, ask, city, grant, secure_grant  # noqa: F401

from bitgoeul.config import Settings
from bitgoeul.dp import actions
from bitgoeul.dp.schemas import DpRequest, MeasureBounds, ProfileIn, Quote, Release

SURVEY = "income-survey"
AGES = sorted({20 + (person * 7) % 50 for person in range(1, 29)})


@pytest.fixture
def survey_profile(db: Session, city: City) -> ProfileIn:  # noqa: F811
    profile = ProfileIn(
        person_column="person_id",
        max_rows_per_person=1,
        keys={"district": ["Buk", "Seo", "Nam"], "age": list(AGES)},
        measures={
            "income": MeasureBounds(
                lower=0, upper=10_000, candidates=[float(c) for c in range(0, 10_001, 500)]
            ),
            "age": MeasureBounds(lower=0, upper=100, candidates=[float(c) for c in range(101)]),
        },
    )
    actions.set_profile(
        db, actor=city.cast.actors["steward_of_publisher"], slug=SURVEY, profile=profile
    )
    return profile


Budgets = Callable[..., int]


@pytest.fixture
def budgets(db: Session, city: City, grant: Grant, survey_profile: ProfileIn) -> Budgets:  # noqa: F811
    """A new project of the researcher's on the survey, with ε caps; the project's id."""

    def make(*, project: float, dataset: float = 1000.0) -> int:
        project_id = grant(secure_grant())
        steward = city.cast.actors["steward_of_publisher"]
        actions.set_budget(db, actor=steward, slug=SURVEY, project_id=None, epsilon=dataset)
        actions.set_budget(db, actor=steward, slug=SURVEY, project_id=project_id, epsilon=project)
        return project_id

    return make


@pytest.fixture
def dp_quote(db: Session, settings: Settings, city: City) -> Callable[..., Quote]:  # noqa: F811
    def run(who: str = "member", **request: Any) -> Quote:
        return actions.quote(
            db,
            settings=settings,
            actor=city.cast.actors[who],
            request=DpRequest.model_validate({"dataset": SURVEY, **request}),
        )

    return run


@pytest.fixture
def dp_release(
    db: Session,
    settings: Settings,
    app: Any,
    city: City,  # noqa: F811
) -> Callable[..., Release]:
    def run(token: str, who: str = "member", session: Session | None = None) -> Release:
        return actions.release(
            session or db,
            settings=settings,
            store=app.state.store,
            actor=city.cast.actors[who],
            token=token,
        )

    return run
