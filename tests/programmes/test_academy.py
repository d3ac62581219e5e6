"""The academy: operators build courses (cohorts, labs on a testbed task), people enrol, a lab
is graded from the trainee's best testbed score (never typed), and passing every lab
completes the enrolment, which the tower counts as a trainee."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.programmes.programme_city import ROLES, People
from tests.testbed.bench_city import TASK, Bench, SubmitFile, join, predictions_csv

from bitgoeul.audit.models import AuditEvent
from bitgoeul.db.base import utcnow
from bitgoeul.governance.models import Notification
from bitgoeul.tower import indicators

COURSE = {"slug": "ai-basics", "title": "AI basics", "title_ko": "AI 기초"}
LAB = {"slug": "demand-lab", "title": "Forecast demand", "task": TASK, "pass_mark": 1.0}


def _cohort(days_left: int = 30, capacity: int = 20) -> dict[str, object]:
    today = utcnow().date()
    return {
        "name": "Winter",
        "starts_on": str(today - timedelta(days=1)),
        "ends_on": str(today + timedelta(days=days_left)),
        "capacity": capacity,
    }


def _course(api: TestClient, people: People, **cohort: int) -> int:
    """The course with one cohort and one lab, made by the operator; the cohort's id."""
    operator = people.headers("operator")
    assert api.post("/api/v1/academy/courses", json=COURSE, headers=operator).status_code == 201
    made = api.post(
        "/api/v1/academy/courses/ai-basics/cohorts", json=_cohort(**cohort), headers=operator
    )
    assert made.status_code == 201, made.text
    labs = api.post("/api/v1/academy/courses/ai-basics/labs", json=LAB, headers=operator)
    assert labs.status_code == 201, labs.text
    return int(made.json()["cohorts"][0]["id"])


@pytest.mark.parametrize("who", ROLES)
def test_only_operators_build_courses(api: TestClient, people: People, who: str) -> None:
    headers = people.headers(who)
    created = api.post("/api/v1/academy/courses", json=COURSE, headers=headers)
    expected = {"anonymous": 401, "operator": 201}.get(who, 403)
    assert created.status_code == expected
    if who != "operator":
        api.post("/api/v1/academy/courses", json=COURSE, headers=people.headers("operator"))
    cohort = api.post("/api/v1/academy/courses/ai-basics/cohorts", json=_cohort(), headers=headers)
    assert cohort.status_code == expected


def test_anyone_lists_the_courses_with_their_cohorts_and_labs(
    api: TestClient, people: People, bench: Bench
) -> None:
    _course(api, people)
    courses = api.get("/api/v1/academy/courses").json()
    assert [c["slug"] for c in courses] == ["ai-basics"]
    assert courses[0]["labs"][0]["metric"] == "mae"
    assert courses[0]["labs"][0]["higher_is_better"] is False
    assert courses[0]["cohorts"][0]["enrolled"] == 0


@pytest.mark.parametrize("who", ROLES)
def test_anyone_signed_in_enrols_once(
    api: TestClient, people: People, bench: Bench, who: str
) -> None:
    cohort = _course(api, people)
    path = f"/api/v1/academy/cohorts/{cohort}/enrolments"
    first = api.post(path, headers=people.headers(who))
    assert first.status_code == (401 if who == "anonymous" else 201)
    if who != "anonymous":
        assert api.post(path, headers=people.headers(who)).status_code == 409


def test_a_full_or_ended_cohort_takes_no_one(api: TestClient, people: People, bench: Bench) -> None:
    cohort = _course(api, people, capacity=1)
    path = f"/api/v1/academy/cohorts/{cohort}/enrolments"
    assert api.post(path, headers=people.headers("member")).status_code == 201
    full = api.post(path, headers=people.headers("citizen"))
    assert full.status_code == 409
    assert "full" in full.json()["detail"]
    operator = people.headers("operator")
    ended = _cohort(days_left=-1)
    ended["name"] = "Autumn"
    ended["starts_on"] = str(utcnow().date() - timedelta(days=30))
    made = api.post("/api/v1/academy/courses/ai-basics/cohorts", json=ended, headers=operator)
    autumn = next(c["id"] for c in made.json()["cohorts"] if c["name"] == "Autumn")
    late = api.post(f"/api/v1/academy/cohorts/{autumn}/enrolments", headers=operator)
    assert late.status_code == 409
    assert "ended" in late.json()["detail"]


