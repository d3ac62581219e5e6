"""No door lets a participant read the hidden labels: not the testbed's, not the platform's."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from tests.compute.job_city import make_bundle
from tests.governance.test_decision_agreements import ACTORS, CONTEXTS, GOVERNORS, PUBLISHER
from tests.testbed.bench_city import (
    LABELS,
    TASK,
    Bench,
    SubmitFile,
    join,
    predictions_csv,
)

from bitgoeul.catalog.models import AccessLevel, Dataset
from bitgoeul.governance.decision import DataAction, DecisionContext, TestbedTerms, decide

TESTBED_ACTIONS = [DataAction.testbed_inputs, DataAction.testbed_score]
INPUTS = ["id", "household", "prev_kwh"]


def _terms(participant: bool) -> TestbedTerms:
    return TestbedTerms(
        task=TASK,
        input_columns=INPUTS,
        id_column="id",
        label_column="kwh",
        is_participant=participant,
        terms_accepted=False,
        organization_id=None,
    )


@pytest.mark.parametrize("action", TESTBED_ACTIONS)
@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize("participant", [True, False])
@pytest.mark.parametrize("holdout", [True, False])
def test_the_testbed_doors_open_only_to_participants_and_governors_on_a_hidden_test_set(
    action: DataAction, who: str, participant: bool, holdout: bool
) -> None:
    dataset = Dataset(
        slug="labels", publisher_id=PUBLISHER, holdout=holdout, access_level=AccessLevel.open
    )
    # Even an agreement on the dataset changes nothing: only the task's terms count.
    base = CONTEXTS["member_with_agreement"]
    assert base is not None
    context = replace(base, testbed=_terms(participant))
    decision = decide(ACTORS[who], action, dataset, context=context)
    expected = holdout and who != "anonymous" and (participant or who in GOVERNORS)
    assert decision.allowed == expected, decision.reason
    if decision.allowed and action == DataAction.testbed_inputs:
        assert decision.obligations.visible_columns == INPUTS


@pytest.mark.parametrize("action", TESTBED_ACTIONS)
@pytest.mark.parametrize("who", list(ACTORS))
def test_without_a_task_the_testbed_doors_stay_shut_even_for_governors(
    action: DataAction, who: str
) -> None:
    dataset = Dataset(slug="labels", publisher_id=PUBLISHER, holdout=True)
    assert not decide(ACTORS[who], action, dataset, context=DecisionContext()).allowed
    assert not decide(ACTORS[who], action, dataset).allowed


# Whole values with their decimal point: a bare "4242" may turn up inside a sha256 or a time.
LABEL_TEXTS = [f"{value:.4f}" for value in LABELS.values()]


def _no_label_in(text: str) -> None:
    for label in LABEL_TEXTS:
        assert label not in text, text[:800]


def test_a_participants_test_inputs_hold_every_row_and_no_label(
    api: TestClient, bench: Bench
) -> None:
    join(api, bench, "member", "Forecasters")
    headers = bench.headers("member")
    as_csv = api.get(f"/api/v1/testbed/tasks/{TASK}/test-inputs", headers=headers)
    assert as_csv.status_code == 200, as_csv.text
    lines = as_csv.text.strip().splitlines()
    assert lines[0] == "id,household,prev_kwh"
    assert len(lines) == len(LABELS) + 1
    _no_label_in(as_csv.text)
    as_parquet = api.get(
        f"/api/v1/testbed/tasks/{TASK}/test-inputs", params={"format": "parquet"}, headers=headers
    )
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == ["id", "household", "prev_kwh"]


@pytest.mark.parametrize("who", ["anonymous", "citizen", "rival", "steward_of_other_org"])
def test_test_inputs_are_for_participants_only(api: TestClient, bench: Bench, who: str) -> None:
    response = api.get(f"/api/v1/testbed/tasks/{TASK}/test-inputs", headers=bench.headers(who))
    assert response.status_code in (401, 403)
    _no_label_in(response.text)


def test_joining_a_task_opens_no_platform_door_to_the_test_set(
    api: TestClient, bench: Bench
) -> None:
    join(api, bench, "member", "Forecasters")
    headers = bench.headers("member")
    slug = bench.test_set.slug
    project = api.post(
        "/api/v1/projects",
        json={"title": "Try", "purpose": "ai-model-training", "justification": "tests"},
        headers=headers,
    ).json()
    attempts = [
        api.get(f"/api/v1/datasets/{slug}/preview", headers=headers),
        api.get(f"/api/v1/datasets/{slug}/download", params={"format": "csv"}, headers=headers),
        api.post("/api/v1/query", json={"sql": f'SELECT * FROM "{slug}"'}, headers=headers),
        api.post(
            "/api/v1/query/export", json={"sql": f'SELECT avg(kwh) FROM "{slug}"'}, headers=headers
        ),
        api.post(
            "/api/v1/jobs",
            files={"bundle": ("c.zip", make_bundle({"main.py": "print(1)"}), "application/zip")},
            data={
                "spec": json.dumps(
                    {"project": project["id"], "datasets": [slug], "entrypoint": "main.py"}
                )
            },
            headers=headers,
        ),
        api.post(
            "/api/v1/access-requests",
            json={"project": project["id"], "dataset": slug, "days": 30},
            headers=headers,
        ),
    ]
    for response in attempts[:5]:
        assert response.status_code in (403, 404), response.text
        _no_label_in(response.text)
    _no_label_in(attempts[5].text)


@pytest.mark.parametrize(
    "content",
    [
        b"id,prediction\nT000,1\n",  # missing ids
        b"id,prediction\n" + b"".join(f"T{i:03d},1\n".encode() for i in range(40)) + b"T001,2\n",
        b"id,prediction\n" + b"".join(f"X{i:03d},1\n".encode() for i in range(40)),
        b"id,prediction\n" + b"".join(f"T{i:03d},many\n".encode() for i in range(40)),
        b"id,guess\n" + b"".join(f"T{i:03d},1\n".encode() for i in range(40)),
        b"\x00\x01PK binary",
        b"",
    ],
)
def test_no_refusal_of_a_bad_file_mentions_a_label(
    api: TestClient, bench: Bench, submit_file: SubmitFile, content: bytes
) -> None:
    join(api, bench, "member", "Forecasters")
    refused = submit_file(content)
    assert refused.status_code == 422, refused.text
    _no_label_in(refused.text)


def test_the_public_task_routes_never_show_a_label(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    join(api, bench, "member", "Forecasters")
    submission = submit_file(predictions_csv(shift=1.0)).json()
    for who in ("anonymous", "member", "rival"):
        headers = bench.headers(who)
        for path in (
            "/api/v1/testbed/tasks",
            f"/api/v1/testbed/tasks/{TASK}",
            f"/api/v1/testbed/tasks/{TASK}/teams",
            f"/api/v1/testbed/tasks/{TASK}/leaderboard",
            f"/api/v1/testbed/tasks/{TASK}/leaderboard?board=private",
            f"/api/v1/testbed/submissions/{submission['id']}",
        ):
            _no_label_in(api.get(path, headers=headers).text)


def test_another_teams_history_and_submissions_are_not_shown(
    api: TestClient, bench: Bench, submit_file: SubmitFile
) -> None:
    team = join(api, bench, "member", "Forecasters").json()
    submission = submit_file(predictions_csv(shift=1.0)).json()
    join(api, bench, "rival", "Rivals")
    rival = bench.headers("rival")
    history = api.get(f"/api/v1/testbed/tasks/{TASK}/teams/{team['id']}/submissions", headers=rival)
    assert history.status_code == 403
    assert (
        api.get(f"/api/v1/testbed/submissions/{submission['id']}", headers=rival).status_code == 404
    )
    for who in ("member", "steward_of_publisher", "operator"):
        seen = api.get(
            f"/api/v1/testbed/tasks/{TASK}/teams/{team['id']}/submissions",
            headers=bench.headers(who),
        )
        assert seen.status_code == 200
        assert [s["id"] for s in seen.json()] == [submission["id"]]


def test_a_models_only_task_keeps_its_test_inputs_on_the_hub(api: TestClient, bench: Bench) -> None:
    join(api, bench, "member", "Forecasters")
    changed = api.patch(
        f"/api/v1/testbed/tasks/{TASK}",
        json={"accepts_predictions": False},
        headers=bench.headers("steward_of_publisher"),
    )
    assert changed.status_code == 200
    refused = api.get(f"/api/v1/testbed/tasks/{TASK}/test-inputs", headers=bench.headers("member"))
    assert refused.status_code == 403
    assert "takes models only" in refused.json()["detail"]
