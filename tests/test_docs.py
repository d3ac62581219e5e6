"""The docs are tested: every CLI command and option, every setting, every link.

Like Datasette's ``tests/test_docs.py``: adding a command, an option or a ``Settings`` field
without documenting it fails here, and so does a link to a page that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from bitgoeul.cli import app
from bitgoeul.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#+)\s+`?(bitgoeul[ a-z-]*?)`?\s*$", re.MULTILINE)


def _commands(group: TyperGroup, prefix: str) -> Iterator[tuple[str, list[str] | None]]:
    """Every command path with its long options; a group (``bitgoeul db``) with ``None``."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, TyperGroup):
            yield path, None
            yield from _commands(command, path)
        else:
            options = [
                opt
                for param in command.params
                for opt in getattr(param, "opts", [])
                if opt.startswith("--") and opt != "--help"
            ]
            yield path, options


_TREE = dict(_commands(typer.main.get_command(app), "bitgoeul"))
COMMANDS = {path: options for path, options in _TREE.items() if options is not None}


def _cli_sections() -> dict[str, str]:
    """``docs/cli.md`` split at its ``bitgoeul ...`` headings: command -> its section's text."""
    text = CLI_DOC.read_text(encoding="utf-8")
    matches = list(HEADING.finditer(text))
    sections = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections[match.group(2).strip()] = text[match.end() : end]
    return sections


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_command_has_a_section_in_docs_cli(command: str) -> None:
    assert command in _cli_sections(), f"add a '### {command}' section to docs/cli.md"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_option_is_described_in_its_commands_section(command: str) -> None:
    section = _cli_sections().get(command, "")
    missing = [opt for opt in COMMANDS[command] if opt not in section]
    assert not missing, f"docs/cli.md, section '{command}', does not mention {missing}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    variable = f"BITGOEUL_{field.upper()}"
    assert any(variable in page.read_text(encoding="utf-8") for page in PAGES), (
        f"document {variable} (docs/operators.md lists every setting)"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_in_the_docs_points_at_a_file_that_exists(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on the same page
        if not (page.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_the_cli_doc_has_no_section_for_a_command_that_does_not_exist() -> None:
    stale = set(_cli_sections()) - set(_TREE) - {"bitgoeul"}
    assert not stale, f"docs/cli.md documents commands that no longer exist: {sorted(stale)}"


def test_every_docs_page_is_linked_from_the_readme_or_another_page() -> None:
    linked = {
        (page.parent / target.split("#", 1)[0]).resolve()
        for page in PAGES
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    }
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"no page links to {orphans}; link them from README.md or a docs page"
