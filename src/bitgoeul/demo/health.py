"""Hospital data of the demo city: Chonnam National University Hospital and Chosun University
Hospital.

A resident with a chronic condition is a patient of one hospital or both; the two hospitals
register the same person independently, so names carry the odd typo, phone numbers and birth
dates are written differently, and one in ten phone numbers is an old one.  Diagnoses use
KCD-7 codes; laboratory values follow the condition (HbA1c for diabetes, and so on).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from bitgoeul.demo.gwangju import CONDITIONS, LAB_NORMAL, LAB_TESTS
from bitgoeul.demo.population import Person, Population
from bitgoeul.demo.source_files import TRUTH_COLUMN, Table
from bitgoeul.demo.variants import address_as, date_as, name_as_typed, phone_as

CONDITION_BY_CODE = {c.code: c for c in CONDITIONS}
_YEAR_START = date(2025, 1, 2)
_YEAR_DAYS = 340


@dataclass
class Visit:
    visit_id: str
    person: Person
    day: date
    code: str
    visit_type: str


@dataclass
class HospitalRecords:
    patients: list[tuple[str, Person]]  # (patient number, person)
    visits: list[Visit]


def hospital_records(
    population: Population, rng: random.Random, *, prefix: str, chronic_share: float
) -> HospitalRecords:
    """Which residents are this hospital's patients, and their visits in 2025."""
    patients: list[tuple[str, Person]] = []
    visits: list[Visit] = []
    for person in population.people:
        chronic = [c for c in person.conditions if c != "J06"]
        if chronic and rng.random() < chronic_share:
            codes = chronic
        elif rng.random() < 0.04 + (0.06 if "J06" in person.conditions else 0):
            codes = ["J06"]
        else:
            continue
        patient_no = f"{prefix}{rng.randint(10_000_000, 99_999_999)}"
        patients.append((patient_no, person))
        for code in codes:
            count = 1 if code == "J06" else rng.randint(2, 6)
            for _ in range(count):
                day = _YEAR_START + timedelta(days=rng.randrange(_YEAR_DAYS))
                kind = "outpatient"
                if code in ("I63", "J44") and rng.random() < 0.3:
                    kind = "inpatient"
                elif rng.random() < 0.04:
                    kind = "emergency"
                visits.append(Visit("", person, day, code, kind))
    visits.sort(key=lambda v: (v.day, v.person.index, v.code))
    for number, visit in enumerate(visits, start=1):
        visit.visit_id = f"{prefix}-V{number:07d}"
    return HospitalRecords(patients, visits)


def _phone(person: Person, rng: random.Random, styles: tuple[str, ...]) -> str:
    if person.phone is None:
        return ""
    if rng.random() < 0.1:  # the number the patient had when first registered
        return phone_as(f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}", styles[0])
    return phone_as(person.phone, rng.choice(styles))


def cnuh_patients(population: Population, records: HospitalRecords, rng: random.Random) -> Table:
    first_visit: dict[int, date] = {}
    for visit in records.visits:
        first_visit.setdefault(visit.person.index, visit.day)
    table: Table = {
        "patient_no": [],
        "name": [],
        "birth_date": [],
        "sex": [],
        "phone": [],
        "address": [],
        "first_visit": [],
        TRUTH_COLUMN: [],
    }
    for patient_no, person in records.patients:
        household = population.household(person.household_id)
        table["patient_no"].append(patient_no)
        table["name"].append(name_as_typed(person.name, person.surname, rng, error_rate=0.05))
        table["birth_date"].append(date_as(person.birth_date, "digits"))
        table["sex"].append(person.sex)
        table["phone"].append(_phone(person, rng, ("hyphens", "hyphens", "digits", "spaces")))
        table["address"].append(address_as(household, rng, lot_share=0.2))
        table["first_visit"].append(first_visit.get(person.index))
        table[TRUTH_COLUMN].append(person.resident_id)
    return table


