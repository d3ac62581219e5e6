"""Who may do what with a job: a matrix of roles x actions over the jobs API.

The job used restricted data, so its log and outputs are held: the project's members see the
job but not what it wrote until release; the publisher's stewards (its reviewers) and
operators read everything; everyone else is told the job does not exist.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.compute.job_city import JobCity, Submit

from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

ROLES = [
    "anonymous",
    "citizen",
    "member",
    "steward_of_other_org",
    "steward_of_publisher",
    "operator",
]
SCRIPT = "open(__import__('os').environ['BITGOEUL_OUTPUT_DIR'] + '/n.txt', 'w').write('8')"

# (action, role) -> status for reads of a finished, held job.
READS = {
    "job": {"member": 200, "steward_of_publisher": 200, "operator": 200},
    "logs": {"member": 403, "steward_of_publisher": 200, "operator": 200},
    "output": {"member": 403, "steward_of_publisher": 200, "operator": 200},
}
PATHS = {"job": "", "logs": "/logs", "output": "/outputs/n.txt"}
HIDDEN = {"anonymous": 401, "citizen": 404, "steward_of_other_org": 404}


@pytest.fixture
def held_job(submit: Submit, runner: JobRunner) -> int:
    created = submit({"main.py": SCRIPT}, datasets=["clinic-visits"])
    assert created.status_code == 201, created.text
    runner.run_until_idle(timeout=60)
    job_id: int = created.json()["id"]
    return job_id


def test_reading_a_held_job(api: TestClient, job_city: JobCity, held_job: int) -> None:
    seen = {}
    for action in READS:
        for who in ROLES:
            response = api.get(
                f"/api/v1/jobs/{held_job}{PATHS[action]}", headers=job_city.headers(who)
            )
            seen[(action, who)] = response.status_code
    expected = {
        (action, who): allowed.get(who, HIDDEN.get(who))
        for action, allowed in READS.items()
        for who in ROLES
    }
    assert seen == expected


def test_cancelling(api: TestClient, job_city: JobCity, submit: Submit) -> None:
    job_id = submit({"main.py": SCRIPT}).json()["id"]
    expected = {
        "anonymous": 401,
        "citizen": 404,
        "steward_of_other_org": 404,
        "steward_of_publisher": 404,  # a job on open data has no reviewers
    }
    for who, status in expected.items():
        response = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=job_city.headers(who))
        assert response.status_code == status, (who, response.text)
    operator = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=job_city.headers("operator"))
    assert operator.status_code == 200
    again = api.post(f"/api/v1/jobs/{job_id}/cancel", headers=job_city.headers("member"))
    assert again.status_code == 409


def test_asking_for_release_and_reviewing(
    api: TestClient, job_city: JobCity, held_job: int
) -> None:
    context = {"context": "n.txt: a count of eight visits; the log is empty."}
    refused = {
        "anonymous": 401,
        "citizen": 404,
        "steward_of_other_org": 404,
        "steward_of_publisher": 403,
        "operator": 403,
    }
    for who, status in refused.items():
        response = api.post(
            f"/api/v1/jobs/{held_job}/release", json=context, headers=job_city.headers(who)
        )
        assert response.status_code == status, (who, response.text)
    asked = api.post(
        f"/api/v1/jobs/{held_job}/release", json=context, headers=job_city.headers("member")
    )
    assert asked.status_code == 200, asked.text

    approve = {"verdict": "approve"}
    refused_review = {
        "anonymous": 401,
        "citizen": 404,
        "steward_of_other_org": 404,
        "member": 403,
        "operator": 403,
    }
    for who, status in refused_review.items():
        response = api.post(
            f"/api/v1/jobs/{held_job}/review", json=approve, headers=job_city.headers(who)
        )
        assert response.status_code == status, (who, response.text)
    reviewed = api.post(
        f"/api/v1/jobs/{held_job}/review",
        json=approve,
        headers=job_city.headers("steward_of_publisher"),
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["release_status"] == "released"
    output = api.get(f"/api/v1/jobs/{held_job}/outputs/n.txt", headers=job_city.headers("member"))
    assert output.text == "8"


def test_every_role_lists_exactly_the_jobs_it_may_open(
    api: TestClient, job_city: JobCity, held_job: int, submit: Submit
) -> None:
    """One visibility rule: the list never shows a job that the job's page refuses, and
    never hides one it shows."""
    open_job = submit({"main.py": "print(1)"}).json()["id"]
    for who in ROLES:
        if who == "anonymous":
            continue
        headers = job_city.headers(who)
        listed = {j["id"] for j in api.get("/api/v1/jobs", headers=headers).json()}
        opened = {
            job_id
            for job_id in (held_job, open_job)
            if api.get(f"/api/v1/jobs/{job_id}", headers=headers).status_code == 200
        }
        assert listed == opened, who
