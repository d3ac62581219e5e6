"""Energy data of the demo city: KEPCO's meters and customers, KDN's grid, KPX's market, LG's
appliances.

Every household has a smart meter.  Its hourly use follows the household: more members use
more, people at home in the day raise the daytime load, and elderly residents living alone show
a low, flat profile with small meal-time peaks.  During an :class:`InactivityEpisode` the meter
shows only standby load (the fridge) and the appliances report nothing: that is the signal the
city's wellbeing check looks for.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import date, datetime, timedelta

from bitgoeul.demo.gwangju import DISTRICTS, DONG_CENTRES, KST, SERIES_DAYS, SERIES_START
from bitgoeul.demo.population import Household, Population
from bitgoeul.demo.source_files import TRUTH_COLUMN, Table
from bitgoeul.demo.variants import address_as, phone_as

_STANDBY_KWH = 0.035
# Open statistics withhold dongs with fewer metered households than this.
MIN_HOUSEHOLDS_PUBLISHED = 5
SMALL_DONGS = "(small dongs pooled)"


def _inactive_hours(population: Population) -> dict[str, range]:
    return {
        e.household_id: range(e.start_hour, e.start_hour + e.hours) for e in population.inactivity
    }


def _profile(population: Population, household: Household) -> list[float]:
    """Expected kWh for each hour of the day."""
    people = [population.people[i] for i in household.members]
    size = len(people)
    elderly_alone = size == 1 and people[0].age >= 65
    at_home_by_day = any(p.activity in ("retired", "home", "preschool") for p in people)
    hours = []
    for hour in range(24):
        if elderly_alone:
            load = 0.07
            load += 0.14 if hour in (6, 7) else 0.0
            load += 0.10 if hour in (11, 12) else 0.0
            load += 0.13 if hour in (17, 18) else 0.0
            load += 0.08 if 19 <= hour <= 21 else 0.0
        else:
            load = 0.08 + 0.035 * size
            load += 0.22 * size**0.7 if hour in (7, 8) else 0.0
            load += 0.40 * size**0.7 if 18 <= hour <= 22 else 0.0
            load += 0.15 * size**0.5 if at_home_by_day and 10 <= hour <= 17 else 0.0
            load += 0.05 if hour in (23, 0) else 0.0
        hours.append(load)
    return hours


def household_electricity(population: Population, rng: random.Random) -> Table:
    """KEPCO AMI readings: one row per meter and hour (a few readings lost in transmission)."""
    inactive = _inactive_hours(population)
    customer, meter, measured, kwh = [], [], [], []
    hours = SERIES_DAYS * 24
    timestamps = [SERIES_START + timedelta(hours=h) for h in range(hours)]
    for household in population.households:
        profile = _profile(population, household)
        scale = rng.lognormvariate(0, 0.25)
        heater = rng.random() < 0.3
        quiet = inactive.get(household.household_id, range(0))
        for h in range(hours):
            if rng.random() < 0.002:
                continue  # a reading lost between meter and head-end
            hour = h % 24
            if h in quiet:
                value = _STANDBY_KWH + abs(rng.gauss(0, 0.008))
            else:
                value = profile[hour] * scale
                if heater and (hour >= 21 or hour <= 6):
                    value += 0.25
                weekday = timestamps[h].weekday()
                if weekday >= 5 and 10 <= hour <= 17:
                    value *= 1.25
                value *= max(0.2, 1 + rng.gauss(0, 0.15))
            customer.append(household.kepco_customer_no)
            meter.append(household.meter_id)
            measured.append(timestamps[h])
            kwh.append(round(value, 3))
    return {"customer_no": customer, "meter_id": meter, "measured_at": measured, "kwh": kwh}


def residential_customers(population: Population, rng: random.Random) -> Table:
    """KEPCO's residential contracts: the account holder as KEPCO has them on file."""
    table: Table = {
        "customer_no": [],
        "meter_id": [],
        "contract_holder": [],
        "phone": [],
        "supply_address": [],
        "contract_type": [],
        "welfare_discount": [],
        TRUTH_COLUMN: [],
    }
    for household in population.households:
        people = [population.people[i] for i in household.members]
        holder = next((p for p in people if p.relation in ("head", "self")), people[0])
        phone_holder = holder if holder.phone else next((p for p in people if p.phone), None)
        if phone_holder is None or phone_holder.phone is None:
            phone = f"062-{rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        else:
            phone = phone_as(phone_holder.phone, "digits" if rng.random() < 0.7 else "hyphens")
        discount = "none"
        if holder.age >= 65 and len(people) == 1 and rng.random() < 0.35:
            discount = "basic-livelihood"
        elif len(people) >= 5:
            discount = "large-family"
        elif rng.random() < 0.04:
            discount = "disability"
        table["customer_no"].append(household.kepco_customer_no)
        table["meter_id"].append(household.meter_id)
        table["contract_holder"].append(holder.name)
        table["phone"].append(phone)
        table["supply_address"].append(address_as(household, rng, lot_share=0.45))
        table["contract_type"].append("주택용 저압")
        table["welfare_discount"].append(discount)
        table[TRUTH_COLUMN].append(holder.resident_id)
    return table


