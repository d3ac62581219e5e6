"""The synthetic population: deterministic, Korean-looking, clearly fake, with households."""

from __future__ import annotations

import re

from bitgoeul.demo import Population, generate_population
from bitgoeul.demo.gwangju import DISTRICTS, SURNAMES
from bitgoeul.demo.variants import date_as, name_as_typed, phone_as


def test_the_same_seed_and_size_give_the_same_people() -> None:
    first = generate_population(300, 11)
    second = generate_population(300, 11)
    assert [(p.resident_id, p.name, p.phone) for p in first.people] == [
        (p.resident_id, p.name, p.phone) for p in second.people
    ]


def test_another_seed_gives_other_people() -> None:
    assert generate_population(50, 1).people[0].name != generate_population(50, 2).people[0].name


def test_the_population_has_exactly_the_requested_size(population: Population) -> None:
    assert len(population.people) == 200
    assert sum(len(h.members) for h in population.households) == 200


def test_residents_have_korean_names_fake_ids_and_mobile_numbers(population: Population) -> None:
    surnames = {s for s, _ in SURNAMES}
    for person in population.people:
        assert person.surname in surnames
        assert re.fullmatch(r"[가-힣]{3}", person.name)
        assert re.fullmatch(r"SYN-\d{6}-\d{7}", person.resident_id)
        assert person.phone is None or re.fullmatch(r"010-\d{4}-\d{4}", person.phone)
    phones = [p.phone for p in population.people if p.phone]
    assert len(phones) == len(set(phones))


def test_households_live_in_gwangjus_five_districts(population: Population) -> None:
    districts = {d.name: d for d in DISTRICTS}
    for household in population.households:
        assert household.dong in districts[household.district].dongs
        assert household.road_address.startswith(f"광주광역시 {household.district_ko} ")
    assert len({h.district for h in population.households}) == 5


def test_some_elderly_people_live_alone_and_some_go_quiet(population: Population) -> None:
    alone = population.elderly_living_alone()
    assert alone
    assert all(p.age >= 65 for p in alone)
    quiet = {e.household_id for e in population.inactivity}
    assert quiet <= {p.household_id for p in alone}
    assert quiet


def test_clerks_typos_stay_close_to_the_name() -> None:
    import random

    rng = random.Random(3)
    typed = {name_as_typed("이서연", "이", rng, error_rate=1.0) for _ in range(200)}
    assert "이 서연" in typed
    assert "리서연" in typed
    assert all(len(t.replace(" ", "")) == 3 for t in typed)


def test_phone_numbers_and_dates_are_written_in_several_styles() -> None:
    from datetime import date

    assert phone_as("010-1234-5678", "digits") == "01012345678"
    assert phone_as("010-1234-5678", "international") == "+82-10-1234-5678"
    assert date_as(date(1956, 3, 2), "digits") == "19560302"
    assert date_as(date(1956, 3, 2), "dots") == "1956.03.02"
