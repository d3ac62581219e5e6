"""Facts about Gwangju the demo city is drawn from: districts, dongs, roads, names, codes.

Everything here is public, general knowledge (district and administrative-dong names, road
names, the distribution of Korean surnames, KCD-7 codes); none of it describes a person.  The
geography is fixed: it does not depend on the generator's seed, so every seed builds people
into the same city.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache

KST = timezone(timedelta(hours=9), "KST")

# The day the demo's registers were "extracted"; ages are counted to this day.
REFERENCE_DATE = date(2026, 1, 1)
# Hourly series (meters, population flow, appliances) cover this window.
SERIES_START = datetime(2025, 12, 1, tzinfo=KST)
SERIES_DAYS = 14
FLOW_DAYS = 7

CITY_KO = "광주광역시"
CITY_SHORT_KO = "광주"
CITY_POPULATION = 1_420_000


@dataclass(frozen=True)
class District:
    code: str
    name: str
    name_ko: str
    share: float  # of the city's population
    centre: tuple[float, float]  # latitude, longitude
    dongs: tuple[str, ...]
    roads: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District(
        "29110",
        "Dong-gu",
        "동구",
        0.075,
        (35.1460, 126.9232),
        (
            "충장동",
            "동명동",
            "계림1동",
            "계림2동",
            "산수1동",
            "산수2동",
            "지산1동",
            "지산2동",
            "서남동",
            "학동",
            "학운동",
            "지원1동",
            "지원2동",
        ),
        ("충장로", "금남로", "제봉로", "필문대로", "서석로", "백서로", "지호로"),
    ),
    District(
        "29140",
        "Seo-gu",
        "서구",
        0.205,
        (35.1520, 126.8895),
        (
            "양동",
            "양3동",
            "농성1동",
            "농성2동",
            "광천동",
            "유덕동",
            "치평동",
            "상무1동",
            "상무2동",
            "화정1동",
            "화정2동",
            "화정3동",
            "화정4동",
            "서창동",
            "금호1동",
            "금호2동",
            "풍암동",
            "동천동",
        ),
        ("상무대로", "상무중앙로", "무진대로", "화운로", "풍암순환로", "금화로", "치평로"),
    ),
    District(
        "29155",
        "Nam-gu",
        "남구",
        0.145,
        (35.1330, 126.9020),
        (
            "양림동",
            "방림1동",
            "방림2동",
            "봉선1동",
            "봉선2동",
            "사직동",
            "월산동",
            "월산4동",
            "월산5동",
            "백운1동",
            "백운2동",
            "주월1동",
            "주월2동",
            "진월동",
            "효덕동",
            "송암동",
            "대촌동",
        ),
        ("봉선로", "서문대로", "대남대로", "회서로", "효우로", "진월로", "송암로"),
    ),
    District(
        "29170",
        "Buk-gu",
        "북구",
        0.300,
        (35.1740, 126.9120),
        (
            "중흥1동",
            "중흥2동",
            "중흥3동",
            "중앙동",
            "임동",
            "신안동",
            "용봉동",
            "운암1동",
            "운암2동",
            "운암3동",
            "동림동",
            "우산동",
            "풍향동",
            "문화동",
            "문흥1동",
            "문흥2동",
            "두암1동",
            "두암2동",
            "두암3동",
            "삼각동",
            "일곡동",
            "매곡동",
            "오치1동",
            "오치2동",
            "석곡동",
            "건국동",
            "양산동",
            "신용동",
        ),
        ("용봉로", "서방로", "우치로", "설죽로", "북문대로", "하서로", "일곡로", "면앙로"),
    ),
    District(
        "29200",
        "Gwangsan-gu",
        "광산구",
        0.275,
        (35.1395, 126.7937),
        (
            "송정1동",
            "송정2동",
            "도산동",
            "신흥동",
            "어룡동",
            "우산동",
            "월곡1동",
            "월곡2동",
            "비아동",
            "첨단1동",
            "첨단2동",
            "신가동",
            "운남동",
            "수완동",
            "하남동",
            "임곡동",
            "동곡동",
            "평동",
            "삼도동",
            "본량동",
            "신창동",
        ),
        ("수완로", "임방울대로", "첨단중앙로", "하남대로", "송정로", "신창로", "어등대로"),
    ),
)

DISTRICT_BY_NAME = {d.name: d for d in DISTRICTS}


def _dong_centres() -> dict[tuple[str, str], tuple[float, float]]:
    """A fixed centre for each dong, scattered around its district's centre."""
    rng = random.Random("gwangju-geography")
    centres = {}
    for district in DISTRICTS:
        spread = 0.035 if district.name in ("Gwangsan-gu", "Buk-gu") else 0.02
        for dong in district.dongs:
            lat = district.centre[0] + rng.uniform(-spread, spread) * 0.8
            lon = district.centre[1] + rng.uniform(-spread, spread)
            centres[(district.name, dong)] = (round(lat, 5), round(lon, 5))
    return centres


