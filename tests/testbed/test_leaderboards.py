"""Leaderboards: best per team, ties by time, the baseline unranked, private at the deadline."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.testbed.bench_city import (
    TASK,
    Bench,
    SubmitFile,
    join,
    move_to,
    predictions_csv,
)


def board(api: TestClient, which: str = "public") -> dict:  # type: ignore[type-arg]
    response = api.get(f"/api/v1/testbed/tasks/{TASK}/leaderboard", params={"board": which})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_each_team_appears_once_with_its_best_score(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    join(api, bench, "rival", "Rivals")
    submit_file(predictions_csv(shift=3.0))
    submit_file(predictions_csv(shift=1.0))
    submit_file(predictions_csv(shift=2.0))
    submit_file(predictions_csv(shift=1.5), who="rival")
    rows = board(api)["rows"]
    assert [(r["rank"], r["team"], r["entries"]) for r in rows] == [
        (1, "Forecasters", 3),
        (2, "Rivals", 1),
    ]
    assert abs(rows[0]["score"] - 1.0) < 1e-9


def test_a_tie_goes_to_the_team_that_submitted_first(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "rival", "Rivals")
    join(api, bench, "member", "Forecasters")
    submit_file(predictions_csv(shift=2.0), who="rival")
    submit_file(predictions_csv(shift=2.0))
    submit_file(predictions_csv(shift=-2.0), who="rival")  # the same error, later
    assert [r["team"] for r in board(api)["rows"]] == ["Rivals", "Forecasters"]


def test_the_organizers_baseline_is_shown_but_not_ranked(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    submit_file(predictions_csv(shift=5.0))
    baseline = submit_file(predictions_csv(shift=1.0), who="steward_of_publisher")
    assert baseline.status_code == 201, baseline.text
    assert baseline.json()["is_baseline"]
    rows = board(api)["rows"]
    assert [(r["rank"], r["team"], r["is_baseline"]) for r in rows] == [
        (None, "Organizer baseline", True),
        (1, "Forecasters", False),
    ]


def test_the_private_board_is_hidden_until_the_deadline_then_ranks_final_submissions(
    api: TestClient, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    join(api, bench, "rival", "Rivals")
    submit_file(predictions_csv(shift=0.1))  # development: not on the private board
    move_to(db, bench.task, "final")
    final = submit_file(predictions_csv(shift=4.0)).json()
    assert final["private_score"] is None
    submit_file(predictions_csv(shift=3.0), who="rival")
    hidden = board(api, "private")
    assert hidden["revealed"] is False
    assert hidden["rows"] == []
    assert "revealed at the deadline" in hidden["message"]

    move_to(db, bench.task, "closed")
    revealed = board(api, "private")
    assert revealed["revealed"] is True
    assert [(r["rank"], r["team"]) for r in revealed["rows"]] == [(1, "Rivals"), (2, "Forecasters")]
    mine = api.get(
        f"/api/v1/testbed/submissions/{final['id']}", headers=bench.headers("member")
    ).json()
    assert abs(mine["private_score"] - 4.0) < 1e-9


def test_public_and_private_scores_come_from_disjoint_parts_of_the_test_set(
    api: TestClient, db: Session, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    public_ids = set()
    # Wrong by 100 on one row at a time: the error lands on exactly one of the two parts.
    from tests.testbed.bench_city import LABELS

    move_to(db, bench.task, "closed")
    db.get(type(bench.task), bench.task.id).daily_limit = 1000  # type: ignore[union-attr]
    db.commit()
    move_to(db, bench.task, "development")
    scores = []
    for key in LABELS:
        values = dict(LABELS)
        values[key] += 100.0
        body = submit_file(predictions_csv(values)).json()
        scores.append(body)
        if body["public_score"] > 0:
            public_ids.add(key)
    move_to(db, bench.task, "closed")
    for body in scores:
        revealed = api.get(
            f"/api/v1/testbed/submissions/{body['id']}", headers=bench.headers("member")
        ).json()
        assert (revealed["public_score"] > 0) != (revealed["private_score"] > 0)
    assert 0 < len(public_ids) < len(LABELS)
    assert bench.task.public_fraction == 0.5
