"""Every notification the demo city sends opens a page its reader can read.

The demo city is built, its queued jobs run (the startup's job, held for review, and its
testbed model submission, scored by the runner's finish hook) where this machine has the
sandbox, and then each person opens each of their notifications the way the notifications
page does (``/notifications/{id}``): the link ends on a page (HTML, 200), never on the API's
JSON or a 404, and opening marks it read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bitgoeul.accounts.models import User
from bitgoeul.app import create_app, make_job_runner
from bitgoeul.compute.executors import make_executor
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.config import Environment, Settings
from bitgoeul.db import make_engine, make_sessionmaker
from bitgoeul.demo import build_demo_city
from bitgoeul.demo.institutions import DEMO_PASSWORD
from bitgoeul.governance.models import Notification
from bitgoeul.storage import make_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from web_city import sign_in

# What the demo city says to people whatever the machine; jobs add theirs where they run.
ALWAYS = {"access_request.created", "access_request.approved", "linkage.run_finished"}
WITH_JOBS = {"job.finished", "testbed.scored"}


def test_every_demo_notification_opens_a_page_and_is_marked_read(settings: Settings) -> None:
    build_demo_city(settings, people=200, seed=7)
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    expected = set(ALWAYS)
    if sandbox_support().available:
        runner = make_job_runner(
            settings.model_copy(update={"environment": Environment.demo}),
            sessions,
            make_store(settings),
            make_executor(settings),
        )
        runner.run_until_idle(timeout=180)
        expected |= WITH_JOBS
    with sessions() as session:
        sent = [
            (n.id, n.kind, username)
            for n, username in session.execute(
                select(Notification, User.username)
                .join(User, User.id == Notification.user_id)
                .order_by(Notification.id)
            )
        ]
    assert expected <= {kind for _, kind, _ in sent}, sent
    hub = create_app(settings, migrate=False)
    problems = []
    try:
        for username in sorted({who for _, _, who in sent}):
            with TestClient(hub) as client:
                sign_in(client, username, DEMO_PASSWORD)
                for note_id, kind, who in sent:
                    if who != username:
                        continue
                    opened = client.get(f"/notifications/{note_id}", follow_redirects=True)
                    where = opened.url.path
                    if (
                        opened.status_code != 200
                        or not opened.headers["content-type"].startswith("text/html")
                        or where.startswith("/api/")
                    ):
                        problems.append(f"{kind} to {who}: {where} answered {opened.status_code}")
                # Someone else's notification is not theirs to open.
                foreign = next((n for n, _, w in sent if w != username), None)
                if foreign is not None:
                    assert client.get(f"/notifications/{foreign}").status_code == 404
    finally:
        hub.state.engine.dispose()
    with sessions() as session:
        unread = session.scalars(select(Notification.kind).where(Notification.read_at.is_(None)))
        assert list(unread) == []
    engine.dispose()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", sorted(ALWAYS | WITH_JOBS))
def test_the_kinds_checked_are_ones_the_code_sends(kind: str) -> None:
    """Keeps the lists above honest: each kind is written somewhere in the sources."""
    sources = Path(__file__).resolve().parents[2] / "src" / "bitgoeul"
    assert any(f'"{kind}"' in p.read_text("utf-8") for p in sources.rglob("*.py")), kind
