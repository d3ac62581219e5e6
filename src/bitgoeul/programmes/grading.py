"""Grading a job lab: the answer a trainee's job wrote, and the value the platform computes
itself from the dataset version the job used.

The job writes ``answer.json`` into ``BITGOEUL_OUTPUT_DIR``: a number, or ``{"answer": n}``.
The expected value is the lab's aggregate of its column over the version's verified Parquet
file (checked against the SHA-256 the catalog recorded), computed here, on the platform, never
by the trainee's code; it is kept on the ``LabJob`` for operators and never shown to trainees.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bitgoeul.compute.folders import job_paths, output_key
from bitgoeul.compute.models import Job
from bitgoeul.config import Settings
from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg
from bitgoeul.programmes.models import Lab, LabAggregate
from bitgoeul.storage.base import ObjectStore

ANSWER_FILE = "answer.json"
MAX_ANSWER_BYTES = 64 * 1024


def _answer_bytes(settings: Settings, store: ObjectStore, job: Job) -> bytes:
    if ANSWER_FILE not in {str(o.get("path")) for o in job.outputs}:
        raise ValidationFailed(
            msg(
                'The job wrote no {name}: write the answer (a number, or {{"answer": n}}) to '
                "{name} in BITGOEUL_OUTPUT_DIR.",
                name=ANSWER_FILE,
            )
        )
    key = output_key(job.id, ANSWER_FILE)
    if store.exists(key):
        if store.size(key) > MAX_ANSWER_BYTES:
            raise ValidationFailed(msg("{name} is too large to be an answer.", name=ANSWER_FILE))
        with store.open(key) as handle:
            return handle.read(MAX_ANSWER_BYTES + 1)
    path = job_paths(settings, job.id).output / ANSWER_FILE
    if not path.is_file() or path.is_symlink():
        raise ValidationFailed(msg("The job's {name} is no longer kept.", name=ANSWER_FILE))
    with path.open("rb") as handle:
        return handle.read(MAX_ANSWER_BYTES + 1)


def parse_answer(raw: bytes) -> float:
    """The number in an ``answer.json``; ``ValidationFailed`` saying what is wrong."""
    if len(raw) > MAX_ANSWER_BYTES:
        raise ValidationFailed(msg("{name} is too large to be an answer.", name=ANSWER_FILE))
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValidationFailed(
            msg('{name} is not JSON: write a number, or {{"answer": n}}.', name=ANSWER_FILE)
        ) from None
    if isinstance(value, dict):
        value = value.get("answer")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(
            msg('{name} holds no number: write a number, or {{"answer": n}}.', name=ANSWER_FILE)
        )
    number = float(value)
    if not math.isfinite(number):
        raise ValidationFailed(
            msg("The answer in {name} is not a finite number.", name=ANSWER_FILE)
        )
    return number


def job_answer(settings: Settings, store: ObjectStore, job: Job) -> float:
    return parse_answer(_answer_bytes(settings, store, job))


def aggregate(table: pa.Table, rule: LabAggregate, column: str) -> float:
    """The rule's value over ``table`` (nulls left out, as SQL aggregates do)."""
    if rule == LabAggregate.row_count:
        return float(table.num_rows)
    values = table.column(column)
    if rule == LabAggregate.distinct_count:
        return float(pc.count_distinct(values, mode="only_valid").as_py())
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise ValidationFailed(
            msg("Column '{column}' is not numeric: choose another rule.", column=column)
        )
    found = {
        LabAggregate.sum: pc.sum,
        LabAggregate.mean: pc.mean,
        LabAggregate.min: pc.min,
        LabAggregate.max: pc.max,
    }[rule](values).as_py()
    if found is None:
        raise ValidationFailed(msg("Column '{column}' has no values.", column=column))
    return float(found)


def expected_answer(lab: Lab, path: Path) -> float:
    """The lab's value on a dataset version's file, already opened and verified by the door
    (``programmes.actions``)."""
    assert lab.aggregate is not None  # noqa: S101 - a job lab has its rule
    if lab.aggregate == LabAggregate.row_count:
        return float(pq.read_metadata(path).num_rows)
    return aggregate(pq.read_table(path, columns=[lab.column]), lab.aggregate, lab.column)


def is_right(answer: float, expected: float, tolerance: float) -> bool:
    """Within the tolerance (and a rounding hair of the expected value)."""
    return abs(answer - expected) <= tolerance + 1e-9 * max(1.0, abs(expected))
