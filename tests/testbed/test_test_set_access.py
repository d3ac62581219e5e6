"""A test set's inputs need what its access level needs, and identifiers leave as per-task
pseudonyms that the scorer understands.

A restricted or secure test set goes only to participants of an organization who accepted the
task's terms; open and registered ones to any participant.  Direct identifiers come out of
both doors (a participant's download, a model's job inputs) as pseudonyms of the task, and the
scorer keys the labels the same way, so predictions keyed by the pseudonyms score as usual.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.compute.job_city import make_bundle
from tests.conftest import TEST_SECRET
from tests.governance.test_decision_agreements import ACTORS, GOVERNORS, PUBLISHER
from tests.testbed.bench_city import LABELS, Bench, publish, task_create, test_rows

from bitgoeul.accounts.actor import Actor
from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute import inputs as compute_inputs
from bitgoeul.compute.models import ComputeAudit
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.config import Settings
from bitgoeul.governance.decision import DataAction, DecisionContext, TestbedTerms, decide
from bitgoeul.governance.doors import Door
from bitgoeul.privacy.pseudonyms import pseudonym_key, pseudonymise
from bitgoeul.testbed import access as testbed_access
from bitgoeul.testbed import actions
from bitgoeul.testbed.models import TestbedTask

SECURED = "secured-demand"
TERMS = "Use the inputs only to predict this task's labels; share them with no one."
INPUTS = ["id", "household", "prev_kwh"]
CLASSES = {"id": "direct_identifier", "household": "other", "prev_kwh": "other", "kwh": "other"}
# Households whose names a spreadsheet would run as formulas.
FORMULAS = ['=HYPERLINK("http://x")', "+1", "-HH", "@SUM(A1)"]


# --- The decision, for every access level and kind of participant -----------------------------

# who acts, and their place in the task: (actor, on a team, accepted the terms)
PARTICIPANTS: dict[str, tuple[str, bool, bool]] = {
    "anonymous": ("anonymous", False, False),
    "outsider": ("member", False, False),
    "participant_without_organization": ("citizen", True, True),
    "participant_without_terms": ("member", True, False),
    "participant": ("member", True, True),
    "organizer": ("steward_of_publisher", False, False),
    "operator": ("operator", False, False),
}
ACCOUNTABLE = {AccessLevel.restricted, AccessLevel.secure}


def _allowed(kind: str, level: AccessLevel) -> bool:
    who, on_team, accepted = PARTICIPANTS[kind]
    if who in GOVERNORS:
        return True
    if not on_team:
        return False
    if level not in ACCOUNTABLE:
        return True
    return ACTORS[who].organization_id is not None and accepted


def _context(kind: str, task: str = SECURED) -> DecisionContext:
    who, on_team, accepted = PARTICIPANTS[kind]
    return DecisionContext(
        column_classes=CLASSES,
        testbed=TestbedTerms(
            task=task,
            input_columns=INPUTS,
            id_column="id",
            label_column="kwh",
            is_participant=on_team,
            terms_accepted=accepted,
            organization_id=ACTORS[who].organization_id,
        ),
    )


@pytest.mark.parametrize("action", [DataAction.testbed_inputs, DataAction.testbed_score])
@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("kind", list(PARTICIPANTS))
def test_a_test_set_needs_what_its_access_level_needs(
    action: DataAction, level: AccessLevel, kind: str
) -> None:
    dataset = Dataset(slug="labels", publisher_id=PUBLISHER, holdout=True, access_level=level)
    actor = ACTORS[PARTICIPANTS[kind][0]]
    decision = decide(actor, action, dataset, context=_context(kind))
    assert decision.allowed == _allowed(kind, level), decision.reason
    if not decision.allowed and level in ACCOUNTABLE and PARTICIPANTS[kind][1]:
        assert level.value in decision.reason
    if decision.allowed:
        obligations = decision.obligations
        assert obligations.pseudonymise_columns == ["id"]
        assert obligations.pseudonym_scope == f"testbed:{SECURED}"
        expected = INPUTS if action == DataAction.testbed_inputs else ["id", "kwh"]
        assert obligations.visible_columns == expected


def test_the_refusals_say_what_is_missing() -> None:
    dataset = Dataset(
        slug="labels", publisher_id=PUBLISHER, holdout=True, access_level=AccessLevel.restricted
    )
    no_org = decide(
        ACTORS["citizen"],
        DataAction.testbed_inputs,
        dataset,
        context=_context("participant_without_organization"),
    )
    assert "belong to an organization" in no_org.reason
    no_terms = decide(
        ACTORS["member"],
        DataAction.testbed_inputs,
        dataset,
        context=_context("participant_without_terms"),
    )
    assert "accept the task's terms" in no_terms.reason


def test_each_task_has_its_own_pseudonym_scope() -> None:
    dataset = Dataset(slug="labels", publisher_id=PUBLISHER, holdout=True)
    scopes = {
        decide(
            ACTORS["member"], DataAction.testbed_inputs, dataset, context=_context("participant", t)
        ).obligations.pseudonym_scope
        for t in ("one-task", "another-task")
    }
    assert scopes == {"testbed:one-task", "testbed:another-task"}


# --- A restricted test set whose id column is a direct identifier ----------------------------


def _rows() -> list[list[Any]]:
    """The bench's rows with a few households named like formulas."""
    rows = test_rows()
    for row, name in zip(rows, FORMULAS, strict=False):
        row[1] = name
    return rows


