"""Local administration: organizations, users and tokens from the shell, through the actions."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import Result

from bitgoeul.accounts import queries
from bitgoeul.audit.models import AuditEvent

Invoke = Callable[..., Result]
PASSWORD = "correct-horse-battery"


def _create_steward(invoke: Invoke) -> None:
    assert invoke("org", "create", "kepco", "--name", "KEPCO", "--kind", "agency").exit_code == 0
    result = invoke(
        "user", "create", "kepco-steward", "--role", "steward", "--org", "kepco",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_the_first_operator_is_created_with_a_prompted_password(
    invoke: Invoke, db: Session
) -> None:
    result = invoke("user", "create", "admin", "--role", "operator", input=f"{PASSWORD}\n" * 2)
    assert result.exit_code == 0, result.output
    assert "Created operator admin" in result.output
    assert PASSWORD not in result.output
    user = queries.get_user(db, "admin")
    assert user is not None
    assert user.role == "operator"


def test_bootstrap_changes_are_audited_as_the_system(invoke: Invoke, db: Session) -> None:
    _create_steward(invoke)
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(e.action, e.actor_name) for e in events] == [
        ("organization.create", "system"),
        ("user.create", "system"),
    ]
    assert invoke("audit", "verify").exit_code == 0


def test_a_steward_joins_an_organization_by_its_slug(invoke: Invoke, db: Session) -> None:
    _create_steward(invoke)
    user = queries.get_user(db, "kepco-steward")
    assert user is not None
    assert user.organization is not None
    assert user.organization.slug == "kepco"


def test_an_unknown_organization_is_named_in_one_line(invoke: Invoke) -> None:
    result = invoke(
        "user", "create", "someone", "--role", "member", "--org", "nowhere",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "There is no organization 'nowhere'" in result.output
    assert "bitgoeul org create" in result.output
    assert "Traceback" not in result.output


def test_a_taken_username_is_a_domain_error_not_a_traceback(invoke: Invoke) -> None:
    _create_steward(invoke)
    result = invoke(
        "user", "create", "kepco-steward", "--role", "member", input=f"{PASSWORD}\n" * 2
    )
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert "is taken" in result.output
    assert "Traceback" not in result.output


def test_a_short_password_is_refused_with_the_rule(invoke: Invoke) -> None:
    result = invoke("user", "create", "admin", "--role", "operator", input="short\nshort\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


def test_acting_as_a_steward_cannot_create_organizations(invoke: Invoke) -> None:
    _create_steward(invoke)
    result = invoke(
        "org", "create", "kdn", "--name", "KEPCO KDN", "--kind", "agency", "--as", "kepco-steward"
    )
    assert result.exit_code == 1
    assert "Only operators may create organizations" in result.output


def test_acting_as_an_unknown_user_is_refused(invoke: Invoke) -> None:
    result = invoke("org", "create", "kdn", "--name", "KDN", "--kind", "agency", "--as", "ghost")
    assert result.exit_code == 1
    assert "There is no user 'ghost'" in result.output


def test_a_token_made_on_the_shell_signs_in_to_the_api(invoke: Invoke, client: TestClient) -> None:
    _create_steward(invoke)
    result = invoke("token", "create", "laptop", "--user", "kepco-steward")
    assert result.exit_code == 0, result.output
    token = next(word for word in result.stdout.split() if word.startswith("bgt_"))
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["username"] == "kepco-steward"
