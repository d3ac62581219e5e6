"""Job, release-review and credit pages, driven through their real forms; jobs run in the real
sandbox through ``app.state.job_runner``."""

from __future__ import annotations

import html
import io
import re
import zipfile
from textwrap import dedent
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_city import PASSWORD, City, open_job_project
from web_city import sign_in as _sign_in

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Role
from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.runner import JobRunner
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.compute.schemas import JobSpec, Resources

needs_sandbox = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)

COUNT_ROWS = """
import os, pathlib, pyarrow.parquet as pq
inputs = pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"])
table = pq.read_table(inputs / "household-electricity.parquet")
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
(out / "counts.txt").write_text(f"{table.num_rows} readings")
print(f"counted {table.num_rows} readings", flush=True)
"""

MEAN_AGE = """
import os, pathlib, pyarrow.parquet as pq
table = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "patient-visits.parquet")
ages = table.column("age").to_pylist()
(pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "summary.txt").write_text(
    f"mean age over all visits: {sum(ages) / len(ages):.1f}\\n"
)
print("done")
"""


def _bundle(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, dedent(text))
    return buffer.getvalue()


@pytest.fixture
def project(app: FastAPI, city: City) -> int:
    return open_job_project(app.state.sessionmaker)


@pytest.fixture
def runner(app: FastAPI) -> JobRunner:
    job_runner: JobRunner = app.state.job_runner
    return job_runner


def _submit(
    client: TestClient,
    csrf: str,
    project: int,
    *,
    code: bytes | None = None,
    datasets: list[str] | None = None,
    **fields: str,
) -> Any:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "project": str(project),
        "entrypoint": "main.py",
        "environment": "default",
        "cpus": "1",
        "memory_mb": "512",
        "time_limit_s": "60",
        "datasets": datasets or [],
        **fields,
    }
    bundle = code if code is not None else _bundle({"main.py": COUNT_ROWS})
    return client.post(
        "/jobs",
        data=data,
        files={"bundle": ("code.zip", bundle, "application/zip")},
        follow_redirects=False,
    )


def _submitted_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:2000]
    found = re.fullmatch(r"/jobs/(\d+)", response.headers["location"])
    assert found
    return int(found.group(1))


def sign_in(client: TestClient, who: str) -> str:
    """Sign in as ``who``, signed out of anyone before; the session's CSRF token."""
    client.cookies.clear()
    return _sign_in(client, who)


def _main(page: str) -> str:
    """The page's own part, without the header and footer every page shares."""
    return page.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def _alert(page: str) -> str:
    found = re.search(r'id="form-error">(.*?)</p>', page, re.S)
    assert found, "the page shows no error"
    return html.unescape(found.group(1))


def _held_job(app: FastAPI, project: int) -> int:
    """A job on the restricted patient visits, submitted by the researcher (action)."""
    with app.state.sessionmaker() as session:
        user = account_queries.get_user(session, "researcher")
        assert user is not None
        spec = JobSpec(
            project=project,
            datasets=["patient-visits"],
            entrypoint="main.py",
            resources=Resources(cpus=1, memory_mb=512, time_limit_s=60),
        )
        bundle = app.state.settings.ensure_data_dir() / "held.zip"
        bundle.write_bytes(_bundle({"main.py": MEAN_AGE}))
        job = compute_actions.submit_job(
            session,
            settings=app.state.settings,
            executor=app.state.executor,
            actor=Actor.for_user(user, via="cli"),
            spec=spec,
            bundle_path=bundle,
        )
        return job.id


# Who may open what --------------------------------------------------------------------------

PAGES = ["/jobs", "/jobs/{job}", "/reviews", "/credits"]
EXPECTED = {
    ("/jobs", "anonymous"): 401,
    ("/jobs/{job}", "anonymous"): 401,
    ("/reviews", "anonymous"): 401,
    ("/credits", "anonymous"): 401,
    ("/reviews", "researcher"): 403,
    # KEPCO's steward has no say over a job on CNUH's data: it does not exist for them.
    ("/jobs/{job}", "kepco"): 404,
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["anonymous", "researcher", "kepco", "cnuh", "operator"])
def test_who_may_open_each_page(
    app: FastAPI, client: TestClient, project: int, path: str, who: str
) -> None:
    url = path
    if "{job}" in path:
        if not sandbox_support().available:
            pytest.skip(f"no sandbox here: {sandbox_support().reason}")
        url = path.format(job=_held_job(app, project))
    if who != "anonymous":
        sign_in(client, who)
    response = client.get(url, headers={"accept": "text/html"})
    assert response.status_code == EXPECTED.get((path, who), 200), response.text[:300]
    assert response.headers["content-type"].startswith("text/html")


