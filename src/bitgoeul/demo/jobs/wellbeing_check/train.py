"""Wellbeing check for older residents living alone: learn what "inactive" looks like in hourly
smart-meter data, and count the homes that went quiet.

Gwangju's district welfare offices call or visit an older resident living alone when their
home's electricity use stays flat at standby level for half a day or more (no kettle, no
lights, no TV).  This job learns the standby level from the data itself (a low percentile of
night-time readings), finds episodes of at least MIN_HOURS consecutive hours at or below it,
and writes:

* ``model.json``: the learned parameters (no person's data): the standby threshold, the
  minimum episode length, how many meters and readings it learned from;
* ``summary.csv``: how many meters were checked and how many had an episode (one row of
  counts: safe to release when the counts are at least the dataset's minimum group size).

Per-home alerts are not written here: they name (pseudonymised) meters and go to welfare
officers through KEPCO's own channel, not out of the hub.

Reads ``$BITGOEUL_INPUT_DIR/kepco-household-electricity-hourly.parquet``; writes to
``$BITGOEUL_OUTPUT_DIR``.  Runs in the ``default`` environment (DuckDB, pyarrow).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb

MIN_HOURS = int(sys.argv[1]) if len(sys.argv) > 1 else 12
DATASET = "kepco-household-electricity-hourly"


def main() -> None:
    source = Path(os.environ["BITGOEUL_INPUT_DIR"]) / f"{DATASET}.parquet"
    out = Path(os.environ["BITGOEUL_OUTPUT_DIR"])
    con = duckdb.connect()
    con.execute(f"CREATE VIEW readings AS SELECT * FROM read_parquet('{source}')")
    meters, readings = con.execute(
        "SELECT count(DISTINCT meter_id), count(*) FROM readings"
    ).fetchone() or (0, 0)
    print(f"learning from {readings} readings of {meters} meters", flush=True)
    # Standby: the 10th percentile of readings between 1 and 4 a.m., a little headroom added.
    (standby,) = con.execute(
        "SELECT quantile_cont(kwh, 0.10) * 1.5 FROM readings "
        "WHERE hour(measured_at) BETWEEN 1 AND 4"
    ).fetchone() or (0.0,)
    print(f"standby threshold: {standby:.3f} kWh", flush=True)
    # Runs of consecutive hours at or below standby, per meter (gaps and islands).
    (flagged,) = con.execute(
        """
        WITH marked AS (
            SELECT meter_id, measured_at, kwh <= ? AS quiet,
                   row_number() OVER (PARTITION BY meter_id ORDER BY measured_at)
                 - row_number() OVER (PARTITION BY meter_id, kwh <= ? ORDER BY measured_at)
                   AS island
            FROM readings
        ), runs AS (
            SELECT meter_id, count(*) AS hours FROM marked WHERE quiet
            GROUP BY meter_id, island
        )
        SELECT count(DISTINCT meter_id) FROM runs WHERE hours >= ?
        """,
        [standby, standby, MIN_HOURS],
    ).fetchone() or (0,)
    print(f"{flagged} of {meters} meters had an inactivity episode of {MIN_HOURS}+ hours")
    (out / "model.json").write_text(
        json.dumps(
            {
                "standby_threshold_kwh": round(float(standby), 4),
                "min_episode_hours": MIN_HOURS,
                "trained_on_meters": int(meters),
                "trained_on_readings": int(readings),
            },
            indent=2,
        )
        + "\n"
    )
    (out / "summary.csv").write_text(
        f"meters_checked,meters_with_episode\n{int(meters)},{int(flagged)}\n"
    )


if __name__ == "__main__":
    main()
