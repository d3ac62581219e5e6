"""Frictionless Table Schema: checking a declared descriptor, inferring one, and casting to it.

Values arrive from every reader as Arrow string columns (Parquet keeps its own types).  A field
becomes one Arrow type; casting a whole batch is vectorised, and only when a cast fails do we
locate the offending values, still with compute functions where we can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import Message, msg

TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]
INTEGER_PATTERN = r"^[+-]?\d{1,19}$"
LEADING_ZERO_PATTERN = r"^[+-]?0\d"
NUMBER_PATTERN = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
YEAR_PATTERN = r"^\d{4}$"
TIME_PATTERN = r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
INFERENCE_SAMPLE_ROWS = 20_000
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# Field types we store natively; the rest of the Table Schema types are kept as text.
TEXT_TYPES = {"string", "any", "object", "array", "duration", "yearmonth", "geopoint", "geojson"}
KNOWN_TYPES = TEXT_TYPES | {"integer", "number", "boolean", "date", "datetime", "time", "year"}
NUMERIC_CONSTRAINT_TYPES = {"integer", "number", "year", "date", "datetime"}


@dataclass
class FieldSpec:
    """One column: its Table Schema field and the Arrow type it is stored as."""

    name: str
    type: str = "string"
    format: str = "default"
    constraints: dict[str, Any] = field(default_factory=dict)

    @property
    def arrow_type(self) -> pa.DataType:
        return arrow_type_for(self.type)

    def descriptor(self) -> dict[str, Any]:
        described: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.format != "default":
            described["format"] = self.format
        if self.constraints:
            described["constraints"] = dict(self.constraints)
        return described


def arrow_type_for(field_type: str) -> pa.DataType:
    return {
        "integer": pa.int64(),
        "number": pa.float64(),
        "boolean": pa.bool_(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us"),
        "year": pa.int32(),
    }.get(field_type, pa.string())


def field_type_for(arrow_type: pa.DataType) -> str:
    """The Table Schema type of a column read from a typed source (Parquet)."""
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "number"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    if pa.types.is_time(arrow_type):
        return "time"
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return "array"
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        return "object"
    return "string"


# -- declared schemas ---------------------------------------------------------------------------


def _descriptor_error(
    filename: str, message: str | Message, field_name: str | None = None
) -> ValidationFailed:
    where = msg("field '{field}'", field=field_name) if field_name else msg("the schema")
    text = msg(
        "The declared Table Schema is not valid: {where}: {problem}", where=where, problem=message
    )
    return ValidationFailed(
        text,
        detail={
            "file": filename,
            "valid": False,
            "error_count": 1,
            "errors": [
                {
                    "row": None,
                    "column": None,
                    "field": field_name,
                    "value": None,
                    "rule": "schema",
                    "message": text,
                }
            ],
            "counts_by_rule": {"schema": 1},
            "truncated": False,
        },
    )


def parse_declared_schema(descriptor: dict[str, Any], *, filename: str) -> list[FieldSpec]:
    """Check a steward's Table Schema descriptor and turn it into field specs."""
    fields = descriptor.get("fields") if isinstance(descriptor, dict) else None
    if not isinstance(fields, list) or not fields:
        raise _descriptor_error(filename, msg("it needs a non-empty list of 'fields'."))
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for position, item in enumerate(fields, start=1):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise _descriptor_error(
                filename, msg("field number {position} has no 'name'.", position=position)
            )
        if name in seen:
            raise _descriptor_error(filename, msg("the name is used twice."), name)
        seen.add(name)
        field_type = item.get("type", "string")
        if field_type not in KNOWN_TYPES:
            raise _descriptor_error(
                filename,
                msg(
                    "type '{type}' is not a Table Schema type (use one of {types}).",
                    type=field_type,
                    types=", ".join(sorted(KNOWN_TYPES)),
                ),
                name,
            )
        constraints = item.get("constraints", {})
        if not isinstance(constraints, dict):
            raise _descriptor_error(filename, msg("'constraints' must be an object."), name)
        _check_constraints(filename, name, field_type, constraints)
        spec = FieldSpec(
            name=name,
            type=field_type,
            format=str(item.get("format", "default")),
            constraints=dict(constraints),
        )
        _check_constraint_values(filename, spec)
        specs.append(spec)
    # Imported here: frictionless takes half a second to import, and most uploads declare nothing.
    from frictionless import Schema

    report = Schema.validate_descriptor(descriptor)
    if not report.valid:
        note = report.flatten(["note"])[0][0]
        raise _descriptor_error(filename, str(note))
    return specs


