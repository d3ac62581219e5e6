"""The demo city's AI+ testbed tasks: their training sets, their hidden test sets, their metadata.

Each :class:`DemoTask` is a benchmark an institution of the demo city organizes: a training
dataset anyone granted access may read, and a holdout test dataset with the same columns whose
label column no participant can ever read (the catalogue flags it ``holdout``; the testbed
service scores submissions against it).  ``testbed_tables(population, seed)`` derives all of
them from the one synthetic population, like ``datasets.build_tables`` does for the catalogue:
a pure function, no database, no clock, and each task draws from its own generator (seeded with
the seed and the task's slug), so changing one task never changes another's data.

The rows reuse the city's own models (the households' hourly load profiles of ``energy``, the
hospitals' patients of ``health``, the whereabouts of ``telecom``) but are drawn afresh: no row
repeats a value of a catalogue dataset, and every id is an opaque keyed hash, so a test row
cannot be looked up in another dataset to read its label.  The baselines that put the first row
on each leaderboard are in ``testbed_baselines``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate, UpdateFrequency
from bitgoeul.demo import energy, health, telecom
from bitgoeul.demo.datasets import DemoDatasetSpec
from bitgoeul.demo.gwangju import (
    CITY_POPULATION,
    SERIES_DAYS,
    SERIES_START,
    grid_cell,
    grid_cell_centre,
)
from bitgoeul.demo.population import Household, Person, Population
from bitgoeul.demo.source_files import Table, row_count, write_table

ELECTRICITY = "next-day-household-electricity"
READMISSION = "hospital-readmission-30d"
WELLBEING = "wellbeing-risk-living-alone"
FLOW = "hourly-population-flow"
ID_COLUMN = "id"

_SYNTHETIC = " Synthetic demo data: no real person is described."
_SYNTHETIC_KO = " 합성 데모 데이터이며 실제 개인 정보는 없습니다."
_TEST_NOTE = (
    " The hidden test set of an AI+ testbed task: its labels are never shown; submissions are"
    " scored against them."
)
_TEST_NOTE_KO = " AI+ 테스트베드 과제의 비공개 평가 데이터로, 정답은 공개되지 않고 제출물 채점에만"
_TEST_NOTE_KO += " 쓰입니다."


@dataclass(frozen=True)
class DemoTask:
    """One benchmark of the demo testbed: what to predict, how it is scored, and its data."""

    slug: str
    publisher: str  # organization slug of the organizer
    title: str
    title_ko: str
    sector: Sector
    problem: str
    problem_ko: str
    metric: str  # a key of ``bitgoeul.testbed.scoring.METRICS``
    id_column: str
    label_column: str
    training: DemoDatasetSpec
    test: DemoDatasetSpec


def holdout_create_request(spec: DemoDatasetSpec) -> DatasetCreate:
    """The catalogue entry of a hidden test set: the spec's request, flagged ``holdout``."""
    return spec.create_request().model_copy(update={"holdout": True})


# --- The series each task covers ----------------------------------------------------------------

# Eight weeks of daily electricity ending with the catalogue's fourteen-day series, so the
# inactivity episodes (hours after SERIES_START) fall on the same days as in the meter data.
_ELECTRICITY_DAYS = 56
_ELECTRICITY_START = SERIES_START.date() - timedelta(days=_ELECTRICITY_DAYS - SERIES_DAYS)
_ELECTRICITY_TEST_DAYS = 7
# Three weeks of lag window and training, then one test day (a Monday).
_FLOW_DAYS = 22
_FLOW_START = SERIES_START - timedelta(days=14)
_FLOW_CELLS = 100
# Readmissions: admissions are simulated from mid-2023 so "prior admissions in the past year"
# has a history; the discharges published are those of 17 months whose 30 days are over by the
# cut-off.
_ADMISSIONS_FROM = date(2023, 7, 1)
_DISCHARGES = (date(2024, 7, 1), date(2025, 11, 30))
_TEST_SHARE = 0.25


