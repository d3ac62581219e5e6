"""Every query the docs and the query page show runs against the demo city.

The demo city is built once (small), and every example is run the way the docs show it:

* ```` ```sql ```` blocks, as the demo researcher under the demo project;
* ``$ bitgoeul query run ...`` lines of ```` ```console ```` blocks, through the real CLI with
  the documented options (a documented ``--project`` is the demo project); where the docs show
  an ``Error:`` line after the command, the CLI must print exactly that line;
* ``POST /api/v1/query`` in ```` ```http ```` blocks (signed in when the block sends a token);
* SQL strings in ```` ```python ```` blocks (inside a ``try:`` they must be refused);
* the query page's clickable examples, anonymously, as a visitor would run them.

An example that succeeds must return rows.  Every dataset a ``FROM`` or ``JOIN`` names anywhere
in the docs, inline code included, must exist in the demo city (at the version pinned).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.app import create_app
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.cli import app as cli
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.sharing import PROJECT_TITLE, RESEARCHER
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.models import Project
from bitgoeul.query.actions import run_query
from bitgoeul.storage import make_store
from bitgoeul.web.query_pages import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NAMED = re.compile(r'(?:FROM|JOIN)\s+\\?"([a-z0-9][a-z0-9-]*)(?:@(\d+))?\\?"', re.IGNORECASE)
SECRET = "test-secret-" + "x" * 40


@dataclass(frozen=True)
class Example:
    where: str  # docs/file.md:line
    sql: str
    signed_in: bool = True  # as the demo researcher, under the demo project
    cli_args: tuple[str, ...] | None = None  # run through the CLI with these arguments
    refused: str | None = None  # a refusal is documented ("" when its text is not shown)


def _blocks(path: Path) -> Iterator[tuple[str, str, int]]:
    text = path.read_text("utf-8")
    for found in FENCE.finditer(text):
        yield found.group(1), found.group(2), text.count("\n", 0, found.start()) + 2


def _console(path: Path, body: str, line: int) -> Iterator[Example]:
    lines = body.replace("\\\n", " ").splitlines()
    for index, command in enumerate(lines):
        if not command.startswith("$ bitgoeul query run "):
            continue
        args = shlex.split(command[2:])[3:]
        if "--file" in args:
            continue  # the file's content is not in the docs
        following = lines[index + 1 : index + 2]
        refused = following[0] if following and following[0].startswith("Error:") else None
        sql = next(a for i, a in enumerate(args) if not a.startswith("--") and not _value(args, i))
        yield Example(
            f"{path.name}:{line + index}",
            sql,
            signed_in="--as" in args,
            cli_args=tuple(args),
            refused=refused,
        )


def _value(args: list[str], index: int) -> bool:
    """Whether ``args[index]`` is an option's value."""
    return index > 0 and args[index - 1].startswith("--")


def _http(path: Path, body: str, line: int) -> Iterator[Example]:
    if not body.startswith("POST /api/v1/query\n"):
        return
    headers, _, payload = body.partition("\n\n")
    sent = json.loads(payload)
    yield Example(f"{path.name}:{line}", sent["sql"], signed_in="Authorization" in headers)


def _python(path: Path, body: str, line: int) -> Iterator[Example]:
    if "duckdb.connect" in body:
        return  # a job's own script: its SQL runs in the sandbox, not through the gateway
    tree = ast.parse(body)
    guarded = {
        id(node)
        for attempt in ast.walk(tree)
        if isinstance(attempt, ast.Try)
        for statement in attempt.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.match(r"\s*(SELECT|WITH)\s", node.value, re.IGNORECASE)
        ):
            yield Example(
                f"{path.name}:{line + node.lineno - 1}",
                node.value,
                refused="" if id(node) in guarded else None,
            )


def documented_examples() -> list[Example]:
    found: list[Example] = []
    for path in DOCS:
        for language, body, line in _blocks(path):
            if language == "sql":
                found.append(Example(f"{path.name}:{line}", body))
            elif language == "console":
                found.extend(_console(path, body, line))
            elif language == "http":
                found.extend(_http(path, body, line))
            elif language == "python":
                found.extend(_python(path, body, line))
    return found


EXAMPLES_IN_DOCS = documented_examples()


