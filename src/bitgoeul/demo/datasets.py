"""The demo catalogue: every institution's datasets, their metadata, and their source files.

``write_demo_files(population, out_dir, seed)`` derives each dataset from the one population
and writes it in the format that institution would send (CSV in UTF-8 or CP949, JSON Lines,
Parquet, XLSX).  It is a pure function of its arguments: no database, no clock.  Each
institution draws from its own generator (seeded with the seed and its slug), so adding a
dataset to one institution never changes another's data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from bitgoeul.catalog.models import AccessLevel, Sector
from bitgoeul.catalog.schemas import DatasetCreate, UpdateFrequency
from bitgoeul.demo import energy, health, public, telecom
from bitgoeul.demo.gwangju import FLOW_DAYS, SERIES_DAYS, SERIES_START
from bitgoeul.demo.institutions import INSTITUTION_BY_SLUG
from bitgoeul.demo.population import Population
from bitgoeul.demo.source_files import TRUTH_COLUMN, Table, row_count, write_table

DIRECT = "direct_identifier"
QUASI = "quasi_identifier"
SENSITIVE = "sensitive"

_SERIES_END = SERIES_START.date() + timedelta(days=SERIES_DAYS - 1)
_FLOW_END = SERIES_START.date() + timedelta(days=FLOW_DAYS - 1)
_YEAR_2025 = (date(2025, 1, 1), date(2025, 12, 31))
_SERIES = (SERIES_START.date(), _SERIES_END)
_GWANGJU = "Gwangju Metropolitan City, KR (광주광역시)"


@dataclass(frozen=True)
class DemoDatasetSpec:
    """One demo dataset: its catalogue metadata and the source file it is published from."""

    slug: str
    publisher: str
    title: str
    title_ko: str
    description: str
    description_ko: str
    sector: Sector
    access_level: AccessLevel
    licence: str
    keywords: tuple[str, ...]
    filename: str
    file_format: str
    encoding: str = "utf-8"
    period: tuple[date, date] | None = None
    update_frequency: UpdateFrequency = UpdateFrequency.monthly
    column_classes: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    rows: int = 0

    def create_request(self) -> DatasetCreate:
        institution = INSTITUTION_BY_SLUG[self.publisher]
        return DatasetCreate(
            slug=self.slug,
            title=self.title,
            title_ko=self.title_ko,
            description=self.description,
            description_ko=self.description_ko,
            publisher=self.publisher,
            sector=self.sector,
            keywords=list(self.keywords),
            licence=self.licence,
            access_level=self.access_level,
            temporal_start=self.period[0] if self.period else None,
            temporal_end=self.period[1] if self.period else None,
            spatial=_GWANGJU,
            update_frequency=self.update_frequency,
            contact_name=f"{institution.name} data desk",
            contact_email=institution.data_email,
        )


_SYNTHETIC = " Synthetic demo data: no real person is described."
_SYNTHETIC_KO = " 합성 데모 데이터이며 실제 개인 정보는 없습니다."

CATALOGUE: tuple[DemoDatasetSpec, ...] = (
    DemoDatasetSpec(
        "kepco-household-electricity-hourly",
        "kepco",
        "Hourly household electricity use (smart meters)",
        "가구별 시간대별 전력 사용량 (AMI)",
        "Hourly kWh per residential smart meter in Gwangju, keyed by customer and meter number."
        " Elderly residents living alone show low, flat profiles." + _SYNTHETIC,
        "광주 주택용 스마트 계량기(AMI)의 시간별 사용량(kWh)." + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.restricted,
        "proprietary",
        ("electricity", "smart meter", "AMI", "household", "전력", "전력사용량", "스마트미터"),
        "kepco-household-electricity-hourly.parquet",
        "parquet",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
        column_classes={"customer_no": DIRECT, "meter_id": DIRECT},
    ),
    DemoDatasetSpec(
        "kepco-residential-customers",
        "kepco",
        "Residential electricity customers",
        "주택용 전력 고객 정보",
        "Residential contracts: contract holder, phone, supply address, welfare discount."
        + _SYNTHETIC,
        "주택용 전력 계약 고객: 계약자명, 연락처, 공급 주소, 복지할인 구분." + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.restricted,
        "proprietary",
        ("electricity", "customers", "welfare discount", "전력", "고객", "복지할인"),
        "kepco-residential-customers.csv",
        "csv",
        encoding="cp949",
        column_classes={
            "customer_no": DIRECT,
            "meter_id": DIRECT,
            "contract_holder": DIRECT,
            "phone": DIRECT,
            "supply_address": DIRECT,
            "welfare_discount": SENSITIVE,
        },
    ),
    DemoDatasetSpec(
        "kepco-dong-electricity-daily",
        "kepco",
        "Daily residential electricity use by neighbourhood",
        "행정동별 일별 주택용 전력 사용량",
        "Total daily kWh of residential meters per administrative dong, with household counts."
        " Dongs with fewer than five metered households are pooled per district." + _SYNTHETIC,
        "행정동별 주택용 전력 일 사용량 합계와 가구 수. 5가구 미만 행정동은 자치구별로 합산합니다."
        + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.open,
        "KOGL-Type1",
        ("electricity", "statistics", "dong", "전력", "통계", "행정동"),
        "kepco-dong-electricity-daily.csv",
        "csv",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
    ),
    DemoDatasetSpec(
        "kdn-grid-equipment",
        "kepco-kdn",
        "Distribution-grid equipment",
        "배전 설비 현황",
        "Transformers, switches and reclosers of the distribution grid in Gwangju, with "
        "location, capacity and the households each transformer serves." + _SYNTHETIC,
        "광주 배전 설비(변압기, 개폐기, 리클로저)의 위치, 용량, 공급 가구 수." + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.registered,
        "CC-BY-4.0",
        ("grid", "transformer", "distribution", "배전", "변압기", "설비"),
        "kdn-grid-equipment.xlsx",
        "xlsx",
        update_frequency=UpdateFrequency.quarterly,
    ),
    DemoDatasetSpec(
        "kdn-outage-events",
        "kepco-kdn",
        "Power outage events",
        "정전 이력",
        "Outages on Gwangju's distribution grid in 2025: equipment, start, restoration, "
        "customers affected and cause." + _SYNTHETIC,
        "2025년 광주 배전망 정전 이력: 설비, 발생·복구 시각, 영향 고객 수, 원인." + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.open,
        "KOGL-Type1",
        ("outage", "grid", "reliability", "정전", "배전", "신뢰도"),
        "kdn-outage-events.csv",
        "csv",
        period=_YEAR_2025,
    ),
    DemoDatasetSpec(
        "kpx-system-demand-smp-hourly",
        "kpx",
        "Hourly system demand and marginal price",
        "시간별 전력수요 및 계통한계가격(SMP)",
        "National hourly power demand (MW) and system marginal price (KRW/kWh) for 2025."
        + _SYNTHETIC,
        "2025년 시간별 전국 전력수요(MW)와 계통한계가격(원/kWh)." + _SYNTHETIC_KO,
        Sector.energy,
        AccessLevel.open,
        "KOGL-Type1",
        ("power demand", "SMP", "electricity market", "전력수요", "계통한계가격", "전력시장"),
        "kpx-system-demand-smp-hourly.csv",
        "csv",
        period=(date(2025, 1, 1), _SERIES_END),
        update_frequency=UpdateFrequency.hourly,
    ),
    DemoDatasetSpec(
        "lge-appliance-usage-events",
        "lg-electronics",
        "Home-appliance usage events (ThinQ)",
        "가전제품 사용 이벤트 (ThinQ)",
        "Events from connected appliances (fridge door, washer cycles, TV) under pseudonymous "
        "account and device ids, located to the dong." + _SYNTHETIC,
        "ThinQ 연결 가전의 사용 이벤트(냉장고 문 열림, 세탁 시작, TV 켜짐). 계정·기기 ID는 가명."
        + _SYNTHETIC_KO,
        Sector.consumer_electronics,
        AccessLevel.restricted,
        "proprietary",
        ("appliances", "IoT", "ThinQ", "가전", "사물인터넷", "생활패턴"),
        "lge-appliance-usage-events.jsonl",
        "jsonl",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
        column_classes={"account_ref": QUASI, "device_id": QUASI, "dong": QUASI},
    ),
    DemoDatasetSpec(
        "naver-places",
        "naver-cloud",
        "Points of interest in Gwangju",
        "광주 장소(POI) 정보",
        "Cafés, restaurants, clinics, markets, parks, senior centres and more, with location "
        "and 250 m grid cell." + _SYNTHETIC,
        "카페, 음식점, 의원, 시장, 공원, 경로당 등의 위치와 250m 격자." + _SYNTHETIC_KO,
        Sector.commerce,
        AccessLevel.open,
        "CC-BY-4.0",
        ("POI", "places", "map", "장소", "지도", "상권"),
        "naver-places.csv",
        "csv",
    ),
    DemoDatasetSpec(
        "naver-place-visits-daily",
        "naver-cloud",
        "Daily place visit counts",
        "장소별 일별 방문자 수",
        "Estimated visits per place and day, with median stay." + _SYNTHETIC,
        "장소별 일별 추정 방문자 수와 체류 시간 중앙값." + _SYNTHETIC_KO,
        Sector.commerce,
        AccessLevel.registered,
        "CC-BY-NC-4.0",
        ("visits", "footfall", "places", "방문자", "유동", "상권"),
        "naver-place-visits-daily.parquet",
        "parquet",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
    ),
    DemoDatasetSpec(
        "skt-population-flow-250m-hourly",
        "skt",
        "Population flow per 250 m grid cell and hour (SKT)",
        "250m 격자별 시간대별 유동인구 (SKT)",
        "Estimated people present per 250 m cell and hour, expanded from SK Telecom "
        "subscribers." + _SYNTHETIC,
        "SK텔레콤 가입자 기반 250m 격자별 시간대별 추정 유동인구." + _SYNTHETIC_KO,
        Sector.telecom,
        AccessLevel.registered,
        "CC-BY-NC-4.0",
        ("population flow", "mobility", "grid", "유동인구", "생활인구", "격자"),
        "skt-population-flow-250m-hourly.csv",
        "csv",
        period=(SERIES_START.date(), _FLOW_END),
        update_frequency=UpdateFrequency.daily,
    ),
    DemoDatasetSpec(
        "skt-subscriber-activity-daily",
        "skt",
        "Anonymised subscriber activity per day",
        "가명처리된 가입자 일별 활동",
        "Per subscriber and day, under a keyed pseudonym: age band, sex, home and daytime "
        "cells, calls, messages, data and distance travelled." + _SYNTHETIC,
        "가명 가입자별 일별 연령대, 성별, 주거·주간 격자, 통화·문자·데이터 사용량, 이동거리."
        + _SYNTHETIC_KO,
        Sector.telecom,
        AccessLevel.restricted,
        "proprietary",
        ("subscribers", "mobility", "pseudonymised", "가입자", "이동", "가명정보"),
        "skt-subscriber-activity-daily.parquet",
        "parquet",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
        column_classes={
            "subscriber_key": QUASI,
            "age_band": QUASI,
            "sex": QUASI,
            "home_cell": QUASI,
            "day_cell": QUASI,
        },
    ),
    DemoDatasetSpec(
        "kt-population-flow-250m-hourly",
        "kt",
        "Population flow per 250 m grid cell and hour (KT)",
        "250m 격자별 시간대별 유동인구 (KT)",
        "Estimated people present per 250 m cell and hour, expanded from KT subscribers."
        + _SYNTHETIC,
        "KT 가입자 기반 250m 격자별 시간대별 추정 유동인구." + _SYNTHETIC_KO,
        Sector.telecom,
        AccessLevel.registered,
        "CC-BY-NC-4.0",
        ("population flow", "mobility", "grid", "유동인구", "생활인구", "격자"),
        "kt-population-flow-250m-hourly.parquet",
        "parquet",
        period=(SERIES_START.date(), _FLOW_END),
        update_frequency=UpdateFrequency.daily,
    ),
    DemoDatasetSpec(
        "lguplus-population-flow-250m-hourly",
        "lg-uplus",
        "Population flow per 250 m grid cell and hour (LG Uplus)",
        "250m 격자별 시간대별 유동인구 (LG유플러스)",
        "Estimated people present per 250 m cell and hour, by sex, expanded from LG Uplus "
        "subscribers." + _SYNTHETIC,
        "LG유플러스 가입자 기반 250m 격자별 시간대별 성별 추정 유동인구." + _SYNTHETIC_KO,
        Sector.telecom,
        AccessLevel.registered,
        "CC-BY-NC-4.0",
        ("population flow", "mobility", "grid", "유동인구", "생활인구", "격자"),
        "lguplus-population-flow-250m-hourly.jsonl",
        "jsonl",
        period=(SERIES_START.date(), _FLOW_END),
        update_frequency=UpdateFrequency.daily,
    ),
    DemoDatasetSpec(
        "nia-civil-complaints-labelled",
        "nia",
        "Labelled civil complaints (AI training data)",
        "민원 텍스트 분류 학습 데이터",
        "Korean civil-complaint texts labelled with category and urgency, split into train, "
        "validation and test sets, for training complaint classifiers." + _SYNTHETIC,
        "민원 텍스트에 분류와 긴급도를 라벨링한 학습용 데이터 (train/validation/test)."
        + _SYNTHETIC_KO,
        Sector.ai_training,
        AccessLevel.open,
        "CC-BY-4.0",
        ("AI training", "NLP", "text classification", "인공지능", "학습데이터", "민원", "자연어"),
        "nia-civil-complaints-labelled.jsonl",
        "jsonl",
        period=_YEAR_2025,
        update_frequency=UpdateFrequency.annual,
    ),
    DemoDatasetSpec(
        "kisa-security-incidents-monthly",
        "kisa",
        "Security incident reports per month",
        "월별 사이버 침해사고 신고 통계",
        "Smishing, voice phishing, ransomware, account takeover, DDoS and personal-data leaks "
        "reported per month and district, 2024-2025." + _SYNTHETIC,
        "2024~2025년 월별·자치구별 스미싱, 보이스피싱, 랜섬웨어 등 침해사고 신고 건수."
        + _SYNTHETIC_KO,
        Sector.security,
        AccessLevel.registered,
        "KOGL-Type1",
        ("cybersecurity", "incidents", "phishing", "정보보호", "침해사고", "스미싱"),
        "kisa-security-incidents-monthly.csv",
        "csv",
        period=(date(2024, 1, 1), date(2025, 12, 31)),
    ),
    DemoDatasetSpec(
        "cnuh-patients",
        "cnuh",
        "Patients (Chonnam National University Hospital)",
        "환자 기본정보 (전남대학교병원)",
        "Registered patients: name, birth date, sex, phone, address, first visit." + _SYNTHETIC,
        "등록 환자의 성명, 생년월일, 성별, 연락처, 주소, 최초 내원일." + _SYNTHETIC_KO,
        Sector.healthcare,
        AccessLevel.secure,
        "proprietary",
        ("patients", "hospital", "EMR", "환자", "병원", "의료"),
        "cnuh-patients.csv",
        "csv",
        period=_YEAR_2025,
        column_classes={
            "patient_no": DIRECT,
            "name": DIRECT,
            "phone": DIRECT,
            "address": DIRECT,
            "birth_date": QUASI,
            "sex": QUASI,
        },
    ),
    DemoDatasetSpec(
        "cnuh-visits-diagnoses",
        "cnuh",
        "Visits and diagnoses (Chonnam National University Hospital)",
        "내원 및 진단 (전남대학교병원)",
        "Outpatient, inpatient and emergency visits in 2025 with KCD-7 diagnosis codes."
        + _SYNTHETIC,
        "2025년 외래·입원·응급 내원 기록과 KCD-7 상병코드." + _SYNTHETIC_KO,
        Sector.healthcare,
        AccessLevel.secure,
        "proprietary",
        ("diagnoses", "KCD-7", "visits", "진단", "상병코드", "내원"),
        "cnuh-visits-diagnoses.csv",
        "csv",
        period=_YEAR_2025,
        column_classes={
            "patient_no": DIRECT,
            "visit_date": QUASI,
            "department": SENSITIVE,
            "kcd_code": SENSITIVE,
            "diagnosis_ko": SENSITIVE,
        },
    ),
    DemoDatasetSpec(
        "cnuh-lab-results",
        "cnuh",
        "Laboratory results (Chonnam National University Hospital)",
        "검사 결과 (전남대학교병원)",
        "HbA1c, LDL cholesterol, blood pressure, eGFR and FEV1 results per visit." + _SYNTHETIC,
        "내원별 당화혈색소, LDL 콜레스테롤, 혈압, eGFR, FEV1 검사 결과." + _SYNTHETIC_KO,
        Sector.healthcare,
        AccessLevel.secure,
        "proprietary",
        ("laboratory", "HbA1c", "clinical", "검사", "임상", "당화혈색소"),
        "cnuh-lab-results.parquet",
        "parquet",
        period=_YEAR_2025,
        column_classes={
            "patient_no": DIRECT,
            "collected_on": QUASI,
            "test_code": SENSITIVE,
            "test_name": SENSITIVE,
            "value": SENSITIVE,
        },
    ),
    DemoDatasetSpec(
        "chosun-patients",
        "chosun-hospital",
        "Patients (Chosun University Hospital)",
        "환자 기본정보 (조선대학교병원)",
        "Registered patients, exported from the hospital system with Korean column names."
        + _SYNTHETIC,
        "병원정보시스템에서 내보낸 등록 환자 정보 (한글 컬럼명)." + _SYNTHETIC_KO,
        Sector.healthcare,
        AccessLevel.secure,
        "proprietary",
        ("patients", "hospital", "환자", "병원", "의료"),
        "chosun-patients.xlsx",
        "xlsx",
        period=_YEAR_2025,
        column_classes={
            "등록번호": DIRECT,
            "환자명": DIRECT,
            "휴대전화": DIRECT,
            "주소": DIRECT,
            "생년월일": QUASI,
            "성별": QUASI,
        },
    ),
    DemoDatasetSpec(
        "chosun-visits-diagnoses",
        "chosun-hospital",
        "Visits and diagnoses (Chosun University Hospital)",
        "내원 및 상병 (조선대학교병원)",
        "Visits in 2025 with KCD-7 diagnosis codes and an inpatient flag." + _SYNTHETIC,
        "2025년 내원 기록과 KCD-7 상병코드, 입원 여부." + _SYNTHETIC_KO,
        Sector.healthcare,
        AccessLevel.secure,
        "proprietary",
        ("diagnoses", "KCD-7", "visits", "진단", "상병코드", "내원"),
        "chosun-visits-diagnoses.csv",
        "csv",
        encoding="cp949",
        period=_YEAR_2025,
        column_classes={
            "등록번호": DIRECT,
            "내원일자": QUASI,
            "진료과": SENSITIVE,
            "상병코드": SENSITIVE,
            "상병명": SENSITIVE,
        },
    ),
    DemoDatasetSpec(
        "gwangju-registered-residents",
        "gwangju",
        "Registered residents",
        "주민등록 인구",
        "The resident register: synthetic registration id (SYN-), name, sex, birth date, "
        "household and road-name address." + _SYNTHETIC,
        "주민등록 정보: 합성 등록번호(SYN-), 성명, 성별, 생년월일, 세대, 도로명주소."
        + _SYNTHETIC_KO,
        Sector.public_administration,
        AccessLevel.restricted,
        "proprietary",
        ("residents", "population", "households", "주민등록", "인구", "세대"),
        "gwangju-registered-residents.csv",
        "csv",
        encoding="cp949",
        column_classes={
            "resident_id": DIRECT,
            "name": DIRECT,
            "road_address": DIRECT,
            "household_id": DIRECT,
            "birth_date": QUASI,
            "sex": QUASI,
            "district": QUASI,
            "dong": QUASI,
        },
    ),
    DemoDatasetSpec(
        "gwangju-elderly-living-alone",
        "gwangju",
        "Care register of elderly residents living alone",
        "독거노인 돌봄 대상자 명부",
        "Residents aged 65 or more living alone who receive the city's care services: "
        "contact, care level, caseworker and last home visit. Used by the wellbeing check "
        "together with electricity use." + _SYNTHETIC,
        "돌봄 서비스를 받는 65세 이상 독거노인의 연락처, 돌봄 등급, 담당 생활지원사, 최근 "
        "방문일. 전력 사용량과 함께 안부 확인에 쓰입니다." + _SYNTHETIC_KO,
        Sector.public_administration,
        AccessLevel.restricted,
        "proprietary",
        ("elderly", "living alone", "welfare", "wellbeing", "독거노인", "돌봄", "복지"),
        "gwangju-elderly-living-alone.csv",
        "csv",
        encoding="cp949",
        column_classes={
            "care_id": DIRECT,
            "name": DIRECT,
            "phone": DIRECT,
            "address": DIRECT,
            "birth_date": QUASI,
            "sex": QUASI,
            "dong": QUASI,
            "care_level": SENSITIVE,
        },
    ),
    DemoDatasetSpec(
        "gwangju-civil-complaints",
        "gwangju",
        "Civil complaints",
        "민원 접수 현황",
        "Complaints received by the city in 2025: channel, place, category, text and how long "
        "they took to close. Complainants are not named." + _SYNTHETIC,
        "2025년 접수 민원의 접수 경로, 위치, 분류, 내용, 처리 기간 (민원인 정보 제외)."
        + _SYNTHETIC_KO,
        Sector.public_administration,
        AccessLevel.registered,
        "KOGL-Type1",
        ("civil complaints", "citizens", "민원", "시민", "행정"),
        "gwangju-civil-complaints.jsonl",
        "jsonl",
        period=_YEAR_2025,
    ),
    DemoDatasetSpec(
        "gwangju-bus-ridership-hourly",
        "gwangju",
        "Bus ridership per route and hour",
        "노선별 시간대별 버스 승하차 인원",
        "Boardings and alightings per bus route, day and hour, from transit-card taps."
        + _SYNTHETIC,
        "교통카드 기준 노선별 일별 시간대별 승차·하차 인원." + _SYNTHETIC_KO,
        Sector.mobility,
        AccessLevel.open,
        "KOGL-Type1",
        ("bus", "public transport", "ridership", "버스", "대중교통", "승하차"),
        "gwangju-bus-ridership-hourly.csv",
        "csv",
        encoding="cp949",
        period=_SERIES,
        update_frequency=UpdateFrequency.daily,
    ),
)

CATALOGUE_BY_SLUG = {spec.slug: spec for spec in CATALOGUE}


def _institution_rng(seed: int, slug: str) -> random.Random:
    return random.Random(f"{seed}/{slug}")


def build_tables(population: Population, seed: int) -> dict[str, Table]:
    """Every demo dataset's rows, by dataset slug."""
    tables: dict[str, Table] = {}
    rng = _institution_rng(seed, "kepco")
    hourly = energy.household_electricity(population, rng)
    tables["kepco-household-electricity-hourly"] = hourly
    tables["kepco-residential-customers"] = energy.residential_customers(population, rng)
    tables["kepco-dong-electricity-daily"] = energy.dong_daily_electricity(population, hourly)

    rng = _institution_rng(seed, "kepco-kdn")
    equipment = energy.grid_equipment(population, rng)
    tables["kdn-grid-equipment"] = equipment
    tables["kdn-outage-events"] = energy.outage_events(equipment, rng)
    tables["kpx-system-demand-smp-hourly"] = energy.system_demand(_institution_rng(seed, "kpx"))
    tables["lge-appliance-usage-events"] = energy.appliance_events(
        population, _institution_rng(seed, "lg-electronics"), seed
    )

    rng = _institution_rng(seed, "naver-cloud")
    places = telecom.places(population, rng)
    tables["naver-places"] = places
    tables["naver-place-visits-daily"] = telecom.place_visits(places, rng)

    rng = _institution_rng(seed, "skt")
    skt_flow = telecom.population_flow(population, "SKT", rng)
    latitudes, longitudes = telecom.cell_centres(skt_flow)
    tables["skt-population-flow-250m-hourly"] = {
        "cell_id": skt_flow["cell_id"],
        "cell_lat": latitudes,
        "cell_lon": longitudes,
        "datetime": [when.strftime("%Y-%m-%d %H:00") for when in skt_flow["hour_start"]],
        "population": skt_flow["population"],
    }
    tables["skt-subscriber-activity-daily"] = telecom.subscriber_activity(population, rng, seed)
    kt_flow = telecom.population_flow(population, "KT", _institution_rng(seed, "kt"))
    tables["kt-population-flow-250m-hourly"] = {
        "grid_250m": kt_flow["cell_id"],
        "base_date": [when.strftime("%Y%m%d") for when in kt_flow["hour_start"]],
        "hour": [when.hour for when in kt_flow["hour_start"]],
        "est_pop": [round(value) for value in kt_flow["population"]],
    }
    lgu_flow = telecom.population_flow(population, "LGU+", _institution_rng(seed, "lg-uplus"))
    tables["lguplus-population-flow-250m-hourly"] = {
        "cell": lgu_flow["cell_id"],
        "ts": lgu_flow["hour_start"],
        "pop_total": lgu_flow["population"],
        "pop_male": lgu_flow["male"],
        "pop_female": lgu_flow["female"],
    }

    complaints = public.complaints(population, _institution_rng(seed, "gwangju-complaints"))
    tables["nia-civil-complaints-labelled"] = public.labelled_complaints(
        complaints, _institution_rng(seed, "nia")
    )
    tables["kisa-security-incidents-monthly"] = public.security_incidents(
        _institution_rng(seed, "kisa")
    )

    rng = _institution_rng(seed, "cnuh")
    cnuh = health.hospital_records(population, rng, prefix="C", chronic_share=0.45)
    tables["cnuh-patients"] = health.cnuh_patients(population, cnuh, rng)
    tables["cnuh-visits-diagnoses"] = health.cnuh_visits(cnuh)
    tables["cnuh-lab-results"] = health.cnuh_lab_results(cnuh, rng)
    rng = _institution_rng(seed, "chosun-hospital")
    chosun = health.hospital_records(population, rng, prefix="S", chronic_share=0.35)
    tables["chosun-patients"] = health.chosun_patients(population, chosun, rng)
    tables["chosun-visits-diagnoses"] = health.chosun_visits(chosun)

    rng = _institution_rng(seed, "gwangju")
    tables["gwangju-registered-residents"] = public.registered_residents(population, rng)
    tables["gwangju-elderly-living-alone"] = public.elderly_living_alone(population, rng)
    tables["gwangju-civil-complaints"] = public.city_complaints(complaints)
    tables["gwangju-bus-ridership-hourly"] = public.bus_ridership(population, rng)
    return tables


