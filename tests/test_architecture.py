"""The package graph stays layered: import-linter's contracts (pyproject.toml) hold, and the
package graph has no cycle, so one fails here instead of growing quietly."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold() -> None:
    """``lint-imports`` as CI runs it, reading the contracts from pyproject.toml."""
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--config", "pyproject.toml", "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _package_edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("bitgoeul", cache_dir=None)
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        if module.count(".") < 1 or module.startswith("bitgoeul.db.migrations"):
            continue
        source = module.split(".")[1]
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.count(".") >= 1 and (target := imported.split(".")[1]) != source:
                edges[source].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, set()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_package_graph_has_no_cycle() -> None:
    """No two packages import each other, however indirectly (lazy imports inside functions
    count): the layers in pyproject.toml are strict."""
    cycles = [sorted(c) for c in _cycles(_package_edges())]
    assert cycles == [], f"package import cycles: {cycles}"


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def _demo_contract() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        contracts = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    found: dict[str, list[str]] = next(c for c in contracts if c["type"] == "forbidden")
    return found


def test_the_demo_contract_names_every_package_but_the_cli_and_the_demo() -> None:
    """A new package is under the demo seam from its first commit."""
    contract = _demo_contract()
    assert contract["forbidden_modules"] == ["bitgoeul.demo"]
    packages = {
        f"bitgoeul.{path.stem}"
        for path in (ROOT / "src" / "bitgoeul").iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").is_file())
        and path.stem not in ("__init__", "__main__", "cli", "demo")
    }
    assert set(contract["source_modules"]) == packages


def test_nothing_in_the_platform_imports_the_demo() -> None:
    """The contract, read by import-linter, also as grimp sees the graph: only the demo itself
    and the CLI's ``bitgoeul demo`` import it."""
    graph = grimp.build_graph("bitgoeul", cache_dir=None)
    importers = {
        module
        for module in graph.find_modules_that_directly_import("bitgoeul.demo")
        | {
            m
            for child in graph.find_children("bitgoeul.demo")
            for m in graph.find_modules_that_directly_import(child)
        }
        if not module.startswith(("bitgoeul.demo", "bitgoeul.cli"))
    }
    assert importers == set()


def _contract_layers() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        contracts = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    layers: list[str] = next(c for c in contracts if c["type"] == "layers")["layers"]
    return layers


def test_the_architecture_page_draws_the_contracts_layers() -> None:
    """docs/architecture.md's layer block is the contract's list, line for line."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    marker = "<!-- layers: the import-linter contract, one layer a line -->\n```\n"
    assert marker in page
    drawn = page.split(marker, 1)[1].split("```", 1)[0].strip().splitlines()
    assert drawn == [layer.replace("(", "").replace(")", "") for layer in _contract_layers()]


def test_every_package_is_in_a_layer() -> None:
    named = {
        name.strip("() ")
        for layer in _contract_layers()
        for name in layer.replace(":", "|").split("|")
    }
    packages = {
        path.stem
        for path in (ROOT / "src" / "bitgoeul").iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").is_file())
        and path.stem not in ("__init__", "__main__")
    }
    assert packages - named == set()


# Packages that own tables: each reads in ``queries`` and writes in ``actions`` (a module, or a
# package of one module per concept like ``testbed/actions/``).  The audit log is not among them:
# it lies below every package that audits, accounts included, so it has no routes of its own
# (they need the signed-in actor); its reading API is ``accounts.api.audit_router``.
DOMAIN_PACKAGES = [
    "accounts",
    "catalog",
    "civic",
    "compute",
    "dp",
    "governance",
    "linkage",
    "mydata",
    "programmes",
    "query",
    "testbed",
    "tower",
]

# Writes outside an actions module, each for a reason: the runner is the worker's own loop (it
# claims a job under the scheduling lock, writes heartbeats and commits the door's decisions
# before a job starts; how a job ended is recorded by compute.actions), and ``notify`` appends
# inside its caller's transaction, as ``audit.actions.record_event`` does; so do a door's
# consent-filtered copies of a My Data pool (``governance/donor_copies.py``: the copy's row is
# written, and older epochs' rows deleted, in the door's own transaction, and roll back with it).
WRITES_OUTSIDE_ACTIONS = {
    "compute/runner.py",
    "governance/donor_copies.py",
    "governance/notifications.py",
}
_WRITES = {"add", "add_all", "delete", "commit", "flush"}


@pytest.mark.parametrize("package", DOMAIN_PACKAGES)
def test_a_domain_package_has_the_same_shape(package: str) -> None:
    folder = ROOT / "src" / "bitgoeul" / package
    for part in ("models", "schemas", "queries", "actions", "api"):
        assert (folder / f"{part}.py").is_file() or (folder / part / "__init__.py").is_file(), (
            f"{package}/{part}"
        )


def test_only_actions_write() -> None:
    """``session.add``/``delete``/``flush``/``commit`` appear only in actions modules."""
    src = ROOT / "src" / "bitgoeul"
    found: dict[str, list[int]] = {}
    for path in sorted(src.rglob("*.py")):
        module = path.relative_to(src).as_posix()
        if (
            module.startswith(("demo/", "db/"))
            or "actions" in path.parts
            or path.name == "actions.py"
            or module in WRITES_OUTSIDE_ACTIONS
        ):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _WRITES
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "session"
            ):
                found.setdefault(module, []).append(node.lineno)
    assert found == {}, "writes belong in the package's actions"
