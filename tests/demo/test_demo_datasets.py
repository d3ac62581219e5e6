"""The institutions' source files: derived from one population, reproducible, varied."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
from openpyxl import load_workbook

from bitgoeul.catalog.models import AccessLevel
from bitgoeul.demo import CATALOGUE, DemoDatasetSpec, Population, write_demo_files
from bitgoeul.demo.institutions import INSTITUTIONS


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


def _sheet_rows(path: Path) -> list[tuple[object, ...]]:
    workbook = load_workbook(path, read_only=True)
    try:
        return list(workbook.active.iter_rows(values_only=True))
    finally:
        workbook.close()


def test_the_same_population_and_seed_write_identical_files(
    population: Population, demo_files: list[DemoDatasetSpec], tmp_path: Path
) -> None:
    again = write_demo_files(population, tmp_path, 7)
    assert [_digest(s.path) for s in again if s.path] == [
        _digest(s.path) for s in demo_files if s.path
    ]


def test_every_institution_publishes_data(demo_files: list[DemoDatasetSpec]) -> None:
    publishers = {spec.publisher for spec in demo_files if spec.rows > 0}
    agencies = {i.slug for i in INSTITUTIONS if i.slug not in ("ai-hub", "bitgoeul-labs")}
    assert agencies <= publishers
    assert len(agencies) == 13  # the twelve partner institutions and the city


def test_datasets_span_all_four_access_levels(demo_files: list[DemoDatasetSpec]) -> None:
    assert {spec.access_level for spec in demo_files} == set(AccessLevel)


def test_files_come_in_every_format_and_some_csv_in_cp949(
    demo_files: list[DemoDatasetSpec],
) -> None:
    assert {s.file_format for s in demo_files} == {"csv", "jsonl", "parquet", "xlsx"}
    cp949 = [s for s in demo_files if s.encoding == "cp949"]
    assert cp949
    for spec in cp949:
        assert spec.path is not None
        raw = spec.path.read_bytes()
        raw.decode("cp949")
        assert not _is_utf8(raw)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_row_counts_match_the_files(demo_files: list[DemoDatasetSpec]) -> None:
    for spec in demo_files:
        assert spec.path is not None
        if spec.file_format == "parquet":
            rows = pq.read_metadata(spec.path).num_rows
        elif spec.file_format == "jsonl":
            rows = len(spec.path.read_text(encoding="utf-8").splitlines())
        elif spec.file_format == "xlsx":
            rows = len(_sheet_rows(spec.path)) - 1
        else:
            rows = len(_csv(spec.path, spec.encoding))
        assert rows == spec.rows, spec.slug


def test_the_same_person_appears_with_variations_in_hospital_kepco_and_city_data(
    population: Population, files_by_slug: dict[str, Path]
) -> None:
    residents = _csv(files_by_slug["gwangju-registered-residents"], "cp949")
    patients = _csv(files_by_slug["cnuh-patients"])
    customers = _csv(files_by_slug["kepco-residential-customers"], "cp949")

    by_name_and_birth = {(r["name"], r["birth_date"].replace("-", "")): r for r in residents}
    holder_phones = {c["phone"].replace("-", ""): c for c in customers}
    found_everywhere = 0
    for patient in patients:
        resident = by_name_and_birth.get((patient["name"].replace(" ", ""), patient["birth_date"]))
        if resident is None:
            continue
        person = next(p for p in population.people if p.resident_id == resident["resident_id"])
        customer = holder_phones.get((person.phone or "").replace("-", ""))
        if customer is not None and customer["contract_holder"] == person.name:
            found_everywhere += 1
            # The same person, written three ways.
            assert patient["birth_date"] != resident["birth_date"]
    assert found_everywhere >= 3
    # Most hospital records match the register once spaces and formats are normalised;
    # the rest carry typos or an old phone number, as real registers do.
    matched = sum(
        (p["name"].replace(" ", ""), p["birth_date"]) in by_name_and_birth for p in patients
    )
    assert 0.8 * len(patients) <= matched < len(patients) + 1


def test_the_two_hospitals_share_patients_in_different_formats(
    files_by_slug: dict[str, Path],
) -> None:
    cnuh = _csv(files_by_slug["cnuh-patients"])
    rows = _sheet_rows(files_by_slug["chosun-patients"])
    header, chosun = rows[0], rows[1:]
    assert header[:4] == ("등록번호", "환자명", "생년월일", "성별")
    chosun_keys = {(str(r[1]).replace(" ", ""), str(r[2]).replace(".", "")) for r in chosun}
    cnuh_keys = {(p["name"].replace(" ", ""), p["birth_date"]) for p in cnuh}
    assert cnuh_keys & chosun_keys
    assert {r[3] for r in chosun} <= {"남", "여"}


def test_diagnoses_carry_kcd_codes(files_by_slug: dict[str, Path]) -> None:
    visits = _csv(files_by_slug["cnuh-visits-diagnoses"])
    codes = {v["kcd_code"] for v in visits}
    assert codes & {"I10", "E11", "J45", "F32"}
    assert all(len(code) == 3 and code[0].isalpha() for code in codes)


def test_quiet_elderly_households_show_flat_standby_electricity(
    population: Population, files_by_slug: dict[str, Path]
) -> None:
    table = pq.read_table(files_by_slug["kepco-household-electricity-hourly"]).to_pylist()
    episode = population.inactivity[0]
    meter = population.household(episode.household_id).meter_id
    readings = [r["kwh"] for r in table if r["meter_id"] == meter]
    quiet = readings[episode.start_hour + 2 : episode.start_hour + episode.hours - 2]
    assert max(quiet) < 0.08
    assert max(readings) > 0.15


def test_the_care_register_names_elderly_residents_living_alone(
    population: Population, files_by_slug: dict[str, Path]
) -> None:
    register = _csv(files_by_slug["gwangju-elderly-living-alone"], "cp949")
    alone = {p.birth_date.isoformat() for p in population.elderly_living_alone()}
    assert register
    assert all(r["birth_date"] in alone for r in register)


def test_population_flow_is_reported_per_250m_cell_and_hour(
    files_by_slug: dict[str, Path],
) -> None:
    flow = _csv(files_by_slug["skt-population-flow-250m-hourly"])
    assert flow[0]["cell_id"].startswith("GJ250-")
    assert len({r["datetime"] for r in flow}) == 7 * 24
    with files_by_slug["lguplus-population-flow-250m-hourly"].open(encoding="utf-8") as handle:
        record = json.loads(handle.readline())
    assert record["ts"].endswith("+09:00")


def test_every_catalogue_entry_has_bilingual_metadata() -> None:
    for spec in CATALOGUE:
        request = spec.create_request()
        assert request.title_ko
        assert request.description_ko
        assert request.keywords
        assert request.contact_email


def test_open_electricity_statistics_never_show_fewer_than_five_households(
    files_by_slug: dict[str, Path],
) -> None:
    rows = _csv(files_by_slug["kepco-dong-electricity-daily"])
    assert rows
    assert all(int(r["households"]) >= 5 for r in rows)


def test_the_linkage_answer_key_names_the_resident_behind_each_record(
    population: Population, files_by_slug: dict[str, Path]
) -> None:
    truth = _csv(files_by_slug["cnuh-patients"].parent / "linkage-truth.csv")
    patients = {p["patient_no"]: p for p in _csv(files_by_slug["cnuh-patients"])}
    people = {p.resident_id: p for p in population.people}
    for row in truth:
        assert row["resident_id"] in people
        if row["dataset"] == "cnuh-patients":
            patient = patients[row["record_id"]]
            assert patient["birth_date"] == f"{people[row['resident_id']].birth_date:%Y%m%d}"
    assert {r["dataset"] for r in truth} == {
        "cnuh-patients",
        "chosun-patients",
        "kepco-residential-customers",
        "gwangju-elderly-living-alone",
        "gwangju-registered-residents",
    }
    assert "_resident_id" not in _csv(files_by_slug["cnuh-patients"])[0]
