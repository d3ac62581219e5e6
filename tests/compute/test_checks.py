"""The automatic output checks a release review runs on what a finished job wrote.

The inputs are a small demo city: 240 residents in four districts, 30 of each sex per district,
with two direct identifiers (a person number and a resident registration number).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitgoeul.compute import checks
from bitgoeul.compute.checks import (
    DEFAULT_ALLOWED,
    CheckReport,
    DatasetRules,
    Finding,
    check_outputs,
)

DISTRICTS = ["동구", "서구", "남구", "북구"]
K = 10


def _resident(n: int) -> dict[str, Any]:
    return {
        "person_id": f"P{n:05d}",
        "resident_no": f"{900101 + n:06d}-{1000000 + n:07d}",
        "district": DISTRICTS[n % 4],
        "sex": "FM"[(n // 4) % 2],
        "age_band": ["20s", "30s", "40s"][(n // 8) % 3],
        "income": 3000 + (n % 7) * 100,
    }


RESIDENTS = [_resident(n) for n in range(240)]


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _write_csv(path: Path, rows: list[dict[str, Any]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def residents(tmp_path_factory: pytest.TempPathFactory) -> DatasetRules:
    path = _write_parquet(tmp_path_factory.mktemp("inputs") / "residents.parquet", RESIDENTS)
    return DatasetRules(
        slug="residents",
        parquet=path,
        min_group_size=K,
        identifier_columns=frozenset({"person_id", "resident_no"}),
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def _checks(report: CheckReport, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


def _assert_no_identifier_values(report: CheckReport) -> None:
    values = {r["person_id"] for r in RESIDENTS} | {r["resident_no"] for r in RESIDENTS}
    for finding in report.findings:
        text = finding.message + json.dumps(finding.detail, ensure_ascii=False)
        assert not any(value in text for value in values), finding


def _aggregate(by: tuple[str, ...]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in RESIDENTS:
        groups.setdefault(tuple(row[c] for c in by), []).append(row)
    return [
        {
            **dict(zip(by, key, strict=True)),
            "n": len(rows),
            "income": sum(r["income"] for r in rows),
        }
        for key, rows in sorted(groups.items())
    ]


# The "done when" -------------------------------------------------------------------


def test_an_aggregate_with_a_group_under_k_is_blocked(out: Path, residents: DatasetRules) -> None:
    rows = _aggregate(("district", "sex", "age_band"))
    rows.append({"district": "동구", "sex": "F", "age_band": "70s", "n": 3, "income": 9000})
    _write_csv(out / "by_group.csv", rows)

    report = check_outputs(out, [residents])

    assert report.blocked
    [small] = _checks(report, "small_group")
    assert small.severity == "block"
    assert small.detail == {"column": "n", "rows": 1, "min_group_size": K}
    assert "1 rows of 'by_group.csv' have a 'n' between 1 and 9" in small.message


def test_an_output_that_copies_input_rows_is_blocked(out: Path, residents: DatasetRules) -> None:
    # No identifier column: the rows are copies by their quasi-identifiers and income alone.
    copied = [{c: r[c] for c in ("district", "sex", "age_band", "income")} for r in RESIDENTS[:5]]
    _write_parquet(out / "sample.parquet", copied)

    report = check_outputs(out, [residents])

    assert report.blocked
    [finding] = _checks(report, "copied_rows")
    assert finding.detail == {
        "dataset": "residents",
        "columns": ["district", "sex", "age_band", "income"],
        "rows": 5,
    }
    _assert_no_identifier_values(report)


# Identifiers --------------------------------------------------------------------------------


def test_a_column_named_like_an_identifier_is_blocked(out: Path, residents: DatasetRules) -> None:
    _write_csv(out / "scores.csv", [{"PERSON_ID": "x", "score": 1}])

    report = check_outputs(out, [residents])

    [finding] = _checks(report, "identifier_column")
    assert finding.severity == "block"
    assert finding.detail["by"] == "name"
    assert finding.detail["column"] == "PERSON_ID"


def test_a_column_holding_identifier_values_is_blocked(out: Path, residents: DatasetRules) -> None:
    rows = [{"who": r["person_id"], "score": i % 5} for i, r in enumerate(RESIDENTS[:20])]
    _write_csv(out / "scores.csv", rows)

    report = check_outputs(out, [residents])

    [finding] = _checks(report, "identifier_column")
    assert finding.severity == "block"
    assert finding.detail == {
        "column": "who",
        "dataset": "residents",
        "identifier": "person_id",
        "rows": 20,
        "by": "value",
    }
    _assert_no_identifier_values(report)


def test_a_few_identifier_like_values_are_only_warned(out: Path, residents: DatasetRules) -> None:
    rows = [{"code": RESIDENTS[0]["person_id"]}, {"code": "Z99999"}, {"code": "Z99998"}]
    _write_csv(out / "codes.csv", rows)

    report = check_outputs(out, [residents])

    [finding] = _checks(report, "identifier_column")
    assert finding.severity == "warn"
    assert not report.blocked


def test_a_log_leaking_identifier_values_is_blocked_without_echoing_them(
    out: Path, residents: DatasetRules
) -> None:
    (out / "train.log").write_text(
        "epoch 1 step 1000 loss 0.31\n"
        f"skipping record {RESIDENTS[12]['person_id']}: missing income\n"
        f"outlier: rrn={RESIDENTS[40]['resident_no']}, income 3100.\n"
        "done\n",
        encoding="utf-8",
    )

    report = check_outputs(out, [residents])

    assert report.blocked
    findings = _checks(report, "identifier_column")
    assert {f.detail["identifier"]: (f.detail["values"], f.detail["lines"]) for f in findings} == {
        "person_id": (1, 1),
        "resident_no": (1, 1),
    }
    _assert_no_identifier_values(report)


def test_a_log_without_identifier_values_passes(out: Path, residents: DatasetRules) -> None:
    (out / "train.log").write_text("epoch 1 step 1000 loss 0.31\n동구 평균 3100\n")

    assert not check_outputs(out, [residents]).findings


# Small groups, dominance, clean aggregates ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".jsonl", ".json"])
def test_a_clean_aggregate_passes(out: Path, residents: DatasetRules, suffix: str) -> None:
    rows = _aggregate(("district", "sex"))
    path = out / f"by_district{suffix}"
    if suffix == ".parquet":
        _write_parquet(path, rows)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    elif suffix == ".json":
        path.write_text(json.dumps(rows, ensure_ascii=False))
    else:
        with path.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(
                stream, list(rows[0]), delimiter="," if suffix == ".csv" else "\t"
            )
            writer.writeheader()
            writer.writerows(rows)

    report = check_outputs(out, [residents])

    assert report.findings == []
    assert not report.blocked
    [file] = report.files
    assert (file.kind, file.bytes) == ("table", path.stat().st_size)
    assert len(file.sha256) == 64


def test_a_table_without_counts_is_checked_group_by_group(
    out: Path, residents: DatasetRules
) -> None:
    # The group by district and age band (20 people) is big enough; adding the income as a
    # key makes it a group of the 4 people with that income.
    _write_csv(out / "means.csv", [{"district": "동구", "age_band": "20s", "mean": 3300}])
    assert not check_outputs(out, [residents]).blocked

    _write_csv(
        out / "means.csv",
        [{"district": "동구", "age_band": "20s", "income": 3300, "mean": 3300}],
    )
    report = check_outputs(out, [residents])
    [finding] = _checks(report, "small_group")
    assert finding.detail["keys"] == ["district", "age_band", "income"]


def test_one_person_with_almost_all_of_a_group_income_is_blocked(out: Path, tmp_path: Path) -> None:
    people = [
        {"person_id": f"Q{n:04d}", "district": "동구", "income": 1_000_000 if n == 0 else 100}
        for n in range(12)
    ] + [{"person_id": f"Q{n:04d}", "district": "서구", "income": 1000} for n in range(12, 24)]
    rules = DatasetRules(
        slug="incomes",
        parquet=_write_parquet(tmp_path / "incomes.parquet", people),
        identifier_columns=frozenset({"person_id"}),
    )
    _write_csv(
        out / "income_by_district.csv",
        [
            {"district": "동구", "n": 12, "income": 1_001_100},
            {"district": "서구", "n": 12, "income": 12_000},
        ],
    )

    report = check_outputs(out, [rules])

    assert report.blocked
    [finding] = report.findings
    assert finding.check == "dominance"
    assert finding.detail["groups"] == 1
    assert finding.detail["column"] == "income"


def test_korean_column_names_and_cp949_files_are_checked(out: Path, tmp_path: Path) -> None:
    rows = [
        {"주민등록번호": f"{800101 + n}-{2000000 + n}", "자치구": DISTRICTS[n % 2], "소득": 50}
        for n in range(40)
    ]
    rules = DatasetRules(
        slug="주민",
        parquet=_write_parquet(tmp_path / "주민.parquet", rows),
        identifier_columns=frozenset({"주민등록번호"}),
    )
    _write_csv(
        out / "구별.csv",
        [{"자치구": "동구", "인원": 20}, {"자치구": "서구", "인원": 4}],
        encoding="cp949",
    )
    _write_csv(out / "명단.csv", [{"주민등록번호": "x", "자치구": "동구"}])

    report = check_outputs(out, [rules])

    [small] = _checks(report, "small_group")
    assert (small.file, small.detail["column"], small.detail["rows"]) == ("구별.csv", "인원", 1)
    [named] = _checks(report, "identifier_column")
    assert (named.file, named.detail["column"]) == ("명단.csv", "주민등록번호")


# File types and sizes -----------------------------------------------------------------------


def test_a_csv_that_is_really_a_zip_is_blocked(out: Path, residents: DatasetRules) -> None:
    with zipfile.ZipFile(out / "results.csv", "w") as archive:
        archive.writestr("residents.csv", "person_id\nP00001\n")

    report = check_outputs(out, [residents])

    [finding] = report.findings
    assert (finding.check, finding.severity) == ("file_type", "block")
    assert finding.detail == {"suffix": ".csv", "content": "zip"}


def test_a_symlink_is_blocked_and_not_followed(out: Path, residents: DatasetRules) -> None:
    (out / "data.parquet").symlink_to(residents.parquet)
    (out / "more").symlink_to(residents.parquet.parent, target_is_directory=True)

    report = check_outputs(out, [residents])

    assert [(f.path, f.sha256, f.findings[0].check) for f in report.files] == [
        ("data.parquet", "", "file_type"),
        ("more", "", "file_type"),
    ]
    assert report.blocked


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_blocked_without_being_opened(out: Path) -> None:
    os.mkfifo(out / "pipe.csv")

    [finding] = check_outputs(out, []).findings

    assert (finding.check, finding.severity) == ("file_type", "block")


def test_an_oversized_file_is_blocked(out: Path) -> None:
    (out / "big.txt").write_text("x" * 2048)

    [finding] = check_outputs(out, [], max_file_bytes=1024).findings

    assert (finding.check, finding.severity) == ("file_size", "block")
    assert finding.detail == {"bytes": 2048, "limit": 1024}


def test_outputs_over_the_total_limit_are_blocked(out: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        (out / name).write_text("y" * 600)

    report = check_outputs(out, [], max_total_bytes=1000)

    assert [(f.file, f.check) for f in report.findings] == [("b.txt", "file_size")]


def test_a_suffix_that_is_not_allowed_is_blocked(out: Path) -> None:
    (out / "run.sh").write_text("echo hi\n")
    (out / "notes.md").write_text("# Notes\n")

    report = check_outputs(out, [], allowed_suffixes=DEFAULT_ALLOWED - {".md"})

    assert [(f.file, f.check) for f in report.findings] == [
        ("notes.md", "file_type"),
        ("run.sh", "file_type"),
    ]


def test_an_unreadable_table_is_blocked(out: Path, residents: DatasetRules) -> None:
    (out / "broken.parquet").write_bytes(b"PAR1" + b"\x00garbage" * 10 + b"PAR1")

    [finding] = check_outputs(out, [residents]).findings

    assert (finding.check, finding.severity) == ("unreadable", "block")


def test_a_model_file_is_warned_not_blocked(out: Path) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (out / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    with zipfile.ZipFile(out / "model.pt", "w") as archive:
        archive.writestr("model/data.pkl", b"\x80\x02}q\x00.")

    report = check_outputs(out, [])

    assert not report.blocked
    findings = {f.file: f for f in report.findings}
    assert {f.check for f in findings.values()} == {"model_file"}
    assert {f.severity for f in findings.values()} == {"warn"}
    assert "memorise training records" in findings["model.safetensors"].message
    assert findings["model.pt"].detail["pickle_based"] is True
    assert "runs code when loaded" in findings["model.pt"].message
    assert findings["model.safetensors"].detail["pickle_based"] is False
    assert {f.kind for f in report.files} == {"model"}


def test_a_long_table_is_checked_on_its_first_rows_with_a_note(
    out: Path, residents: DatasetRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "SAMPLE_ROWS", 50)
    _write_csv(out / "long.csv", [{"district": DISTRICTS[n % 4], "n": 30} for n in range(51)])

    [finding] = check_outputs(out, [residents]).findings

    assert (finding.check, finding.severity) == ("file_size", "warn")
    assert finding.detail == {"rows_checked": 50}


# Properties ---------------------------------------------------------------------------------

_FAST = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_FAST
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(DISTRICTS),
            st.sampled_from(["F", "M"]),
            st.integers(min_value=K, max_value=10**7),
        ),
        min_size=1,
        max_size=12,
    ),
    count_name=st.sampled_from(["n", "count", "cnt", "person_count", "freq", "인원"]),
)
def test_any_aggregate_with_all_counts_at_least_k_passes(
    residents: DatasetRules, rows: list[tuple[str, str, int]], count_name: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        _write_csv(out / "agg.csv", [{"district": d, "sex": s, count_name: n} for d, s, n in rows])
        report = check_outputs(out, [residents])
    assert not report.blocked, report.findings


_ROWS = [
    {"code": f"c-{n}", "amount": n * 7 + 3, "region": f"r{n % 5}", "flag": n % 3 == 0}
    for n in range(60)
]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> DatasetRules:
    path = _write_parquet(tmp_path_factory.mktemp("ledger") / "ledger.parquet", _ROWS)
    return DatasetRules(slug="ledger", parquet=path, identifier_columns=frozenset())


@_FAST
@given(
    picked=st.lists(st.integers(min_value=0, max_value=len(_ROWS) - 1), min_size=1, max_size=8),
    columns=st.lists(
        st.sampled_from(["code", "amount", "region", "flag"]), min_size=3, max_size=4, unique=True
    ),
    upper=st.booleans(),
    padding=st.integers(min_value=0, max_value=5),
)
def test_any_table_with_a_verbatim_input_row_on_three_shared_columns_is_blocked(
    ledger: DatasetRules, picked: list[int], columns: list[str], upper: bool, padding: int
) -> None:
    rows = [{(c.upper() if upper else c): _ROWS[i][c] for c in columns} for i in picked]
    rows += [{(c.upper() if upper else c): f"made-up-{p}" for c in columns} for p in range(padding)]
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        _write_csv(out / "extract.csv", rows)
        report = check_outputs(out, [ledger])
    [finding] = _checks(report, "copied_rows")
    assert finding.detail["rows"] == len(picked)
    assert report.blocked
