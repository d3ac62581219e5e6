"""Academy labs as compute jobs: a trainee's job (submitted like any job, through the door,
metered) on the lab's open dataset writes answer.json; when it ends the platform compares it
with the value it computes itself from the dataset, and a pass completes the course, which the
tower counts as a trainee.  A failing job or a wrong answer completes nothing, and nobody else
sees, attaches or grades a trainee's lab jobs."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.compute.job_city import JobCity, Submit

from bitgoeul.audit.models import AuditEvent
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.db.base import utcnow
from bitgoeul.errors import ValidationFailed
from bitgoeul.programmes.grading import parse_answer
from bitgoeul.tower import indicators

needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

DATASET = "household-electricity"
# Version 2 of the city's electricity data: kwh = 100 + 3h + month, h < 30, month in (1, 2).
EXPECTED_SUM = sum(100 + 3 * h + month for h in range(30) for month in (1, 2))
LAB = {
    "slug": "sum-kwh",
    "title": "Total household electricity",
    "title_ko": "가구 전력 사용량 합계",
    "kind": "job",
    "dataset": DATASET,
    "aggregate": "sum",
    "column": "kwh",
    "tolerance": 0.001,
}

ANSWER_JOB = """
import json, os, pathlib, pyarrow.parquet as pq
src = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "household-electricity.parquet"
total = sum(pq.read_table(src).column("kwh").to_pylist())
(pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "answer.json").write_text(
    json.dumps({"answer": total + OFFSET})
)
"""


def _job_code(offset: float = 0) -> dict[str, str]:
    return {"main.py": f"OFFSET = {offset!r}\n" + ANSWER_JOB}


def _course(api: TestClient, job_city: JobCity) -> int:
    """A course with one cohort and the job lab; the cohort's id."""
    operator = job_city.headers("operator")
    course = {"slug": "city-data", "title": "City data hands-on"}
    assert api.post("/api/v1/academy/courses", json=course, headers=operator).status_code == 201
    today = utcnow().date()
    cohort = api.post(
        "/api/v1/academy/courses/city-data/cohorts",
        json={
            "name": "Winter",
            "starts_on": str(today - timedelta(days=1)),
            "ends_on": str(today + timedelta(days=30)),
            "capacity": 10,
        },
        headers=operator,
    )
    assert cohort.status_code == 201, cohort.text
    lab = api.post("/api/v1/academy/courses/city-data/labs", json=LAB, headers=operator)
    assert lab.status_code == 201, lab.text
    shown = lab.json()["labs"][0]
    assert shown["kind"] == "job"
    assert shown["dataset"] == DATASET
    assert "expected" not in json.dumps(shown)
    return int(cohort.json()["cohorts"][0]["id"])


def _enrol(api: TestClient, job_city: JobCity, cohort: int, who: str = "member") -> int:
    made = api.post(f"/api/v1/academy/cohorts/{cohort}/enrolments", headers=job_city.headers(who))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _attach(
    api: TestClient, job_city: JobCity, enrolment: int, job: int, who: str = "member"
) -> Any:
    return api.post(
        f"/api/v1/academy/enrolments/{enrolment}/labs/sum-kwh/jobs",
        json={"job": job},
        headers=job_city.headers(who),
    )


def _enrolment(api: TestClient, job_city: JobCity, enrolment: int) -> Any:
    found = api.get(f"/api/v1/academy/enrolments/{enrolment}", headers=job_city.headers("member"))
    assert found.status_code == 200, found.text
    return found.json()


@needs_sandbox
def test_a_trainee_passes_a_job_lab_and_the_tower_counts_them(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    cohort = _course(api, job_city)
    enrolment = _enrol(api, job_city, cohort)
    job = submit(_job_code(), datasets=[DATASET])
    assert job.status_code == 201, job.text
    attached = _attach(api, job_city, enrolment, job.json()["id"])
    assert attached.status_code == 201, attached.text
    assert attached.json()["status"] == "waiting"
    assert indicators.compute(db).get("trainees").value == 0

    runner.run_until_idle(timeout=60)

    shown = _enrolment(api, job_city, enrolment)
    assert shown["status"] == "completed"
    assert shown["results"] == [
        {
            "lab": "sum-kwh",
            "score": pytest.approx(EXPECTED_SUM),
            "passed": True,
            "graded_at": shown["results"][0]["graded_at"],
            "job": job.json()["id"],
        }
    ]
    assert shown["lab_jobs"][0]["status"] == "passed"
    assert "expected" not in shown["lab_jobs"][0]
    db.expire_all()
    assert indicators.compute(db).get("trainees").value == 1
    # The job went through compute's normal path: decided at the door and metered.
    ran = api.get(f"/api/v1/jobs/{job.json()['id']}", headers=job_city.headers("member")).json()
    assert ran["status"] == "succeeded"
    assert ran["used_cpu_hours"] is not None
    events = [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert "dataset.job_decision" in events
    assert events.count("academy.lab_job_attached") == 1
    assert events.count("academy.course_completed") == 1
    # The grader read the version through the door too, audited under the publisher.
    grading = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "dataset.lab_grading_decision")
    ).all()
    assert [(e.outcome, e.resource_id, e.detail["lab"]) for e in grading] == [
        ("ok", DATASET, "sum-kwh")
    ]