def test_a_job_that_does_not_exist_is_404(client: TestClient, project: int) -> None:
    sign_in(client, "researcher")
    response = client.get("/jobs/999", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "There is no job 999" in response.text


def test_the_header_links_to_jobs_reviews_and_credits_by_role(
    client: TestClient, city: City
) -> None:
    sign_in(client, "researcher")
    page = client.get("/").text
    assert 'href="/jobs"' in page
    assert 'href="/credits"' in page
    assert 'href="/reviews"' not in page
    sign_in(client, "cnuh")
    assert 'href="/reviews"' in client.get("/").text


FORMS = ["/jobs", "/jobs/1/cancel", "/jobs/1/release", "/jobs/1/review", "/credits/grants"]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_its_csrf_token(
    client: TestClient, city: City, path: str
) -> None:
    sign_in(client, "researcher")
    response = client.post(path, data={"name": "x"}, headers={"accept": "text/html"})
    assert response.status_code == 403
    assert "CSRF" in response.text


# Submitting ---------------------------------------------------------------------------------


@needs_sandbox
def test_a_job_submitted_through_the_form_is_queued_and_listed(
    client: TestClient, project: int
) -> None:
    csrf = sign_in(client, "researcher")
    form = client.get("/jobs").text
    assert f'<option value="{project}"' in form
    assert '<option value="default"' in form
    job_id = _submitted_id(
        _submit(client, csrf, project, datasets=["household-electricity"], name="row count")
    )
    page = client.get(f"/jobs/{job_id}").text
    assert "Queued" in page
    assert "household-electricity" in page
    assert f'action="/jobs/{job_id}/cancel"' in page
    assert f'data-log-url="/jobs/{job_id}/log"' in page
    assert "/api/" not in _main(page)
    listed = client.get("/jobs").text
    assert f'href="/jobs/{job_id}"' in listed
    assert "row count" in listed
    ledger = client.get("/credits").text
    assert "Job reservation" in ledger


@needs_sandbox
@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"code": b"not an archive"}, 422, "neither a .zip nor a .tar.gz"),
        ({"entrypoint": "train.py"}, 422, "'train.py' is not a file in the bundle"),
        ({"cpus": "0"}, 422, "resources.cpus"),
        ({"time_limit_s": "86400"}, 403, "does not have the credits"),
        ({"datasets_text": "no-such-data"}, 404, "no-such-data"),
    ],
)
def test_a_refused_job_is_explained_and_the_form_keeps_its_values(
    client: TestClient, project: int, change: dict[str, Any], status: int, words: str
) -> None:
    csrf = sign_in(client, "researcher")
    response = _submit(client, csrf, project, name="kept name", **change)
    assert response.status_code == status, response.text[:2000]
    assert words in _alert(response.text)
    assert 'value="kept name"' in response.text
    assert 'href="/jobs/' not in response.text  # no job was made


