"""Setting up a task, and scoring a submission again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.testbed.bench_city import (
    TASK,
    Bench,
    SubmitFile,
    join,
    move_to,
    predictions_csv,
    task_create,
)

from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow


def create(api: TestClient, bench: Bench, who: str = "steward_of_publisher", **fields: Any) -> Any:
    body = task_create(bench.test_set.slug, bench.training.slug, slug="second-task", **fields)
    return api.post(
        "/api/v1/testbed/tasks", json=body.model_dump(mode="json"), headers=bench.headers(who)
    )


def test_the_publishers_steward_sets_up_a_task_without_the_label_among_the_inputs(
    api: TestClient, bench: Bench
) -> None:
    created = create(api, bench)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["input_columns"] == ["id", "household", "prev_kwh"]
    assert task["label_column"] == "kwh"
    assert task["test_rows"] == 40
    assert task["phase"] == "development"
    assert task["test_inputs_file"] == f"{bench.test_set.slug}.parquet"
    listed = api.get("/api/v1/testbed/tasks").json()
    assert {t["slug"] for t in listed} == {TASK, "second-task"}


def test_the_metric_is_described_in_the_language_asked_for(api: TestClient, bench: Bench) -> None:
    english = api.get(f"/api/v1/testbed/tasks/{TASK}").json()
    assert english["metric_description"] == "Mean absolute error."
    korean = api.get(f"/api/v1/testbed/tasks/{TASK}", headers={"Accept-Language": "ko"}).json()
    assert korean["metric_description"] == "평균 절대 오차(MAE)."
    listed = api.get("/api/v1/testbed/tasks", headers={"Accept-Language": "ko"}).json()
    assert {t["metric_description"] for t in listed} == {"평균 절대 오차(MAE)."}


@pytest.mark.parametrize("who", ["anonymous", "citizen", "member", "steward_of_other_org"])
def test_only_the_organizer_sets_up_a_task_on_its_test_set(
    api: TestClient, bench: Bench, who: str
) -> None:
    assert create(api, bench, who).status_code in (401, 403)


def test_the_operator_may_set_up_a_task_too(api: TestClient, bench: Bench) -> None:
    assert create(api, bench, "operator").status_code == 201


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"label_column": "score"}, "no column 'score'"),
        ({"id_column": "kwh"}, "must be different"),
        ({"input_columns": ["id", "kwh"]}, "never an input"),
        ({"metric": "bleu"}, "no metric 'bleu'"),
        ({"metric": "auroc"}, "cannot be scored with auroc"),
        ({"slug": TASK}, "already a testbed task"),
        ({"training_datasets": ["no-such-dataset"]}, "no dataset"),
    ],
)
def test_a_task_that_could_not_be_scored_is_refused_saying_why(
    api: TestClient, bench: Bench, fields: dict[str, Any], message: str
) -> None:
    body = task_create(bench.test_set.slug, bench.training.slug, slug="second-task")
    payload = {**body.model_dump(mode="json"), **fields}
    refused = api.post(
        "/api/v1/testbed/tasks", json=payload, headers=bench.headers("steward_of_publisher")
    )
    assert refused.status_code in (404, 409, 422), refused.text
    assert message in refused.text


def test_a_task_on_a_dataset_that_is_not_hidden_is_refused(api: TestClient, bench: Bench) -> None:
    body = task_create(bench.training.slug, bench.training.slug, slug="leaky", label_column="kwh")
    refused = api.post(
        "/api/v1/testbed/tasks",
        json=body.model_dump(mode="json"),
        headers=bench.headers("steward_of_publisher"),
    )
    assert refused.status_code == 422
    assert "not a hidden test set" in refused.json()["detail"]


def test_dates_out_of_order_are_refused(api: TestClient, bench: Bench) -> None:
    body = task_create(bench.test_set.slug, bench.training.slug, slug="second-task")
    payload = body.model_dump(mode="json")
    payload["deadline"], payload["opens_at"] = payload["opens_at"], payload["deadline"]
    refused = api.post(
        "/api/v1/testbed/tasks", json=payload, headers=bench.headers("steward_of_publisher")
    )
    assert refused.status_code == 422
    assert "in that order" in refused.text


def test_an_operator_rescoring_a_file_gets_the_same_score(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    submission = submit_file(predictions_csv(shift=1.25), name="my-guess.csv").json()
    assert submission["filename"] == "my-guess.csv"
    rerun = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=bench.headers("operator"),
    )
    assert rerun.status_code == 201, rerun.text
    body = rerun.json()
    assert body["status"] == "scored"
    assert body["matches"] is True
    assert body["public_score"] == submission["public_score"]
    assert body["environment"]["scorer"] == submission["environment"]["scorer"]


@pytest.mark.parametrize("who", ["member", "steward_of_publisher", "rival"])
def test_only_operators_rerun(
    api: TestClient, bench: Bench, submit_file: SubmitFile, who: str
) -> None:
    join(api, bench, "member", "Forecasters")
    submission = submit_file(predictions_csv()).json()
    refused = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns", headers=bench.headers(who)
    )
    assert refused.status_code == 403


def test_a_file_changed_in_the_store_is_not_rescored(
    api: TestClient, db: Session, settings: Settings, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    submission = submit_file(predictions_csv()).json()
    store = api.app.state.store  # type: ignore[attr-defined]
    key = f"testbed/submissions/{submission['id']}/predictions.csv"
    assert store.exists(key)
    changed = settings.resolved_data_dir / "changed.csv"
    changed.write_bytes(predictions_csv(shift=9.0))
    store.put_file(key, changed)
    refused = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=bench.headers("operator"),
    )
    assert refused.status_code == 409
    assert "changed in storage" in refused.json()["detail"]
    store.delete(key)
    gone = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=bench.headers("operator"),
    )
    assert gone.status_code == 409
    assert "missing" in gone.json()["detail"]


def test_an_unsafe_file_name_is_kept_under_a_plain_one(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    body = submit_file(predictions_csv(), name="../../etc/..").json()
    assert body["filename"] == "predictions.csv"


def test_a_rerun_keeps_private_scores_hidden_until_the_deadline(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    submission = submit_file(predictions_csv(shift=1.0)).json()
    rerun = api.post(
        f"/api/v1/testbed/submissions/{submission['id']}/reruns",
        headers=bench.headers("operator"),
    ).json()
    assert rerun["private_score"] is None
    assert rerun["original_private_score"] is None
    assert rerun["matches"] is True


def test_the_organizer_extends_the_deadline_and_participants_hear_of_it(
    api: TestClient, db: Session, bench: Bench
) -> None:
    join(api, bench, "member", "Forecasters")
    later = (bench.task.deadline + timedelta(days=7)).isoformat()
    changed = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"deadline": later, "daily_limit": 10},
        headers=bench.headers("steward_of_publisher"),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["daily_limit"] == 10
    assert changed.json()["deadline"].startswith(later[:19])
    notes = api.get("/api/v1/notifications", headers=bench.headers("member")).json()
    assert any("calendar" in n["text"] for n in notes)


@pytest.mark.parametrize("who", ["member", "rival", "steward_of_other_org", "citizen"])
def test_only_the_organizer_changes_a_task(api: TestClient, bench: Bench, who: str) -> None:
    refused = api.patch(
        f"/api/v1/testbed/tasks/{TASK}", json={"daily_limit": 100}, headers=bench.headers(who)
    )
    assert refused.status_code == 403


def test_a_closed_task_keeps_its_dates(api: TestClient, db: Session, bench: Bench) -> None:
    move_to(db, bench.task, "closed")
    refused = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"deadline": (utcnow() + timedelta(days=3)).isoformat()},
        headers=bench.headers("operator"),
    )
    assert refused.status_code == 409
    assert "no longer change" in refused.json()["detail"]


def test_a_calendar_out_of_order_is_refused(api: TestClient, bench: Bench) -> None:
    refused = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"final_phase_at": (bench.task.deadline + timedelta(days=1)).isoformat()},
        headers=bench.headers("steward_of_publisher"),
    )
    assert refused.status_code == 422
    assert "in that order" in refused.json()["detail"]


def test_the_test_set_and_metric_cannot_be_changed(api: TestClient, bench: Bench) -> None:
    refused = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"metric": "rmse"},
        headers=bench.headers("steward_of_publisher"),
    )
    assert refused.status_code == 422


def test_the_public_private_split_is_kept_in_the_object_store_and_remade_when_unreadable(
    api: TestClient, settings: Settings, bench: Bench, submit_file: SubmitFile
) -> None:
    store = api.app.state.store  # type: ignore[attr-defined]
    splits = [k for k in _keys(store) if k.startswith("testbed/splits/")]
    assert len(splits) == 1, splits
    assert not (settings.resolved_data_dir / "testbed" / "splits").exists()
    join(api, bench, "member", "Forecasters")
    first = submit_file(predictions_csv(shift=1.25)).json()
    broken = settings.resolved_data_dir / "broken.npy"
    broken.write_bytes(b"not an array")
    store.put_file(splits[0], broken)
    again = submit_file(predictions_csv(shift=1.25)).json()
    assert again["public_score"] == first["public_score"]
    with store.open(splits[0]) as handle:
        assert handle.read(6) == b"\x93NUMPY"


def _keys(store: Any) -> list[str]:
    root = store.root
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
