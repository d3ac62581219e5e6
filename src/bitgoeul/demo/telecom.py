"""Mobility data of the demo city: the mobile operators' population flow and subscriber
activity, and Naver's places and visit counts.

Each resident with a phone is at home at night, at their daytime place (work or school) during
weekday working hours, and somewhere near home at other times.  An operator sees only its own
subscribers and scales them up to an estimate of everyone present, as real flow products do;
the three operators therefore give slightly different numbers for the same cell and hour.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from datetime import timedelta

from bitgoeul.demo.gwangju import (
    CITY_POPULATION,
    DISTRICT_BY_NAME,
    DONG_CENTRES,
    FLOW_DAYS,
    POI_CATEGORIES,
    SERIES_DAYS,
    SERIES_START,
    grid_cell,
    grid_cell_centre,
)
from bitgoeul.demo.population import Person, Population
from bitgoeul.demo.source_files import Table

# Operators' market shares in Gwangju (approximate); an operator scales its counts by these.
MARKET_SHARE = {"SKT": 0.41, "KT": 0.25, "LGU+": 0.21}


def _where(person: Person, home: str, hour: int, weekday: int, wander: str) -> str:
    commuter = person.activity in ("employed", "student")
    if commuter and weekday < 5 and 9 <= hour <= 17:
        return person.day_cell
    if commuter and weekday < 5 and hour in (8, 18):
        return person.day_cell if hour == 8 else wander
    if 10 <= hour <= 20 and (weekday >= 5 or not commuter) and hour % 3 == 0:
        return wander
    return home


def population_flow(population: Population, operator: str, rng: random.Random) -> Table:
    """Estimated people present per 250 m cell and hour, from one operator's subscribers."""
    subscribers = [p for p in population.people if p.mobile_operator == operator]
    homes = {p.index: population.household(p.household_id).cell for p in subscribers}
    wander = {}
    for p in subscribers:
        household = population.household(p.household_id)
        wander[p.index] = grid_cell(
            household.lat + rng.gauss(0, 0.008), household.lon + rng.gauss(0, 0.01)
        )
    expansion = CITY_POPULATION / len(population.people) / MARKET_SHARE[operator]
    table: Table = {"cell_id": [], "hour_start": [], "population": [], "male": [], "female": []}
    for h in range(FLOW_DAYS * 24):
        when = SERIES_START + timedelta(hours=h)
        present: Counter[tuple[str, str]] = Counter()
        for p in subscribers:
            cell = _where(p, homes[p.index], when.hour, when.weekday(), wander[p.index])
            present[(cell, p.sex)] += 1
        cells = sorted({cell for cell, _ in present})
        for cell in cells:
            male = present[(cell, "M")] * expansion * rng.uniform(0.93, 1.07)
            female = present[(cell, "F")] * expansion * rng.uniform(0.93, 1.07)
            table["cell_id"].append(cell)
            table["hour_start"].append(when)
            table["population"].append(round(male + female, 1))
            table["male"].append(round(male, 1))
            table["female"].append(round(female, 1))
    return table


def _age_band(age: int) -> str:
    if age >= 80:
        return "80+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