@needs_sandbox
def test_a_wrong_answer_or_a_failing_job_completes_nothing(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    cohort = _course(api, job_city)
    enrolment = _enrol(api, job_city, cohort)
    wrong = submit(_job_code(offset=1.0), datasets=[DATASET]).json()["id"]
    failing = submit({"main.py": "raise SystemExit(3)\n"}, datasets=[DATASET]).json()["id"]
    silent = submit({"main.py": "print('no answer')\n"}, datasets=[DATASET]).json()["id"]
    for job in (wrong, failing, silent):
        assert _attach(api, job_city, enrolment, job).status_code == 201
    runner.run_until_idle(timeout=90)

    shown = _enrolment(api, job_city, enrolment)
    assert shown["status"] == "enrolled"
    by_job = {j["job"]: j for j in shown["lab_jobs"]}
    assert {j["status"] for j in by_job.values()} == {"failed"}
    assert by_job[wrong]["answer"] == pytest.approx(EXPECTED_SUM + 1)
    assert "not the right value" in by_job[wrong]["problem"]
    assert "did not succeed" in by_job[failing]["problem"]
    assert "answer.json" in by_job[silent]["problem"]
    assert shown["results"][0]["passed"] is False
    korean = api.get(
        "/academy/courses/city-data?lang=ko",
        headers={**job_city.headers("member"), "accept": "text/html"},
    )
    assert "답이 맞지 않습니다" in korean.text  # the stored reason, said in the page's language
    db.expire_all()
    assert indicators.compute(db).get("trainees").value == 0
    # Grading again reads the latest finished job once more: still not passed.
    again = api.post(
        f"/api/v1/academy/enrolments/{enrolment}/labs/sum-kwh/grade",
        headers=job_city.headers("member"),
    )
    assert again.status_code == 200
    assert again.json()["passed"] is False


@needs_sandbox
def test_another_trainee_neither_sees_nor_attaches_nor_grades_a_trainees_lab_job(
    api: TestClient, db: Session, job_city: JobCity, submit: Submit, runner: JobRunner
) -> None:
    cohort = _course(api, job_city)
    mine = _enrol(api, job_city, cohort)
    theirs = _enrol(api, job_city, cohort, who="citizen")
    job = submit(_job_code(), datasets=[DATASET]).json()["id"]
    # The other trainee cannot claim the job for their own enrolment ...
    assert _attach(api, job_city, theirs, job, who="citizen").status_code == 404
    # ... nor reach the trainee's enrolment to see, attach to or grade it.
    citizen = job_city.headers("citizen")
    assert api.get(f"/api/v1/academy/enrolments/{mine}", headers=citizen).status_code == 404
    assert _attach(api, job_city, mine, job, who="citizen").status_code == 404
    graded = api.post(f"/api/v1/academy/enrolments/{mine}/labs/sum-kwh/grade", headers=citizen)
    assert graded.status_code == 404
    assert api.get(f"/api/v1/jobs/{job}", headers=citizen).status_code in (403, 404)
    assert _attach(api, job_city, mine, job).status_code == 201
    runner.run_until_idle(timeout=60)
    assert _enrolment(api, job_city, mine)["status"] == "completed"
    listed = api.get("/api/v1/academy/enrolments", headers=citizen).json()
    assert [e["id"] for e in listed] == [theirs]
    assert listed[0]["lab_jobs"] == []
    assert listed[0]["status"] == "enrolled"


def test_a_job_lab_runs_on_open_data_and_takes_only_jobs_on_it(
    api: TestClient, job_city: JobCity, submit: Submit
) -> None:
    operator = job_city.headers("operator")
    _course(api, job_city)
    restricted = api.post(
        "/api/v1/academy/courses/city-data/labs",
        json={**LAB, "slug": "visits-lab", "dataset": job_city.city.visits.slug},
        headers=operator,
    )
    assert restricted.status_code == 422
    assert "open data" in restricted.json()["detail"]
    no_column = api.post(
        "/api/v1/academy/courses/city-data/labs",
        json={**LAB, "slug": "other", "column": "watts"},
        headers=operator,
    )
    assert no_column.status_code == 422
    assert "no column 'watts'" in no_column.json()["detail"]
    identifier = api.post(
        "/api/v1/academy/courses/city-data/labs",
        json={**LAB, "slug": "ids", "aggregate": "distinct_count", "column": "household_id"},
        headers=operator,
    )
    assert identifier.status_code == 422
    assert "direct identifier" in identifier.json()["detail"]
    no_rule = api.post(
        "/api/v1/academy/courses/city-data/labs",
        json={k: v for k, v in LAB.items() if k != "aggregate"} | {"slug": "norule"},
        headers=operator,
    )
    assert no_rule.status_code == 422


@needs_sandbox
def test_a_job_on_other_data_is_not_taken_for_the_lab(
    api: TestClient, job_city: JobCity, submit: Submit
) -> None:
    cohort = _course(api, job_city)
    enrolment = _enrol(api, job_city, cohort)
    other = submit(_job_code(), datasets=[]).json()["id"]
    refused = _attach(api, job_city, enrolment, other)
    assert refused.status_code == 422
    assert "did not use dataset" in refused.json()["detail"]


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_an_answer_file_holds_a_number_either_bare_or_named(value: float) -> None:
    assert parse_answer(json.dumps(value).encode()) == value
    assert parse_answer(json.dumps({"answer": value}).encode()) == value


@given(st.binary(max_size=200))
def test_any_other_answer_file_is_refused_saying_why(raw: bytes) -> None:
    refused: ValidationFailed | None = None
    try:
        value: float | None = parse_answer(raw)
    except ValidationFailed as error:
        refused, value = error, None
    if refused is not None:
        assert "answer.json" in str(refused.message)
    else:
        assert isinstance(value, float)


@needs_sandbox
def test_the_demo_courses_example_job_passes_its_job_lab(
    api: TestClient, app: Any, job_city: JobCity, submit: Submit, runner: JobRunner, tmp_path: Any
) -> None:
    from bitgoeul.catalog import actions as catalog_actions
    from bitgoeul.catalog.models import AccessLevel, Sector
    from bitgoeul.catalog.schemas import DatasetCreate
    from bitgoeul.demo.compute import JOBS_DIR
    from bitgoeul.demo.programmes import JOB_LAB_DATASET

    steward = job_city.cast.actors["steward_of_publisher"]
    with app.state.sessionmaker() as session:
        catalog_actions.create_dataset(
            session,
            actor=steward,
            data=DatasetCreate(
                slug=JOB_LAB_DATASET,
                title="Daily residential electricity",
                sector=Sector.energy,
                access_level=AccessLevel.open,
            ),
        )
        source = tmp_path / "daily.csv"
        source.write_text(
            "district,dong,date,households,total_kwh\n"
            + "".join(
                f"Buk,D{i},2026-01-0{i % 9 + 1},{5 + i},{10.25 * i:.2f}\n" for i in range(40)
            ),
            encoding="utf-8",
        )
        catalog_actions.publish_version(
            session,
            settings=app.state.settings,
            store=app.state.store,
            actor=steward,
            slug=JOB_LAB_DATASET,
            source=source,
            filename=source.name,
        )
    _course(api, job_city)
    lab = {**LAB, "slug": "total-electricity", "dataset": JOB_LAB_DATASET, "column": "total_kwh"}
    added = api.post(
        "/api/v1/academy/courses/city-data/labs", json=lab, headers=job_city.headers("operator")
    )
    assert added.status_code == 201, added.text
    enrolment = _enrol(api, job_city, int(added.json()["cohorts"][0]["id"]))
    code = (JOBS_DIR / "academy_lab" / "main.py").read_text(encoding="utf-8")
    job = submit({"main.py": code}, datasets=[JOB_LAB_DATASET]).json()["id"]
    attached = api.post(
        f"/api/v1/academy/enrolments/{enrolment}/labs/total-electricity/jobs",
        json={"job": job},
        headers=job_city.headers("member"),
    )
    assert attached.status_code == 201, attached.text
    runner.run_until_idle(timeout=60)
    shown = _enrolment(api, job_city, enrolment)
    passed = {j["lab"]: j for j in shown["lab_jobs"]}["total-electricity"]
    assert passed["status"] == "passed", passed["problem"]
    assert passed["answer"] == pytest.approx(sum(10.25 * i for i in range(40)))
