"""A model submission to the demo testbed's hourly population flow task (Bitgoeul Labs).

Runs in the hub's sandbox with no network.  It reads the task's test inputs (every column but
the label) from BITGOEUL_INPUT_DIR and writes predictions.csv into BITGOEUL_OUTPUT_DIR: the
mean of the cell's population at the same hour the day before and a week before.  Only the
score comes back to the team; the predictions never leave the hub.
"""

import csv
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq

inputs = sorted(Path(os.environ["BITGOEUL_INPUT_DIR"]).glob("*.parquet"))
if len(inputs) != 1:
    sys.exit(f"expected the task's test inputs as one Parquet file, found {len(inputs)}")
table = pq.read_table(
    inputs[0], columns=["id", "population_previous_day", "population_previous_week"]
)
rows = table.to_pylist()
out = Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "predictions.csv"
with out.open("w", newline="", encoding="utf-8") as handle:
    writer = csv.writer(handle)
    writer.writerow(["id", "prediction"])
    for row in rows:
        day, week = row["population_previous_day"], row["population_previous_week"]
        writer.writerow([row["id"], (float(day) + float(week)) / 2])
print(f"predicted {len(rows)} cell-hours from {inputs[0].name}")