def subscriber_activity(population: Population, rng: random.Random, seed: int) -> Table:
    """SKT: one row per subscriber and day, under a keyed pseudonym (no names or numbers)."""
    quiet_days: dict[str, set[int]] = {}
    for episode in population.inactivity:
        days = {(episode.start_hour + h) // 24 for h in range(episode.hours)}
        quiet_days[episode.household_id] = days
    table: Table = {
        "subscriber_key": [],
        "date": [],
        "age_band": [],
        "sex": [],
        "home_cell": [],
        "day_cell": [],
        "voice_calls": [],
        "sms": [],
        "data_mb": [],
        "distance_km": [],
    }
    for person in population.people:
        if person.mobile_operator != "SKT":
            continue
        key = hashlib.sha256(f"{seed}:skt:{person.resident_id}".encode()).hexdigest()[:16]
        home = population.household(person.household_id).cell
        young = person.age < 40
        quiet = quiet_days.get(person.household_id, set())
        for day in range(SERIES_DAYS):
            date = (SERIES_START + timedelta(days=day)).date()
            silent = day in quiet and rng.random() < 0.8
            calls = 0 if silent else max(0, int(rng.gauss(3 if young else 5, 2)))
            data = 0.0 if silent else rng.lognormvariate(6.5 if young else 4.5, 0.6)
            moving = person.day_cell != home and date.weekday() < 5
            table["subscriber_key"].append(f"SKT-{key}")
            table["date"].append(date)
            table["age_band"].append(_age_band(person.age))
            table["sex"].append(person.sex)
            table["home_cell"].append(home)
            table["day_cell"].append(person.day_cell)
            table["voice_calls"].append(calls)
            table["sms"].append(0 if silent else max(0, int(rng.gauss(2, 2))))
            table["data_mb"].append(round(data, 1))
            table["distance_km"].append(
                round(rng.uniform(4, 18) if moving else rng.uniform(0, 3) * (not silent), 2)
            )
    return table


def places(population: Population, rng: random.Random) -> Table:
    """Naver: points of interest, denser where more people live."""
    count = min(5_000, 150 + len(population.people) // 10)
    weights: Counter[tuple[str, str]] = Counter((h.district, h.dong) for h in population.households)
    dongs = sorted(DONG_CENTRES)
    table: Table = {
        "place_id": [],
        "name": [],
        "category": [],
        "category_ko": [],
        "district": [],
        "dong": [],
        "road_address": [],
        "latitude": [],
        "longitude": [],
        "cell_id": [],
    }
    for number in range(1, count + 1):
        district, dong = rng.choices(dongs, weights=[1 + weights[d] for d in dongs])[0]
        category, category_ko, stems = rng.choice(POI_CATEGORIES)
        stem = rng.choice(stems)
        name = (
            stem if stem in ("CU", "GS25", "세븐일레븐", "이마트24") else dong.rstrip("동") + stem
        )
        if category == "convenience":
            name = f"{stem} 광주{dong}점"
        lat, lon = DONG_CENTRES[(district, dong)]
        lat, lon = round(lat + rng.gauss(0, 0.004), 6), round(lon + rng.gauss(0, 0.005), 6)
        road = rng.choice(DISTRICT_BY_NAME[district].roads)
        table["place_id"].append(f"NV{number:07d}")
        table["name"].append(name)
        table["category"].append(category)
        table["category_ko"].append(category_ko)
        table["district"].append(district)
        table["dong"].append(dong)
        table["road_address"].append(
            f"광주광역시 {DISTRICT_BY_NAME[district].name_ko} {road} {rng.randint(1, 300)}"
        )
        table["latitude"].append(lat)
        table["longitude"].append(lon)
        table["cell_id"].append(grid_cell(lat, lon))
    return table


_BASE_VISITS = {
    "cafe": 90,
    "restaurant": 120,
    "convenience": 260,
    "pharmacy": 70,
    "clinic": 60,
    "market": 400,
    "park": 300,
    "senior_centre": 35,
    "school": 20,
    "culture": 110,
}


def place_visits(places_table: Table, rng: random.Random) -> Table:
    """Naver: estimated daily visits per place (from map searches and check-ins)."""
    table: Table = {"place_id": [], "date": [], "visits": [], "median_stay_min": []}
    for place_id, category in zip(places_table["place_id"], places_table["category"], strict=True):
        popularity = rng.lognormvariate(0, 0.5)
        for day in range(SERIES_DAYS):
            date = (SERIES_START + timedelta(days=day)).date()
            weekend = date.weekday() >= 5
            factor = (
                1.4 if weekend and category in ("cafe", "restaurant", "park", "culture") else 1.0
            )
            if category == "school" and weekend:
                factor = 0.1
            visits = max(0, int(rng.gauss(_BASE_VISITS[category] * popularity * factor, 12)))
            table["place_id"].append(place_id)
            table["date"].append(date)
            table["visits"].append(visits)
            table["median_stay_min"].append(round(rng.uniform(8, 70), 1))
    return table


def cell_centres(table: Table) -> tuple[list[float], list[float]]:
    centres = [grid_cell_centre(cell) for cell in table["cell_id"]]
    return [c[0] for c in centres], [c[1] for c in centres]