def _period(start: date, days: int) -> tuple[date, date]:
    return (start, start + timedelta(days=days - 1))


def _specs(
    task: str,
    publisher: str,
    *,
    what: str,
    what_ko: str,
    sector: Sector,
    access_level: AccessLevel,
    licence: str,
    keywords: tuple[str, ...],
    period: tuple[date, date],
    frequency: UpdateFrequency,
) -> tuple[DemoDatasetSpec, DemoDatasetSpec]:
    """The training and test dataset specs of one task (same metadata, told apart in words)."""
    training = DemoDatasetSpec(
        f"{task}-train",
        publisher,
        f"{what}: training set",
        f"{what_ko}: 학습 데이터",
        f"Training data of the AI+ testbed task '{task}', with labels." + _SYNTHETIC,
        f"AI+ 테스트베드 과제 '{task}'의 정답이 포함된 학습 데이터." + _SYNTHETIC_KO,
        sector,
        access_level,
        licence,
        ("AI+ testbed", "benchmark", "training data", "테스트베드", "학습데이터", *keywords),
        f"{task}-train.parquet",
        "parquet",
        period=period,
        update_frequency=frequency,
    )
    test = replace(
        training,
        slug=f"{task}-test",
        title=f"{what}: hidden test set",
        title_ko=f"{what_ko}: 비공개 평가 데이터",
        description=f"Test data of the AI+ testbed task '{task}'." + _TEST_NOTE + _SYNTHETIC,
        description_ko=f"AI+ 테스트베드 과제 '{task}'의 평가 데이터."
        + _TEST_NOTE_KO
        + _SYNTHETIC_KO,
        keywords=("AI+ testbed", "benchmark", "test set", "테스트베드", "평가데이터", *keywords),
        filename=f"{task}-test.parquet",
    )
    return training, test


def _task(
    slug: str,
    publisher: str,
    title: tuple[str, str],
    sector: Sector,
    problem: tuple[str, str],
    metric: str,
    label: str,
    specs: tuple[DemoDatasetSpec, DemoDatasetSpec],
) -> DemoTask:
    return DemoTask(
        slug=slug,
        publisher=publisher,
        title=title[0],
        title_ko=title[1],
        sector=sector,
        problem=problem[0],
        problem_ko=problem[1],
        metric=metric,
        id_column=ID_COLUMN,
        label_column=label,
        training=specs[0],
        test=specs[1],
    )


