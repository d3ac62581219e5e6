"""The demo city's My Data: three sources, twelve citizens who donate under different purposes,
a campaign, and a project that uses a pool.

Sources: a household's hourly meter readings (KEPCO), hospital visits (Chonnam National
University Hospital) and a telecom mobility summary (SKT), each feeding a pool published by the
city (Gwangju Metropolitan City).  The citizen accounts ``citizen``, ``citizen2`` ...
``citizen12`` (password ``demo``) have verified identities at each source (the i-th household,
patient and subscriber of the agency's data), and donate: every one their meter readings (half
for public-service improvement, half for academic research; tiers vary), ten their hospital
visits for health research, ten their mobility summary.  The operator runs a winter campaign;
the demo startup's wellbeing project (public-service improvement) gets an agreement on the
electricity pool and runs one aggregate query, so donors see a use.  Made through the same
actions as everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions as account_actions
from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import Actor
from bitgoeul.accounts.models import Organization, Role
from bitgoeul.catalog import actions as catalog_actions
from bitgoeul.catalog import queries as catalog_queries
from bitgoeul.catalog.models import AccessLevel, Dataset, DatasetVersion, Sector
from bitgoeul.catalog.schemas import DatasetCreate
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.demo.institutions import DEMO_PASSWORD, EMAIL_DOMAIN, INSTITUTION_BY_SLUG
from bitgoeul.demo.sharing import PROJECT_TITLE, demo_actor
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Project, Purpose
from bitgoeul.governance.schemas import AccessRequestCreate, ApprovalConditions
from bitgoeul.mydata import actions
from bitgoeul.mydata.models import MyDataSource, Tier
from bitgoeul.mydata.schemas import CampaignCreate, ConsentIn
from bitgoeul.privacy import views
from bitgoeul.query.actions import run_query
from bitgoeul.storage.base import ObjectStore

CITIZENS = ("citizen", *(f"citizen{i}" for i in range(2, 13)))
OPERATOR = "operator"
CITY_STEWARD = "gwangju"
RESEARCHER = "researcher"


@dataclass(frozen=True)
class DemoSource:
    slug: str
    title: str
    title_ko: str
    description: str
    description_ko: str
    agency: str
    identity: str
    items: tuple[str, ...]
    pool: str
    pool_title: str
    pool_title_ko: str
    level: AccessLevel
    sector: Sector


SOURCES = (
    DemoSource(
        "kepco-meter",
        "My household's electricity meter readings",
        "우리 집 전력 계량 기록",
        "Hourly kWh of your household's smart meter, as KEPCO holds them.",
        "한전이 보유한 우리 집 스마트 계량기의 시간별 사용량(kWh).",
        "kepco-household-electricity-hourly",
        "customer_no",
        ("measured_at", "kwh"),
        "donated-household-electricity",
        "Donated household electricity",
        "기부된 가구 전력 사용량",
        AccessLevel.secure,
        Sector.energy,
    ),
    DemoSource(
        "hospital-visits",
        "My hospital visits",
        "내 병원 내원 기록",
        "Your visits to Chonnam National University Hospital: date, department, type, diagnosis.",
        "전남대학교병원 내원 기록: 날짜, 진료과, 내원 유형, 상병코드.",
        "cnuh-visits-diagnoses",
        "patient_no",
        ("visit_date", "department", "visit_type", "kcd_code"),
        "donated-hospital-visits",
        "Donated hospital visits",
        "기부된 병원 내원 기록",
        AccessLevel.secure,
        Sector.healthcare,
    ),
    DemoSource(
        "telecom-mobility",
        "My mobility summary",
        "내 이동 요약",
        "Your daily home and daytime cells and distance travelled, as your telecom derives them.",
        "통신사가 산출한 일별 주거·주간 격자와 이동거리.",
        "skt-subscriber-activity-daily",
        "subscriber_key",
        ("date", "home_cell", "day_cell", "distance_km"),
        "donated-mobility-summary",
        "Donated mobility summaries",
        "기부된 이동 요약",
        AccessLevel.restricted,
        Sector.mobility,
    ),
)


def has_demo_mydata(session: Session) -> bool:
    return session.scalar(select(MyDataSource.id).limit(1)) is not None


def _citizens(session: Session, settings: Settings) -> list[int]:
    ids = []
    for name in CITIZENS:
        user = account_queries.get_user(session, name)
        if user is None:
            user = account_actions.create_user(
                session,
                username=name,
                password=DEMO_PASSWORD,
                role=Role.citizen,
                display_name=f"Demo citizen {name} (시민)",
                email=f"{name}@{EMAIL_DOMAIN}",
                settings=settings,
            )
        ids.append(user.id)
    return ids


def _latest(session: Session, slug: str) -> DatasetVersion | None:
    dataset = session.scalars(select(Dataset).where(Dataset.slug == slug)).one_or_none()
    return None if dataset is None else catalog_queries.latest_version(session, dataset)


def _subjects(
    session: Session, settings: Settings, store: ObjectStore, source: DemoSource, count: int
) -> list[str]:
    """The first ``count`` people (by identity value) in the agency's data, as the agency's
    steward reads them through the SQL gateway (audited like any query)."""
    dataset = session.scalar(select(Dataset).where(Dataset.slug == source.agency))
    if dataset is None:
        return []
    publisher = session.get(Organization, dataset.publisher_id)
    institution = INSTITUTION_BY_SLUG.get(publisher.slug) if publisher else None
    if institution is None:
        return []
    column = source.identity.replace('"', "")
    result = run_query(
        session,
        settings=settings,
        store=store,
        actor=demo_actor(session, institution.username),
        sql=f'SELECT DISTINCT "{column}" AS subject FROM "{source.agency}" '
        f"ORDER BY subject LIMIT {int(count)}",
        project_id=None,
    )
    return [str(row[0]) for row in result.rows if row[0] is not None]


def ensure_demo_mydata(session: Session, settings: Settings, store: ObjectStore) -> str:
    if has_demo_mydata(session):
        return "My Data already there"
    operator = demo_actor(session, OPERATOR)
    city = demo_actor(session, CITY_STEWARD)
    citizen_ids = _citizens(session, settings)
    made = []
    for source in SOURCES:
        version = _latest(session, source.agency)
        if version is None:
            continue
        catalog_actions.create_dataset(
            session,
            actor=city,
            data=DatasetCreate(
                slug=source.pool,
                title=source.pool_title,
                title_ko=source.pool_title_ko,
                description="Rows residents donated through My Data; each query or job reads "
                "only the rows of donors whose consent covers its project's purpose.",
                description_ko="시민이 My Data로 기부한 행. 질의와 작업은 프로젝트 목적에 동의한 "
                "기부자의 행만 읽습니다.",
                sector=source.sector,
                access_level=source.level,
                keywords=["My Data", "donated", "기부", "마이데이터"],
            ),
        )
        fields = [f for f in views.schema_fields(version.table_schema) if f["name"] in source.items]
        actions.create_source(
            session,
            actor=operator,
            slug=source.slug,
            title=source.title,
            title_ko=source.title_ko,
            description=source.description,
            description_ko=source.description_ko,
            pool_slug=source.pool,
            agency_slug=source.agency,
            identity_column=source.identity,
            items=list(source.items),
            item_fields=fields,
        )
        subjects = _subjects(session, settings, store, source, len(citizen_ids))
        for user_id, subject in zip(citizen_ids, subjects, strict=False):
            actions.verify_identity(
                session,
                actor=operator,
                user_id=user_id,
                source_slug=source.slug,
                subject=subject,
                verified_by="demo identity provider (synthetic)",
            )
        made.append(source)
    donated = _donate(session, settings, store)
    _campaign(session, operator)
    used = _use(session, settings, store, city)
    actions.sweep(session, settings=settings, store=store)
    return f"My Data: {len(made)} sources, {donated} donations by {len(CITIZENS)} citizens; {used}"


def _donate(session: Session, settings: Settings, store: ObjectStore) -> int:
    plans = {
        "kepco-meter": [
            (
                [Purpose.public_service_improvement] if i % 2 == 0 else [Purpose.academic_research],
                [Tier.aggregates, Tier.jobs][i % 2],
            )
            for i in range(len(CITIZENS))
        ],
        "hospital-visits": [([Purpose.health_research], Tier.aggregates)] * 10,
        "telecom-mobility": [
            ([Purpose.public_service_improvement, Purpose.academic_research], Tier.rows)
        ]
        * 10,
    }
    count = 0
    for slug, plan in plans.items():
        for name, (purposes, tier) in zip(CITIZENS, plan, strict=False):
            try:
                actions.donate(
                    session,
                    settings=settings,
                    store=store,
                    actor=demo_actor(session, name),
                    source_slug=slug,
                    consent=ConsentIn(purposes=purposes, tier=tier, days=365),
                )
                count += 1
            except BitgoeulError:
                session.rollback()  # a tiny city may have fewer people than citizens
    return count


def _campaign(session: Session, operator: Actor) -> None:
    today = utcnow().date()
    actions.create_campaign(
        session,
        actor=operator,
        data=CampaignCreate(
            slug="winter-wellbeing",
            source="kepco-meter",
            purpose=Purpose.public_service_improvement,
            target_donors=500,
            title="Keep an eye on older neighbours this winter",
            title_ko="올겨울 홀로 사는 이웃 안부 지키기",
            explanation="Donate your household's meter readings for public-service improvement: "
            "the city's wellbeing check learns what a normal winter day looks like, so a flat "
            "day at an older neighbour's home is noticed sooner. Only counts over at least ten "
            "homes leave the hub.",
            explanation_ko="우리 집 전력 계량 기록을 공공서비스 개선 목적으로 기부해 주세요. "
            "시의 안부 확인 서비스가 평소 겨울 하루의 모습을 배워 홀로 사는 어르신 댁의 이상 "
            "신호를 더 빨리 알아챕니다. 허브 밖으로는 10가구 이상을 묶은 집계만 나갑니다.",
            starts_on=today,
            ends_on=today + timedelta(days=90),
        ),
    )


def _use(session: Session, settings: Settings, store: ObjectStore, city: Actor) -> str:
    project = session.scalar(select(Project).where(Project.title == PROJECT_TITLE))
    if project is None:
        return "no project uses the pools"
    researcher = demo_actor(session, RESEARCHER)
    request = governance.request_access(
        session,
        actor=researcher,
        data=AccessRequestCreate(project=project.id, dataset="donated-household-electricity"),
    )
    governance.approve_request(
        session,
        actor=city,
        request_id=request.id,
        conditions=ApprovalConditions(),
    )
    try:
        result = run_query(
            session,
            settings=settings,
            store=store,
            actor=researcher,
            sql="SELECT count(*) AS readings, avg(kwh) AS mean_kwh "
            'FROM "donated-household-electricity"',
            project_id=project.id,
        )
    except BitgoeulError as error:
        return f"the wellbeing project's query was refused: {error.message}"
    return f"the wellbeing project read {result.rows[0][0] if result.rows else 0} donated readings"
