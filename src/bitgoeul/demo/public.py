"""Public-sector data of the demo city: Gwangju's registers, complaints and buses, NIA's
labelled complaints for AI training, and KISA's security incident statistics.

The resident register is the one place each synthetic person is written down exactly; every
other institution's copy of a person differs from it a little (see ``variants``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bitgoeul.demo.gwangju import (
    BUS_ROUTES,
    CITY_POPULATION,
    DISTRICT_BY_NAME,
    DISTRICTS,
    KST,
    REFERENCE_DATE,
    SERIES_DAYS,
    SERIES_START,
)
from bitgoeul.demo.population import Population
from bitgoeul.demo.source_files import TRUTH_COLUMN, Table
from bitgoeul.demo.variants import date_as, name_as_typed, phone_as

_RELATION_KO = {
    "head": "본인",
    "self": "본인",
    "spouse": "배우자",
    "child": "자녀",
    "parent": "부모",
}


def registered_residents(population: Population, rng: random.Random) -> Table:
    table: Table = {
        "resident_id": [],
        "name": [],
        "sex": [],
        "birth_date": [],
        "household_id": [],
        "relation_to_head": [],
        "household_size": [],
        "district": [],
        "dong": [],
        "road_address": [],
        "moved_in": [],
    }
    moved: dict[str, date] = {}
    for person in population.people:
        household = population.household(person.household_id)
        earliest = max(person.birth_date, date(1995, 1, 1))
        moved.setdefault(
            household.household_id,
            earliest + timedelta(days=rng.randrange(max(1, (REFERENCE_DATE - earliest).days))),
        )
        table["resident_id"].append(person.resident_id)
        table["name"].append(person.name)
        table["sex"].append(person.sex)
        table["birth_date"].append(person.birth_date)
        table["household_id"].append(person.household_id)
        table["relation_to_head"].append(_RELATION_KO[person.relation])
        table["household_size"].append(len(household.members))
        table["district"].append(household.district_ko)
        table["dong"].append(household.dong)
        table["road_address"].append(household.road_address)
        table["moved_in"].append(max(moved[household.household_id], person.birth_date))
    return table


def elderly_living_alone(population: Population, rng: random.Random) -> Table:
    """The city's care register (독거노인 돌봄): most, not all, of those living alone at 65+."""
    table: Table = {
        "care_id": [],
        "name": [],
        "birth_date": [],
        "sex": [],
        "phone": [],
        "address": [],
        "dong": [],
        "care_level": [],
        "caseworker": [],
        "last_home_visit": [],
        TRUTH_COLUMN: [],
    }
    number = 0
    for person in population.elderly_living_alone():
        if rng.random() > 0.85:
            continue  # not known to the city's care services
        number += 1
        household = population.household(person.household_id)
        if person.phone is None or rng.random() < 0.25:
            phone = f"062-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        else:
            phone = phone_as(person.phone, "hyphens")
        level = "special" if person.age >= 85 else rng.choice(("general", "general", "intensive"))
        table["care_id"].append(f"GJC-{number:05d}")
        table["name"].append(name_as_typed(person.name, person.surname, rng, error_rate=0.02))
        table["birth_date"].append(date_as(person.birth_date, "iso"))
        table["sex"].append(person.sex)
        table["phone"].append(phone)
        table["address"].append(household.road_address)
        table["dong"].append(household.dong)
        table["care_level"].append(level)
        table["caseworker"].append(f"{household.dong} 생활지원사 {rng.randint(1, 6)}")
        table["last_home_visit"].append(SERIES_START.date() - timedelta(days=rng.randint(1, 60)))
        table[TRUTH_COLUMN].append(person.resident_id)
    return table


