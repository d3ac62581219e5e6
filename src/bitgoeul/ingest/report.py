"""The ingest error report: the first N errors with row, column, value and rule, plus counts.

The CLI and the web pages show this structure as it is; ``ValidationFailed.detail`` carries it.
Its messages are ``msg()`` messages; an ingest run keeps its report in the database as JSON
through :func:`stored` and reads it back with :func:`restored`, so a report written in English
is shown later in the reader's language.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NoReturn

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import Message, msg

VALUE_SHOWN_CHARS = 200


class ErrorReport:
    """Collects errors for one file; keeps the first ``limit`` and counts every one by rule."""

    def __init__(self, filename: str, *, limit: int) -> None:
        self.filename = filename
        self.limit = max(limit, 0)
        self.errors: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()

    @property
    def error_count(self) -> int:
        return sum(self.counts.values())

    @property
    def room(self) -> int:
        """How many more errors will be listed (the rest are only counted)."""
        return self.limit - len(self.errors)

    def add(
        self,
        *,
        rule: str,
        message: str | Message,
        row: int | None = None,
        column: int | None = None,
        field: str | None = None,
        value: Any = None,
    ) -> None:
        self.counts[rule] += 1
        if len(self.errors) < self.limit:
            if isinstance(value, str) and len(value) > VALUE_SHOWN_CHARS:
                value = value[:VALUE_SHOWN_CHARS] + "…"
            self.errors.append(
                {
                    "row": row,
                    "column": column,
                    "field": field,
                    "value": value,
                    "rule": rule,
                    "message": message,
                }
            )

    def count_more(self, rule: str, extra: int) -> None:
        """Count errors found in bulk beyond the ones listed with :meth:`add`."""
        if extra > 0:
            self.counts[rule] += extra

    def detail(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "valid": not self.counts,
            "error_count": self.error_count,
            "errors": list(self.errors),
            "counts_by_rule": dict(self.counts),
            "truncated": self.error_count > len(self.errors),
        }

    def fail(self) -> NoReturn:
        raise self.error()

    def error(self) -> ValidationFailed:
        total = self.error_count
        values = {
            "file": self.filename,
            "total": total,
            "rules": ", ".join(f"{rule} ({count})" for rule, count in self.counts.most_common()),
            "first": self.errors[0]["message"] if self.errors else "",
        }
        summary = (
            msg("{file}: {total} error ({rules}). First: {first}", **values)
            if total == 1
            else msg("{file}: {total} errors ({rules}). First: {first}", **values)
        )
        return ValidationFailed(summary, detail=self.detail())


def file_error(filename: str, *, rule: str, message: str | Message) -> ValidationFailed:
    """A problem with the file as a whole (encoding, empty, not Parquet): one error, no row."""
    report = ErrorReport(filename, limit=1)
    report.add(rule=rule, message=message)
    return report.error()


# How a message is kept in stored JSON: its template and values, so it can be translated later.
_TEMPLATE = "x-message-template"
_VALUES = "x-message-values"


def stored(value: Any) -> Any:
    """A report (any JSON-like value) with each message kept as its template and values."""
    if isinstance(value, Message):
        return {_TEMPLATE: value.template, _VALUES: stored(dict(value.values))}
    if isinstance(value, dict):
        return {key: stored(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [stored(item) for item in value]
    return value


def restored(value: Any) -> Any:
    """A stored report with its messages made messages again (English text that translates)."""
    if isinstance(value, dict):
        if set(value) == {_TEMPLATE, _VALUES} and isinstance(value[_TEMPLATE], str):
            values = restored(value[_VALUES])
            return Message(value[_TEMPLATE], values if isinstance(values, dict) else {})
        return {key: restored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [restored(item) for item in value]
    return value