DONG_CENTRES = _dong_centres()

# The 250 m grid the telecom operators report population flow on.
GRID_ORIGIN = (35.0500, 126.6500)
GRID_METRES = 250
_DLAT = GRID_METRES / 111_000
_DLON = GRID_METRES / (111_320 * math.cos(math.radians(35.15)))


def grid_cell(lat: float, lon: float) -> str:
    row = int((lat - GRID_ORIGIN[0]) / _DLAT)
    col = int((lon - GRID_ORIGIN[1]) / _DLON)
    return f"GJ250-{row:03d}-{col:03d}"


@cache
def grid_cell_centre(cell: str) -> tuple[float, float]:
    _, row, col = cell.split("-")
    return (
        round(GRID_ORIGIN[0] + (int(row) + 0.5) * _DLAT, 5),
        round(GRID_ORIGIN[1] + (int(col) + 0.5) * _DLON, 5),
    )


# Surnames and their approximate shares (Statistics Korea, 2015 census).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("김", 21.5),
    ("이", 14.7),
    ("박", 8.4),
    ("최", 4.7),
    ("정", 4.3),
    ("강", 2.3),
    ("조", 2.1),
    ("윤", 2.1),
    ("장", 2.0),
    ("임", 1.7),
    ("한", 1.5),
    ("오", 1.5),
    ("서", 1.5),
    ("신", 1.5),
    ("권", 1.4),
    ("황", 1.4),
    ("안", 1.4),
    ("송", 1.4),
    ("전", 1.1),
    ("홍", 1.1),
    ("유", 1.1),
    ("고", 0.9),
    ("문", 0.9),
    ("양", 0.9),
    ("손", 0.9),
    ("배", 0.8),
    ("백", 0.7),
    ("허", 0.6),
    ("노", 0.6),
    ("남", 0.5),
)

# Given-name syllables by generation and sex: (first syllables, second syllables).
GIVEN_NAME_SYLLABLES: dict[tuple[str, str], tuple[str, str]] = {
    ("old", "M"): ("영종병상정성광기용재만춘", "수호철식남석길근환태"),
    ("old", "F"): ("순영정말옥경숙춘금명", "자희숙순례옥남님분덕"),
    ("mid", "M"): ("성정동재상진준영현승", "호훈민수철우진석현욱"),
    ("mid", "F"): ("미은지혜현수정선경연", "영경정진희숙아주미선"),
    ("young", "M"): ("민서도하준지시예주건우현", "준우윤호민현원찬율후진"),
    ("young", "F"): ("서지하수민예채다유윤소", "연윤은아원린영민현빈율"),
}


def generation(birth_year: int) -> str:
    if birth_year < 1960:
        return "old"
    if birth_year < 1990:
        return "mid"
    return "young"


# Age bands and their shares of Gwangju's population (rounded).
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 9, 0.07),
    (10, 19, 0.10),
    (20, 29, 0.14),
    (30, 39, 0.12),
    (40, 49, 0.15),
    (50, 59, 0.16),
    (60, 69, 0.14),
    (70, 79, 0.08),
    (80, 95, 0.04),
)


@dataclass(frozen=True)
class Condition:
    code: str  # KCD-7
    name: str
    name_ko: str
    department: str
    min_age: int
    prevalence: float  # among people at or above min_age
    lab: str | None = None


