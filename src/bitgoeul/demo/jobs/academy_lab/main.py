"""The demo academy's job lab: total residential electricity use in KEPCO's open daily
statistics.  Submit it as a job naming ``kepco-dong-electricity-daily``, then attach the job to
the lab ``total-electricity`` of your enrolment; the hub grades the answer when the job ends."""

import json
import os
from pathlib import Path

import pyarrow.parquet as pq

source = Path(os.environ["BITGOEUL_INPUT_DIR"]) / "kepco-dong-electricity-daily.parquet"
total = sum(value for value in pq.read_table(source).column("total_kwh").to_pylist() if value)
print(f"total residential use: {total:,.2f} kWh", flush=True)
(Path(os.environ["BITGOEUL_OUTPUT_DIR"]) / "answer.json").write_text(json.dumps({"answer": total}))
