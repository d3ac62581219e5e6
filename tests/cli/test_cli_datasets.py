"""The catalog from the shell: create, list, upload with progress, and the validation report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.ingest.workbooks import METER_ROWS, xlsx_bytes
from typer.testing import Result

from bitgoeul.accounts import actions
from bitgoeul.catalog.models import DatasetVersion, IngestRun, IngestStatus
from bitgoeul.cli.datasets import HELD_EXIT_CODE
from bitgoeul.config import Settings

Invoke = Callable[..., Result]
SCHEMA = {
    "fields": [
        {"name": "meter_id", "type": "string"},
        {"name": "day", "type": "date"},
        {"name": "kwh", "type": "number", "constraints": {"minimum": 0}},
    ]
}


@pytest.fixture
def steward(db: Session, settings: Settings) -> str:
    kepco = actions.create_organization(db, slug="kepco", name="KEPCO", kind="agency")
    actions.create_user(
        db,
        username="kepco",
        password="correct-horse-battery",
        role="steward",
        organization_id=kepco.id,
        settings=settings,
    )
    return "kepco"


@pytest.fixture
def dataset(invoke: Invoke, steward: str) -> str:
    result = invoke(
        "dataset", "create", "--title", "Household electricity use", "--title-ko",
        "가정용 전력 사용량", "--sector", "energy", "--access-level", "open",
        "--keyword", "electricity", "--keyword", "전력", "--as", steward,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return "household-electricity-use"


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return path


def test_a_created_dataset_is_listed_with_its_publisher(invoke: Invoke, dataset: str) -> None:
    result = invoke("dataset", "list")
    assert result.exit_code == 0, result.output
    assert dataset in result.output
    assert "kepco" in result.output


def test_dataset_list_searches_korean_words(invoke: Invoke, dataset: str) -> None:
    assert dataset in invoke("dataset", "list", "--q", "전력").output
    assert dataset not in invoke("dataset", "list", "--q", "병원").output


def test_a_researcher_cannot_create_a_dataset(
    invoke: Invoke, db: Session, settings: Settings, steward: str
) -> None:
    actions.create_user(
        db, username="lee", password="correct-horse-battery", role="member", settings=settings
    )
    result = invoke(
        "dataset", "create", "--title", "Mine", "--sector", "energy", "--publisher", "kepco",
        "--as", "lee",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "Traceback" not in result.output


def test_a_bad_option_value_names_the_option(invoke: Invoke, steward: str) -> None:
    result = invoke(
        "dataset", "create", "--title", "X", "--sector", "energy", "--licence", "no spaces!",
        "--as", steward,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--licence" in result.output


def test_upload_publishes_the_next_version(
    invoke: Invoke, dataset: str, steward: str, schema_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "usage.csv"
    source.write_text("meter_id,day,kwh\nM-001,2026-01-01,12.5\nM-002,2026-01-01,8\n")
    result = invoke(
        "dataset", "upload", dataset, str(source), "--schema", str(schema_file), "--as", steward
    )
    assert result.exit_code == 0, result.output
    assert f"Published {dataset} version 1: 2 rows from usage.csv" in result.stdout


def test_an_xlsx_workbook_is_published_with_its_rows(
    invoke: Invoke, dataset: str, steward: str, db: Session, tmp_path: Path
) -> None:
    source = tmp_path / "usage.xlsx"
    source.write_bytes(xlsx_bytes(METER_ROWS))
    result = invoke("dataset", "upload", dataset, str(source), "--as", steward)
    assert result.exit_code == 0, result.output
    assert f"Published {dataset} version 1: 3 rows from usage.xlsx" in result.stdout
    version = db.scalars(select(DatasetVersion)).one()
    assert (version.source_format, version.row_count) == ("xlsx", 3)
    assert [f["name"] for f in version.table_schema["fields"]] == ["meter_id", "district", "kwh"]


def test_an_invalid_file_prints_the_report_and_exits_1(
    invoke: Invoke, dataset: str, steward: str, schema_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "usage.csv"
    source.write_text("meter_id,day,kwh\nM-001,2026-01-01,-4\nM-002,not-a-day,8\n")
    result = invoke(
        "dataset", "upload", dataset, str(source), "--schema", str(schema_file), "--as", steward
    )
    assert result.exit_code == 1
    assert "2 problems in usage.csv" in result.output
    assert "kwh" in result.output
    assert "day" in result.output
    assert "Published" not in result.output
    assert "Traceback" not in result.output


def test_a_schema_that_is_not_json_is_named_with_line_and_column(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path
) -> None:
    broken = tmp_path / "schema.json"
    broken.write_text('{"fields": [\n  {"name": "a",}\n]}')
    source = tmp_path / "usage.csv"
    source.write_text("a\n1\n")
    result = invoke(
        "dataset", "upload", dataset, str(source), "--schema", str(broken), "--as", steward
    )
    assert result.exit_code == 1
    assert "is not valid JSON" in result.output
    assert "line 2" in result.output


def test_upload_to_an_unknown_dataset_is_one_line(
    invoke: Invoke, steward: str, tmp_path: Path
) -> None:
    source = tmp_path / "usage.csv"
    source.write_text("a\n1\n")
    result = invoke("dataset", "upload", "nothing-here", str(source), "--as", steward)
    assert result.exit_code == 1
    assert "Traceback" not in result.output


# Held uploads, the choice, and identical uploads -----------------------------------------

HELD_GOOD = "day,kwh\n2026-11-29,1.5\n2026-11-30,2.5\n2026-12-01,3.0\n"
HELD_BAD = "day,kwh\n2026-11-29,1.5\n2026-11-31,2.5\n2026-12-01,not-a-number\n2026-12-02,0.5\n"


def _file(tmp_path: Path, content: str, name: str = "meters.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _held_run(db: Session) -> int:
    db.expire_all()
    return db.scalars(
        select(IngestRun.id).where(IngestRun.status == IngestStatus.awaiting_choice)
    ).one()


def test_an_upload_with_bad_cells_is_held_and_names_them(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session
) -> None:
    result = invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD)), "--as", steward)
    assert result.exit_code == HELD_EXIT_CODE, result.output
    assert "2026-11-31" in result.output
    assert "not-a-number" in result.output
    assert "publish-run" in result.output
    assert "discard-run" in result.output
    assert db.scalars(select(DatasetVersion)).all() == []


def test_publish_run_publishes_the_held_upload(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session
) -> None:
    invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD)), "--as", steward)
    run = _held_run(db)
    result = invoke("dataset", "publish-run", str(run), "--as", steward)
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    again = invoke("dataset", "publish-run", str(run), "--as", steward)
    assert again.exit_code == 1
    assert "not waiting for a choice" in again.output


def test_discard_run_keeps_earlier_versions(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session
) -> None:
    good = invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_GOOD)), "--as", steward)
    assert good.exit_code == 0, good.output
    invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD, "bad.csv")), "--as", steward)
    result = invoke("dataset", "discard-run", str(_held_run(db)), "--as", steward)
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert [v.number for v in db.scalars(select(DatasetVersion))] == [1]


def test_accept_text_publishes_at_once(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path
) -> None:
    result = invoke(
        "dataset",
        "upload",
        dataset,
        str(_file(tmp_path, HELD_BAD)),
        "--as",
        steward,
        "--accept-text",
    )
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output


def test_an_identical_upload_says_so_and_exits_0(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session
) -> None:
    path = _file(tmp_path, HELD_GOOD)
    assert invoke("dataset", "upload", dataset, str(path), "--as", steward).exit_code == 0
    result = invoke("dataset", "upload", dataset, str(path), "--as", steward)
    assert result.exit_code == 0, result.output
    assert "identical to version 1" in result.output
    assert [v.number for v in db.scalars(select(DatasetVersion))] == [1]


def _korean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LC_ALL", "ko_KR.UTF-8")


def test_a_held_upload_and_the_choice_are_said_in_korean(
    invoke: Invoke,
    dataset: str,
    steward: str,
    tmp_path: Path,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _korean(monkeypatch)
    held = invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD)), "--as", steward)
    assert held.exit_code == HELD_EXIT_CODE, held.output
    run = _held_run(db)
    assert "몇몇 칸 때문에 텍스트로 읽힌 열" in held.output
    assert f"수집 작업 {run}이(가) 선택을 기다립니다" in held.output
    assert f"bitgoeul dataset publish-run {run} --as {steward}" in held.output
    assert "Nothing is published" not in held.output
    published = invoke("dataset", "publish-run", str(run), "--as", steward)
    assert published.exit_code == 0, published.output
    assert f"{dataset} 버전 1을(를) 게시했습니다: 4행, 보류했던 열은 텍스트로." in published.output
    again = invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD)), "--as", steward)
    assert again.exit_code == 0, again.output
    assert "버전 1와(과) 똑같은 파일" in again.output


def test_a_validation_report_is_said_in_korean(
    invoke: Invoke,
    dataset: str,
    steward: str,
    schema_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _korean(monkeypatch)
    source = tmp_path / "usage.csv"
    source.write_text("meter_id,day,kwh\nM-001,2026-01-01,-4\nM-002,not-a-day,8\n")
    result = invoke(
        "dataset", "upload", dataset, str(source), "--schema", str(schema_file), "--as", steward
    )
    assert result.exit_code == 1
    assert "usage.csv에 문제 2건" in result.output
    assert "problems in" not in result.output
    assert "not-a-day" in result.output  # the value is shown as it was
    assert "올바른 date 값이 아닙니다" in result.output  # each problem, in Korean too
    assert "규칙별: minimum 1, type 1" in result.output


def test_another_stewards_choice_is_refused(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session, settings: Settings
) -> None:
    invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_BAD)), "--as", steward)
    kpx = actions.create_organization(db, slug="kpx", name="KPX", kind="agency")
    actions.create_user(
        db,
        username="kpx",
        password="correct-horse-battery",
        role="steward",
        organization_id=kpx.id,
        settings=settings,
    )
    run = _held_run(db)
    for choice in ("publish-run", "discard-run"):
        result = invoke("dataset", choice, str(run), "--as", "kpx")
        assert result.exit_code == 1, result.output
    db.expire_all()
    held = db.get(IngestRun, run)
    assert held is not None
    assert held.status == IngestStatus.awaiting_choice


def test_classify_publishes_the_same_rows_with_new_classes(
    invoke: Invoke, dataset: str, steward: str, tmp_path: Path, db: Session
) -> None:
    invoke("dataset", "upload", dataset, str(_file(tmp_path, HELD_GOOD)), "--as", steward)
    result = invoke("dataset", "classify", dataset, "--class", "kwh=sensitive", "--as", steward)
    assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    latest = db.scalars(select(DatasetVersion).where(DatasetVersion.number == 2)).one()
    assert {f["name"]: f["classification"] for f in latest.table_schema["fields"]}["kwh"] == (
        "sensitive"
    )
    same = invoke("dataset", "classify", dataset, "--class", "kwh=sensitive", "--as", steward)
    assert same.exit_code == 0
    assert "nothing changed" in same.output
    wrong = invoke("dataset", "classify", dataset, "--class", "kwh=secret", "--as", steward)
    assert wrong.exit_code == 1
    assert "not a class" in wrong.output