def dong_daily_electricity(population: Population, hourly: Table) -> Table:
    """Open statistics: households and total use per dong and day, from the meter readings.

    Dongs with fewer than ``MIN_HOUSEHOLDS_PUBLISHED`` metered households are pooled into one
    row per district (``SMALL_DONGS``), so no household's use shows in open data.
    """
    counts: dict[tuple[str, str], int] = {}
    for household in population.households:
        key = (household.district, household.dong)
        counts[key] = counts.get(key, 0) + 1
    area_of_meter = {}
    for household in population.households:
        dong = household.dong
        if counts[(household.district, dong)] < MIN_HOUSEHOLDS_PUBLISHED:
            dong = SMALL_DONGS
        area_of_meter[household.meter_id] = (household.district, dong)
    households: dict[tuple[str, str], int] = {}
    for area in area_of_meter.values():
        households[area] = households.get(area, 0) + 1
    totals: dict[tuple[str, str, date], float] = {}
    for meter_id, when, value in zip(
        hourly["meter_id"], hourly["measured_at"], hourly["kwh"], strict=True
    ):
        district, dong = area_of_meter[meter_id]
        day_key = (district, dong, when.date())
        totals[day_key] = totals.get(day_key, 0.0) + value
    table: Table = {"district": [], "dong": [], "date": [], "households": [], "total_kwh": []}
    for (district, dong, day), total in sorted(totals.items()):
        if households[(district, dong)] < MIN_HOUSEHOLDS_PUBLISHED:
            continue  # a district with almost no households (tiny demo cities)
        table["district"].append(district)
        table["dong"].append(dong)
        table["date"].append(day)
        table["households"].append(households[(district, dong)])
        table["total_kwh"].append(round(total, 2))
    return table


_EQUIPMENT = (
    ("pole-transformer", "주상변압기", (50, 75, 100)),
    ("pad-transformer", "지상변압기", (300, 500)),
    ("section-switch", "개폐기", (0,)),
    ("recloser", "리클로저", (0,)),
)


