"""The demo's three linkage runs, one per method, made through the same actions a researcher,
the stewards and the key custodian (KISA) use.

* exact: the city's care register of older residents living alone ⋈ KEPCO's residential
  customers, by combination keys (name + phone, then name + district): which of them get a
  welfare discount on electricity;
* Bloom filters: the care register ⋈ Chonnam National University Hospital's patients (name,
  birth date, sex, phone, district), carrying the care level and the first visit;
* probabilistic (Fellegi–Sunter on Splink, inside the hub): the care register ⋈ Chosun
  University Hospital's patients, exported with Korean column names, 남/여 and dotted dates.

The answer key (``demo-sources/linkage-truth.csv``) stays on the hub's disk, never in a
dataset: compare a linked dataset's serials with it to measure a method.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.config import Settings
from bitgoeul.demo.sharing import RESEARCHER, demo_actor
from bitgoeul.linkage import actions
from bitgoeul.linkage.models import LinkageMethod, LinkageProject
from bitgoeul.linkage.schemas import KeyDefinitionIn, LinkageProjectCreate, LinkageSource
from bitgoeul.storage.base import ObjectStore

CARE = "gwangju-elderly-living-alone"
KEPCO = "kepco-residential-customers"
CNUH = "cnuh-patients"
CHOSUN = "chosun-patients"
TITLES = {
    LinkageMethod.exact: "Welfare discounts among older residents living alone",
    LinkageMethod.bloom: "Hospital care of older residents living alone",
    LinkageMethod.probabilistic: "Older residents living alone among Chosun's patients",
}
PUBLISHERS = {
    LinkageMethod.exact: ["gwangju", "kepco"],
    LinkageMethod.bloom: ["gwangju", "cnuh"],
    LinkageMethod.probabilistic: ["gwangju", "chosun"],
}


def _projects() -> dict[LinkageMethod, LinkageProjectCreate]:
    care = {"name": "name", "birth_date": "birth_date", "sex": "sex", "phone": "phone",
            "district": "address"}  # fmt: skip
    return {
        LinkageMethod.exact: LinkageProjectCreate(
            title=TITLES[LinkageMethod.exact],
            purpose="How many registered older residents living alone get KEPCO's discount?",
            method=LinkageMethod.exact,
            custodian="kisa",
            sources=[
                LinkageSource(
                    dataset=CARE,
                    fields={"name": "name", "phone": "phone", "district": "address"},
                    attributes=["care_level"],
                ),
                LinkageSource(
                    dataset=KEPCO,
                    fields={
                        "name": "contract_holder",
                        "phone": "phone",
                        "district": "supply_address",
                    },
                    attributes=["welfare_discount"],
                ),
            ],
            key_definitions=[
                KeyDefinitionIn(name="name_phone", fields=["name", "phone"]),
                KeyDefinitionIn(name="name_district", fields=["name", "district"]),
            ],
        ),
        LinkageMethod.bloom: LinkageProjectCreate(
            title=TITLES[LinkageMethod.bloom],
            purpose="Which older residents living alone are the hospital's patients?",
            method=LinkageMethod.bloom,
            custodian="kisa",
            sources=[
                LinkageSource(dataset=CARE, fields=care, attributes=["care_level"]),
                LinkageSource(dataset=CNUH, fields=care, attributes=["first_visit"]),
            ],
        ),
        LinkageMethod.probabilistic: LinkageProjectCreate(
            title=TITLES[LinkageMethod.probabilistic],
            purpose="How many registered older residents living alone does Chosun treat?",
            method=LinkageMethod.probabilistic,
            custodian="kisa",
            sources=[
                LinkageSource(dataset=CARE, fields=care, attributes=["care_level"]),
                LinkageSource(
                    dataset=CHOSUN,
                    fields={
                        "name": "환자명",
                        "birth_date": "생년월일",
                        "sex": "성별",
                        "phone": "휴대전화",
                        "district": "주소",
                    },
                ),
            ],
        ),
    }


def ensure_demo_linkage(session: Session, settings: Settings, store: ObjectStore) -> str:
    """Propose, approve and run each demo linkage once; a line for the build's summary."""
    lines = []
    for method, data in _projects().items():
        exists = session.scalar(
            select(LinkageProject.id).where(LinkageProject.title == TITLES[method])
        )
        if exists is not None:
            continue
        project = actions.create_linkage_project(
            session, actor=demo_actor(session, RESEARCHER), data=data
        )
        for steward in PUBLISHERS[method]:
            actions.approve_linkage_project(
                session, actor=demo_actor(session, steward), linkage_project_id=project.id
            )
        run = actions.run_linkage(
            session,
            settings=settings,
            store=store,
            actor=demo_actor(session, "kisa"),
            linkage_project_id=project.id,
        )
        persons = run.report.get("persons")
        lines.append(f"linkage ({method.value}): {persons} people linked in {run.status.value} run")
    return "; ".join(lines) or "linkage runs exist already"