@dataclass(frozen=True)
class _Topic:
    category: str
    category_ko: str
    urgency: str
    texts: tuple[str, ...]


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "road",
        "도로",
        "normal",
        (
            "{road} 인근 도로에 포트홀이 생겨 차량 통행이 위험합니다. 빠른 보수 부탁드립니다.",
            "{dong} {road} 보도블록이 파손되어 걸려 넘어질 뻔했습니다.",
        ),
    ),
    _Topic(
        "parking",
        "주정차",
        "low",
        (
            "{dong} 골목 불법 주정차 때문에 {time}마다 통행이 어렵습니다. 단속 요청합니다.",
            "{road} 상가 앞 이중주차가 심해 버스가 지나가지 못합니다.",
        ),
    ),
    _Topic(
        "noise",
        "소음",
        "low",
        (
            "{dong} 공사장 소음이 {time}부터 심합니다. 작업 시간 조정 부탁드립니다.",
            "{dong} 아파트 인근 오토바이 굉음 때문에 잠을 잘 수 없습니다.",
        ),
    ),
    _Topic(
        "waste",
        "쓰레기",
        "normal",
        (
            "{road} 인근에 쓰레기 무단투기가 계속되고 있습니다. CCTV 설치를 요청합니다.",
            "{dong} 음식물 쓰레기 수거가 며칠째 안 되어 악취가 납니다.",
        ),
    ),
    _Topic(
        "streetlight",
        "가로등",
        "normal",
        (
            "{dong} {road} 가로등이 {days}일째 꺼져 있어 밤길이 어둡습니다.",
            "{dong} 공원 산책로 조명이 고장 나 저녁에 다니기 무섭습니다.",
        ),
    ),
    _Topic(
        "bus",
        "대중교통",
        "low",
        (
            "{route}번 버스 배차 간격이 너무 깁니다. {time} 증차를 요청합니다.",
            "{dong} 정류장 버스 도착 안내기가 고장 났습니다.",
        ),
    ),
    _Topic(
        "wellbeing",
        "복지·안부",
        "high",
        (
            "{dong}에 혼자 사시는 어르신이 {days}일째 보이지 않습니다. 안부 확인 부탁드립니다.",
            "옆집 할머니 댁 우편물이 쌓여 있고 인기척이 없습니다. "
            "{dong} 주민센터에서 확인해 주세요.",
        ),
    ),
    _Topic(
        "safety",
        "안전",
        "high",
        (
            "{dong} 어린이보호구역에 과속 차량이 많습니다. 과속방지턱 설치를 요청합니다.",
            "{road} 공사 현장 가림막이 쓰러질 것 같아 위험합니다.",
        ),
    ),
    _Topic(
        "environment",
        "환경",
        "normal",
        (
            "{dong} 하천에서 악취가 나고 물고기가 죽어 있습니다.",
            "{dong} 인근 공장에서 매연이 심하게 나옵니다.",
        ),
    ),
)
_OPENINGS = ("", "", "안녕하세요. ", "수고 많으십니다. ", "민원 드립니다. ")
_CLOSINGS = ("", "", " 감사합니다.", " 조속한 처리 바랍니다.", " 확인 부탁드립니다.")
_TIMES = ("아침", "출근 시간", "저녁", "밤늦게", "주말")


@dataclass(frozen=True)
class Complaint:
    complaint_id: str
    received_at: datetime
    channel: str
    district: str
    dong: str
    topic: _Topic
    text: str
    days_to_close: int | None