@pytest.fixture
def secured(db: Session, settings: Settings, app: FastAPI, bench: Bench, tmp_path: Path) -> Bench:
    """The bench, plus a restricted copy of its test set whose ids identify households, and a
    task on it (``SECURED``) with terms."""
    test_set = publish(
        db,
        settings,
        app.state.store,
        bench.cast.actors["steward_of_publisher"],
        tmp_path,
        title="Daily household demand (restricted test set)",
        rows=_rows(),
        holdout=True,
        level=AccessLevel.restricted,
        classes=CLASSES,
    )
    actions.create_task(
        db,
        settings=settings,
        store=app.state.store,
        actor=bench.cast.actors["steward_of_publisher"],
        data=task_create(test_set.slug, bench.training.slug, slug=SECURED, terms=TERMS),
    )
    return bench


def _join(api: TestClient, bench: Bench, who: str, team: str, **body: Any) -> Any:
    return api.post(
        f"/api/v1/testbed/tasks/{SECURED}/teams",
        json={"name": team, **body},
        headers=bench.headers(who),
    )


def _inputs(api: TestClient, bench: Bench, who: str, file_format: str = "csv") -> Any:
    return api.get(
        f"/api/v1/testbed/tasks/{SECURED}/test-inputs",
        params={"format": file_format},
        headers=bench.headers(who),
    )


def _pseudonym(task: str, raw: str) -> str:
    return pseudonymise(pseudonym_key(TEST_SECRET, f"testbed:{task}"), raw)


def _predictions(task: str, *, shift: float = 0.0, keyed: bool = True) -> bytes:
    out = io.StringIO()
    out.write("id,prediction\n")
    for raw, label in LABELS.items():
        out.write(f"{_pseudonym(task, raw) if keyed else raw},{label + shift}\n")
    return out.getvalue().encode()


def _submit(api: TestClient, bench: Bench, who: str, content: bytes) -> Any:
    return api.post(
        f"/api/v1/testbed/tasks/{SECURED}/submissions",
        files={"file": ("predictions.csv", content, "text/csv")},
        headers=bench.headers(who),
    )


def _no_label_in(text: str) -> None:
    for label in LABELS.values():
        assert f"{label:.4f}" not in text, text[:800]


def test_a_task_on_a_restricted_test_set_needs_terms(
    api: TestClient, db: Session, settings: Settings, app: FastAPI, bench: Bench, tmp_path: Path
) -> None:
    test_set = publish(
        db,
        settings,
        app.state.store,
        bench.cast.actors["steward_of_publisher"],
        tmp_path,
        title="Another restricted test set",
        rows=test_rows(),
        holdout=True,
        level=AccessLevel.restricted,
    )
    body = json.loads(task_create(test_set.slug, bench.training.slug, slug="t2").model_dump_json())
    refused = api.post(
        "/api/v1/testbed/tasks", json=body, headers=bench.headers("steward_of_publisher")
    )
    assert refused.status_code == 422
    assert "terms:" in refused.json()["detail"]
    assert "restricted" in refused.json()["detail"]


def test_joining_a_task_with_terms_needs_accepting_them(api: TestClient, secured: Bench) -> None:
    refused = _join(api, secured, "member", "Forecasters")
    assert refused.status_code == 422
    assert "has terms" in refused.json()["detail"]
    joined = _join(api, secured, "member", "Forecasters", accept_terms=True)
    assert joined.status_code == 201, joined.text
    assert joined.json()["terms_accepted"] is True
    task = api.get(f"/api/v1/testbed/tasks/{SECURED}").json()
    assert task["terms"] == TERMS
    assert task["test_access_level"] == "restricted"


