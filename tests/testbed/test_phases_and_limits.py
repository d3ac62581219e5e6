"""Phases, deadlines, daily limits and who may compete."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.testbed.bench_city import (
    TASK,
    Bench,
    SubmitFile,
    accept,
    invite,
    join,
    move_to,
    predictions_csv,
)

from bitgoeul.accounts.actor import Actor
from bitgoeul.errors import RateLimited
from bitgoeul.testbed import actions
from bitgoeul.testbed.models import TestbedSubmission


def test_the_fourth_submission_of_the_day_is_refused_with_when_the_next_is_possible(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    for shift in (1.0, 2.0, 3.0):
        assert submit_file(predictions_csv(shift=shift)).status_code == 201
    refused = submit_file(predictions_csv())
    assert refused.status_code == 429
    assert "used its 3 submissions for today" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_a_file_refused_on_upload_does_not_count_against_the_limit(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    for _ in range(4):
        assert submit_file(b"id,prediction\nT000,1\n").status_code == 422
    accepted = submit_file(predictions_csv())
    assert accepted.status_code == 201
    assert accepted.json()["submissions_left_today"] == 2


def test_the_limit_is_per_team_not_per_person(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    team = join(api, bench, "member", "Forecasters").json()
    invitation = invite(api, bench, "member", team["id"], "teammate").json()
    added = accept(api, bench, "teammate", invitation["id"])
    assert added.status_code == 200, added.text
    assert added.json()["members"] == ["researcher", "teammate"]
    for who in ("member", "teammate", "member"):
        assert submit_file(predictions_csv(), who=who).status_code == 201
    assert submit_file(predictions_csv(), who="teammate").status_code == 429
    join(api, bench, "rival", "Rivals")
    assert submit_file(predictions_csv(), who="rival").status_code == 201


def test_concurrent_submissions_never_pass_the_daily_limit(
    app: FastAPI, db: Session, bench: Bench, tmp_path: object
) -> None:
    member: Actor = bench.cast.actors["member"]
    actions.create_team(db, actor=member, task_slug=TASK, name="Racers")
    settings, store = app.state.settings, app.state.store
    folder = settings.resolved_data_dir / "race"
    folder.mkdir()

    def one(index: int) -> str:
        path = folder / f"p{index}.csv"
        path.write_bytes(predictions_csv(shift=index))
        with app.state.sessionmaker() as session:
            try:
                actions.submit_predictions(
                    session,
                    settings=settings,
                    store=store,
                    actor=member,
                    task_slug=TASK,
                    upload=path,
                    filename=path.name,
                )
            except RateLimited:
                return "limited"
            return "ok"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(one, range(6)))
    assert outcomes.count("ok") == 3
    assert outcomes.count("limited") == 3
    count = db.scalar(select(func.count(TestbedSubmission.id)))
    assert count == 3


def test_nothing_is_taken_before_the_task_opens_or_after_its_deadline(
    api: TestClient, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    move_to(db, bench.task, "upcoming")
    early = submit_file(predictions_csv())
    assert early.status_code == 409
    assert "opens at" in early.json()["detail"]
    move_to(db, bench.task, "closed")
    late = submit_file(predictions_csv())
    assert late.status_code == 409
    assert "closed at its deadline" in late.json()["detail"]
    assert join(api, bench, "rival", "Latecomers").status_code == 409


def test_a_submission_records_the_phase_it_was_made_in(
    api: TestClient, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    assert submit_file(predictions_csv()).json()["phase"] == "development"
    move_to(db, bench.task, "final")
    assert submit_file(predictions_csv()).json()["phase"] == "final"


def test_label_holders_cannot_compete(api: TestClient, bench: Bench) -> None:
    for who in ("steward_of_publisher", "operator"):
        refused = join(api, bench, who, f"Team {who}")
        assert refused.status_code == 403
        assert "cannot compete" in refused.json()["detail"]


def test_someone_without_a_team_is_told_how_to_join(bench: Bench, submit_file: SubmitFile) -> None:
    refused = submit_file(predictions_csv(), who="rival")
    assert refused.status_code == 403
    assert "Join task 'next-day-demand' first" in refused.json()["detail"]


def test_anonymous_users_cannot_join_or_submit(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    assert join(api, bench, "anonymous", "Ghosts").status_code == 401
    assert submit_file(predictions_csv(), who="anonymous").status_code == 401


def test_one_person_is_on_one_team_and_team_names_are_unique(api: TestClient, bench: Bench) -> None:
    assert join(api, bench, "member", "Forecasters").status_code == 201
    assert join(api, bench, "member", "Second team").status_code == 409
    assert join(api, bench, "rival", "forecasters").status_code == 409
    assert join(api, bench, "rival", "Organizer baseline").status_code == 409