def test_a_lab_is_graded_from_the_testbed_score_and_completes_the_course(
    api: TestClient, db: Session, people: People, bench: Bench, submit_file: SubmitFile
) -> None:
    cohort = _course(api, people)
    member = people.headers("member")
    enrolment = api.post(f"/api/v1/academy/cohorts/{cohort}/enrolments", headers=member).json()
    grade = f"/api/v1/academy/enrolments/{enrolment['id']}/labs/demand-lab/grade"
    nothing = api.post(grade, headers=member)
    assert nothing.status_code == 422
    assert "no scored submission" in nothing.json()["detail"]
    assert join(api, bench, "member", "Learners").status_code == 201
    assert submit_file(predictions_csv(shift=5.0)).status_code == 201
    failed = api.post(grade, headers=member).json()
    assert failed["passed"] is False
    assert failed["score"] == pytest.approx(5.0)
    assert indicators.compute(db).get("trainees").value == 0
    assert submit_file(predictions_csv(shift=0.5)).status_code == 201
    passed = api.post(grade, headers=member).json()
    assert passed["passed"] is True
    assert passed["score"] == pytest.approx(0.5)
    mine = api.get("/api/v1/academy/enrolments", headers=member).json()
    assert mine[0]["status"] == "completed"
    assert mine[0]["results"][0]["passed"] is True
    db.expire_all()
    assert indicators.compute(db).get("trainees").value == 1
    actions = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions.count("academy.lab_graded") == 2
    assert actions.count("academy.course_completed") == 1
    told = db.scalars(select(Notification).where(Notification.kind == "academy.course_completed"))
    assert [n.user_id for n in told] == [people.actors["member"].user_id]
    again = api.post(grade, headers=member)
    assert again.status_code == 409  # completed: nothing left to grade


@pytest.mark.parametrize("who", ROLES)
def test_only_the_trainee_and_operators_grade_and_see_an_enrolment(
    api: TestClient, people: People, bench: Bench, who: str
) -> None:
    cohort = _course(api, people)
    enrolment = api.post(
        f"/api/v1/academy/cohorts/{cohort}/enrolments", headers=people.headers("member")
    ).json()
    seen = api.get(f"/api/v1/academy/enrolments/{enrolment['id']}", headers=people.headers(who))
    graded = api.post(
        f"/api/v1/academy/enrolments/{enrolment['id']}/labs/demand-lab/grade",
        headers=people.headers(who),
    )
    listed = api.get(f"/api/v1/academy/cohorts/{cohort}/enrolments", headers=people.headers(who))
    if who == "anonymous":
        assert (seen.status_code, graded.status_code, listed.status_code) == (401, 401, 401)
    elif who in ("member", "operator"):
        assert seen.status_code == 200
        assert graded.status_code == 422  # allowed, but there is no submission yet
        assert listed.status_code == (200 if who == "operator" else 403)
    else:
        assert (seen.status_code, graded.status_code, listed.status_code) == (404, 404, 403)


def test_a_withdrawn_enrolment_frees_its_place(
    api: TestClient, people: People, bench: Bench
) -> None:
    cohort = _course(api, people, capacity=1)
    path = f"/api/v1/academy/cohorts/{cohort}/enrolments"
    enrolment = api.post(path, headers=people.headers("member")).json()
    out = api.post(
        f"/api/v1/academy/enrolments/{enrolment['id']}/withdraw", headers=people.headers("member")
    )
    assert out.json()["status"] == "withdrawn"
    assert api.post(path, headers=people.headers("citizen")).status_code == 201