DEMO_TASKS: tuple[DemoTask, ...] = (
    _task(
        ELECTRICITY,
        "kepco",
        ("Next-day household electricity use", "가구별 익일 전력 사용량 예측"),
        Sector.energy,
        (
            "Predict a household's total electricity use (kWh) on a day from its use on the days "
            "before: the previous day, the same weekday a week earlier and the mean of the last "
            "seven days. KEPCO plans distribution-grid load and spots unusual use from such "
            "forecasts. Submissions are scored by the mean absolute percentage error (lower is "
            "better).",
            "가구의 하루 전력 사용량(kWh)을 전날, 일주일 전 같은 요일, 최근 7일 평균 사용량으로 "
            "예측합니다. 한전은 이런 예측으로 배전망 부하를 계획하고 이상 사용을 찾습니다. "
            "평균 절대 백분율 오차(MAPE, 낮을수록 좋음)로 채점합니다.",
        ),
        "mape",
        "kwh",
        # Restricted like the meter data it comes from: a household's daily use shows when its
        # members are at home, even under an opaque key.
        _specs(
            ELECTRICITY,
            "kepco",
            what="Daily household electricity use",
            what_ko="가구별 일별 전력 사용량",
            sector=Sector.energy,
            access_level=AccessLevel.restricted,
            licence="proprietary",
            keywords=("electricity", "forecasting", "전력", "수요예측"),
            period=_period(_ELECTRICITY_START, _ELECTRICITY_DAYS),
            frequency=UpdateFrequency.daily,
        ),
    ),
    _task(
        READMISSION,
        "cnuh",
        ("30-day hospital readmission", "30일 이내 재입원 예측"),
        Sector.healthcare,
        (
            "Predict whether a patient discharged from Chonnam National University Hospital or "
            "Chosun University Hospital is admitted again within 30 days, from the age band, "
            "sex, admission type, length of stay, admissions in the past year and chronic "
            "conditions. Hospitals use such scores to plan follow-up calls and home care for "
            "those most at risk. Submit a score per discharge (higher means more likely); "
            "scored by the area under the ROC curve (higher is better).",
            "전남대학교병원·조선대학교병원 퇴원 환자가 30일 이내에 다시 입원할지를 연령대, 성별, "
            "입원 경로, 재원 일수, 지난 1년 입원 횟수, 만성질환으로 예측합니다. 병원은 이 점수로 "
            "위험이 큰 환자에게 퇴원 후 전화 상담과 방문 돌봄을 계획합니다. 퇴원마다 점수(클수록 "
            "재입원 가능성이 큼)를 제출하며 ROC 곡선 아래 면적(AUROC, 높을수록 좋음)으로 "
            "채점합니다.",
        ),
        "auroc",
        "readmitted_30d",
        # Restricted, not secure: pseudonymous discharges with banded ages and no dates or
        # patient numbers, but still health information about the hospitals' patients.
        _specs(
            READMISSION,
            "cnuh",
            what="Hospital discharges and 30-day readmissions",
            what_ko="퇴원 및 30일 이내 재입원",
            sector=Sector.healthcare,
            access_level=AccessLevel.restricted,
            licence="proprietary",
            keywords=("readmission", "hospital", "재입원", "병원", "의료"),
            period=_DISCHARGES,
            frequency=UpdateFrequency.annual,
        ),
    ),
    _task(
        WELLBEING,
        "kepco",
        ("Wellbeing risk of residents living alone", "1인 가구 안부 위험 예측"),
        Sector.energy,
        (
            "Predict which households of one person need a wellbeing check, from two weeks of "
            "their electricity use: daily mean, night-to-day ratio, the longest run of "
            "standby-only hours, the share of flat hours and when the morning starts. The city's "
            "caseworkers visit the households flagged; a flag too many costs a visit, one too "
            "few can cost a life. Submit 1 (at risk) or 0 per household; scored by the F1 score "
            "of the at-risk class (higher is better).",
            "1인 가구의 2주간 전력 사용 특성(일 평균, 야간/주간 비율, 대기전력만 쓰인 최장 시간, "
            "변화 없는 시간 비율, 아침 활동 시작 시각)으로 안부 확인이 필요한 가구를 "
            "예측합니다. 시의 생활지원사가 지목된 가구를 방문하므로, 잘못 지목하면 방문 한 번이, "
            "놓치면 생명이 걸립니다. 가구마다 1(위험) 또는 0을 제출하며 위험 가구의 F1 점수"
            "(높을수록 좋음)로 채점합니다.",
        ),
        "f1",
        "at_risk",
        # Restricted: usage patterns of people living alone, labelled with their care needs.
        _specs(
            WELLBEING,
            "kepco",
            what="Electricity-use patterns of one-person households",
            what_ko="1인 가구 전력 사용 패턴",
            sector=Sector.energy,
            access_level=AccessLevel.restricted,
            licence="proprietary",
            keywords=("wellbeing", "living alone", "electricity", "안부확인", "1인가구", "독거"),
            period=_period(SERIES_START.date(), SERIES_DAYS),
            frequency=UpdateFrequency.monthly,
        ),
    ),
    _task(
        FLOW,
        "skt",
        ("Hourly population flow", "시간대별 유동인구 예측"),
        Sector.telecom,
        (
            "Predict how many people are present in a 250 m grid cell in an hour, from the "
            "hour, the day of the week, the cell's location and the cell's population the day "
            "before and a week before at the same hour. The city plans buses, events and "
            "safety staffing from such forecasts. Scored by the root mean squared error in "
            "people (lower is better).",
            "250m 격자의 시간대별 유동인구를 시간, 요일, 격자 위치, 전날과 일주일 전 같은 시간의 "
            "유동인구로 예측합니다. 시는 이 예측으로 버스, 행사, 안전 인력을 계획합니다. "
            "평균 제곱근 오차(RMSE, 명 단위, 낮을수록 좋음)로 채점합니다.",
        ),
        "rmse",
        "population",
        # Registered, as SKT's published flow data: counts per 250 m cell and hour scaled to
        # the city, the busiest cells only, so no one person's movements can be read from them.
        _specs(
            FLOW,
            "skt",
            what="Population flow per 250 m cell and hour",
            what_ko="250m 격자별 시간대별 유동인구",
            sector=Sector.telecom,
            access_level=AccessLevel.registered,
            licence="CC-BY-NC-4.0",
            keywords=("population flow", "forecasting", "유동인구", "수요예측"),
            period=_period(_FLOW_START.date(), _FLOW_DAYS),
            frequency=UpdateFrequency.daily,
        ),
    ),
)