def grid_equipment(population: Population, rng: random.Random) -> Table:
    """KDN's distribution-grid assets: transformers serving the households, and switches."""
    by_dong: dict[tuple[str, str], list[Household]] = {}
    for household in population.households:
        by_dong.setdefault((household.district, household.dong), []).append(household)
    table: Table = {
        "equipment_id": [],
        "equipment_type": [],
        "equipment_type_ko": [],
        "capacity_kva": [],
        "installed_year": [],
        "feeder_id": [],
        "district": [],
        "dong": [],
        "latitude": [],
        "longitude": [],
        "households_served": [],
    }
    number = 0
    for (district, dong), households in sorted(by_dong.items()):
        code = next(d.code for d in DISTRICTS if d.name == district)
        feeder = f"FDR-{code[-3:]}-{rng.randint(1, 40):02d}"
        lat, lon = DONG_CENTRES[(district, dong)]
        groups = [households[i : i + 8] for i in range(0, len(households), 8)]
        kinds = [0 if len(g) < 6 else 1 for g in groups] + [2] * (1 + len(groups) // 4) + [3]
        for position, kind in enumerate(kinds):
            number += 1
            name, name_ko, capacities = _EQUIPMENT[kind]
            served = len(groups[position]) if position < len(groups) else 0
            table["equipment_id"].append(f"KDN-EQ-{number:06d}")
            table["equipment_type"].append(name)
            table["equipment_type_ko"].append(name_ko)
            table["capacity_kva"].append(rng.choice(capacities))
            table["installed_year"].append(rng.randint(1992, 2024))
            table["feeder_id"].append(feeder)
            table["district"].append(district)
            table["dong"].append(dong)
            table["latitude"].append(round(lat + rng.gauss(0, 0.003), 6))
            table["longitude"].append(round(lon + rng.gauss(0, 0.004), 6))
            table["households_served"].append(served)
    return table


_CAUSES = (
    ("tree-contact", 0.22),
    ("animal", 0.14),
    ("equipment-failure", 0.28),
    ("weather", 0.18),
    ("excavation-damage", 0.06),
    ("planned-maintenance", 0.12),
)


def outage_events(equipment: Table, rng: random.Random) -> Table:
    """Outages in 2025 on the equipment above, with duration and customers affected."""
    count = max(12, len(equipment["equipment_id"]) // 3)
    start_of_year = datetime(2025, 1, 1, tzinfo=KST)
    events = []
    for _ in range(count):
        i = rng.randrange(len(equipment["equipment_id"]))
        cause = rng.choices([c[0] for c in _CAUSES], weights=[c[1] for c in _CAUSES])[0]
        started = start_of_year + timedelta(minutes=rng.randrange(365 * 24 * 60))
        minutes = int(rng.lognormvariate(math.log(45), 0.8)) + 3
        if cause == "planned-maintenance":
            minutes = rng.choice((60, 120, 180, 240))
        served = equipment["households_served"][i]
        events.append((started, i, cause, minutes, served or rng.randint(20, 300)))
    events.sort()
    table: Table = {
        "outage_id": [],
        "equipment_id": [],
        "feeder_id": [],
        "district": [],
        "dong": [],
        "started_at": [],
        "restored_at": [],
        "duration_min": [],
        "customers_affected": [],
        "cause": [],
    }
    for number, (started, i, cause, minutes, affected) in enumerate(events, start=1):
        table["outage_id"].append(f"OUT-2025-{number:05d}")
        table["equipment_id"].append(equipment["equipment_id"][i])
        table["feeder_id"].append(equipment["feeder_id"][i])
        table["district"].append(equipment["district"][i])
        table["dong"].append(equipment["dong"][i])
        table["started_at"].append(started.replace(second=0, microsecond=0))
        table["restored_at"].append(
            started.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
        )
        table["duration_min"].append(minutes)
        table["customers_affected"].append(affected)
        table["cause"].append(cause)
    return table


def system_demand(rng: random.Random) -> Table:
    """KPX: hourly national system demand (MW) and system marginal price (KRW/kWh)."""
    start = datetime(2025, 1, 1, tzinfo=KST)
    end = SERIES_START + timedelta(days=SERIES_DAYS)
    table: Table = {"hour_start": [], "system_demand_mw": [], "smp_krw_per_kwh": []}
    when = start
    fuel = 0.0
    while when < end:
        day_of_year = when.timetuple().tm_yday
        # Two seasonal peaks: cooling in August, heating in January.
        season = 9_000 * math.cos(2 * math.pi * (day_of_year - 220) / 365) ** 2
        daily = -9_000 * math.cos(2 * math.pi * (when.hour - 3) / 24) + 3_000 * math.sin(
            4 * math.pi * when.hour / 24
        )
        weekend = -7_000 if when.weekday() >= 5 else 0
        demand = 64_000 + season + daily + weekend + rng.gauss(0, 900)
        fuel += rng.gauss(0, 0.4)
        fuel *= 0.995
        smp = 118 + 0.0012 * (demand - 64_000) + fuel + rng.gauss(0, 3)
        table["hour_start"].append(when)
        table["system_demand_mw"].append(round(demand, 1))
        table["smp_krw_per_kwh"].append(round(max(40.0, smp), 2))
        when += timedelta(hours=1)
    return table


_APPLIANCES = (
    ("refrigerator", "door-open", 0.9, 3),
    ("washer", "cycle-start", 0.6, 0.5),
    ("tv", "power-on", 0.85, 2),
    ("air-purifier", "power-on", 0.5, 1),
    ("dryer", "cycle-start", 0.3, 0.4),
    ("styler", "cycle-start", 0.2, 0.5),
)


def appliance_events(population: Population, rng: random.Random, seed: int) -> Table:
    """LG ThinQ: events from the connected appliances of the households that have them."""
    inactive = _inactive_hours(population)
    rows: list[tuple[datetime, str, str, str, str, float, str, str]] = []
    for household in population.households:
        if not household.has_thinq:
            continue
        account = (
            "LGA-"
            + hashlib.sha256(f"{seed}:lge:{household.household_id}".encode()).hexdigest()[:12]
        )
        people = len(household.members)
        quiet = inactive.get(household.household_id, range(0))
        for appliance, event, share, per_day in _APPLIANCES:
            if rng.random() >= share:
                continue
            device = "THQ-" + hashlib.sha256(f"{account}:{appliance}".encode()).hexdigest()[:10]
            for day in range(SERIES_DAYS):
                expected = per_day * (0.6 + 0.25 * people)
                n = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
                for _ in range(n):
                    hour = rng.choice((7, 8, 12, 13, 18, 19, 20, 21, 10, 15))
                    h = day * 24 + hour
                    if h in quiet:
                        continue
                    when = SERIES_START + timedelta(hours=h, minutes=rng.randrange(60))
                    energy = {"washer": 420.0, "dryer": 1800.0, "styler": 600.0}.get(appliance, 0.0)
                    rows.append(
                        (
                            when,
                            device,
                            account,
                            appliance,
                            event,
                            round(energy * rng.uniform(0.7, 1.3), 1),
                            household.district,
                            household.dong,
                        )
                    )
    rows.sort()
    names = (
        "occurred_at",
        "device_id",
        "account_ref",
        "appliance",
        "event",
        "energy_wh",
        "district",
        "dong",
    )
    table: Table = {name: [] for name in names}
    for row in rows:
        for name, value in zip(names, row, strict=True):
            table[name].append(value)
    table["event_id"] = [f"EV{i:08d}" for i in range(1, len(rows) + 1)]
    return {"event_id": table.pop("event_id"), **table}