@needs_sandbox
def test_a_queued_job_is_cancelled_from_its_page(client: TestClient, project: int) -> None:
    csrf = sign_in(client, "researcher")
    job_id = _submitted_id(_submit(client, csrf, project))
    cancelled = client.post(
        f"/jobs/{job_id}/cancel", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert cancelled.status_code == 303
    page = client.get(f"/jobs/{job_id}").text
    assert "Cancelled" in page
    assert f'action="/jobs/{job_id}/cancel"' not in page
    assert "Job refund" in client.get("/credits").text


# After running ------------------------------------------------------------------------------


@needs_sandbox
def test_the_page_of_a_job_on_open_data_shows_its_log_and_outputs(
    client: TestClient, project: int, runner: JobRunner
) -> None:
    csrf = sign_in(client, "researcher")
    job_id = _submitted_id(_submit(client, csrf, project, datasets=["household-electricity"]))
    runner.run_until_idle(timeout=60)
    page = client.get(f"/jobs/{job_id}").text
    assert "Succeeded" in page
    assert "counted 5 readings" in page
    assert 'data-finished="true"' in page
    assert "job-log.js" not in page  # nothing left to follow
    link = f'href="/jobs/{job_id}/outputs/counts.txt"'
    assert link in page
    assert f'href="/jobs/{job_id}/outputs/log.txt"' in page
    assert f'href="/jobs/{job_id}/log"' in page
    assert "/api/" not in _main(page)
    download = client.get(f"/jobs/{job_id}/outputs/counts.txt", headers={"accept": "text/html"})
    assert download.status_code == 200
    assert download.text == "5 readings"
    assert "attachment" in download.headers["content-disposition"]
    log = client.get(f"/jobs/{job_id}/log", headers={"accept": "text/html"})
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/plain")
    assert "counted 5 readings" in log.text
    assert 'id="release-form"' not in page


@needs_sandbox
def test_restricted_outputs_are_held_then_released_through_the_forms(
    client: TestClient, project: int, runner: JobRunner
) -> None:
    csrf = sign_in(client, "researcher")
    job_id = _submitted_id(
        _submit(
            client, csrf, project, code=_bundle({"main.py": MEAN_AGE}), datasets=["patient-visits"]
        )
    )
    runner.run_until_idle(timeout=60)
    page = client.get(f"/jobs/{job_id}").text
    assert "Succeeded" in page
    assert "held until a steward of that data releases them" in page
    assert 'id="job-log"' not in page
    assert "/outputs/summary.txt" not in page
    assert client.get(f"/api/v1/jobs/{job_id}/outputs/summary.txt").status_code == 403

    assert "summary.txt" not in page  # no names, sizes or checksums while held
    assert 'id="outputs-held"' in page
    blank = client.post(f"/jobs/{job_id}/release", data={"csrf_token": csrf, "context": " "})
    assert blank.status_code == 422
    assert "context" in _alert(blank.text)
    asked = client.post(
        f"/jobs/{job_id}/release",
        data={
            "csrf_token": csrf,
            "context": "summary.txt: one mean age over all visits. The log prints 'done'.",
        },
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text[:2000]
    assert "In review" in client.get(f"/jobs/{job_id}").text

    steward_csrf = sign_in(client, "cnuh")
    queue = client.get("/reviews").text
    assert f'href="/jobs/{job_id}"' in queue
    review_page = client.get(f"/jobs/{job_id}").text
    assert "one mean age over all visits." in review_page
    assert "done" in review_page  # reviewers read the log
    assert 'value="approve"' in review_page
    bare = client.post(
        f"/jobs/{job_id}/review", data={"csrf_token": steward_csrf, "verdict": "return"}
    )
    assert bare.status_code == 422
    assert "comment" in _alert(bare.text)
    approved = client.post(
        f"/jobs/{job_id}/review",
        data={"csrf_token": steward_csrf, "verdict": "approve", "comment": "Fine."},
        follow_redirects=False,
    )
    assert approved.status_code == 303, approved.text[:2000]
    assert f'href="/jobs/{job_id}"' not in client.get("/reviews").text

    sign_in(client, "researcher")
    released = client.get(f"/jobs/{job_id}").text
    assert "Released" in released
    assert "Approved" in released
    assert f'href="/jobs/{job_id}/outputs/summary.txt"' in released
    summary = client.get(f"/jobs/{job_id}/outputs/summary.txt")
    assert summary.status_code == 200
    assert summary.text.startswith("mean age over all visits")


@needs_sandbox
def test_an_operator_may_return_but_is_not_offered_approval(
    app: FastAPI, client: TestClient, project: int, runner: JobRunner
) -> None:
    job_id = _held_job(app, project)
    runner.run_until_idle(timeout=60)
    csrf = sign_in(client, "researcher")
    client.post(
        f"/jobs/{job_id}/release",
        data={"csrf_token": csrf, "context": "A mean; the log says done."},
    )
    operator_csrf = sign_in(client, "operator")
    page = client.get(f"/jobs/{job_id}").text
    assert 'value="return"' in page
    assert 'value="approve"' not in page
    refused = client.post(
        f"/jobs/{job_id}/review", data={"csrf_token": operator_csrf, "verdict": "approve"}
    )
    assert refused.status_code == 403
    assert "stewards of the data" in _alert(refused.text)


# Credits ------------------------------------------------------------------------------------


def test_an_operator_grants_credits_through_the_form(client: TestClient, city: City) -> None:
    csrf = sign_in(client, "operator")
    page = client.get("/credits").text
    assert 'id="credits-organization"' in page
    assert 'action="/credits/grants"' in page
    granted = client.post(
        "/credits/grants",
        data={
            "csrf_token": csrf,
            "organization": "gist-ai-lab",
            "cpu_hours": "5",
            "note": "pilot",
        },
        follow_redirects=False,
    )
    assert granted.status_code == 303
    assert granted.headers["location"] == "/credits?organization=gist-ai-lab"
    shown = client.get(granted.headers["location"]).text
    assert '<dd id="balance-cpu">5</dd>' in shown
    assert "Grant" in shown
    assert "pilot" in shown

    bad = client.post(
        "/credits/grants",
        data={"csrf_token": csrf, "organization": "gist-ai-lab", "cpu_hours": "lots"},
    )
    assert bad.status_code == 422
    assert "cpu_hours" in _alert(bad.text)
    assert 'value="lots"' in bad.text


def test_members_see_their_own_credits_but_cannot_grant(client: TestClient, project: int) -> None:
    csrf = sign_in(client, "researcher")
    page = client.get("/credits").text
    assert '<dd id="balance-cpu">10</dd>' in page
    assert "research support" in page
    assert 'action="/credits/grants"' not in page
    assert client.get("/credits?organization=kepco").status_code == 403
    refused = client.post(
        "/credits/grants",
        data={"csrf_token": csrf, "organization": "gist-ai-lab", "cpu_hours": "100"},
    )
    assert refused.status_code == 403


# Downloads from a job's page: the API's rule, for everyone --------------------------------------

ROLES = ["anonymous", "citizen", "other-researcher", "researcher", "cnuh", "kepco", "operator"]
# Who may read a finished job's log and outputs from its page (the API answers the same).
# The open-data job used KEPCO's data: KEPCO's steward may see it, CNUH's may not know of it.
OPEN_JOB = {
    "anonymous": 401,
    "citizen": 404,
    "other-researcher": 404,
    "researcher": 200,
    "cnuh": 404,
    "kepco": 200,
    "operator": 200,
}
# The job on CNUH's restricted data, its outputs held: its reviewers read, its owner waits.
HELD_JOB = {**OPEN_JOB, "researcher": 403, "cnuh": 200, "kepco": 404}


@pytest.fixture
def finished_jobs(
    app: FastAPI, client: TestClient, project: int, runner: JobRunner
) -> dict[str, int]:
    """An open-data job and a held one, both run; a citizen and a researcher outside the
    project signed up too."""
    with app.state.sessionmaker() as session:
        lab = account_queries.get_organization(session, "gist-ai-lab")
        assert lab is not None
        for username, role, org in [
            ("citizen", Role.citizen, None),
            ("other-researcher", Role.member, lab.id),
        ]:
            account_actions.create_user(
                session,
                username=username,
                password=PASSWORD,
                role=role,
                organization_id=org,
                settings=app.state.settings,
            )
    csrf = sign_in(client, "researcher")
    open_job = _submitted_id(_submit(client, csrf, project, datasets=["household-electricity"]))
    held_job = _held_job(app, project)
    runner.run_until_idle(timeout=60)
    client.cookies.clear()
    return {"open": open_job, "held": held_job}


@needs_sandbox
@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("open", "/jobs/{id}/outputs/counts.txt"),
        ("open", "/jobs/{id}/log"),
        ("held", "/jobs/{id}/outputs/summary.txt"),
        ("held", "/jobs/{id}/log"),
    ],
)
def test_each_role_downloads_a_jobs_log_and_outputs_from_pages_as_the_api_allows(
    client: TestClient, finished_jobs: dict[str, int], who: str, kind: str, path: str
) -> None:
    job_id = finished_jobs[kind]
    if who != "anonymous":
        sign_in(client, who)
    url = path.format(id=job_id)
    page = client.get(url, headers={"accept": "text/html"})
    expected = (OPEN_JOB if kind == "open" else HELD_JOB)[who]
    assert page.status_code == expected, page.text[:500]
    api_url = url.replace("/jobs/", "/api/v1/jobs/").replace("/log", "/logs")
    assert client.get(api_url).status_code == expected
    if expected == 200:
        assert page.text.strip()
    else:
        # A refusal is a page, never the file, and it says what to do next.
        assert page.headers["content-type"].startswith("text/html")
        assert "mean age" not in page.text
        assert "5 readings" not in page.text