def _check_constraints(
    filename: str, name: str, field_type: str, constraints: dict[str, Any]
) -> None:
    known = {
        "required",
        "unique",
        "minimum",
        "maximum",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
    }
    for key, value in constraints.items():
        if key not in known:
            raise _descriptor_error(
                filename, msg("constraint '{key}' is not supported.", key=key), name
            )
        if key in {"required", "unique"} and not isinstance(value, bool):
            raise _descriptor_error(filename, msg("'{key}' must be true or false.", key=key), name)
        if key in {"minLength", "maxLength"} and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise _descriptor_error(filename, msg("'{key}' must be a whole number.", key=key), name)
        if key in {"minimum", "maximum"}:
            if field_type not in NUMERIC_CONSTRAINT_TYPES:
                raise _descriptor_error(
                    filename, msg("'{key}' needs a number or date type.", key=key), name
                )
            if field_type in {"integer", "number", "year"} and (
                not isinstance(value, int | float) or isinstance(value, bool)
            ):
                raise _descriptor_error(filename, msg("'{key}' must be a number.", key=key), name)
        if key == "enum" and (not isinstance(value, list) or not value):
            raise _descriptor_error(filename, msg("'enum' must be a non-empty list."), name)
        if key == "pattern" and not isinstance(value, str):
            raise _descriptor_error(filename, msg("'pattern' must be a regular expression."), name)


def constraint_bound(value: Any, arrow_type: pa.DataType) -> pa.Scalar:
    """A ``minimum``/``maximum`` as an Arrow scalar comparable with the column."""
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        return pc.cast(pa.scalar(str(value)), arrow_type)
    return pa.scalar(value).cast(pa.float64() if isinstance(value, float) else arrow_type)


def _check_constraint_values(filename: str, spec: FieldSpec) -> None:
    """Bounds, enum values and patterns must make sense for the field's type."""
    rules = spec.constraints
    try:
        for key in ("minimum", "maximum"):
            if key in rules:
                constraint_bound(rules[key], spec.arrow_type)
        if "enum" in rules:
            pa.array(rules["enum"]).cast(spec.arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError):
        raise _descriptor_error(
            filename,
            msg("a minimum, maximum or enum value is not a valid {type}.", type=spec.type),
            spec.name,
        ) from None
    if "pattern" in rules:
        try:
            pc.match_substring_regex(pa.array([""]), f"^(?:{rules['pattern']})$")
        except pa.ArrowInvalid:
            raise _descriptor_error(
                filename,
                msg(
                    "the pattern {pattern} is not a regular expression we can run (RE2 syntax: "
                    "no look-arounds or back-references).",
                    pattern=repr(rules["pattern"]),
                ),
                spec.name,
            ) from None


# -- inference ----------------------------------------------------------------------------------


def _all_match(values: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _any_match(values: pa.Array, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, pattern)).as_py())


def infer_field_type(values: pa.Array) -> str:
    """The narrowest Table Schema type every non-empty string in a sample fits."""
    present = pc.drop_null(values).slice(0, INFERENCE_SAMPLE_ROWS)
    if len(present) == 0:
        return "string"
    if _any_match(present, LEADING_ZERO_PATTERN) and _all_match(present, r"^[+-]?\d+$"):
        return "string"  # postcodes, phone numbers and codes keep their leading zeros
    if _all_match(present, INTEGER_PATTERN):
        return "integer"
    if _all_match(present, r"^[+-]?\d+$"):
        return "string"  # whole numbers past 64 bits: identifiers, kept exactly as text
    if _all_match(present, NUMBER_PATTERN) and not _any_match(present, LEADING_ZERO_PATTERN):
        return "number"
    if bool(pc.all(pc.is_in(present, pa.array(TRUE_VALUES + FALSE_VALUES))).as_py()):
        return "boolean"
    if _all_match(present, r"^\d{4}-\d{2}-\d{2}$") and _casts(present, pa.date32()):
        return "date"
    if _all_match(present, r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}") and _casts(
        present, pa.timestamp("us")
    ):
        return "datetime"
    return "string"


