"""The SQL gateway from the shell: a researcher's journey from request to rows, revocation,
exports, and the steward's view of every use of their data in the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from tests.cli.outcomes import ok, refused
from typer.testing import Result

Invoke = Callable[..., Result]
STEWARD, RESEARCHER = "kepco-steward", "researcher"
VISITS = 'SELECT patient_id, age FROM "clinic-visits" ORDER BY age'
pytestmark = pytest.mark.usefixtures("city")


@pytest.fixture
def project(invoke: Invoke) -> str:
    """The researcher's project, holding an agreement on the restricted clinic visits."""
    ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Flu season",
            "--purpose", "health-research", "--justification", "Plan clinic staffing.",
        )
    )  # fmt: skip
    ok(
        invoke(
            "request", "create", "--as", RESEARCHER, "--project", "1", "--dataset", "clinic-visits"
        )
    )
    ok(invoke("request", "approve", "1", "--as", STEWARD))
    return "1"


def _rows(output: str) -> list[dict[str, Any]]:
    body = json.loads(output)
    return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


def test_an_approved_researcher_sees_pseudonymised_identifiers(
    invoke: Invoke, project: str
) -> None:
    output = ok(
        invoke("query", "run", VISITS, "--project", project, "--as", RESEARCHER, "--format", "json")
    )
    rows = _rows(output)
    assert [row["age"] for row in rows] == list(range(31, 39))
    assert all(re.fullmatch(r"[0-9a-f]{8,64}", row["patient_id"]) for row in rows)
    assert not any(row["patient_id"].startswith("P0") for row in rows)


def test_query_run_prints_a_table_with_the_dataset_version(invoke: Invoke, project: str) -> None:
    output = ok(invoke("query", "run", VISITS, "--project", project, "--as", RESEARCHER))
    assert "patient_id" in output
    assert "8 rows from clinic-visits v1" in output
    assert "P0001" not in output


def test_restricted_data_without_a_project_isrefused(invoke: Invoke, project: str) -> None:
    error = refused(invoke("query", "run", VISITS, "--as", RESEARCHER))
    assert "restricted data needs an approved project agreement" in error


def test_the_stewards_revocation_stops_the_next_query(invoke: Invoke, project: str) -> None:
    ok(invoke("query", "run", VISITS, "--project", project, "--as", RESEARCHER))
    ok(invoke("agreement", "revoke", "1", "--as", STEWARD, "--reason", "Consent withdrawn"))
    error = refused(invoke("query", "run", VISITS, "--project", project, "--as", RESEARCHER))
    assert "Dataset 'clinic-visits'" in error
    assert f"project {project} has no active agreement" in error


def test_anyone_may_query_open_data_without_signing_in(invoke: Invoke) -> None:
    sql = 'SELECT district, population FROM "district-population" ORDER BY population DESC'
    output = ok(invoke("query", "run", sql, "--format", "csv"))
    assert list(csv.reader(io.StringIO(output))) == [
        ["district", "population"],
        ["Buk", "430000"],
        ["Seo", "290000"],
        ["Nam", "210000"],
    ]


def test_anonymous_queries_on_restricted_data_arerefused(invoke: Invoke) -> None:
    assert "sign in" in refused(invoke("query", "run", VISITS))


def test_a_syntax_error_shows_the_line_of_sql_with_a_caret(invoke: Invoke) -> None:
    result = invoke(
        "query", "run", 'SELECT district,\n  population\nFROM "district-population" WHERE'
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Error: Query refused: syntax error at line 3, column 28:")
    assert "WHERE" in lines[0]
    assert lines[1:] == ['  FROM "district-population" WHERE', " " * 29 + "^"]


def test_errors_are_in_korean_when_the_locale_is_korean(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    result = invoke("query", "run", 'SELECT * FROM "district-population" WHERE')
    assert result.exit_code == 1
    assert result.output.startswith("오류: 쿼리 거부: 1행 37열의 구문 오류")


def test_a_query_is_read_from_a_file(invoke: Invoke, tmp_path: Path) -> None:
    query = tmp_path / "population.sql"
    query.write_text('SELECT count(*) AS districts FROM "district-population"\n', "utf-8")
    output = ok(invoke("query", "run", "--file", str(query), "--format", "json"))
    assert _rows(output) == [{"districts": 3}]


def test_the_query_is_given_once(invoke: Invoke, tmp_path: Path) -> None:
    query = tmp_path / "q.sql"
    query.write_text("SELECT 1", "utf-8")
    assert "not both" in refused(invoke("query", "run", "SELECT 1", "--file", str(query)))
    assert "either as the SQL argument or with --file" in refused(invoke("query", "run"))


def test_secure_data_shows_how_many_groups_were_suppressed(invoke: Invoke) -> None:
    ok(
        invoke(
            "project", "create", "--as", RESEARCHER, "--title", "Incomes",
            "--purpose", "academic-research", "--justification", "District averages.",
        )
    )  # fmt: skip
    ok(
        invoke(
            "request", "create", "--as", RESEARCHER, "--project", "1", "--dataset", "income-survey"
        )
    )
    ok(invoke("request", "approve", "1", "--as", STEWARD))
    sql = 'SELECT district, count(*) AS people FROM "income-survey" GROUP BY district'
    output = ok(invoke("query", "run", sql, "--project", "1", "--as", RESEARCHER))
    assert "Buk" in output
    assert "Seo" not in output  # 4 people: fewer than the minimum group size
    assert "1 group was suppressed by disclosure control" in output


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_an_export_writes_a_readable_file(
    invoke: Invoke, project: str, tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / f"visits.{suffix}"
    output = ok(
        invoke(
            "query", "run", VISITS, "--project", project, "--as", RESEARCHER,
            "--output", str(target),
        )
    )  # fmt: skip
    assert f"Wrote the query's result to {target}" in output
    if suffix == "parquet":
        table = pq.read_table(target).to_pylist()
    else:
        table = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(table) == 8
    assert not any(str(row["patient_id"]).startswith("P0") for row in table)


def test_an_export_to_an_unknown_format_isrefused(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "visits.xlsx"
    error = refused(invoke("query", "run", VISITS, "--output", str(target)))
    assert "--output must end in .csv or .parquet" in error
    assert not target.exists()


def test_the_steward_sees_the_query_decision_on_their_data_in_the_audit_log(
    invoke: Invoke, project: str
) -> None:
    ok(invoke("query", "run", VISITS, "--project", project, "--as", RESEARCHER))
    log = ok(invoke("audit", "list", "--as", STEWARD, "--dataset", "clinic-visits", "--json"))
    decisions = [e for e in json.loads(log) if e["action"] == "dataset.query_decision"]
    assert len(decisions) == 1
    assert decisions[0]["actor_name"] == RESEARCHER
    assert decisions[0]["outcome"] == "ok"
    assert decisions[0]["detail"]["project"] == int(project)
    table = ok(invoke("audit", "list", "--as", STEWARD, "--action", "dataset"))
    assert "dataset.query_decision" in table
    assert "researcher" in table


def test_a_researcher_reads_only_their_own_audit_entries(invoke: Invoke, project: str) -> None:
    log = json.loads(ok(invoke("audit", "list", "--as", RESEARCHER, "--json", "--limit", "500")))
    assert log
    assert {e["actor_name"] for e in log} == {RESEARCHER}