def complaints(population: Population, rng: random.Random) -> list[Complaint]:
    """Civil complaints filed by residents in 2025 (no complainant names are kept)."""
    found = []
    count = max(60, len(population.people) // 4)
    start = datetime(2025, 1, 1, tzinfo=KST)
    for number in range(1, count + 1):
        resident = rng.choice(population.people)
        household = population.household(resident.household_id)
        district = DISTRICT_BY_NAME[household.district]
        topic = rng.choices(_TOPICS, weights=(3, 4, 2, 3, 2, 2, 1, 2, 1))[0]
        body = rng.choice(topic.texts).format(
            dong=household.dong,
            road=rng.choice(district.roads),
            time=rng.choice(_TIMES),
            days=rng.randint(2, 5),
            route=rng.choice(BUS_ROUTES),
        )
        text = rng.choice(_OPENINGS) + body + rng.choice(_CLOSINGS)
        received = start + timedelta(minutes=rng.randrange(348 * 24 * 60))
        closed = None if rng.random() < 0.08 else max(0, int(rng.expovariate(1 / 6)))
        found.append(
            Complaint(
                complaint_id=f"GJ-2025-{number:06d}",
                received_at=received.replace(second=0, microsecond=0),
                channel=rng.choices(("online", "call-120", "visit", "app"), (5, 3, 1, 2))[0],
                district=household.district,
                dong=household.dong,
                topic=topic,
                text=text,
                days_to_close=closed,
            )
        )
    found.sort(key=lambda c: c.received_at)
    return found


def city_complaints(found: list[Complaint]) -> Table:
    table: Table = {
        "complaint_id": [],
        "received_at": [],
        "channel": [],
        "district": [],
        "dong": [],
        "category": [],
        "text": [],
        "status": [],
        "days_to_close": [],
    }
    for c in found:
        table["complaint_id"].append(c.complaint_id)
        table["received_at"].append(c.received_at)
        table["channel"].append(c.channel)
        table["district"].append(c.district)
        table["dong"].append(c.dong)
        table["category"].append(c.topic.category_ko)
        table["text"].append(c.text)
        table["status"].append("open" if c.days_to_close is None else "closed")
        table["days_to_close"].append(c.days_to_close)
    return table


def labelled_complaints(found: list[Complaint], rng: random.Random) -> Table:
    """NIA's AI training set: complaint text with category and urgency labels, and a split."""
    table: Table = {"id": [], "text": [], "label": [], "label_ko": [], "urgency": [], "split": []}
    for number, c in enumerate(found, start=1):
        table["id"].append(f"NIA-CC-{number:06d}")
        table["text"].append(c.text)
        table["label"].append(c.topic.category)
        table["label_ko"].append(c.topic.category_ko)
        table["urgency"].append(c.topic.urgency)
        table["split"].append(rng.choices(("train", "validation", "test"), (8, 1, 1))[0])
    return table


def bus_ridership(population: Population, rng: random.Random) -> Table:
    """Boardings and alightings per route, day and hour (transit-card taps, city-wide)."""
    scale = CITY_POPULATION / 1_000_000
    table: Table = {"date": [], "route": [], "hour": [], "boardings": [], "alightings": []}
    popularity = {route: rng.uniform(0.5, 1.6) for route in BUS_ROUTES}
    for day in range(SERIES_DAYS):
        when = (SERIES_START + timedelta(days=day)).date()
        weekend = when.weekday() >= 5
        for route in BUS_ROUTES:
            for hour in range(5, 24):
                peak = 2.2 if hour in (7, 8, 18) and not weekend else 1.0
                base = 60 * popularity[route] * peak * scale * (0.7 if weekend else 1.0)
                if hour < 6 or hour > 22:
                    base *= 0.3
                boardings = max(0, int(rng.gauss(base, base * 0.12)))
                table["date"].append(when)
                table["route"].append(route)
                table["hour"].append(hour)
                table["boardings"].append(boardings)
                table["alightings"].append(max(0, int(boardings * rng.uniform(0.9, 1.1))))
    return table


_INCIDENTS = (
    ("smishing", "스미싱", 30),
    ("voice-phishing", "보이스피싱", 18),
    ("ransomware", "랜섬웨어", 3),
    ("account-takeover", "계정 도용", 9),
    ("ddos", "디도스", 1),
    ("personal-data-leak", "개인정보 유출", 4),
)


def security_incidents(rng: random.Random) -> Table:
    """KISA: incidents reported per month, district and type, 2024 to 2025."""
    table: Table = {
        "month": [],
        "district": [],
        "incident_type": [],
        "incident_type_ko": [],
        "reports": [],
    }
    for year in (2024, 2025):
        for month in range(1, 13):
            for district in DISTRICTS:
                for kind, kind_ko, base in _INCIDENTS:
                    trend = 1.0 + (0.15 if year == 2025 else 0.0) + (0.3 if month in (1, 9) else 0)
                    mean = base * district.share * 5 * trend
                    table["month"].append(f"{year}-{month:02d}")
                    table["district"].append(district.name)
                    table["incident_type"].append(kind)
                    table["incident_type_ko"].append(kind_ko)
                    table["reports"].append(max(0, int(rng.gauss(mean, mean * 0.3 + 0.5))))
    return table
