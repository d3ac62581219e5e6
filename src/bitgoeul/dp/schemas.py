"""What crosses the DP door's API: a declarative request, a quote, a release, the budgets.

A request names no SQL: a dataset version, group-by keys from the steward's public key set
(or keys the steward lets be released with a threshold) and measures over columns whose bounds
the steward approved (``dp.models.DpProfile``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bitgoeul.messages import msg

MAX_MEASURES = 8
MAX_EPSILON = 5.0  # OpenDP warns above 5
MIN_DELTA = 1e-12  # OpenDP's δ maps bottom out near 1e-16; nothing smaller is meaningful
MAX_DELTA = 1e-4  # δ must stay far below 1 / the number of persons


MeasureKind = Literal["count", "sum", "mean", "quantile"]


class Measure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: MeasureKind
    column: str | None = Field(
        default=None, max_length=200, description="The measured column (not for count)."
    )
    q: float | None = Field(
        default=None, gt=0, lt=1, description="For a quantile: which one (0.5 is the median)."
    )

    @model_validator(mode="after")
    def _shape(self) -> Measure:
        if self.kind == "count" and self.column is not None:
            raise ValueError(msg("a count measures no column: leave 'column' out"))
        if self.kind != "count" and not self.column:
            raise ValueError(msg("a {kind} needs a 'column'", kind=self.kind))
        if (self.kind == "quantile") != (self.q is not None):
            raise ValueError(msg("'q' is given for a quantile, and only for one"))
        return self


def parse_measure(text: str) -> dict[str, Any] | None:
    """``count``, ``sum:COLUMN``, ``mean:COLUMN`` or ``quantile:COLUMN:Q`` as a measure's fields
    (how the CLI and the page write measures); None when it is none of these."""
    kind, _, rest = text.partition(":")
    if kind == "count" and not rest:
        return {"kind": "count"}
    if kind in ("sum", "mean") and rest:
        return {"kind": kind, "column": rest}
    column, _, q = rest.rpartition(":")
    if kind == "quantile" and column:
        try:
            return {"kind": kind, "column": column, "q": float(q)}
        except ValueError:
            return None
    return None


class DpRequest(BaseModel):
    """One declarative DP request; its canonical JSON (with the version) is what is hashed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field(max_length=100, description="The dataset's slug.")
    version: int | None = Field(default=None, ge=1, description="None: the latest version.")
    project: int | None = Field(
        default=None, description="The project whose agreement and budget pay for it."
    )
    partition: str | None = Field(
        default=None,
        max_length=40,
        description="For a time-partitioned dataset: the one partition (a value of the "
        "steward's partition column) the release reads and is charged on.",
    )
    group_by: list[str] = Field(default_factory=list, max_length=3)
    measures: list[Measure] = Field(min_length=1, max_length=MAX_MEASURES)
    epsilon: float = Field(gt=0, le=MAX_EPSILON, description="The whole request's cost in ε.")

    def canonical(self, *, version: int) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["version"] = version
        if data["partition"] is None:
            del data["partition"]  # the hashes of requests made before partitions stay valid
        return data

    def sha256(self, *, version: int) -> str:
        text = json.dumps(self.canonical(version=version), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


# The group sizes (rows with a value, after at most m rows per person) a quote works a mean's
# and a quantile's accuracy out for: the quote reads no data, so it cannot know a group's size.
GROUP_SIZES = (100, 1_000, 10_000)
MEAN_FORMULA = (
    "(sum_accuracy + bound * count_accuracy) / (n - count_accuracy), for n > count_accuracy"
)


class GroupSizeAccuracy(BaseModel):
    rows: int = Field(description="A group's size n: its rows with a value, at most m per person.")
    within: float | None = Field(
        description="For a mean: with 95 % probability the released mean is within ± this "
        "(the column's units) of the exact mean, None when n is too small for a bound. For a "
        "quantile: the rank error at 95 % as a fraction of the group (rank_error_95 / n)."
    )


class MeanAccuracy(BaseModel):
    """A mean's accuracy as a function of its group's size n (the quote cannot read n):
    with 95 % probability the released mean is within ± ``formula`` of the exact mean."""

    sum_accuracy: float = Field(
        description="The noisy sum's ± at 97.5 % (the column's units), by OpenDP."
    )
    count_accuracy: float = Field(
        description="The noisy count's ± at 97.5 % (rows), by OpenDP; both hold together "
        "with probability at least 95 %."
    )
    bound: float = Field(description="max(|lower|, |upper|): no value is further from 0.")
    formula: str = Field(default=MEAN_FORMULA, description="The ± at 95 % for n rows.")


class MeasureQuote(BaseModel):
    kind: MeasureKind
    column: str | None
    q: float | None
    mechanism: str
    noise_scale: float = Field(description="In the column's units (counts: people's rows).")
    accuracy_95: float | None = Field(
        description="With 95 % probability each released value is within ± this of the "
        "exact value of the bounded data (None for a mean or a quantile: see "
        "'mean_accuracy', 'rank_error_95' and 'by_group_size')."
    )
    rank_error_95: float | None = Field(
        default=None,
        description="A quantile: with 95 % probability the released candidate's score is "
        "within this many rows of the best candidate's, the score being how many rows the "
        "rank below the candidate is from q × n (OpenDP's quantile score).",
    )
    mean_accuracy: MeanAccuracy | None = Field(
        default=None, description="A mean: its ± at 95 % as a function of the group's size."
    )
    by_group_size: list[GroupSizeAccuracy] = Field(
        default_factory=list,
        description="A mean's or a quantile's accuracy worked out for a few group sizes.",
    )
    epsilon: float
    delta: float = Field(
        default=0.0, description="The measurement's δ (only groups released with a threshold)."
    )
    threshold: int | None = Field(
        default=None,
        description="Groups whose noisy count (rows, at most m per person) is below this "
        "are not released (only keys released with a threshold).",
    )


class Balance(BaseModel):
    scope: str
    cap: float
    spent: float
    reserved: float
    left: float
    delta_cap: float = 0.0
    delta_spent: float = 0.0
    delta_reserved: float = 0.0
    delta_left: float = 0.0


class Quote(BaseModel):
    dataset: str
    version: int
    project: int | None
    partition: str | None = None
    groups: list[dict[str, Any]] = Field(
        description="The groups released (every value of the public key sets); empty when "
        "a key is released with a threshold: then only the groups whose noisy count reaches "
        "the threshold are."
    )
    threshold_keys: list[str] = Field(
        default_factory=list, description="Group-by columns whose values the data decides."
    )
    measures: list[MeasureQuote]
    epsilon: float = Field(description="What the release costs, on every budget below.")
    delta: float = Field(
        default=0.0, description="What the release costs in δ (keys released with a threshold)."
    )
    balances: list[Balance]
    token: str = Field(description="Pass to POST /api/v1/dp/release within 15 minutes.")


class Release(BaseModel):
    dataset: str
    version: int
    project: int | None
    partition: str | None = None
    release_id: int
    repeated: bool = Field(description="True: the stored answer of an earlier release, free.")
    epsilon_charged: float
    delta_charged: float = 0.0
    columns: list[str]
    rows: list[list[Any]]
    measures: list[MeasureQuote]
    balances: list[Balance]
    measurement_sha256: str


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_column: str = Field(max_length=200)
    max_rows_per_person: int = Field(ge=1, le=10_000)
    keys: dict[str, list[str | int]] = Field(default_factory=dict)
    measures: dict[str, MeasureBounds] = Field(default_factory=dict)
    partition_column: str | None = Field(
        default=None,
        max_length=200,
        description="A key column whose values are time partitions: each release then reads "
        "one partition and is charged on that partition's budget.",
    )
    threshold_keys: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Columns requests may group by without a public key set: a group is "
        "released only when its noisy count reaches a threshold set by 'delta'.",
    )
    delta: float | None = Field(
        default=None,
        ge=MIN_DELTA,
        le=MAX_DELTA,
        description="The δ one release grouped by a threshold key spends (the chance that a "
        "group held by one person appears); needed with 'threshold_keys'.",
    )

    @model_validator(mode="after")
    def _thresholds(self) -> ProfileIn:
        if self.threshold_keys and self.delta is None:
            raise ValueError(msg("'threshold_keys' need a 'delta' (for example 1e-7)"))
        both = sorted(set(self.threshold_keys) & set(self.keys))
        if both:
            raise ValueError(
                msg(
                    "'{column}' has a public key set and a threshold; give it one of them",
                    column=both[0],
                )
            )
        if len(set(self.threshold_keys)) != len(self.threshold_keys):
            raise ValueError(msg("each threshold key may be named once"))
        return self


class MeasureBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lower: float
    upper: float
    decimals: int = Field(default=0, ge=0, le=6)
    candidates: list[float] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _ordered(self) -> MeasureBounds:
        if not self.lower < self.upper:
            raise ValueError(msg("'lower' must be below 'upper'"))
        if self.candidates != sorted(set(self.candidates)):
            raise ValueError(msg("'candidates' must be increasing, without repeats"))
        return self


class ProfilePublic(BaseModel):
    dataset: str
    person_column: str
    max_rows_per_person: int
    keys: dict[str, list[str | int]]
    measures: dict[str, MeasureBounds]
    partition_column: str | None = None
    threshold_keys: list[str] = Field(default_factory=list)
    delta: float | None = None
    updated_at: datetime


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project: int | None = Field(default=None, description="None: the dataset-wide cap.")
    partition: str | None = Field(
        default=None,
        max_length=40,
        description="A partition's cap (all projects together) on a time-partitioned dataset.",
    )
    epsilon: float = Field(gt=0, le=1000)
    delta: float | None = Field(
        default=None,
        ge=0,
        le=0.01,
        description="The δ cap (releases grouped by threshold keys spend δ); None: unchanged "
        "(0 for a new budget).",
    )

    @model_validator(mode="after")
    def _one_scope(self) -> BudgetIn:
        if self.project is not None and self.partition is not None:
            raise ValueError(msg("name a project or a partition, not both"))
        return self


class BudgetPublic(BaseModel):
    dataset: str
    scope: str
    project: int | None
    partition: str | None = None
    cap: float
    spent: float
    reserved: float
    left: float
    delta_cap: float = 0.0
    delta_spent: float = 0.0
    delta_reserved: float = 0.0
    delta_left: float = 0.0
    updated_at: datetime


ProfileIn.model_rebuild()