def test_a_participant_without_an_organization_gets_no_restricted_inputs(
    api: TestClient, secured: Bench
) -> None:
    assert _join(api, secured, "citizen", "Alone", accept_terms=True).status_code == 201
    refused = _inputs(api, secured, "citizen")
    assert refused.status_code == 403
    assert "belong to an organization" in refused.json()["detail"]
    refused = _submit(api, secured, "citizen", _predictions(SECURED))
    assert refused.status_code == 403
    _no_label_in(refused.text)


def test_the_inputs_carry_per_task_pseudonyms_and_neutralised_formulas(
    api: TestClient, secured: Bench
) -> None:
    _join(api, secured, "member", "Forecasters", accept_terms=True)
    as_csv = _inputs(api, secured, "member")
    assert as_csv.status_code == 200, as_csv.text
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(rows[0]) == INPUTS
    assert [r["id"] for r in rows] == [_pseudonym(SECURED, raw) for raw in LABELS]
    assert not any(raw in as_csv.text for raw in LABELS)
    assert [r["household"] for r in rows[: len(FORMULAS)]] == [f"'{f}" for f in FORMULAS]
    assert rows[0]["prev_kwh"] == "880"
    _no_label_in(as_csv.text)
    table = pq.read_table(io.BytesIO(_inputs(api, secured, "member", "parquet").content))
    assert table.column_names == INPUTS
    assert table["household"].to_pylist()[: len(FORMULAS)] == FORMULAS  # Parquet stays exact
    assert table["id"].to_pylist() == [r["id"] for r in rows]


def test_pseudonyms_differ_between_tasks_on_one_test_set(
    api: TestClient, db: Session, settings: Settings, app: FastAPI, secured: Bench
) -> None:
    task = db.query(TestbedTask).filter(TestbedTask.slug == SECURED).one()
    test_slug = db.get(Dataset, task.test_dataset_id).slug  # type: ignore[union-attr]
    actions.create_task(
        db,
        settings=settings,
        store=app.state.store,
        actor=secured.cast.actors["steward_of_publisher"],
        data=task_create(test_slug, secured.training.slug, slug="second-round", terms=TERMS),
    )
    for task_slug in (SECURED, "second-round"):
        joined = api.post(
            f"/api/v1/testbed/tasks/{task_slug}/teams",
            json={"name": "Forecasters", "accept_terms": True},
            headers=secured.headers("member"),
        )
        assert joined.status_code == 201, joined.text
    ids = {}
    for task_slug in (SECURED, "second-round"):
        got = api.get(
            f"/api/v1/testbed/tasks/{task_slug}/test-inputs", headers=secured.headers("member")
        )
        ids[task_slug] = [r["id"] for r in csv.DictReader(io.StringIO(got.text))]
    assert ids[SECURED][0] == _pseudonym(SECURED, "T000")
    assert ids["second-round"][0] == _pseudonym("second-round", "T000")
    assert not set(ids[SECURED]) & set(ids["second-round"])


def test_predictions_keyed_by_the_pseudonyms_are_scored(api: TestClient, secured: Bench) -> None:
    _join(api, secured, "member", "Forecasters", accept_terms=True)
    scored = _submit(api, secured, "member", _predictions(SECURED, shift=2.5))
    assert scored.status_code == 201, scored.text
    assert abs(scored.json()["public_score"] - 2.5) < 1e-9
    assert scored.json()["rows"] == len(LABELS)
    # The stored ids are not what this task's participants hold.
    refused = _submit(api, secured, "member", _predictions(SECURED, keyed=False))
    assert refused.status_code == 422
    assert "not in the test set" in refused.text
    _no_label_in(refused.text)
    # Nor are another task's pseudonyms.
    refused = _submit(api, secured, "member", _predictions("another-task"))
    assert refused.status_code == 422
    _no_label_in(refused.text)


def test_the_organizers_baseline_is_keyed_the_same_way(api: TestClient, secured: Bench) -> None:
    inputs = _inputs(api, secured, "steward_of_publisher")
    assert inputs.status_code == 200
    assert _pseudonym(SECURED, "T000") in inputs.text
    baseline = _submit(api, secured, "steward_of_publisher", _predictions(SECURED, shift=1.0))
    assert baseline.status_code == 201, baseline.text
    assert baseline.json()["is_baseline"]