LINKAGE_TRUTH_FILENAME = "linkage-truth.csv"


def write_demo_files(
    population: Population,
    out_dir: Path,
    seed: int,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[DemoDatasetSpec]:
    """Write every demo dataset's source file into ``out_dir``; the specs say what is where.

    Also writes ``linkage-truth.csv``, the answer key for record linkage: which resident each
    person-level record (patient, customer, care-register entry, registered resident) is.  It
    is not published as a dataset.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if progress:
        progress("deriving the institutions' data from the population")
    tables = build_tables(population, seed)
    specs = []
    truth: Table = {"resident_id": [], "dataset": [], "record_id": []}
    for spec in CATALOGUE:
        if progress:
            progress(f"writing {spec.filename}")
        path = out_dir / spec.filename
        table = tables[spec.slug]
        owners = table.pop(TRUTH_COLUMN, None)
        if spec.slug == "gwangju-registered-residents":
            owners = table["resident_id"]
        if owners is not None:
            truth["resident_id"].extend(owners)
            truth["dataset"].extend([spec.slug] * len(owners))
            truth["record_id"].extend(next(iter(table.values())))
        write_table(table, path, file_format=spec.file_format, encoding=spec.encoding)
        specs.append(replace(spec, path=path, rows=row_count(table)))
    write_table(truth, out_dir / LINKAGE_TRUTH_FILENAME, file_format="csv")
    return specs
