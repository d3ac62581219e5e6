"""A linkage from the shell: proposed, approved by both publishers, run by the custodian."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from tests.cli.outcomes import ok, refused
from tests.linkage.linkage_city import build_city, project_body
from typer.testing import Result

from bitgoeul.config import Settings

Invoke = Callable[..., Result]


def test_a_linkage_from_the_shell(
    invoke: Invoke, db: Session, settings: Settings, app: Any, tmp_path: Path
) -> None:
    build_city(db, settings, app, tmp_path)
    spec = tmp_path / "linkage.json"
    spec.write_text(json.dumps(project_body("bloom"), ensure_ascii=False), encoding="utf-8")
    out = ok(invoke("linkage", "create", "--as", "researcher", "--spec", str(spec)))
    assert "Created linkage project 1" in out
    assert "cnuh, kepco" in out
    assert "approve" in refused(invoke("linkage", "approve", "1", "--as", "researcher"))
    ok(invoke("linkage", "approve", "1", "--as", "kepco-steward", "--note", "ok"))
    out = ok(invoke("linkage", "approve", "1", "--as", "cnuh-steward"))
    assert "the custodian may run it" in out
    assert "approved by kepco" in ok(invoke("linkage", "show", "1", "--as", "researcher"))
    out = ok(invoke("linkage", "run", "1", "--as", "kisa-steward"))
    assert "run 1: succeeded" in out
    assert "linked dataset: linked-1-run-1" in out
    assert '"method": "bloom"' in ok(invoke("linkage", "report", "1", "--as", "researcher"))


def test_a_spec_that_is_not_json_is_refused_by_option(invoke: Invoke, tmp_path: Path) -> None:
    spec = tmp_path / "linkage.json"
    spec.write_text("{not json", encoding="utf-8")
    assert "--spec: not JSON" in refused(
        invoke("linkage", "create", "--as", "researcher", "--spec", str(spec))
    )