def _patient_numbers(records: HospitalRecords) -> dict[int, str]:
    return {person.index: number for number, person in records.patients}


def cnuh_visits(records: HospitalRecords) -> Table:
    numbers = _patient_numbers(records)
    table: Table = {
        "visit_id": [],
        "patient_no": [],
        "visit_date": [],
        "department": [],
        "visit_type": [],
        "kcd_code": [],
        "diagnosis_ko": [],
    }
    for visit in records.visits:
        condition = CONDITION_BY_CODE[visit.code]
        table["visit_id"].append(visit.visit_id)
        table["patient_no"].append(numbers[visit.person.index])
        table["visit_date"].append(visit.day)
        table["department"].append(condition.department)
        table["visit_type"].append(visit.visit_type)
        table["kcd_code"].append(visit.code)
        table["diagnosis_ko"].append(condition.name_ko)
    return table


def cnuh_lab_results(records: HospitalRecords, rng: random.Random) -> Table:
    """A lab result for each visit whose condition has a marker, and some routine checks."""
    numbers = _patient_numbers(records)
    table: Table = {
        "patient_no": [],
        "visit_id": [],
        "collected_on": [],
        "test_code": [],
        "test_name": [],
        "value": [],
        "unit": [],
    }
    for visit in records.visits:
        lab = CONDITION_BY_CODE[visit.code].lab
        tests = [(lab, True)] if lab else []
        if rng.random() < 0.2:
            routine = rng.choice(sorted(LAB_NORMAL))
            if routine != lab:
                tests.append((routine, routine in _markers(visit.person)))
        for code, affected in tests:
            name, unit, mean, sd = LAB_TESTS[code]
            if not affected:
                mean, sd = LAB_NORMAL[code]
            table["patient_no"].append(numbers[visit.person.index])
            table["visit_id"].append(visit.visit_id)
            table["collected_on"].append(visit.day)
            table["test_code"].append(code)
            table["test_name"].append(name)
            table["value"].append(round(max(0.1, rng.gauss(mean, sd)), 1))
            table["unit"].append(unit)
    return table


def _markers(person: Person) -> set[str]:
    return {CONDITION_BY_CODE[c].lab or "" for c in person.conditions} - {""}


def chosun_patients(population: Population, records: HospitalRecords, rng: random.Random) -> Table:
    """Chosun's export uses Korean headers, dotted birth dates and 남/여."""
    table: Table = {
        "등록번호": [],
        "환자명": [],
        "생년월일": [],
        "성별": [],
        "휴대전화": [],
        "주소": [],
        TRUTH_COLUMN: [],
    }
    for patient_no, person in records.patients:
        household = population.household(person.household_id)
        table["등록번호"].append(patient_no)
        table["환자명"].append(name_as_typed(person.name, person.surname, rng, error_rate=0.07))
        table["생년월일"].append(date_as(person.birth_date, "dots"))
        table["성별"].append("남" if person.sex == "M" else "여")
        table["휴대전화"].append(_phone(person, rng, ("hyphens", "digits", "dots")))
        table["주소"].append(address_as(household, rng, lot_share=0.35))
        table[TRUTH_COLUMN].append(person.resident_id)
    return table


def chosun_visits(records: HospitalRecords) -> Table:
    numbers = _patient_numbers(records)
    table: Table = {
        "등록번호": [],
        "내원일자": [],
        "진료과": [],
        "상병코드": [],
        "상병명": [],
        "입원여부": [],
    }
    for visit in records.visits:
        condition = CONDITION_BY_CODE[visit.code]
        table["등록번호"].append(numbers[visit.person.index])
        table["내원일자"].append(date_as(visit.day, "digits"))
        table["진료과"].append(condition.department)
        table["상병코드"].append(visit.code)
        table["상병명"].append(condition.name_ko)
        table["입원여부"].append("Y" if visit.visit_type == "inpatient" else "N")
    return table
