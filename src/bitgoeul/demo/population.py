"""The synthetic residents of Gwangju every demo dataset is derived from.

``generate_population(people, seed)`` builds households first (a household type, then members
of fitting ages), places each household at an address in one of the five districts, and gives
every resident a name, birth date, sex, phone number, a clearly fake registration id
(``SYN-…``), a daytime place, a mobile operator and the conditions a hospital may record.
Everything is drawn from one ``random.Random(seed)``: the same seed and size give the same
people on every machine and Python version (``random``'s algorithms are stable; no Faker, whose
locale data changes between releases).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from bitgoeul.demo.gwangju import (
    AGE_BANDS,
    CONDITIONS,
    DISTRICT_BY_NAME,
    DISTRICTS,
    DONG_CENTRES,
    GIVEN_NAME_SYLLABLES,
    REFERENCE_DATE,
    SERIES_DAYS,
    SURNAMES,
    age_on,
    generation,
    grid_cell,
)


@dataclass
class Person:
    index: int
    resident_id: str
    name: str
    surname: str
    sex: str  # "M" or "F"
    birth_date: date
    phone: str | None
    household_id: str
    relation: str  # head, spouse, child, parent, self
    activity: str  # employed, student, preschool, retired, home
    day_cell: str  # where the person spends the working day
    mobile_operator: str | None  # SKT, KT, LGU+ or None (no phone)
    conditions: tuple[str, ...]

    @property
    def age(self) -> int:
        return age_on(self.birth_date)


@dataclass
class Household:
    household_id: str
    kind: str
    district: str
    district_ko: str
    dong: str
    road: str
    building_no: int
    lot_no: str  # 지번, e.g. "123-4"
    unit: str  # "101동 1203호" for flats, "" for houses
    dwelling: str  # apartment, house, villa
    lat: float
    lon: float
    cell: str
    kepco_customer_no: str
    meter_id: str
    has_thinq: bool
    members: list[int] = field(default_factory=list)

    @property
    def road_address(self) -> str:
        unit = f", {self.unit}" if self.unit else ""
        return f"광주광역시 {self.district_ko} {self.road} {self.building_no}{unit}"

    @property
    def lot_address(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"광주광역시 {self.district_ko} {self.dong} {self.lot_no}{unit}"


@dataclass(frozen=True)
class InactivityEpisode:
    """A stretch when an elderly resident living alone used (almost) no electricity.

    The ground truth for the wellbeing check: the meter data shows it, the care register
    names the resident.
    """

    household_id: str
    start_hour: int  # hours after SERIES_START
    hours: int


@dataclass
class Population:
    seed: int
    people: list[Person]
    households: list[Household]
    inactivity: list[InactivityEpisode]

    _by_id: dict[str, Household] = field(default_factory=dict, repr=False, compare=False)

    def household(self, household_id: str) -> Household:
        return self._households_by_id()[household_id]

    def _households_by_id(self) -> dict[str, Household]:
        if len(self._by_id) != len(self.households):
            self._by_id = {h.household_id: h for h in self.households}
        return self._by_id

    def elderly_living_alone(self) -> list[Person]:
        """Residents aged 65 or more who are the only member of their household."""
        by_id = self._households_by_id()
        return [p for p in self.people if p.age >= 65 and len(by_id[p.household_id].members) == 1]


# Household types with their share of households and how members are drawn.
_HOUSEHOLD_KINDS: tuple[tuple[str, float], ...] = (
    ("single-young", 0.15),
    ("single-middle", 0.10),
    ("single-elderly", 0.09),
    ("couple-elderly", 0.10),
    ("couple", 0.10),
    ("couple-children", 0.33),
    ("single-parent", 0.07),
    ("three-generations", 0.06),
)
_OPERATORS = (("SKT", 0.41), ("KT", 0.25), ("LGU+", 0.21), ("MVNO", 0.13))


class _Draw:
    """The population's random choices, all from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_phones: set[str] = set()
        self.used_ids: set[str] = set()

    def weighted(self, options: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]

    def birth_date(self, low: int, high: int) -> date:
        age = self.rng.randint(low, high)
        days_into_year = self.rng.randrange(365)
        return REFERENCE_DATE - timedelta(days=age * 365 + age // 4 + days_into_year)

    def any_age(self, minimum: int = 0) -> date:
        bands = [b for b in AGE_BANDS if b[1] >= minimum]
        low, high, _ = self.rng.choices(bands, weights=[b[2] for b in bands])[0]
        return self.birth_date(max(low, minimum), high)

    def given_name(self, sex: str, birth: date) -> str:
        first, second = GIVEN_NAME_SYLLABLES[(generation(birth.year), sex)]
        a, b = self.rng.choice(first), self.rng.choice(second)
        while b == a:
            b = self.rng.choice(second)
        return a + b

    def phone(self) -> str:
        while True:
            number = f"010-{self.rng.randint(2000, 9999):04d}-{self.rng.randint(0, 9999):04d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def resident_id(self, sex: str, birth: date) -> str:
        # Shaped like a resident registration number, but never valid: the SYN- prefix, and a
        # tail drawn at random rather than from region codes and a check digit.
        digit = {"M": 1, "F": 2}[sex] + (2 if birth.year >= 2000 else 0)
        while True:
            tail = f"{self.rng.randrange(1_000_000):06d}"
            value = f"SYN-{birth:%y%m%d}-{digit}{tail}"
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value


def _members(draw: _Draw, kind: str) -> list[tuple[str, str, date]]:
    """(relation, sex, birth date) of each member of a household of this kind."""
    rng = draw.rng
    head_sex = rng.choice("MF")
    other = "F" if head_sex == "M" else "M"
    if kind == "single-young":
        return [("self", head_sex, draw.birth_date(20, 39))]
    if kind == "single-middle":
        return [("self", head_sex, draw.birth_date(40, 64))]
    if kind == "single-elderly":
        # Most elderly people living alone in Korea are women.
        sex = "F" if rng.random() < 0.72 else "M"
        return [("self", sex, draw.birth_date(65, 93))]
    if kind == "couple-elderly":
        age = rng.randint(65, 88)
        return [
            ("head", "M", draw.birth_date(age, age + 3)),
            ("spouse", "F", draw.birth_date(age - 3, age)),
        ]
    if kind == "couple":
        age = rng.randint(26, 64)
        return [
            ("head", head_sex, draw.birth_date(age, age + 2)),
            ("spouse", other, draw.birth_date(age - 2, age)),
        ]
    parent_age = rng.randint(30, 55)
    children = [
        (
            "child",
            rng.choice("MF"),
            draw.birth_date(max(0, parent_age - 40), max(0, parent_age - 26)),
        )
        for _ in range(rng.choices((1, 2, 3), weights=(0.42, 0.46, 0.12))[0])
    ]
    if kind == "single-parent":
        return [
            ("head", "F" if rng.random() < 0.75 else "M", draw.birth_date(parent_age, parent_age)),
            *children,
        ]
    adults = [
        ("head", head_sex, draw.birth_date(parent_age, parent_age + 2)),
        ("spouse", other, draw.birth_date(parent_age - 2, parent_age)),
    ]
    if kind == "three-generations":
        grandparent = (
            "parent",
            "F" if rng.random() < 0.65 else "M",
            draw.birth_date(parent_age + 25, min(95, parent_age + 35)),
        )
        return [*adults, *children, grandparent]
    return [*adults, *children]


def _activity(draw: _Draw, age: int) -> str:
    if age < 7:
        return "preschool"
    if age < 20:
        return "student"
    if age >= 65:
        return "employed" if draw.rng.random() < 0.25 else "retired"
    if age < 25 and draw.rng.random() < 0.5:
        return "student"
    return "employed" if draw.rng.random() < 0.72 else "home"


def _conditions(draw: _Draw, age: int) -> tuple[str, ...]:
    found = []
    for condition in CONDITIONS:
        if age < condition.min_age:
            continue
        # Chronic conditions grow more common with age.
        factor = 1.0 + max(0, age - condition.min_age) / 40
        if draw.rng.random() < condition.prevalence * factor * 0.6:
            found.append(condition.code)
    return tuple(found)


def _place_household(draw: _Draw, number: int, kind: str) -> Household:
    rng = draw.rng
    district = rng.choices(DISTRICTS, weights=[d.share for d in DISTRICTS])[0]
    dong = rng.choice(district.dongs)
    lat, lon = DONG_CENTRES[(district.name, dong)]
    lat = round(lat + rng.gauss(0, 0.004), 6)
    lon = round(lon + rng.gauss(0, 0.005), 6)
    dwelling = rng.choices(("apartment", "house", "villa"), weights=(0.62, 0.24, 0.14))[0]
    if kind == "single-elderly" and rng.random() < 0.4:
        dwelling = "house"
    unit = ""
    if dwelling == "apartment":
        unit = f"{rng.randint(101, 115)}동 {rng.randint(1, 25)}{rng.randint(1, 6):02d}호"
    elif dwelling == "villa":
        unit = f"{rng.randint(1, 4)}0{rng.randint(1, 4)}호"
    return Household(
        household_id=f"HH-{number:06d}",
        kind=kind,
        district=district.name,
        district_ko=district.name_ko,
        dong=dong,
        road=rng.choice(district.roads),
        building_no=rng.randint(1, 400),
        lot_no=f"{rng.randint(1, 999)}-{rng.randint(1, 30)}"
        if rng.random() < 0.7
        else str(rng.randint(1, 999)),
        unit=unit,
        dwelling=dwelling,
        lat=lat,
        lon=lon,
        cell=grid_cell(lat, lon),
        kepco_customer_no=f"06{rng.randint(0, 99_999_999):08d}{number % 10}",
        meter_id=f"AMI-{district.code[-3:]}-{number:07d}",
        has_thinq=rng.random() < 0.3,
    )


def _day_cell(draw: _Draw, household: Household, activity: str) -> str:
    """Where someone is during working hours: home, a nearby school, or a workplace."""
    rng = draw.rng
    if activity in ("retired", "home", "preschool"):
        return household.cell
    if activity == "student":
        lat = household.lat + rng.gauss(0, 0.006)
        lon = household.lon + rng.gauss(0, 0.007)
        return grid_cell(lat, lon)
    district = rng.choices(DISTRICTS, weights=[d.share + 0.1 for d in DISTRICTS])[0]
    dong = rng.choice(district.dongs[: max(3, len(district.dongs) // 2)])
    lat, lon = DONG_CENTRES[(district.name, dong)]
    return grid_cell(lat + rng.gauss(0, 0.003), lon + rng.gauss(0, 0.004))


def generate_population(people: int, seed: int) -> Population:
    """``people`` synthetic residents in households across Gwangju's five districts."""
    if people < 1:
        raise ValueError(f"people must be at least 1, not {people}.")
    draw = _Draw(seed)
    persons: list[Person] = []
    households: list[Household] = []
    while len(persons) < people:
        kind = draw.weighted(_HOUSEHOLD_KINDS)
        household = _place_household(draw, len(households) + 1, kind)
        members = _members(draw, kind)[: people - len(persons)]
        surname = draw.weighted(SURNAMES)
        for relation, sex, birth in members:
            # Children share the head's surname; spouses and parents have their own.
            own = surname if relation in ("head", "self", "child") else draw.weighted(SURNAMES)
            age = age_on(birth)
            activity = _activity(draw, age)
            has_phone = age >= 10 or draw.rng.random() < 0.3
            person = Person(
                index=len(persons),
                resident_id=draw.resident_id(sex, birth),
                name=own + draw.given_name(sex, birth),
                surname=own,
                sex=sex,
                birth_date=birth,
                phone=draw.phone() if has_phone else None,
                household_id=household.household_id,
                relation=relation,
                activity=activity,
                day_cell=_day_cell(draw, household, activity),
                mobile_operator=draw.weighted(_OPERATORS) if has_phone else None,
                conditions=_conditions(draw, age),
            )
            household.members.append(person.index)
            persons.append(person)
        households.append(household)

    population = Population(seed=seed, people=persons, households=households, inactivity=[])
    population.inactivity = _inactivity_episodes(draw, population)
    return population


def _inactivity_episodes(draw: _Draw, population: Population) -> list[InactivityEpisode]:
    """About one in eight elderly residents living alone has a day or two of no activity."""
    episodes = []
    hours = SERIES_DAYS * 24
    for person in population.elderly_living_alone():
        if draw.rng.random() < 0.125:
            length = draw.rng.randint(26, 48)
            start = draw.rng.randint(24, hours - length - 1)
            episodes.append(InactivityEpisode(person.household_id, start, length))
    if not episodes:
        # Keep at least one in every city, so the wellbeing check always has a case to find.
        alone = population.elderly_living_alone()
        if alone:
            episodes.append(InactivityEpisode(alone[0].household_id, 72, 36))
    return episodes


def district_name_ko(district: str) -> str:
    return DISTRICT_BY_NAME[district].name_ko