@needs_sandbox
def test_a_held_output_names_no_file_on_the_owners_page_and_refuses_its_download(
    client: TestClient, finished_jobs: dict[str, int]
) -> None:
    sign_in(client, "researcher")
    job_id = finished_jobs["held"]
    refused = client.get(f"/jobs/{job_id}/outputs/summary.txt", headers={"accept": "text/html"})
    assert refused.status_code == 403
    assert "request the release on its page" in refused.text
    missing = client.get(f"/jobs/{finished_jobs['open']}/outputs/nothing.txt")
    assert missing.status_code == 404


@needs_sandbox
def test_the_live_log_is_followed_through_the_page_route_as_json(
    client: TestClient, finished_jobs: dict[str, int]
) -> None:
    sign_in(client, "researcher")
    job_id = finished_jobs["open"]
    chunk = client.get(
        f"/jobs/{job_id}/log", params={"offset": 0}, headers={"accept": "application/json"}
    ).json()
    assert "counted 5 readings" in chunk["text"]
    assert chunk["finished"] is True
    rest = client.get(
        f"/jobs/{job_id}/log",
        params={"offset": chunk["next_offset"]},
        headers={"accept": "application/json"},
    ).json()
    assert rest["text"] == ""


# In Korean ------------------------------------------------------------------------------------