# Chronic and acute conditions the hospitals' demo data is drawn from (KCD-7 codes).
CONDITIONS: tuple[Condition, ...] = (
    Condition("I10", "Essential hypertension", "본태성 고혈압", "순환기내과", 40, 0.28, "SBP"),
    Condition("E11", "Type 2 diabetes mellitus", "2형 당뇨병", "내분비내과", 40, 0.14, "HbA1c"),
    Condition("E78", "Hyperlipidaemia", "고지질혈증", "내분비내과", 40, 0.16, "LDL"),
    Condition("J45", "Asthma", "천식", "호흡기내과", 5, 0.04, "FEV1"),
    Condition("F32", "Depressive episode", "우울에피소드", "정신건강의학과", 15, 0.05, None),
    Condition(
        "M17", "Gonarthrosis (knee osteoarthritis)", "무릎관절증", "정형외과", 55, 0.20, None
    ),
    Condition("N18", "Chronic kidney disease", "만성 신장병", "신장내과", 50, 0.05, "eGFR"),
    Condition("I63", "Cerebral infarction", "뇌경색증", "신경과", 60, 0.04, None),
    Condition(
        "F00",
        "Dementia in Alzheimer's disease",
        "알츠하이머병에서의 치매",
        "신경과",
        70,
        0.09,
        None,
    ),
    Condition(
        "J44",
        "Chronic obstructive pulmonary disease",
        "만성 폐쇄성 폐질환",
        "호흡기내과",
        50,
        0.04,
        "FEV1",
    ),
    Condition(
        "K21", "Gastro-oesophageal reflux disease", "위-식도역류병", "소화기내과", 20, 0.06, None
    ),
    Condition(
        "J06", "Acute upper respiratory infection", "급성 상기도감염", "가정의학과", 0, 0.10, None
    ),
)

LAB_TESTS: dict[str, tuple[str, str, float, float]] = {
    # code: (name, unit, mean among those with the condition, standard deviation)
    "SBP": ("Systolic blood pressure", "mmHg", 148.0, 12.0),
    "HbA1c": ("Glycated haemoglobin", "%", 7.6, 0.9),
    "LDL": ("LDL cholesterol", "mg/dL", 162.0, 25.0),
    "FEV1": ("FEV1 percent predicted", "%", 68.0, 10.0),
    "eGFR": ("Estimated glomerular filtration rate", "mL/min/1.73m2", 48.0, 10.0),
}
LAB_NORMAL: dict[str, tuple[float, float]] = {
    "SBP": (122.0, 10.0),
    "HbA1c": (5.4, 0.3),
    "LDL": (110.0, 20.0),
    "FEV1": (95.0, 8.0),
    "eGFR": (92.0, 12.0),
}

# Places the map-and-search platform lists: (category, Korean category, name stems).
POI_CATEGORIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("cafe", "카페", ("커피", "카페", "다방", "로스터리")),
    ("restaurant", "음식점", ("식당", "국밥", "한정식", "떡갈비", "오리탕", "김밥")),
    ("convenience", "편의점", ("CU", "GS25", "세븐일레븐", "이마트24")),
    ("pharmacy", "약국", ("약국", "온누리약국", "건강약국")),
    ("clinic", "의원", ("내과의원", "가정의학과의원", "정형외과의원", "소아과의원")),
    ("market", "전통시장", ("시장", "상가")),
    ("park", "공원", ("공원", "근린공원")),
    ("senior_centre", "경로당", ("경로당", "노인복지관")),
    ("school", "학교", ("초등학교", "중학교", "고등학교")),
    ("culture", "문화시설", ("도서관", "문화센터", "미술관")),
)

BUS_ROUTES: tuple[str, ...] = (
    "송정19",
    "상무62",
    "수완12",
    "첨단09",
    "봉선37",
    "진월07",
    "문흥18",
    "일곡38",
    "금호36",
    "풍암26",
    "좌석02",
    "지원15",
    "용봉83",
    "충장22",
    "마을761",
    "대촌270",
)


def age_on(birth: date, day: date = REFERENCE_DATE) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