def _casts(values: pa.Array, arrow_type: pa.DataType) -> bool:
    try:
        pc.cast(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


# Types a column may have been meant to hold when a few of its cells made it text.
TEXT_FALLBACK_TYPES = ("integer", "number", "date", "datetime", "boolean")


def misfits(values: pa.Array, field_type: str) -> pa.Array | None:
    """The mask of non-empty cells that are not a valid ``field_type`` (None when all are)."""
    _cast, bad = cast_column(values, FieldSpec(name="", type=field_type))
    return bad


def majority_type(values: pa.Array) -> str | None:
    """The type that more than half of a text sample's non-empty cells fit, when the others
    made inference fall back to text (``2026-11-31`` among dates, ``n/a`` among numbers).

    None when the column is text by nature: too few values, or codes with leading zeros.
    """
    present = pc.drop_null(values).slice(0, INFERENCE_SAMPLE_ROWS)
    if len(present) < 2 or _any_match(present, LEADING_ZERO_PATTERN):
        return None
    for field_type in TEXT_FALLBACK_TYPES:
        bad = misfits(present, field_type)
        if bad is None:
            continue  # every cell fits: text was chosen on purpose (e.g. 20-digit ids)
        if 2 * int(pc.sum(pc.cast(bad, pa.int64())).as_py() or 0) < len(present):
            return field_type
    return None


def widen(field_type: str, bad_values: pa.Array) -> str:
    """The next type to try when a later batch does not fit what the first one suggested."""
    if field_type == "integer" and _all_match(pc.drop_null(bad_values), r"^[+-]?\d+$"):
        return "string"  # whole numbers past 64 bits: identifiers, kept exactly as text
    if field_type == "integer" and _all_match(pc.drop_null(bad_values), NUMBER_PATTERN):
        return "number"
    if field_type == "date" and _casts(pc.drop_null(bad_values), pa.timestamp("us")):
        return "datetime"
    return "string"


# -- casting ------------------------------------------------------------------------------------


def cast_column(values: pa.Array, spec: FieldSpec) -> tuple[pa.Array, pa.Array | None]:
    """Cast one column to its field type: (cast values, mask of values that do not fit or None)."""
    target = spec.arrow_type
    if values.type == target:
        return values, None
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        try:
            return pc.cast(values, target), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = pc.cast(values, pa.string())
    if spec.type == "boolean":
        truthy = pc.is_in(values, pa.array(TRUE_VALUES))
        known = pc.or_(truthy, pc.is_in(values, pa.array(FALSE_VALUES)))
        bad = pc.and_(pc.is_valid(values), pc.invert(known))
        result = pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), truthy)
        return pc.if_else(bad, pa.scalar(None, pa.bool_()), result), _mask_or_none(bad)
    if spec.type == "date" and spec.format not in {"default", "any"}:
        parsed = pc.strptime(values, format=spec.format, unit="s", error_is_null=True)
        bad = pc.and_(pc.is_valid(values), pc.is_null(parsed))
        return pc.cast(parsed, pa.date32()), _mask_or_none(bad)
    if spec.type == "datetime" and spec.format not in {"default", "any"}:
        parsed = pc.strptime(values, format=spec.format, unit="us", error_is_null=True)
        bad = pc.and_(pc.is_valid(values), pc.is_null(parsed))
        return parsed, _mask_or_none(bad)
    checks = {"year": YEAR_PATTERN, "time": TIME_PATTERN}
    if spec.type in checks or (spec.type == "string" and spec.format == "email"):
        pattern = checks.get(spec.type, EMAIL_PATTERN)
        bad = pc.invert(pc.fill_null(pc.match_substring_regex(values, pattern), True))
        kept = pc.if_else(bad, pa.scalar(None, pa.string()), values)
        return pc.cast(kept, target), _mask_or_none(bad)
    if target == pa.string():
        return pc.cast(values, target), None
    try:
        return pc.cast(values, target), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    return _cast_locating_failures(values, spec)


def _mask_or_none(bad: pa.Array) -> pa.Array | None:
    return bad if pc.any(bad).as_py() else None


def _cast_locating_failures(values: pa.Array, spec: FieldSpec) -> tuple[pa.Array, pa.Array]:
    """Slow path, only for batches with bad values: vectorised pre-check, then value by value."""
    target = spec.arrow_type
    pattern = {"integer": INTEGER_PATTERN, "number": NUMBER_PATTERN}.get(spec.type)
    if spec.type == "date":
        pattern = r"^\d{4}-\d{2}-\d{2}$"
    if pattern is not None:
        fits = pc.match_substring_regex(values, pattern)
        if spec.type == "number":
            fits = pc.or_(fits, pc.is_in(pc.utf8_lower(values), pa.array(["nan", "inf", "-inf"])))
        bad = pc.invert(pc.fill_null(fits, True))
        kept = pc.if_else(bad, pa.scalar(None, pa.string()), values)
        try:
            return pc.cast(kept, target), bad
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    flags: list[bool] = []
    cast_values: list[Any] = []
    for value in values.to_pylist():
        if value is None:
            flags.append(False)
            cast_values.append(None)
            continue
        try:
            cast_values.append(pc.cast(pa.scalar(value), target).as_py())
            flags.append(False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            cast_values.append(None)
            flags.append(True)
    return pa.array(cast_values, type=target), pa.array(flags, type=pa.bool_())
