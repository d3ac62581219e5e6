"""The tower reads every package and no package reads the tower: only the edges (the app, the
pages, the CLI, the demo builder) import it, so it can never be part of an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "bitgoeul"
# models.py imports every table (the tower's snapshots too) for Alembic and the tests.
EDGES = {"tower", "web", "cli", "demo", "app.py", "models.py"}


def test_no_domain_package_imports_the_tower() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        top = path.relative_to(SRC).parts[0]
        if top in EDGES:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            if any(n == "bitgoeul.tower" or n.startswith("bitgoeul.tower.") for n in names):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, f"these modules import the tower: {offenders}"