@dataclass
class Demo:
    settings: Settings
    project: int
    researcher: Actor


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    settings = Settings(
        environment=Environment.test,
        data_dir=tmp_path_factory.mktemp("demo-city"),
        secret_key=SECRET,  # type: ignore[arg-type]
    )
    build_demo_city(settings, people=200, seed=7)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        project = session.scalar(select(Project.id).where(Project.title == PROJECT_TITLE))
        user = account_queries.get_user(session, RESEARCHER)
    engine.dispose()
    assert project is not None
    assert user is not None
    return Demo(settings, project, Actor.for_user(user, via="cli"))


@pytest.fixture
def session(demo: Demo) -> Iterator[Session]:
    engine = make_engine(demo.settings)
    with make_sessionmaker(engine)() as opened:
        yield opened
    engine.dispose()


def test_the_docs_hold_query_examples_of_every_kind() -> None:
    wheres = {e.where.split(":")[0] for e in EXAMPLES_IN_DOCS}
    assert {"query.md", "cli.md", "sdk.md"} <= wheres
    assert any(e.cli_args for e in EXAMPLES_IN_DOCS)
    assert any(e.refused for e in EXAMPLES_IN_DOCS)


@pytest.mark.parametrize("example", EXAMPLES_IN_DOCS, ids=lambda e: e.where)
def test_every_documented_query_runs_against_the_demo_city(
    example: Example, demo: Demo, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if example.cli_args is not None:
        args = list(example.cli_args)
        if "--project" in args:
            args[args.index("--project") + 1] = str(demo.project)
        monkeypatch.chdir(tmp_path)  # where --output writes
        result = CliRunner().invoke(cli, ["query", "run", *args], obj=demo.settings)
        if example.refused is not None:
            assert result.exit_code == 1, result.output
            assert result.output.splitlines()[0] == example.refused
        else:
            assert result.exit_code == 0, result.output
            assert "0 rows" not in result.output
        return
    actor = demo.researcher if example.signed_in else ANONYMOUS
    project = demo.project if example.signed_in else None
    store = make_store(demo.settings)
    if example.refused is not None:
        with pytest.raises(BitgoeulError):
            run_query(
                session,
                settings=demo.settings,
                store=store,
                actor=actor,
                sql=example.sql,
                project_id=project,
            )
        return
    result = run_query(
        session,
        settings=demo.settings,
        store=store,
        actor=actor,
        sql=example.sql,
        project_id=project,
    )
    assert result.row_count > 0, f"{example.where}: the example returns no rows"


def test_every_dataset_the_docs_query_exists_in_the_demo_city(session: Session) -> None:
    versions = {
        (slug, number)
        for slug, number in session.execute(
            select(Dataset.slug, DatasetVersion.number).join(
                DatasetVersion, DatasetVersion.dataset_id == Dataset.id
            )
        )
    }
    slugs = {slug for slug, _ in versions}
    missing = []
    for path in DOCS:
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for found in NAMED.finditer(line):
                slug, version = found.group(1), found.group(2)
                if slug not in slugs or (version and (slug, int(version)) not in versions):
                    missing.append(f"{path.name}:{number}: {found.group(0)}")
    assert not missing, "not in the demo city:\n" + "\n".join(missing)


@pytest.mark.parametrize("key", list(EXAMPLES))
def test_every_example_on_the_query_page_runs_for_a_visitor(
    key: str, demo: Demo, session: Session
) -> None:
    result = run_query(
        session,
        settings=demo.settings,
        store=make_store(demo.settings),
        actor=ANONYMOUS,
        sql=EXAMPLES[key],
    )
    assert result.row_count > 0


def test_a_click_on_an_example_fills_the_editor_and_runs(demo: Demo) -> None:
    hub = create_app(demo.settings, migrate=False)
    try:
        with TestClient(hub) as browser:
            page = browser.get("/query").text
            for key in EXAMPLES:
                assert f'href="/query?example={key}"' in page
            filled = browser.get("/query", params={"example": "districts"}).text
            editor = filled.split('id="sql"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
            assert editor.replace("&#34;", '"') == EXAMPLES["districts"]
            korean = browser.get("/query", params={"lang": "ko"}).text
            assert "구별 전력 사용량" in korean
            unknown = browser.get("/query", params={"example": "nope"}).text
            assert "></textarea>" in unknown
    finally:
        hub.state.engine.dispose()
