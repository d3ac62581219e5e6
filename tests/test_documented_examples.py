"""Every query the docs and the query page show runs against the demo city.

The demo city is built once (small), and every example is run the way the docs show it:

* ```` ```sql ```` blocks, as the demo researcher under the demo project;
* ``$ bitgoeul query run ...`` lines of ```` ```console ```` blocks, through the real CLI with
  the documented options (a documented ``--project`` is the demo project); where the docs show
  an ``Error:`` line after the command, the CLI must print exactly that line;
* ``POST /api/v1/query`` in ```` ```http ```` blocks (signed in when the block sends a token);
* SQL strings in ```` ```python ```` blocks (inside a ``try:`` they must be refused);
* the query page's clickable examples, anonymously, as a visitor would run them;
* the SQL the pages show in their text (the query page's help, the developers' page's
  ``bitgoeul query run``), in English and Korean, rendered by the hub.

Blocks indented under a list item count as well.  An example that succeeds must return rows.
Every dataset a ``FROM`` or ``JOIN`` names anywhere in the docs, inline code included, must
exist in the demo city (at the version pinned); so must every dataset, testbed task and account
a CLI command, an SDK call or a JSON body names, unless the same page creates it first.
"""

from __future__ import annotations

import ast
import contextlib
import html as markup
import inspect
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bitgoeul.accounts import queries as account_queries
from bitgoeul.accounts.actor import ANONYMOUS, Actor
from bitgoeul.accounts.models import User
from bitgoeul.app import create_app
from bitgoeul.catalog.models import Dataset, DatasetVersion
from bitgoeul.cli import app as cli
from bitgoeul.client import Client
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.sharing import PROJECT_TITLE, RESEARCHER
from bitgoeul.errors import BitgoeulError
from bitgoeul.governance.models import Project
from bitgoeul.query.actions import run_query
from bitgoeul.storage import make_store
from bitgoeul.testbed.models import TestbedTask
from bitgoeul.web.query_pages import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
# A fenced block, also indented under a list item (its lines then carry the same indent).
FENCE = re.compile(r"^([ \t]*)```(\w*)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
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
        indent, language, body = found.groups()
        if indent:
            body = "".join(line.removeprefix(indent) for line in body.splitlines(keepends=True))
        yield language, body, text.count("\n", 0, found.start()) + 2


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


# --- every name an example uses exists in the demo city ------------------------------------
#
# Beyond SQL: a CLI command, an SDK call or a JSON body that names a dataset, a testbed task
# or an account must name one the demo city holds, or one the same page creates first (its
# `bitgoeul user create`, `dataset create --slug`, a task's JSON), so a reader can run it on
# `bitgoeul demo` as written.

TESTBED_CALLS = {
    "accept_testbed_terms", "invite_to_testbed_team", "join_testbed", "leaderboard",
    "my_testbed_team", "submit_model", "submit_predictions", "test_inputs", "testbed_history",
    "testbed_task", "testbed_teams", "update_testbed_task",
}  # fmt: skip
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+(?:\n[^`\n]+)?)`(?!`)")
JSON_ONE = re.compile(r'"(?:dataset|test_dataset)":\s*"([a-z0-9][a-z0-9-]*)(?:@\d+)?"')
JSON_MANY = re.compile(r'"(?:datasets|training_datasets)":\s*\[([^\]]*)\]')
JSON_TASK = re.compile(r'^\s*"slug":\s*"([a-z0-9][a-z0-9-]*)"', re.MULTILINE)
PAGE_LINK = re.compile(r"(?<![\w{])/datasets/([a-z0-9][a-z0-9-]*)")


@dataclass(frozen=True)
class Named:
    where: str
    kind: str  # dataset, task, user
    name: str


@dataclass
class PageNames:
    used: list[Named]
    created: set[tuple[str, str]]


def _cli_names(where: str, command: str, page: PageNames) -> None:
    args = shlex.split(command.replace("\\\n", " "), comments=True)
    if args[:1] != ["bitgoeul"]:
        return
    group: Any = typer.main.get_command(cli)
    words = args[1:]
    while hasattr(group, "commands") and words and words[0] in group.commands:
        group = group.commands[words.pop(0)]
    if hasattr(group, "commands"):
        return
    path = " ".join(args[1 : len(args) - len(words)])
    params = group.make_context(group.name, list(words), resilient_parsing=True).params
    for name, value in params.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        # An option left at an empty default ("" for a job lab's --task) names nothing.
        for one in (v for v in values if isinstance(v, str) and v and not v.isupper()):
            if name == "acting" or (name == "username" and path != "user create"):
                page.used.append(Named(where, "user", one))
            elif name == "username":
                page.created.add(("user", one))
            elif name == "task":
                page.used.append(Named(where, "task", one))
            elif name in ("dataset", "slug") and path.startswith(
                ("dataset", "dp", "job", "request")
            ):
                if path in ("dataset create", "dp publish"):
                    page.created.add(("dataset", one))
                else:
                    page.used.append(Named(where, "dataset", one))


def _sdk_names(where: str, body: str, page: PageNames) -> None:
    for node in ast.walk(ast.parse(body)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method = getattr(Client, node.func.attr, None)
        if method is None:
            continue
        literal = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        keywords = {
            k.arg: ast.literal_eval(k.value)
            for k in node.keywords
            if k.arg and isinstance(k.value, (ast.Constant, ast.List))
        }
        try:
            bound = inspect.signature(method).bind_partial(None, *literal, **keywords).arguments
        except TypeError:
            continue
        for name, value in bound.items():
            values = value if isinstance(value, list) else [value]
            for one in (v for v in values if isinstance(v, str) and not v.isupper()):
                if name == "username" and node.func.attr != "create_user":
                    page.used.append(Named(where, "user", one))
                elif name == "slug" and node.func.attr in TESTBED_CALLS:
                    page.used.append(Named(where, "task", one))
                elif name in ("slug", "dataset", "datasets"):
                    page.used.append(Named(where, "dataset", one))


def _json_names(where: str, body: str, page: PageNames) -> None:
    for found in JSON_ONE.finditer(body):
        page.used.append(Named(where, "dataset", found.group(1)))
    for found in JSON_MANY.finditer(body):
        for slug in re.findall(r'"([a-z0-9][a-z0-9-]*)"(?!\s*:)', found.group(1)):
            page.used.append(Named(where, "dataset", slug))
    if '"test_dataset"' in body:
        page.created.update(("task", slug) for slug in JSON_TASK.findall(body))


def names_in(path: Path) -> PageNames:
    """The datasets, tasks and accounts ``path``'s examples use, and those it creates."""
    page = PageNames([], set())
    text = path.read_text("utf-8")
    prose = FENCE.sub("", text)
    for language, body, line in _blocks(path):
        where = f"{path.name}:{line}"
        if language == "python":
            _sdk_names(where, body, page)
        else:
            _json_names(where, body, page)
            joined = body.replace("\\\n", " ")
            for command in joined.splitlines():
                if command.startswith(("$ bitgoeul ", "bitgoeul ")):
                    _cli_names(where, command.removeprefix("$ "), page)
    for found in INLINE_CODE.finditer(prose):
        code = " ".join(found.group(1).split())
        where = f"{path.name}:{text.count(chr(10), 0, text.find(found.group(0))) + 1}"
        if code.startswith("bitgoeul "):
            _cli_names(where, code, page)
        elif re.match(r"(hub|lab|kepco|client)\.\w+\(", code):
            # An inline call may be cut short ("hub.preview(slug, ...)"): read what parses.
            with contextlib.suppress(SyntaxError):
                _sdk_names(where, code, page)
    for number, line_text in enumerate(text.splitlines(), start=1):
        for slug in PAGE_LINK.findall(line_text):
            if slug != "new":
                page.used.append(Named(f"{path.name}:{number}", "dataset", slug))
    return page


def test_the_name_finder_reads_commands_calls_and_bodies(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```console\n$ bitgoeul dataset upload meters m.csv --as kepco\n"
        "$ bitgoeul testbed join some-task --team T --as someone\n```\n\n"
        "```python\nhub.download('parcels', 'out/', project=3)\nhub.leaderboard('tt')\n```\n\n"
        '```json\n{"dataset": "visits@2", "training_datasets": ["a-b"]}\n```\n\n'
        "Run `bitgoeul dp quote incomes --as x` or open /datasets/roads.\n",
        "utf-8",
    )
    found = {(n.kind, n.name) for n in names_in(page).used}
    assert found == {
        ("dataset", "meters"), ("user", "kepco"), ("task", "some-task"), ("user", "someone"),
        ("dataset", "parcels"), ("task", "tt"), ("dataset", "visits"), ("dataset", "a-b"),
        ("dataset", "incomes"), ("user", "x"), ("dataset", "roads"),
    }  # fmt: skip


def test_every_dataset_task_and_account_the_docs_name_exists_in_the_demo_city(
    session: Session,
) -> None:
    held = {
        "dataset": set(session.scalars(select(Dataset.slug))),
        "task": set(session.scalars(select(TestbedTask.slug))),
        "user": set(session.scalars(select(User.username))),
    }
    missing = []
    for path in DOCS:
        page = names_in(path)
        missing += [
            f"{n.where}: {n.kind} {n.name!r}"
            for n in page.used
            if n.name not in held[n.kind] and (n.kind, n.name) not in page.created
        ]
    assert not missing, "not in the demo city:\n" + "\n".join(sorted(set(missing)))


def _page_sql(html: str) -> list[tuple[str, tuple[str, ...] | None]]:
    """The queries a rendered page shows: SQL after "e.g."/"예:" in a help text, and
    ``bitgoeul query run`` lines in its code blocks (with their arguments)."""
    found: list[tuple[str, tuple[str, ...] | None]] = []
    for help_text in re.findall(r'<p class="help" id="sql-help">(.*?)</p>', html, re.DOTALL):
        text = markup.unescape(help_text)
        for marker in ("e.g. ", "예: "):
            if marker in text:
                found.append((text.split(marker, 1)[1].strip(), None))
    for code in re.findall(r"<pre><code>(.*?)</code></pre>", html, re.DOTALL):
        for line in markup.unescape(code).splitlines():
            if line.startswith("bitgoeul query run "):
                args = tuple(shlex.split(line)[3:])
                found.append((args[0], args))
    return found


@pytest.mark.parametrize("path", ["/query", "/developers"])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_query_a_page_shows_runs_against_the_demo_city(
    path: str,
    lang: str,
    demo: Demo,
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = create_app(demo.settings, migrate=False)
    try:
        with TestClient(hub) as browser:
            shown = _page_sql(browser.get(path, params={"lang": lang}).text)
    finally:
        hub.state.engine.dispose()
    assert shown, f"{path} shows no query any more: drop it from this test"
    monkeypatch.chdir(tmp_path)
    for sql, cli_args in shown:
        if cli_args is not None:
            result = CliRunner().invoke(cli, ["query", "run", *cli_args], obj=demo.settings)
            assert result.exit_code == 0, f"{path}: {sql}\n{result.output}"
            continue
        result = run_query(
            session,
            settings=demo.settings,
            store=make_store(demo.settings),
            actor=ANONYMOUS,
            sql=sql,
        )
        assert result.row_count > 0, f"{path}: {sql}"