DEMO_TASK_BY_SLUG = {task.slug: task for task in DEMO_TASKS}


# --- Shared pieces ------------------------------------------------------------------------------


def _task_rng(seed: int, task: str) -> random.Random:
    return random.Random(f"{seed}/testbed/{task}")


def _opaque_id(prefix: str, seed: int, task: str, key: str) -> str:
    """A row id that names no record of another dataset, yet is the same for the same seed."""
    digest = hashlib.sha256(f"{seed}:testbed:{task}:{key}".encode()).hexdigest()
    return f"{prefix}-{digest[:12]}"


def _in_test_set(seed: int, task: str, key: str, share: float) -> bool:
    digest = hashlib.sha256(f"{seed}:testbed-split:{task}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < share * 2**64


def _split(rows: list[dict[str, object]], test: Iterable[bool]) -> tuple[Table, Table]:
    """Rows as two tables (training, test), with the columns in the rows' order."""
    columns = list(rows[0]) if rows else []
    training: Table = {name: [] for name in columns}
    testing: Table = {name: [] for name in columns}
    for row, is_test in zip(rows, test, strict=True):
        target = testing if is_test else training
        for name in columns:
            target[name].append(row[name])
    return training, testing


def _household_people(population: Population, household: Household) -> list[Person]:
    return [population.people[i] for i in household.members]


def _inactive_hours(population: Population) -> dict[str, range]:
    return {
        e.household_id: range(e.start_hour, e.start_hour + e.hours) for e in population.inactivity
    }


# --- Next-day household electricity -------------------------------------------------------------

_STANDBY_KWH = 0.035


def _electricity_tables(population: Population, seed: int) -> tuple[Table, Table]:
    """Daily kWh per household over eight weeks, from the hourly profiles ``energy`` uses.

    The same load model as the meter data (profile, household scale, electric heating at night,
    busier weekend days), summed per day, with what makes days differ: a cold spell the whole
    city shares, each household's own slowly drifting routine, and days away from home.
    """
    rng = _task_rng(seed, ELECTRICITY)
    days = _ELECTRICITY_DAYS
    offset = days - SERIES_DAYS  # day index of SERIES_START
    cold = [0.0] * days
    for day in range(1, days):
        # December gets colder, with spells of a few days; heating households feel it most.
        cold[day] = 0.7 * cold[day - 1] + rng.gauss(0, 0.05) + 0.002
    inactive = _inactive_hours(population)
    rows: list[dict[str, object]] = []
    test_flags: list[bool] = []
    for household in population.households:
        profile = energy._profile(population, household)
        scale = rng.lognormvariate(0, 0.25)
        heater = rng.random() < 0.3
        weekday_total = sum(profile) + (2.5 if heater else 0.0)
        weekend_total = weekday_total + 0.25 * sum(profile[10:18])
        quiet = inactive.get(household.household_id, range(0))
        drift = 0.0
        series: list[float] = []
        for day in range(days):
            weekend = (_ELECTRICITY_START + timedelta(days=day)).weekday() >= 5
            drift = 0.75 * drift + rng.gauss(0, 0.07)
            factor = math.exp(drift + cold[day] * (2.0 if heater else 0.6))
            if rng.random() < 0.03:
                factor *= rng.uniform(0.3, 0.6)  # away for the day: the fridge and little else
            # Hourly noise (15 % per hour, as in the meter data) averages out over a day.
            factor *= max(0.5, 1 + rng.gauss(0, 0.04))
            total = (weekend_total if weekend else weekday_total) * scale * factor
            first = (day - offset) * 24
            quiet_today = [h for h in range(24) if first + h in quiet]
            if quiet_today:
                share_active = 1 - sum(profile[h] for h in quiet_today) / sum(profile)
                total = total * share_active + _STANDBY_KWH * len(quiet_today)
            series.append(round(max(total, _STANDBY_KWH * 24), 3))
        key = _opaque_id("HH", seed, ELECTRICITY, household.household_id)
        # One test day per household, drawn from the last week: with two, the later one's
        # "previous day" feature would show the earlier one's hidden label.
        test_day = days - 1 - rng.randrange(_ELECTRICITY_TEST_DAYS)
        for day in range(7, days):
            if day >= days - _ELECTRICITY_TEST_DAYS and day != test_day:
                continue
            when = _ELECTRICITY_START + timedelta(days=day)
            week = series[day - 7 : day]
            rows.append(
                {
                    "id": _opaque_id("E", seed, ELECTRICITY, f"{household.household_id}/{day}"),
                    "household": key,
                    "date": when.isoformat(),
                    "day_of_week": when.weekday(),
                    "is_weekend": int(when.weekday() >= 5),
                    "kwh_previous_day": series[day - 1],
                    "kwh_same_weekday_last_week": series[day - 7],
                    "kwh_mean_last_7_days": round(sum(week) / 7, 3),
                    "kwh": series[day],
                }
            )
            test_flags.append(day == test_day)
    return _split(rows, test_flags)


# --- 30-day readmission -------------------------------------------------------------------------

# Conditions that bring people back to hospital (stroke, COPD, kidney disease, dementia, heart
# and metabolic disease), with their weight in the readmission risk.
_RISKY_CONDITIONS = {"I63": 0.45, "J44": 0.5, "N18": 0.5, "F00": 0.45, "E11": 0.2, "I10": 0.1}
_FLAGS: tuple[tuple[str, str], ...] = (
    ("diabetes", "E11"),
    ("hypertension", "I10"),
    ("kidney_disease", "N18"),
    ("dementia", "F00"),
    ("stroke", "I63"),
    ("copd", "J44"),
)


def _age_band(age: int) -> str:
    if age >= 80:
        return "80+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def _readmission_tables(population: Population, seed: int) -> tuple[Table, Table]:
    """Discharges of the two university hospitals' patients, simulated admission by admission.

    The patients are the hospitals' own (``health.hospital_records`` with the catalogue's
    generators).  Each has a hidden frailty; admissions come at a rate set by age, chronic
    conditions and frailty, and after each discharge the chance of coming back within 30 days
    grows with age, conditions, a long stay, an emergency admission, past admissions and
    frailty.  The frailty is not a column, so no model can be perfect.
    """
    hospitals: dict[int, list[str]] = {}
    for slug, prefix, share in (("cnuh", "C", 0.45), ("chosun-hospital", "S", 0.35)):
        records = health.hospital_records(
            population, random.Random(f"{seed}/{slug}"), prefix=prefix, chronic_share=share
        )
        name = "cnuh" if slug == "cnuh" else "chosun"
        for _, person in records.patients:
            hospitals.setdefault(person.index, []).append(name)
    rng = _task_rng(seed, READMISSION)
    rows: list[dict[str, object]] = []
    horizon = (_DISCHARGES[1] - _ADMISSIONS_FROM).days
    for index in sorted(hospitals):
        person = population.people[index]
        chronic = [c for c in person.conditions if c != "J06"]
        risky = sum(_RISKY_CONDITIONS.get(c, 0.0) for c in chronic)
        frailty = rng.gauss(0, 1)
        # Tertiary-hospital patients with chronic disease are admitted about once a year or more
        # (more than in life, so that a small demo city still has enough discharges).
        rate = 0.3 + 0.55 * len(chronic) + 1.0 * risky + (0.4 if person.age >= 75 else 0)
        rate *= math.exp(0.5 * frailty)
        day = rng.expovariate(rate / 365)
        admissions: list[int] = []
        while day < horizon:
            admitted = _ADMISSIONS_FROM + timedelta(days=int(day))
            prior = sum(1 for a in admissions if int(day) - a <= 365)
            admissions.append(int(day))
            emergency = rng.random() < 0.3 + 0.1 * min(prior, 3)
            stay = max(1, round(rng.lognormvariate(math.log(3 + 1.5 * risky), 0.6)))
            discharged = admitted + timedelta(days=stay)
            odds = (
                -3.4
                + 0.025 * (person.age - 60)
                + 0.2 * len(chronic)
                + 0.6 * risky
                + 0.05 * min(stay, 20)
                + 0.3 * min(prior, 4)
                + 0.5 * emergency
                + 0.55 * frailty
            )
            back = rng.random() < _sigmoid(odds)
            gap = rng.randint(2, 30) if back else 31 + rng.expovariate(rate / 365)
            if _DISCHARGES[0] <= discharged <= _DISCHARGES[1]:
                key = f"{index}/{admitted.isoformat()}"
                condition_codes = set(chronic)
                diagnosis = rng.choice(chronic) if chronic else "J06"
                rows.append(
                    {
                        "id": _opaque_id("D", seed, READMISSION, key),
                        "hospital": rng.choice(hospitals[index]),
                        "age_band": _age_band(person.age),
                        "sex": person.sex,
                        "admission_type": "emergency" if emergency else "elective",
                        "primary_diagnosis": diagnosis,
                        "length_of_stay_days": stay,
                        "prior_admissions_1y": prior,
                        "chronic_conditions": len(chronic),
                        **{flag: int(code in condition_codes) for flag, code in _FLAGS},
                        "readmitted_30d": int(back),
                    }
                )
            day = (discharged - _ADMISSIONS_FROM).days + gap
    test = [_in_test_set(seed, READMISSION, str(row["id"]), _TEST_SHARE) for row in rows]
    return _split(rows, test)


# --- Wellbeing risk of residents living alone ---------------------------------------------------

# Conditions after which a caseworker counts a resident living alone as needing checks.
_CARE_CONDITIONS = frozenset({"F00", "I63", "F32"})
_STANDBY_BELOW = 0.05


def _at_risk(person: Person, episode: bool) -> bool:
    """The care register's judgement: elderly, alone, and frail, ill or found inactive."""
    if person.age < 65:
        return False
    return episode or person.age >= 82 or bool(_CARE_CONDITIONS & set(person.conditions))


def _hourly_use(
    profile: list[float], rng: random.Random, *, frail: bool, quiet: range
) -> list[float]:
    """Fourteen days of hourly kWh: the household's profile, with its resident's own routine.

    Everyone skips a meal (a peak of the profile) now and then and sometimes starts the day
    late; a frail resident does both more often on average, but habits vary so much from person
    to person that no rule on the meter data finds every frail resident and no one else.
    """
    scale = rng.lognormvariate(0, 0.25)
    base = min(profile)
    skip = min(0.8, rng.betavariate(2, 6) + (0.12 if frail else 0.0))
    sleep_in = min(0.9, rng.betavariate(2, 5) + (0.15 if frail else 0.0))
    values: list[float] = []
    for day in range(SERIES_DAYS):
        late = rng.choice((1, 2, 3)) if rng.random() < sleep_in else 0
        skipped = {h for h in range(24) if profile[h] > base * 1.2 and rng.random() < skip}
        weekend = (SERIES_START + timedelta(days=day)).weekday() >= 5
        for hour in range(24):
            h = day * 24 + hour
            if h in quiet:
                values.append(round(_STANDBY_KWH + abs(rng.gauss(0, 0.008)), 3))
                continue
            morning = 5 <= hour < 9
            load = base if hour in skipped or (morning and hour < 6 + late) else profile[hour]
            if weekend and 10 <= hour <= 17:
                load *= 1.25
            values.append(round(load * scale * max(0.2, 1 + rng.gauss(0, 0.15)), 3))
    return values


def _longest_run(flags: list[bool]) -> int:
    longest = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


def _morning_start(values: list[float]) -> float:
    """Mean hour each day when use first rises well above the night's level (12 if never)."""
    starts = []
    for day in range(len(values) // 24):
        hours = values[day * 24 : day * 24 + 24]
        night = sum(hours[1:5]) / 4
        start = next((h for h in range(4, 12) if hours[h] > 1.8 * night), 12)
        starts.append(start)
    return sum(starts) / len(starts)


def _usage_features(values: list[float]) -> dict[str, object]:
    hours = [[values[d * 24 + h] for d in range(len(values) // 24)] for h in range(24)]
    mean_by_hour = [sum(column) / len(column) for column in hours]
    night = sum(mean_by_hour[0:5]) / 5
    day = sum(mean_by_hour[8:21]) / 13
    steps = [abs(b - a) for a, b in itertools.pairwise(values)]
    return {
        "mean_daily_kwh": round(sum(values) / (len(values) / 24), 3),
        "night_day_ratio": round(night / day, 3),
        "longest_standby_hours": _longest_run([v < _STANDBY_BELOW for v in values]),
        "flat_hour_share": round(sum(s < 0.02 for s in steps) / len(steps), 3),
        "morning_start_hour": round(_morning_start(values), 2),
        "peak_to_mean": round(max(mean_by_hour) / (sum(mean_by_hour) / 24), 3),
    }


def _wellbeing_tables(population: Population, seed: int) -> tuple[Table, Table]:
    """One row per one-person household: two weeks of its electricity use, and whether the
    care register counts its resident as at risk.

    The test set is a quarter of the at-risk households and a quarter of the others (chosen by
    keyed hash), so both classes are in both sets even in a small city.
    """
    rng = _task_rng(seed, WELLBEING)
    inactive = _inactive_hours(population)
    rows: list[dict[str, object]] = []
    for household in population.households:
        people = _household_people(population, household)
        if len(people) != 1:
            continue
        quiet = inactive.get(household.household_id, range(0))
        label = _at_risk(people[0], bool(quiet))
        profile = energy._profile(population, household)
        values = _hourly_use(profile, rng, frail=label, quiet=quiet)
        rows.append(
            {
                "id": _opaque_id("W", seed, WELLBEING, household.household_id),
                **_usage_features(values),
                "at_risk": int(label),
            }
        )
    chosen: set[str] = set()
    for value in (0, 1):
        group = sorted(
            (str(row["id"]) for row in rows if row["at_risk"] == value),
            key=lambda i: hashlib.sha256(f"{seed}:testbed-split:{WELLBEING}:{i}".encode()).digest(),
        )
        if len(group) > 1:
            chosen.update(group[: max(1, round(len(group) * _TEST_SHARE))])
    return _split(rows, [str(row["id"]) in chosen for row in rows])


# --- Hourly population flow ---------------------------------------------------------------------


def _flow_counts(population: Population, rng: random.Random) -> list[Counter[str]]:
    """SKT subscribers present per cell, hour by hour, with the days differing.

    Where people are comes from ``telecom._where`` (home at night, work or school in weekday
    working hours, out near home now and then); on top of it each day some commuters stay home
    and everyone picks one of a few favourite places to go out to.
    """
    subscribers = [p for p in population.people if p.mobile_operator == "SKT"]
    homes = {p.index: population.household(p.household_id).cell for p in subscribers}
    favourites: dict[int, list[str]] = {}
    for p in subscribers:
        household = population.household(p.household_id)
        favourites[p.index] = [
            grid_cell(household.lat + rng.gauss(0, 0.008), household.lon + rng.gauss(0, 0.01))
            for _ in range(3)
        ]
    counts: list[Counter[str]] = []
    for day in range(_FLOW_DAYS):
        weekday = (_FLOW_START + timedelta(days=day)).weekday()
        plans = [
            (p, rng.random() < 0.06, favourites[p.index][rng.randrange(3)]) for p in subscribers
        ]
        for hour in range(24):
            present: Counter[str] = Counter()
            for person, stays_home, wander in plans:
                if stays_home:
                    # A day off: the non-commuter's day of ``telecom._where``, out now and then.
                    out = 10 <= hour <= 20 and hour % 3 == 0
                    present[wander if out else homes[person.index]] += 1
                else:
                    present[telecom._where(person, homes[person.index], hour, weekday, wander)] += 1
            counts.append(present)
    return counts


def _flow_tables(population: Population, seed: int) -> tuple[Table, Table]:
    """The busiest cells' population per hour over three weeks; the last day is the test set."""
    rng = _task_rng(seed, FLOW)
    counts = _flow_counts(population, rng)
    expansion = CITY_POPULATION / len(population.people) / telecom.MARKET_SHARE["SKT"]
    test_first = (_FLOW_DAYS - 1) * 24
    # The busiest cells before the test day; fewer in a small city, where most cells are empty.
    busy: Counter[str] = Counter()
    for present in counts[:test_first]:
        busy.update(present)
    cells = sorted(cell for cell, _ in busy.most_common(_FLOW_CELLS))
    population_at = [
        {cell: round(present[cell] * expansion * rng.uniform(0.93, 1.07), 1) for cell in cells}
        for present in counts
    ]
    rows: list[dict[str, object]] = []
    test_flags: list[bool] = []
    for cell in cells:
        lat, lon = grid_cell_centre(cell)
        for h in range(7 * 24, _FLOW_DAYS * 24):
            when = _FLOW_START + timedelta(hours=h)
            rows.append(
                {
                    "id": _opaque_id("P", seed, FLOW, f"{cell}/{h}"),
                    "cell_id": cell,
                    "cell_lat": lat,
                    "cell_lon": lon,
                    "date": when.date().isoformat(),
                    "hour": when.hour,
                    "day_of_week": when.weekday(),
                    "is_weekend": int(when.weekday() >= 5),
                    "population_previous_day": population_at[h - 24][cell],
                    "population_previous_week": population_at[h - 7 * 24][cell],
                    "population": population_at[h][cell],
                }
            )
            test_flags.append(h >= test_first)
    return _split(rows, test_flags)


# --- All tasks ----------------------------------------------------------------------------------

_BUILDERS: dict[str, Callable[[Population, int], tuple[Table, Table]]] = {
    ELECTRICITY: _electricity_tables,
    READMISSION: _readmission_tables,
    WELLBEING: _wellbeing_tables,
    FLOW: _flow_tables,
}


def testbed_tables(population: Population, seed: int) -> dict[str, Table]:
    """slug -> table for every training and test dataset of :data:`DEMO_TASKS`."""
    tables: dict[str, Table] = {}
    for task in DEMO_TASKS:
        training, test = _BUILDERS[task.slug](population, seed)
        tables[task.training.slug] = training
        tables[task.test.slug] = test
    return tables


def write_testbed_files(population: Population, out_dir: Path, seed: int) -> dict[str, Path]:
    """Write each training and test table as Parquet (named ``spec.filename``); slug -> path."""
    return {spec.slug: spec.path for spec in testbed_specs(population, out_dir, seed) if spec.path}


def testbed_specs(population: Population, out_dir: Path, seed: int) -> list[DemoDatasetSpec]:
    """Write the files, and return every training and test spec with ``path`` and ``rows``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = testbed_tables(population, seed)
    specs = []
    for task in DEMO_TASKS:
        for spec in (task.training, task.test):
            path = out_dir / spec.filename
            write_table(tables[spec.slug], path, file_format=spec.file_format)
            specs.append(replace(spec, path=path, rows=row_count(tables[spec.slug])))
    return specs