def test_new_terms_are_accepted_again_before_the_inputs_flow(
    api: TestClient, secured: Bench
) -> None:
    _join(api, secured, "member", "Forecasters", accept_terms=True)
    changed = api.patch(
        f"/api/v1/testbed/tasks/{SECURED}",
        json={"terms": TERMS + " Delete your copies at the deadline."},
        headers=secured.headers("steward_of_publisher"),
    )
    assert changed.status_code == 200, changed.text
    refused = _inputs(api, secured, "member")
    assert refused.status_code == 403
    assert "accept the task's terms" in refused.json()["detail"]
    notes = api.get("/api/v1/notifications", headers=secured.headers("member")).json()
    assert any(n["kind"] == "testbed.terms" for n in notes)
    mine = api.get(f"/api/v1/testbed/tasks/{SECURED}/team", headers=secured.headers("member"))
    assert mine.json()["terms_accepted"] is False
    not_yet = api.post(
        f"/api/v1/testbed/tasks/{SECURED}/terms",
        json={"accept_terms": False},
        headers=secured.headers("member"),
    )
    assert not_yet.status_code == 422
    accepted = api.post(
        f"/api/v1/testbed/tasks/{SECURED}/terms",
        json={"accept_terms": True},
        headers=secured.headers("member"),
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["terms_accepted"] is True
    assert _inputs(api, secured, "member").status_code == 200


def test_a_restricted_task_cannot_lose_its_terms(api: TestClient, secured: Bench) -> None:
    refused = api.patch(
        f"/api/v1/testbed/tasks/{SECURED}",
        json={"terms": "  "},
        headers=secured.headers("steward_of_publisher"),
    )
    assert refused.status_code == 422
    assert "terms:" in refused.json()["detail"]


def test_a_models_job_inputs_carry_the_same_pseudonyms(
    api: TestClient, db: Session, settings: Settings, app: FastAPI, secured: Bench, tmp_path: Path
) -> None:
    _join(api, secured, "member", "Forecasters", accept_terms=True)
    task = db.query(TestbedTask).filter(TestbedTask.slug == SECURED).one()
    test_set = db.get(Dataset, task.test_dataset_id)
    assert test_set is not None
    member: Actor = secured.cast.actors["member"]
    door = Door(db, actor=member, event=ComputeAudit.dataset_job_decision, detail={"job": None})
    with door:
        granted = compute_inputs.decide_inputs(
            db,
            door,
            actor=member,
            project_id=task.project_id,
            references=[(test_set.slug, task.test_version)],
            testbed_task=SECURED,
            test_set_context=testbed_access.testbed_context,
        )
        written = compute_inputs.materialize(
            granted, door, settings=settings, store=app.state.store, dest=tmp_path / "in"
        )
    table = pq.read_table(tmp_path / "in" / f"{test_set.slug}.parquet")
    assert table.column_names == INPUTS
    assert table["id"].to_pylist() == [_pseudonym(SECURED, raw) for raw in LABELS]
    assert written[test_set.slug]["pseudonymised"] == ["id"]


@pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)
def test_a_model_predicting_on_pseudonymised_inputs_is_scored(
    api: TestClient, db: Session, secured: Bench, runner: JobRunner
) -> None:
    compute_actions.grant_credits(
        db,
        actor=secured.cast.actors["operator"],
        organization_slug="gist-lab",
        cpu_hours=Decimal(5),
        note="testbed",
    )
    _join(api, secured, "member", "Modellers", accept_terms=True)
    predict = (
        "import os, pathlib, pyarrow as pa, pyarrow.compute as c, pyarrow.csv as pc, "
        "pyarrow.parquet as pq\n"
        "src = pathlib.Path(os.environ['BITGOEUL_INPUT_DIR'])\n"
        "(path,) = sorted(src.glob('*.parquet'))\n"
        "t = pq.read_table(path)\n"
        "p = c.add(t['prev_kwh'].cast(pa.float64()), 20.0)\n"
        "out = pathlib.Path(os.environ['BITGOEUL_OUTPUT_DIR']) / 'predictions.csv'\n"
        "pc.write_csv(pa.table({'id': t['id'], 'prediction': p}), out)\n"
    )
    spec = {"resources": {"cpus": 1, "memory_mb": 512, "time_limit_s": 30}}
    submitted = api.post(
        f"/api/v1/testbed/tasks/{SECURED}/submissions",
        files={"bundle": ("model.zip", make_bundle({"predict.py": predict}), "application/zip")},
        data={"spec": json.dumps(spec)},
        headers=secured.headers("member"),
    )
    assert submitted.status_code == 201, submitted.text
    runner.run_until_idle()
    scored = api.get(
        f"/api/v1/testbed/submissions/{submitted.json()['id']}", headers=secured.headers("member")
    ).json()
    assert scored["status"] == "scored", scored
    assert abs(scored["public_score"] - 0.4242) < 1e-6
    _no_label_in(json.dumps(scored))
