"""The demo city's organizations and accounts: twelve partner institutions and the city,
the hub's control tower, a startup, and a citizen.  Every password is ``demo``."""

from __future__ import annotations

from dataclasses import dataclass

from bitgoeul.accounts.models import OrganizationKind, Role

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented password of every demo account
EMAIL_DOMAIN = "demo.bitgoeul.example"


@dataclass(frozen=True)
class Institution:
    slug: str
    name: str
    name_ko: str
    kind: OrganizationKind
    username: str  # the organization's demo account
    role: Role
    description: str
    website: str = ""

    @property
    def email(self) -> str:
        return f"{self.username}@{EMAIL_DOMAIN}"

    @property
    def data_email(self) -> str:
        return f"data.{self.slug}@{EMAIL_DOMAIN}"


_A = OrganizationKind.agency
_C = OrganizationKind.company
_S = Role.steward

INSTITUTIONS: tuple[Institution, ...] = (
    Institution(
        "ai-hub",
        "Gwangju AI Hub Control Tower",
        "광주 인공지능 허브 컨트롤타워",
        OrganizationKind.operator,
        "operator",
        Role.operator,
        "Runs the hub: approves access, audits every use, meters compute credits.",
    ),
    Institution(
        "kepco",
        "Korea Electric Power Corporation (KEPCO)",
        "한국전력공사",
        _A,
        "kepco",
        _S,
        "The national power utility, headquartered in Naju; smart-meter data of Gwangju homes.",
        "https://home.kepco.co.kr",
    ),
    Institution(
        "kepco-kdn",
        "KEPCO KDN",
        "한전KDN",
        _C,
        "kdn",
        _S,
        "KEPCO's ICT subsidiary: distribution-grid equipment and outage records.",
        "https://www.kdn.com",
    ),
    Institution(
        "kpx",
        "Korea Power Exchange (KPX)",
        "한국전력거래소",
        _A,
        "kpx",
        _S,
        "Operates the power market and grid: system demand and the marginal price.",
        "https://www.kpx.or.kr",
    ),
    Institution(
        "lg-electronics",
        "LG Electronics",
        "LG전자",
        _C,
        "lge",
        _S,
        "Home appliances connected through ThinQ: anonymised usage events.",
        "https://www.lge.co.kr",
    ),
    Institution(
        "naver-cloud",
        "Naver Business Platform",
        "네이버클라우드",
        _C,
        "naver",
        _S,
        "Map and search platform: places and visit counts.",
        "https://www.ncloud.com",
    ),
    Institution(
        "skt",
        "SK Telecom",
        "SK텔레콤",
        _C,
        "skt",
        _S,
        "Mobile operator: population flow and anonymised subscriber activity.",
        "https://www.sktelecom.com",
    ),
    Institution(
        "kt",
        "KT",
        "KT",
        _C,
        "kt",
        _S,
        "Mobile operator: population flow on the 250 m grid.",
        "https://corp.kt.com",
    ),
    Institution(
        "lg-uplus",
        "LG Uplus",
        "LG유플러스",
        _C,
        "lguplus",
        _S,
        "Mobile operator: population flow on the 250 m grid.",
        "https://www.lguplus.com",
    ),
    Institution(
        "nia",
        "National Information Society Agency (NIA)",
        "한국지능정보사회진흥원",
        _A,
        "nia",
        _S,
        "Publishes open AI training data (AI Hub), e.g. labelled civil complaints.",
        "https://www.nia.or.kr",
    ),
    Institution(
        "kisa",
        "Korea Internet & Security Agency (KISA)",
        "한국인터넷진흥원",
        _A,
        "kisa",
        _S,
        "Key custodian of the hub's linkage service; security incident statistics.",
        "https://www.kisa.or.kr",
    ),
    Institution(
        "cnuh",
        "Chonnam National University Hospital",
        "전남대학교병원",
        _A,
        "cnuh",
        _S,
        "Tertiary hospital in Dong-gu: patients, visits, diagnoses and laboratory results.",
        "https://www.cnuh.com",
    ),
    Institution(
        "chosun-hospital",
        "Chosun University Hospital",
        "조선대학교병원",
        _A,
        "chosun",
        _S,
        "University hospital in Dong-gu: patients and visits with diagnoses.",
        "https://hosp.chosun.ac.kr",
    ),
    Institution(
        "gwangju",
        "Gwangju Metropolitan City",
        "광주광역시",
        _A,
        "gwangju",
        _S,
        "The city government: civil complaints, bus ridership, registered residents and the "
        "care register of elderly residents living alone.",
        "https://www.gwangju.go.kr",
    ),
    Institution(
        "bitgoeul-labs",
        "Bitgoeul Labs (demo startup)",
        "빛고을랩스",
        _C,
        "researcher",
        Role.member,
        "A demo AI startup that requests data for its projects.",
    ),
)

INSTITUTION_BY_SLUG = {i.slug: i for i in INSTITUTIONS}
CITIZEN_USERNAME = "citizen"
