"""The CLI's tables stay readable in an 80-column terminal.

A table whose columns all get the width they need is printed as a table; one that would
break slugs, ids or numbers into pieces is printed as records (``column  value`` lines, one
block per row).  Either way no line is wider than the terminal and every slug and id stays
whole on one line, so it can be read and copied.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from tests.cli.outcomes import ok
from typer.testing import Result

from bitgoeul.cli.context import console, err_console
from bitgoeul.cli.tables import FittingConsole, fits
from bitgoeul.config import Settings

Invoke = Callable[..., Result]
pytestmark = pytest.mark.usefixtures("city")

WIDE = (
    "SELECT district, population, 'population-register-2026-extract-v3' AS source_ref, "
    "'Counted by the city from the register of residents on 1 January' AS note "
    'FROM "district-population" ORDER BY population DESC'
)
NARROW = 'SELECT district, population FROM "district-population" ORDER BY population DESC'


@pytest.fixture
def narrow(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``invoke`` on an 80-column terminal."""
    for shared in (console, err_console):
        monkeypatch.setattr(shared, "_width", 80)
    return invoke


def _widest(output: str) -> int:
    return max(cell_len(line.rstrip()) for line in output.splitlines())


def test_a_table_that_fits_stays_a_table(narrow: Invoke) -> None:
    output = ok(narrow("query", "run", NARROW))
    assert _widest(output) <= 80
    assert "┃ district" in output
    assert "│ Buk " in output
    assert "430000" in output


def test_a_table_too_wide_to_read_becomes_records_with_whole_values(narrow: Invoke) -> None:
    output = ok(narrow("query", "run", WIDE))
    assert _widest(output) <= 80
    lines = [line.rstrip() for line in output.splitlines()]
    assert "source_ref  population-register-2026-extract-v3" in lines
    assert "note        Counted by the city from the register of residents on 1 January" in lines
    assert lines.count("district    Buk") == 1
    assert any(line.startswith("1 / 3 ") for line in lines)
    assert "3 rows from district-population v1" in output


def test_the_dataset_list_keeps_slugs_whole(narrow: Invoke) -> None:
    output = ok(narrow("dataset", "list"))
    assert _widest(output) <= 80
    for slug in ("clinic-visits", "district-population", "income-survey"):
        assert any(line.split() and slug in line.split() for line in output.splitlines()), slug


def test_the_same_query_on_a_wide_terminal_is_one_table(invoke: Invoke) -> None:
    output = ok(invoke("query", "run", WIDE))
    assert "┃ source_ref" in output
    assert "1 / 3" not in output


def test_a_real_terminal_of_80_columns_gets_the_same(settings: Settings, tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "COLUMNS": "80",
        "BITGOEUL_DATA_DIR": str(settings.resolved_data_dir),
        "BITGOEUL_DATABASE_URL": settings.database_url or "",
        "BITGOEUL_ENVIRONMENT": "test",
        "BITGOEUL_SECRET_KEY": settings.secret(),
    }
    if not settings.database_url:
        del environment["BITGOEUL_DATABASE_URL"]
    shown = subprocess.run(
        [sys.executable, "-m", "bitgoeul.cli", "query", "run", WIDE],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=True,
    ).stdout
    assert _widest(shown) <= 80
    assert "source_ref  population-register-2026-extract-v3" in shown


def test_a_table_fits_when_no_word_would_break() -> None:
    console = FittingConsole(width=44)
    table = Table("slug", "title")
    table.add_row("district-population", "Population of each district of the city")
    # 19 for the slug, 16 for the title (it wraps between its words), 4 padding, 3 borders.
    assert fits(console, table, 42)
    assert not fits(console, table, 41)
    table.add_row("a-very-long-slug-that-cannot-wrap-anywhere", "x")
    assert not fits(console, table, 44)


def test_an_empty_table_too_wide_shows_its_column_names_whole() -> None:
    console = FittingConsole(width=40, record=True)
    names = ["task", "organizer", "metric", "deadline (UTC)", "submissions", "private score"]
    table = Table(*names, title="Testbed tasks")
    console.print(table)
    shown = console.export_text()
    assert _widest(shown) <= 40
    assert "…" not in shown
    assert "Testbed tasks" in shown
    words = " ".join(shown.split())  # a name of two words may wrap between them
    for name in names:
        assert name in words, shown


def test_an_empty_table_that_fits_keeps_its_header() -> None:
    console = FittingConsole(width=80, record=True)
    console.print(Table("slug", "title"))
    assert "┃ slug ┃ title ┃" in console.export_text()


def test_an_empty_list_of_tasks_names_its_columns_whole(narrow: Invoke) -> None:
    output = ok(narrow("testbed", "tasks"))
    assert _widest(output) <= 80, output
    assert "…" not in output, output
    assert "submissions" in output, output


def test_a_key_value_table_without_a_header_is_left_to_rich() -> None:
    console = Console(width=40, record=True)
    fitting = FittingConsole(width=40, record=True)
    table = Table(show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_row("sha256", "ab" * 32)
    console.print(table)
    fitting.print(table)
    assert fitting.export_text() == console.export_text()


# Every command that prints a table, on a hub with something in each -------------------------

NOTE = "Hourly profiles of every district for the winter peak study, no names or patient ids."


@pytest.fixture
def busy(narrow: Invoke, operator: object) -> Invoke:
    """The CLI city with a project, an approved request with a long note, credits and a
    refused query in the audit log."""
    ok(
        narrow(
            "project", "create", "--as", "researcher", "--title", "Winter peaks and clinic load",
            "--purpose", "health-research",
            "--justification", "Plan clinic staffing in the coldest weeks of the year.",
        )
    )  # fmt: skip
    ok(
        narrow(
            "request", "create", "--as", "researcher", "--project", "1",
            "--dataset", "clinic-visits", "--days", "30", "--note", NOTE,
        )
    )  # fmt: skip
    ok(narrow("request", "approve", "1", "--as", "kepco-steward", "--row-filter", "age > 31"))
    ok(narrow("credits", "grant", "gist-lab", "--cpu-hours", "12.5", "--as", "operator",
              "--note", "Research support for the winter study"))  # fmt: skip
    narrow("query", "run", 'SELECT * FROM "income-survey"', "--as", "researcher")
    return narrow


@pytest.mark.parametrize(
    "command",
    [
        ("config",),
        ("dataset", "list"),
        ("project", "list", "--as", "researcher"),
        ("project", "show", "1", "--as", "researcher"),
        ("request", "list", "--as", "kepco-steward"),
        ("agreement", "show", "1", "--as", "researcher"),
        ("audit", "list", "--as", "operator"),
        ("credits", "show", "--as", "researcher"),
        ("job", "list", "--as", "researcher"),
        ("testbed", "tasks"),
        ("query", "run", WIDE),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_table_fits_an_80_column_terminal(busy: Invoke, command: tuple[str, ...]) -> None:
    output = ok(busy(*command))
    assert output.strip()
    assert _widest(output) <= 80, output