KO = {"accept-language": "ko-KR,ko;q=0.9", "accept": "text/html"}


@needs_sandbox
def test_a_refused_job_is_explained_in_korean_and_says_what_to_do(
    client: TestClient, project: int
) -> None:
    csrf = sign_in(client, "researcher")
    client.cookies.set("lang", "ko")
    response = _submit(client, csrf, project, entrypoint="train.py")
    assert response.status_code == 422
    said = _alert(response.text)
    assert said == "'train.py'은(는) 번들에 없는 파일입니다. 번들 맨 위의 파일: main.py."
    too_long = _submit(client, csrf, project, time_limit_s="86400")
    assert "크레딧이 부족합니다" in _alert(too_long.text)
    assert "허브 운영자에게 크레딧을 요청하세요" in _alert(too_long.text)


@needs_sandbox
def test_a_stored_reason_reads_in_korean_on_the_page_and_in_the_api(
    client: TestClient, project: int
) -> None:
    csrf = sign_in(client, "researcher")
    job_id = _submitted_id(_submit(client, csrf, project))
    client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf})
    english = client.get(f"/jobs/{job_id}").text
    assert "cancelled by researcher before it started" in english
    korean = client.get(f"/jobs/{job_id}?lang=ko").text
    assert "시작 전에 researcher님이 취소했습니다" in korean
    assert "cancelled by" not in korean
    api = client.get(f"/api/v1/jobs/{job_id}", headers={"accept-language": "ko"}).json()
    assert api["reason"] == "시작 전에 researcher님이 취소했습니다"
    assert client.get(f"/api/v1/jobs/{job_id}").json()["reason"] == (
        "cancelled by researcher before it started"
    )


def test_the_api_refuses_in_the_language_of_accept_language(
    client: TestClient, project: int
) -> None:
    sign_in(client, "researcher")
    missing = client.get("/api/v1/jobs/999", headers={"accept-language": "ko"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "볼 수 있는 작업 999이(가) 없습니다. 내 작업은 작업 페이지에 있습니다."
    )
    assert client.get("/api/v1/jobs/999").json()["detail"] == (
        "There is no job 999 that you may see; your jobs are listed on the jobs page."
    )


@needs_sandbox
def test_a_held_download_is_refused_in_korean_with_the_next_step(
    client: TestClient, finished_jobs: dict[str, int]
) -> None:
    sign_in(client, "researcher")
    job_id = finished_jobs["held"]
    refused = client.get(f"/jobs/{job_id}/outputs/summary.txt", headers=KO)
    assert refused.status_code == 403
    assert "작업 페이지에서 반출을 요청하세요" in html.unescape(refused.text)
    page = client.get(f"/jobs/{job_id}", headers=KO).text
    assert "반출 검토를 통과할 때까지 보류됩니다" in page


@needs_sandbox
def test_check_findings_stored_in_english_read_in_korean_for_the_reviewer(
    client: TestClient, project: int, runner: JobRunner
) -> None:
    rows = """
import os, pathlib, pyarrow.parquet as pq
table = pq.read_table(pathlib.Path(os.environ["BITGOEUL_INPUT_DIR"]) / "patient-visits.parquet")
out = pathlib.Path(os.environ["BITGOEUL_OUTPUT_DIR"])
pq.write_table(table.select(["patient_id", "age"]), out / "rows.parquet")
"""
    csrf = sign_in(client, "researcher")
    job_id = _submitted_id(
        _submit(client, csrf, project, code=_bundle({"main.py": rows}), datasets=["patient-visits"])
    )
    runner.run_until_idle(timeout=60)
    sign_in(client, "cnuh")
    english = client.get(f"/jobs/{job_id}").text
    assert "is the direct identifier" in html.unescape(english)
    korean = html.unescape(client.get(f"/jobs/{job_id}", headers=KO).text)
    assert "직접 식별자 'patient_id'입니다" in korean
    assert "is the direct identifier" not in korean
