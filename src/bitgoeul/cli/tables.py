"""Tables that stay readable in a narrow terminal (80 columns and less).

Rich fits any table into the terminal by narrowing its columns, which at 80 columns breaks
slugs, ids and numbers into two- or three-letter pieces over many lines.  :func:`fitted`
decides per table: when every column can have the width it needs to be read (a value without
spaces, such as a slug, an id, a time or a number, is never broken; text with spaces may wrap
at its spaces), the table is printed as it is; otherwise each row is printed as a record, one
``column  value`` line per column, the way ``psql``'s expanded display does.  An empty table
too wide for the terminal is printed as its column names on a line (Rich would cut them to
``submissio…``); the command's own line says there are none.

The CLI's consoles apply it to every table they print (``cli.context``), so commands build
ordinary ``rich.table.Table`` objects and never think about the width.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

# Text with spaces narrower than this is not wrapped (a title of two words stays one line).
READABLE_TEXT = 16


def _text(console: Console, cell: object) -> Text | None:
    if isinstance(cell, Text):
        return cell
    if isinstance(cell, str):
        return console.render_str(cell)
    return None  # a nested renderable: measured by Rich itself


def _needed(console: Console, column_cells: list[Text]) -> int:
    """The width a column needs to be read: its longest word, and short text unwrapped."""
    longest_word = max(
        (len(word) if word.isascii() else Text(word).cell_len)
        for cell in column_cells
        for word in (cell.plain.split() or [""])
    )
    widest = max(cell.cell_len for cell in column_cells)
    return max(longest_word, min(widest, READABLE_TEXT))


def fits(console: Console, table: Table, width: int) -> bool:
    """Whether ``table`` can be shown in ``width`` cells without breaking any word."""
    needed = 0
    for column in table.columns:
        cells = [_text(console, c) for c in column.cells]
        if table.show_header:
            cells.append(_text(console, column.header))
        if any(c is None for c in cells):
            return True  # leave tables of other renderables to Rich
        needed += _needed(console, [c for c in cells if c is not None])
    padding = 2 * len(table.columns)  # one space each side of every cell
    borders = len(table.columns) + 1 if table.box is not None else 0
    return needed + padding + borders <= width


def as_records(console: Console, table: Table) -> RenderableType:
    """``table``, one record per row: the column's name, then its value (wrapped)."""
    names = [_text(console, column.header) or Text(str(column.header)) for column in table.columns]
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text.from_markup(str(table.title), style="bold"))
    rows = list(zip(*(list(column.cells) for column in table.columns), strict=True))
    for number, row in enumerate(rows, start=1):
        parts.append(Rule(f"{number} / {len(rows)}", align="left", style="dim"))
        record = Table.grid(padding=(0, 2))
        record.add_column(style="bold", no_wrap=True)
        record.add_column(overflow="fold", ratio=1)
        for name, cell in zip(names, row, strict=True):
            record.add_row(name, cell)
        parts.append(record)
    if table.caption:
        parts.append(Text.from_markup(str(table.caption), style="dim"))
    return Group(*parts)


def as_column_names(console: Console, table: Table) -> RenderableType:
    """An empty ``table``: its title, then its column names, wrapped between names only."""
    names = [_text(console, column.header) or Text(str(column.header)) for column in table.columns]
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text.from_markup(str(table.title), style="bold"))
    parts.append(Text(" · ").join(name.copy() for name in names))
    if table.caption:
        parts.append(Text.from_markup(str(table.caption), style="dim"))
    return Group(*parts)


def fitted(console: Console, renderable: object) -> object:
    """``renderable`` as the console should print it: a table that does not fit with its
    header shown becomes records (column names, when it has no rows); anything else is
    unchanged."""
    if (
        isinstance(renderable, Table)
        and renderable.show_header
        and not fits(console, renderable, console.width)
    ):
        if renderable.row_count:
            return as_records(console, renderable)
        return as_column_names(console, renderable)
    return renderable


class FittingConsole(Console):
    """A console that prints every table readably at its width (see :func:`fitted`)."""

    def print(self, *objects: Any, **options: Any) -> None:
        super().print(*(fitted(self, o) for o in objects), **options)
