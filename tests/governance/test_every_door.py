"""By construction: no code reads a dataset version or asks the decision point for a data
action except through ``governance.doors``.

The tests read the source tree: a new door written by hand (a ``decide`` call of its own, a
stored file opened directly, a DuckDB connection of its own over the store) fails here, naming
the file, before it can open data unaudited.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "bitgoeul"

# Calls of ``decide`` outside the door that open nothing: they only choose what a page shows
# (buttons, a version's profile summary) or guard a steward's own upload reports.
DISPLAY_ONLY = {
    "governance/decision.py": "defines decide",
    "governance/doors.py": "the door",
    "web/views.py": "whether the header offers 'new dataset'",
    "web/dataset_pages.py": "which buttons a dataset page shows",
    "web/steward_pages.py": "uploads' own pages",
    "catalog/queries.py": "whether a version's profile summary is shown",
    "catalog/api.py": "a steward's own upload reports",
}

# Who may touch a stored file by its path, and who may open DuckDB.
STORE_READERS = {"governance/doors.py", "storage/local.py", "storage/s3.py", "storage/base.py"}
DUCKDB_USERS = {
    "engine/locked.py": "the locked engine every door reads through",
    "ingest/pipeline.py": "writes new versions from uploads (no stored version is read)",
    "ingest/readers.py": "reads the uploaded file",
    "ingest/profile.py": "profiles the upload being ingested",
    "compute/checks.py": "checks a job's own outputs before release",
    "demo/jobs/wellbeing_check/train.py": "a demo job's own code, run in the sandbox",
}


def _modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(SRC)): ast.parse(path.read_text(encoding="utf-8"))
        for path in sorted(SRC.rglob("*.py"))
    }


def _calls(tree: ast.AST, name: str) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                lines.append(node.lineno)
    return lines


def test_only_the_door_asks_the_decision_point_for_data() -> None:
    found = {
        module: lines
        for module, tree in _modules().items()
        if (lines := _calls(tree, "decide")) and module not in DISPLAY_ONLY
    }
    assert found == {}, "use governance.doors.Door (decide, audit, refuse) instead"


def test_only_the_door_opens_a_stored_version_by_its_path() -> None:
    found = {
        module: lines
        for module, tree in _modules().items()
        if (lines := _calls(tree, "local_file")) and module not in STORE_READERS
    }
    assert found == {}, "read versions through Door.read_path / Door.view / Door.write"


def test_only_the_locked_engine_and_ingest_use_duckdb() -> None:
    found = []
    for module, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names]
                source = node.module if isinstance(node, ast.ImportFrom) else ""
                if "duckdb" in names or source == "duckdb":
                    found.append(module)
    assert sorted(set(found) - set(DUCKDB_USERS)) == []
