"""Keys released with a threshold: a researcher groups by a column that has no public key set
(diagnoses), and only groups whose noisy count reaches OpenDP's threshold come out, each
release spending the steward's δ beside its ε on every budget.

The clinic's diagnoses: 300 patients, one row each; flu and cold are common, ten diagnoses
are held by one patient each.  A diagnosis held by one person must never appear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.catalog.conftest import Browser, api, browser  # noqa: F401
from tests.query.conftest import City, Grant, _publish

from bitgoeul.accounts.actor import Actor
from bitgoeul.audit.models import AuditEvent
from bitgoeul.catalog.models import AccessLevel
from bitgoeul.config import Settings
from bitgoeul.dp import actions, mechanisms
from bitgoeul.dp.models import DELTA_UNIT, DpBudget
from bitgoeul.dp.schemas import DpRequest, MeasureBounds, ProfileIn, Quote, Release
from bitgoeul.errors import AccessDenied, ValidationFailed
from bitgoeul.governance.schemas import ApprovalConditions

DELTA = 1e-9
COMMON = {"flu": 160, "cold": 120}
RARE = [f"rare-{n}" for n in range(10)]


def _rows() -> list[list[Any]]:
    diagnoses = [d for d, n in COMMON.items() for _ in range(n)] + RARE
    return [
        [f"P{p:04d}", ["Buk", "Seo"][p % 2], diagnosis, 100 + p % 50]
        for p, diagnosis in enumerate(diagnoses)
    ]


@pytest.fixture
def steward(city: City) -> Actor:
    return city.cast.actors["steward_of_publisher"]


@pytest.fixture
def clinic(
    db: Session, settings: Settings, app: Any, city: City, steward: Actor, tmp_path: Path
) -> str:
    dataset = _publish(
        db,
        settings,
        app.state.store,
        city.cast,
        tmp_path,
        title="Clinic diagnoses",
        level=AccessLevel.secure,
        header=["patient_id", "district", "diagnosis", "cost"],
        versions=[_rows()],
        classes={"patient_id": "direct_identifier", "diagnosis": "sensitive"},
    )
    actions.set_profile(
        db,
        actor=steward,
        slug=dataset.slug,
        profile=ProfileIn(
            person_column="patient_id",
            max_rows_per_person=1,
            keys={"district": ["Buk", "Seo"]},
            measures={"cost": MeasureBounds(lower=0, upper=200)},
            threshold_keys=["diagnosis"],
            delta=DELTA,
        ),
    )
    return dataset.slug


@pytest.fixture
def project(db: Session, clinic: str, grant: Grant, steward: Actor) -> Callable[..., int]:
    def make(*, delta: float | None = 1e-6, epsilon: float = 100.0) -> int:
        project_id = grant({clinic: ApprovalConditions()})
        for scope in (None, project_id):
            actions.set_budget(
                db,
                actor=steward,
                slug=clinic,
                project_id=scope,
                epsilon=epsilon,
                delta=delta,
            )
        return project_id

    return make


@pytest.fixture
def ask(
    db: Session, settings: Settings, app: Any, city: City, clinic: str
) -> Callable[..., tuple[Quote, Release]]:
    def run(**request: Any) -> tuple[Quote, Release]:
        member = city.cast.actors["member"]
        quote = actions.quote(
            db,
            settings=settings,
            actor=member,
            request=DpRequest.model_validate({"dataset": clinic, **request}),
        )
        released = actions.release(
            db, settings=settings, store=app.state.store, actor=member, token=quote.token
        )
        return quote, released

    return run


def _budgets(db: Session) -> dict[str, tuple[int, int, int]]:
    db.expire_all()
    return {
        b.scope: (b.spent_micro, b.delta_spent, b.delta_reserved)
        for b in db.scalars(select(DpBudget))
    }


BY_DIAGNOSIS: dict[str, Any] = {"group_by": ["diagnosis"], "measures": [{"kind": "count"}]}


def test_a_quote_states_the_threshold_and_its_delta_and_lists_no_groups(
    db: Session, project: Callable[..., int], settings: Settings, city: City, clinic: str
) -> None:
    project_id = project()
    quote = actions.quote(
        db,
        settings=settings,
        actor=city.cast.actors["member"],
        request=DpRequest.model_validate(
            {"dataset": clinic, "project": project_id, "epsilon": 1.0, **BY_DIAGNOSIS}
        ),
    )
    assert quote.groups == []
    assert quote.threshold_keys == ["diagnosis"]
    (count,) = quote.measures
    assert "threshold" in count.mechanism
    assert count.noise_scale == pytest.approx(1.0)  # one row per person, ε 1
    assert count.threshold is not None
    assert 0 < quote.delta <= DELTA
    assert count.delta == pytest.approx(quote.delta, rel=1e-6)
    assert {b.scope: b.delta_left for b in quote.balances} == {
        "dataset": 1e-6,
        f"project:{project_id}": 1e-6,
    }
    assert all(spent == (0, 0, 0) for spent in _budgets(db).values())


@pytest.mark.parametrize(
    ("max_rows", "epsilon", "delta"),
    [(2, 0.5, 1e-7), (1, 1.0, 1e-9), (1, 5.0, 1e-4), (20, 0.05, 1e-12), (4, 3.0, 1e-5)],
)
def test_the_threshold_is_the_smallest_whose_delta_is_within_the_stewards(
    max_rows: int, epsilon: float, delta: float
) -> None:
    noise = mechanisms.threshold_noise(max_rows=max_rows, epsilon=epsilon, delta=delta)
    assert noise.threshold is not None
    assert noise.delta <= delta
    assert noise.epsilon <= epsilon
    assert noise.scale == pytest.approx(max_rows / epsilon)  # L1 m over ε
    d_in = (max_rows, max_rows, max_rows)
    # One below the chosen threshold, OpenDP's map charges more δ than the steward allows.
    if noise.threshold > 1:
        below = mechanisms._threshold_measurement(noise.scale, noise.threshold - 1)
        assert below.map(d_in)[1] > delta


def test_a_diagnosis_held_by_one_patient_never_appears_and_the_common_ones_do(
    db: Session, project: Callable[..., int], ask: Callable[..., tuple[Quote, Release]]
) -> None:
    project_id = project(delta=1e-6)
    seen: set[str] = set()
    charged: list[float] = []
    releases = 20
    for n in range(releases):  # each ε differs: a new request, not the stored answer
        quote, released = ask(project=project_id, epsilon=1.0 + n / 100, **BY_DIAGNOSIS)
        assert not released.repeated
        assert released.columns == ["diagnosis", "count"]
        counts = {row[0]: row[1] for row in released.rows}
        assert set(counts) == set(COMMON), counts
        for diagnosis, exact in COMMON.items():
            assert abs(counts[diagnosis] - exact) <= quote.measures[0].accuracy_95 * 3  # type: ignore[operator]
        seen |= set(counts)
        assert released.delta_charged == quote.delta
        charged.append(quote.delta)
    assert not seen & set(RARE)
    total = sum(round(delta * DELTA_UNIT) for delta in charged)
    budgets = _budgets(db)
    assert budgets["dataset"][1:] == (total, 0)
    assert budgets[f"project:{project_id}"][1:] == (total, 0)
    debits = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "dp.debit")))
    assert len(debits) == 2 * releases
    assert sorted(d.detail["delta"] for d in debits) == sorted(charged * 2)


def test_public_keys_and_threshold_keys_group_together_with_other_measures(
    db: Session, project: Callable[..., int], ask: Callable[..., tuple[Quote, Release]]
) -> None:
    project_id = project()
    quote, released = ask(
        project=project_id,
        epsilon=3.0,
        group_by=["district", "diagnosis"],
        measures=[{"kind": "count"}, {"kind": "mean", "column": "cost"}],
    )
    assert released.columns == ["district", "diagnosis", "count", "mean(cost)"]
    groups = {(row[0], row[1]) for row in released.rows}
    assert groups == {(d, x) for d in ("Buk", "Seo") for x in COMMON}
    costs: dict[tuple[str, str], list[int]] = {}
    for _patient, district, diagnosis, cost in _rows():
        costs.setdefault((district, diagnosis), []).append(cost)
    for district, diagnosis, _count, mean in released.rows:
        exact = costs[(district, diagnosis)]
        # the sum's noise (scale 200 at ε 1) over some 60 to 80 patients
        assert abs(mean - sum(exact) / len(exact)) < 40
    assert released.epsilon_charged == pytest.approx(3.0)
    assert quote.measures[1].delta == 0


def test_without_a_delta_budget_the_release_is_refused_and_nothing_is_spent(
    db: Session, project: Callable[..., int], ask: Callable[..., tuple[Quote, Release]]
) -> None:
    project_id = project(delta=None)
    with pytest.raises(AccessDenied, match=r"δ budget 'dataset'.*raise its δ cap"):
        ask(project=project_id, epsilon=1.0, **BY_DIAGNOSIS)
    assert all(spent == (0, 0, 0) for spent in _budgets(db).values())


def test_a_threshold_grouping_without_a_count_is_refused_with_what_to_add(
    project: Callable[..., int], ask: Callable[..., tuple[Quote, Release]]
) -> None:
    project_id = project()
    with pytest.raises(ValidationFailed, match="add a count"):
        ask(
            project=project_id,
            epsilon=1.0,
            group_by=["diagnosis"],
            measures=[{"kind": "sum", "column": "cost"}],
        )


def test_threshold_keys_need_the_stewards_delta_and_no_public_key_set() -> None:
    with pytest.raises(ValidationError, match="need a 'delta'"):
        ProfileIn(person_column="patient_id", max_rows_per_person=1, threshold_keys=["diagnosis"])
    with pytest.raises(ValidationError, match="one of them"):
        ProfileIn(
            person_column="patient_id",
            max_rows_per_person=1,
            keys={"diagnosis": ["flu"]},
            threshold_keys=["diagnosis"],
            delta=1e-7,
        )


def test_a_delta_cap_cannot_go_below_what_is_spent(
    db: Session,
    project: Callable[..., int],
    ask: Callable[..., tuple[Quote, Release]],
    steward: Actor,
    clinic: str,
) -> None:
    project_id = project(delta=1e-6)
    ask(project=project_id, epsilon=1.0, **BY_DIAGNOSIS)
    with pytest.raises(ValidationFailed, match="δ cap cannot go below"):
        actions.set_budget(
            db, actor=steward, slug=clinic, project_id=project_id, epsilon=100, delta=1e-12
        )
    budget = actions.set_budget(
        db, actor=steward, slug=clinic, project_id=project_id, epsilon=100, delta=2e-6
    )
    assert budget.delta_cap == 2 * 10**9


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_on_the_dp_page_a_threshold_grouping_states_its_threshold_and_delta_then_spends_it(
    client: TestClient,
    clinic: str,
    project: Callable[..., int],
    browser: Browser,  # noqa: F811
) -> None:
    project_id = project()
    browser("member")
    page = client.get(f"/dp?dataset={clinic}")
    assert 'id="dp-threshold-keys"' in page.text
    assert 'name="group_by" value="diagnosis"' in page.text
    quoted = client.post(
        "/dp/quote",
        data={
            "csrf_token": _csrf(page.text),
            "dataset": clinic,
            "project": str(project_id),
            "group_by": ["diagnosis"],
            "measure": ["count"],
            "epsilon": "1",
        },
    )
    assert quoted.status_code == 200, quoted.text
    note = re.search(r'id="dp-threshold-note">([^<]+)<', quoted.text)
    assert note is not None
    assert "noisy count reaches" in note.group(1)
    assert "δ" in note.group(1)
    token = re.search(r'name="token" value="([^"]+)"', quoted.text)
    assert token is not None
    released = client.post(
        "/dp/release",
        data={"csrf_token": _csrf(quoted.text), "token": token.group(1), "dataset": clinic},
    )
    assert released.status_code == 200, released.text
    assert re.search(r"ε 1 and δ [0-9.e-]+ were charged", released.text)
    assert "flu" in released.text
    assert "rare-" not in released.text


def test_a_steward_sets_a_delta_cap_on_the_ledger_page(
    client: TestClient,
    db: Session,
    clinic: str,
    project: Callable[..., int],
    browser: Browser,  # noqa: F811
) -> None:
    project_id = project(delta=None)
    browser("steward_of_publisher")
    ledger = client.get(f"/dp/budgets/{clinic}")
    assert 'id="dp-budget-delta"' in ledger.text
    changed = client.post(
        f"/dp/budgets/{clinic}",
        data={
            "csrf_token": _csrf(ledger.text),
            "project": str(project_id),
            "epsilon": "100",
            "delta": "2e-6",
        },
        follow_redirects=True,
    )
    assert changed.status_code == 200
    assert re.search(rf"project:{project_id}</td>(<td>[^<]*</td>){{4}}<td>2e-06</td>", changed.text)
    assert _budgets(db) == {"dataset": (0, 0, 0), f"project:{project_id}": (0, 0, 0)}
    db.expire_all()
    caps = {b.scope: b.delta_cap for b in db.scalars(select(DpBudget))}
    assert caps == {"dataset": 0, f"project:{project_id}": 2 * 10**9}
    kept = client.post(
        f"/dp/budgets/{clinic}",
        data={"csrf_token": _csrf(ledger.text), "project": str(project_id), "epsilon": "50"},
        follow_redirects=True,
    )
    assert kept.status_code == 200
    db.expire_all()
    assert {b.scope: b.delta_cap for b in db.scalars(select(DpBudget))} == caps
