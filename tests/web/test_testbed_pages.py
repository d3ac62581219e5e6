"""The testbed's pages, driven through their real forms on the bench city of
``tests/testbed/bench_city.py``: joining, uploading good and bad files, the leaderboards, a
team's history, a submission and its re-runs; who sees what; and that no page ever shows a
label of the hidden test set."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.testbed import bench_city
from tests.testbed.bench_city import LABELS, TASK, Bench, predictions_csv

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.deps import SESSION_COOKIE
from bitgoeul.accounts.models import User
from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings
from bitgoeul.testbed.models import TestbedInvitation, TestbedSubmission, TestbedTeam

# The bench city's fixtures, used here by name.
api, bench, cast = bench_city.api, bench_city.bench, bench_city.cast

HTML = {"accept": "text/html"}
PEOPLE = ["anonymous", "citizen", "member", "teammate", "rival", "steward_of_publisher", "operator"]
# Every way a label could be written on a page: 900.4242, 900.42420, 900.424.
LABEL_TEXTS = {
    text
    for value in LABELS.values()
    for text in (f"{value:.4f}", f"{value:.5f}", f"{value:.3f}", str(value))
}


def as_user(client: TestClient, db: Session, settings: Settings, bench: Bench, who: str) -> str:
    """Sign ``who`` in with a browser session (anyone before signed out); its CSRF token."""
    client.cookies.clear()
    if who == "anonymous":
        return ""
    user = account_queries.get_user(db, bench.cast.actors[who].username)
    assert user is not None
    cookie, csrf = account_actions.start_web_session(db, settings=settings, user=user)
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf


def _alert(page: str) -> str:
    found = re.search(r'id="form-error">(.*?)</p>', page, re.S)
    assert found, "the page shows no error"
    return html.unescape(found.group(1))


def _join(client: TestClient, csrf: str, name: str) -> Any:
    return client.post(
        f"/testbed/{TASK}/teams",
        data={"csrf_token": csrf, "name": name},
        headers=HTML,
        follow_redirects=False,
    )


def _invite(client: TestClient, csrf: str, team: int, username: str) -> Any:
    return client.post(
        f"/testbed/{TASK}/teams/{team}/invitations",
        data={"csrf_token": csrf, "username": username},
        headers=HTML,
        follow_redirects=False,
    )


def _answer(client: TestClient, csrf: str, invitation: int, answer: str, **form: str) -> Any:
    return client.post(
        f"/testbed/invitations/{invitation}/{answer}",
        data={"csrf_token": csrf, **form},
        headers=HTML,
        follow_redirects=False,
    )


def _invitation_id(db: Session, username: str) -> int:
    db.expire_all()
    found = (
        db.query(TestbedInvitation.id)
        .join(User, User.id == TestbedInvitation.user_id)
        .filter(User.username == username)
        .order_by(TestbedInvitation.id.desc())
        .first()
    )
    assert found is not None
    return int(found[0])


def _upload(client: TestClient, csrf: str, content: bytes, name: str = "predictions.csv") -> Any:
    return client.post(
        f"/testbed/{TASK}/submissions",
        data={"csrf_token": csrf, "kind": "predictions", "description": "lag-1 model"},
        files={"file": (name, content, "text/csv")},
        headers=HTML,
        follow_redirects=False,
    )


def _team_id(db: Session, name: str) -> int:
    db.expire_all()
    team_id = db.query(TestbedTeam.id).filter(TestbedTeam.name == name).scalar()
    assert team_id is not None
    return int(team_id)


def _submission_ids(db: Session, team_id: int) -> list[int]:
    db.expire_all()
    rows = db.query(TestbedSubmission.id).filter(TestbedSubmission.team_id == team_id)
    return sorted(int(r[0]) for r in rows)


def _file(*, drop: str = "", extra: str = "", replace: tuple[str, str] | None = None) -> bytes:
    """A predictions file half a kWh off every label (so no value in it is a label), spoiled."""
    lines = predictions_csv(shift=0.5).decode().splitlines()
    lines = [line for line in lines if not (drop and line.startswith(f"{drop},"))]
    if replace:
        lines = [
            f"{replace[0]},{replace[1]}" if line.startswith(f"{replace[0]},") else line
            for line in lines
        ]
    return ("\n".join(lines) + "\n" + extra).encode()


BAD_FILES = {
    "missing id": (_file(drop="T007"), "T007"),
    "duplicate id": (_file(extra="T003,1.0\n"), "T003"),
    "unknown id": (_file(extra="X999,1.0\n"), "X999"),
    "bad number": (_file(replace=("T005", "lots")), "lots"),
}


@pytest.fixture
def journey(client: TestClient, db: Session, settings: Settings, bench: Bench) -> dict[str, int]:
    """The member's team and the rival's each submit; the organizer a baseline; the operator
    re-runs the member's submission.  The ids of what was made."""
    csrf = as_user(client, db, settings, bench, "member")
    assert _join(client, csrf, "Gwangju Forecasters").status_code == 303
    team = _team_id(db, "Gwangju Forecasters")
    invited = _invite(client, csrf, team, "teammate")
    assert invited.status_code == 303, invited.text[:500]
    assert _upload(client, csrf, predictions_csv(shift=1.5)).status_code == 303
    for content, _ in BAD_FILES.values():
        assert _upload(client, csrf, content).status_code == 422
    submission = _submission_ids(db, team)[0]

    csrf = as_user(client, db, settings, bench, "teammate")
    accepted = _answer(client, csrf, _invitation_id(db, "teammate"), "accept")
    assert accepted.headers["location"] == f"/testbed/{TASK}?done=invitation_accepted#team"

    csrf = as_user(client, db, settings, bench, "rival")
    assert _join(client, csrf, "Rivals").status_code == 303
    assert _upload(client, csrf, predictions_csv(shift=3.0)).status_code == 303

    csrf = as_user(client, db, settings, bench, "steward_of_publisher")
    assert _upload(client, csrf, predictions_csv(shift=5.0)).status_code == 303

    csrf = as_user(client, db, settings, bench, "operator")
    rerun = client.post(
        f"/testbed/{TASK}/submissions/{submission}/reruns",
        data={"csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert rerun.status_code == 303, rerun.text[:500]
    client.cookies.clear()
    return {
        "team": team,
        "rival_team": _team_id(db, "Rivals"),
        "organizer_team": _team_id(db, "Organizer baseline"),
        "submission": submission,
    }


# The pages -----------------------------------------------------------------------------------


def test_the_task_list_shows_every_task_with_its_phase_and_counts(
    client: TestClient, bench: Bench
) -> None:
    page = client.get("/testbed", headers=HTML)
    assert page.status_code == 200
    assert f'href="/testbed/{TASK}"' in page.text
    assert "Next-day household demand" in page.text
    assert "Development" in page.text
    assert "<code>mae</code>" in page.text


def test_the_task_page_names_the_label_column_and_how_to_submit(
    client: TestClient, bench: Bench
) -> None:
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert f'href="/datasets/{bench.training.slug}"' in page
    assert "<code>kwh</code>" in page
    assert f"bitgoeul testbed submit {TASK} predictions.csv" in page
    assert f"bitgoeul testbed submit {TASK} ./model-dir" in page
    assert "$BITGOEUL_OUTPUT_DIR/predictions.csv" in page
    assert 'id="private-hidden"' in page
    assert "Sign in to join this task." in page
    # The test inputs are for participants: no link for a visitor.
    assert "test-inputs?format=csv" not in page


def test_the_task_page_speaks_korean(client: TestClient, bench: Bench) -> None:
    page = client.get(f"/testbed/{TASK}?lang=ko", headers=HTML).text
    assert "공개 리더보드" in page
    assert "제출 방법" in page


def test_the_metric_is_described_in_the_readers_language(client: TestClient, bench: Bench) -> None:
    english = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert "Mean absolute error." in english
    korean = client.get(f"/testbed/{TASK}?lang=ko", headers=HTML).text
    assert "평균 절대 오차(MAE)." in korean
    assert "Mean absolute error" not in korean


def test_a_researcher_joins_uploads_and_sees_the_score_on_the_board(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    joined = _join(client, csrf, "Gwangju Forecasters")
    assert joined.headers["location"] == f"/testbed/{TASK}?done=joined#team"
    page = client.get(joined.headers["location"], headers=HTML).text
    assert "Your team is in." in page
    assert 'id="submit-form"' in page
    assert "Submissions left today: 3 of 3." in page
    assert "test-inputs?format=csv" in page

    sent = _upload(client, csrf, predictions_csv(shift=1.5))
    assert sent.status_code == 303
    page = client.get(sent.headers["location"], headers=HTML).text
    assert '<strong id="just-score">1.5000</strong>' in page
    assert "Submissions left today: 2 of 3." in page
    board = page.split('id="public-board"')[1].split("</table>")[0]
    assert "Gwangju Forecasters" in board
    assert "1.5000" in board


@pytest.mark.parametrize("problem", list(BAD_FILES))
def test_a_bad_file_is_refused_with_a_precise_error(
    client: TestClient, db: Session, settings: Settings, bench: Bench, problem: str
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    _join(client, csrf, "Gwangju Forecasters")
    content, named = BAD_FILES[problem]
    refused = _upload(client, csrf, content)
    assert refused.status_code == 422
    message = _alert(refused.text)
    assert named in message
    assert 'id="submit-form"' in refused.text  # the form is there to try again
    # A refused file is not counted against the day.
    assert "Submissions left today: 3 of 3." in refused.text


def test_the_daily_limit_is_shown_as_the_error_of_the_form(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    _join(client, csrf, "Gwangju Forecasters")
    for shift in (1.0, 2.0, 3.0):
        assert _upload(client, csrf, predictions_csv(shift=shift)).status_code == 303
    refused = _upload(client, csrf, predictions_csv(shift=4.0))
    assert refused.status_code == 429
    assert "used its 3 submissions for today" in _alert(refused.text)
    assert "Submissions left today: 0 of 3." in refused.text


def test_a_taken_team_name_is_refused_on_the_page(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    _join(client, csrf, "Gwangju Forecasters")
    csrf = as_user(client, db, settings, bench, "rival")
    refused = _join(client, csrf, "gwangju forecasters")
    assert refused.status_code == 409
    assert "already has a team named" in _alert(refused.text)
    assert 'id="join-form"' in refused.text


def test_the_organizer_cannot_join_but_submits_the_unranked_baseline(
    client: TestClient, db: Session, settings: Settings, bench: Bench, journey: dict[str, int]
) -> None:
    as_user(client, db, settings, bench, "operator")
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert 'id="label-holder"' in page
    assert 'id="join-form"' not in page
    board = page.split('id="public-board"')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", board, re.S)[1:]
    cells = [re.sub(r"<[^>]+>", " ", row).split() for row in rows]
    assert [c[:2] for c in cells] == [["1", "Gwangju"], ["2", "Rivals"], ["baseline", "Organizer"]]


def test_the_team_history_lists_good_submissions_and_hides_private_scores(
    client: TestClient, db: Session, settings: Settings, bench: Bench, journey: dict[str, int]
) -> None:
    as_user(client, db, settings, bench, "teammate")
    page = client.get(f"/testbed/{TASK}/teams/{journey['team']}", headers=HTML)
    assert page.status_code == 200
    assert "predictions.csv" in page.text
    assert '<td class="public-score">1.5000</td>' in page.text
    assert '<td class="private-score">—</td>' in page.text
    assert "researcher, teammate" in page.text


def test_the_operator_reruns_a_submission_and_sees_it_match(
    client: TestClient, db: Session, settings: Settings, bench: Bench, journey: dict[str, int]
) -> None:
    as_user(client, db, settings, bench, "operator")
    page = client.get(f"/testbed/{TASK}/submissions/{journey['submission']}", headers=HTML).text
    assert 'id="rerun-list"' in page
    assert '<td class="matches">yes</td>' in page
    assert "hidden until the deadline" in page


def test_only_operators_rerun(
    client: TestClient, db: Session, settings: Settings, bench: Bench, journey: dict[str, int]
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    url = f"/testbed/{TASK}/submissions/{journey['submission']}"
    assert 'id="rerun-list"' not in client.get(url, headers=HTML).text
    refused = client.post(f"{url}/reruns", data={"csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 403
    assert "Only operators re-run" in _alert(refused.text)


# Who may open what ---------------------------------------------------------------------------

HISTORY = {
    "anonymous": 401,
    "citizen": 403,
    "rival": 403,
    "member": 200,
    "teammate": 200,
    "steward_of_publisher": 200,
    "operator": 200,
}
SUBMISSION = {**HISTORY, "citizen": 404, "rival": 404}


@pytest.mark.parametrize("who", PEOPLE)
def test_who_may_open_a_team_history_and_a_submission(
    client: TestClient,
    db: Session,
    settings: Settings,
    bench: Bench,
    journey: dict[str, int],
    who: str,
) -> None:
    as_user(client, db, settings, bench, who)
    history = client.get(f"/testbed/{TASK}/teams/{journey['team']}", headers=HTML)
    assert history.status_code == HISTORY[who], history.text[:300]
    assert history.headers["content-type"].startswith("text/html")
    one = client.get(f"/testbed/{TASK}/submissions/{journey['submission']}", headers=HTML)
    assert one.status_code == SUBMISSION[who], one.text[:300]
    for public in ("/testbed", f"/testbed/{TASK}"):
        assert client.get(public, headers=HTML).status_code == 200


@pytest.mark.parametrize("who", PEOPLE)
def test_each_person_sees_the_forms_that_are_theirs(
    client: TestClient,
    db: Session,
    settings: Settings,
    bench: Bench,
    journey: dict[str, int],
    who: str,
) -> None:
    as_user(client, db, settings, bench, who)
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    on_team = who in ("member", "teammate", "rival", "steward_of_publisher")
    assert ('id="submit-form"' in page) == on_team
    assert ('id="invite-form"' in page) == on_team
    assert ('id="join-form"' in page) == (who == "citizen")
    assert ("test-inputs?format=csv" in page) == on_team


FORMS = [
    f"/testbed/{TASK}/teams",
    f"/testbed/{TASK}/teams/1/invitations",
    f"/testbed/{TASK}/terms",
    "/testbed/invitations/1/accept",
    "/testbed/invitations/1/decline",
    f"/testbed/{TASK}/submissions",
    f"/testbed/{TASK}/submissions/1/reruns",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_its_csrf_token(
    client: TestClient, db: Session, settings: Settings, bench: Bench, path: str
) -> None:
    as_user(client, db, settings, bench, "member")
    response = client.post(path, data={"name": "x", "username": "x"}, headers=HTML)
    assert response.status_code == 403
    assert "CSRF token" in response.text


def test_anonymous_form_posts_ask_to_sign_in(client: TestClient, bench: Bench) -> None:
    response = client.post(f"/testbed/{TASK}/teams", data={"name": "x"}, headers=HTML)
    assert response.status_code == 401


# No page ever shows a label ------------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE)
def test_no_page_shows_a_label_of_the_hidden_test_set(
    client: TestClient,
    db: Session,
    settings: Settings,
    bench: Bench,
    journey: dict[str, int],
    who: str,
) -> None:
    as_user(client, db, settings, bench, who)
    db.expire_all()
    submissions = [s.id for s in db.query(TestbedSubmission)]
    urls = ["/testbed", f"/testbed/{TASK}", f"/testbed/{TASK}?lang=ko"]
    urls += [
        f"/testbed/{TASK}/teams/{journey[k]}" for k in ("team", "rival_team", "organizer_team")
    ]
    urls += [f"/testbed/{TASK}/submissions/{s}" for s in submissions]
    for url in urls:
        body = client.get(url, headers=HTML).text
        shown = {text for text in LABEL_TEXTS if text in body}
        assert not shown, f"{url} shows labels {sorted(shown)} to {who}"
    # Nor does a refused upload's error, nor the form shown again with it.
    if who in ("member", "rival"):
        csrf = as_user(client, db, settings, bench, who)
        for content, _ in BAD_FILES.values():
            body = _upload(client, csrf, content).text
            shown = {text for text in LABEL_TEXTS if text in body}
            assert not shown, f"a refused upload shows labels {sorted(shown)}"


# Invitations and terms -----------------------------------------------------------------------


def test_an_invitee_answers_on_their_invitations_page(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    _join(client, csrf, "Gwangju Forecasters")
    team = _team_id(db, "Gwangju Forecasters")
    invited = _invite(client, csrf, team, "teammate")
    assert invited.headers["location"] == f"/testbed/{TASK}?done=invited#team"
    page = client.get(invited.headers["location"], headers=HTML).text
    assert "Invitation sent." in page
    assert re.search(r'id="team-invitations">\s*<li>teammate · ', page)
    assert "researcher, teammate" not in page  # not a member until they accept

    csrf = as_user(client, db, settings, bench, "teammate")
    listing = client.get("/testbed", headers=HTML).text
    assert "Your invitations (1 waiting)" in listing
    task_page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert 'id="my-invitations"' in task_page
    assert 'id="join-form"' in task_page  # free to open a team of their own instead
    invitation = _invitation_id(db, "teammate")
    mine = client.get("/testbed/invitations", headers=HTML)
    assert mine.status_code == 200
    assert f'action="/testbed/invitations/{invitation}/accept"' in mine.text
    declined = _answer(client, csrf, invitation, "decline")
    assert declined.headers["location"] == "/testbed/invitations?done=invitation_declined"
    page = client.get(declined.headers["location"], headers=HTML).text
    assert "Invitation declined." in page
    assert f'action="/testbed/invitations/{invitation}/accept"' not in page
    assert _answer(client, csrf, invitation, "accept").status_code == 409


@pytest.mark.parametrize("who", ["citizen", "member", "rival", "steward_of_publisher", "operator"])
def test_only_the_invitee_answers_on_the_page(
    client: TestClient, db: Session, settings: Settings, bench: Bench, who: str
) -> None:
    csrf = as_user(client, db, settings, bench, "member")
    _join(client, csrf, "Gwangju Forecasters")
    _invite(client, csrf, _team_id(db, "Gwangju Forecasters"), "teammate")
    invitation = _invitation_id(db, "teammate")
    csrf = as_user(client, db, settings, bench, who)
    for answer in ("accept", "decline"):
        refused = _answer(client, csrf, invitation, answer)
        assert refused.status_code == 404
        assert f"no testbed invitation {invitation} for you" in _alert(refused.text)
    client.cookies.clear()
    assert client.get("/testbed/invitations", headers=HTML).status_code == 401


def test_a_task_with_terms_shows_them_and_asks_to_accept_them_to_join(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    changed = client.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"terms": "Use the inputs for this task only."},
        headers=bench.headers("steward_of_publisher"),
    )
    assert changed.status_code == 200, changed.text
    csrf = as_user(client, db, settings, bench, "member")
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert 'id="terms-text"' in page
    assert "Use the inputs for this task only." in page
    assert 'name="accept_terms"' in page
    refused = _join(client, csrf, "Gwangju Forecasters")
    assert refused.status_code == 422
    assert "has terms" in _alert(refused.text)
    joined = client.post(
        f"/testbed/{TASK}/teams",
        data={"csrf_token": csrf, "name": "Gwangju Forecasters", "accept_terms": "yes"},
        headers=HTML,
        follow_redirects=False,
    )
    assert joined.status_code == 303
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert 'id="terms-form"' not in page
    client.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"terms": "Use the inputs for this task only, and delete them."},
        headers=bench.headers("steward_of_publisher"),
    )
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert 'id="terms-form"' in page
    accepted = client.post(
        f"/testbed/{TASK}/terms",
        data={"csrf_token": csrf, "accept_terms": "yes"},
        headers=HTML,
        follow_redirects=False,
    )
    assert accepted.headers["location"] == f"/testbed/{TASK}?done=terms_accepted#team"
    assert 'id="terms-form"' not in client.get(f"/testbed/{TASK}", headers=HTML).text


def test_the_invitations_page_speaks_korean(
    client: TestClient, db: Session, settings: Settings, bench: Bench
) -> None:
    as_user(client, db, settings, bench, "teammate")
    page = client.get("/testbed/invitations?lang=ko", headers=HTML).text
    assert "테스트베드 초대" in page
    assert "받은 초대가 없습니다." in page


# The test inputs, downloaded from the task's page --------------------------------------------


def _testbed_inputs_events(db: Session) -> list[tuple[str, str]]:
    db.expire_all()
    rows = db.query(AuditEvent.actor_name, AuditEvent.outcome).filter(
        AuditEvent.action == "dataset.testbed_inputs"
    )
    return [(str(name), str(outcome)) for name, outcome in rows]


@pytest.mark.parametrize("who", PEOPLE)
def test_the_page_download_of_the_test_inputs_is_the_apis_decision_and_audited(
    client: TestClient,
    api: TestClient,
    db: Session,
    settings: Settings,
    bench: Bench,
    journey: dict[str, int],
    who: str,
) -> None:
    as_user(client, db, settings, bench, who)
    before = len(_testbed_inputs_events(db))
    page = client.get(f"/testbed/{TASK}/test-inputs?format=csv", headers=HTML)
    by_api = api.get(f"/api/v1/testbed/tasks/{TASK}/test-inputs", headers=bench.headers(who))
    assert page.status_code == by_api.status_code, page.text[:500]
    # Participants, and the operators who run the hub.
    may = who in ("member", "teammate", "rival", "steward_of_publisher", "operator")
    assert (page.status_code == 200) == may
    for label in LABEL_TEXTS:
        assert label not in page.text
    if may:
        assert page.text.splitlines()[0] == "id,household,prev_kwh"
        assert "attachment" in page.headers["content-disposition"]
        # One decision audited for the page's download, one for the API's.
        assert len(_testbed_inputs_events(db)) == before + 2
    else:
        # A refusal is a page that says what to do, in the person's language.
        assert page.headers["content-type"].startswith("text/html")
        assert "/api/" not in page.text.split("<main", 1)[-1].split("</main>", 1)[0]


def test_the_task_page_links_the_test_inputs_to_pages_not_the_api(
    client: TestClient, db: Session, settings: Settings, bench: Bench, journey: dict[str, int]
) -> None:
    as_user(client, db, settings, bench, "member")
    page = client.get(f"/testbed/{TASK}", headers=HTML).text
    assert f'href="/testbed/{TASK}/test-inputs?format=csv"' in page
    assert f'href="/testbed/{TASK}/test-inputs?format=parquet"' in page
    assert 'href="/api/v1/testbed' not in page
    parquet = client.get(f"/testbed/{TASK}/test-inputs?format=parquet", headers=HTML)
    assert parquet.status_code == 200
    assert parquet.content[:4] == b"PAR1"
