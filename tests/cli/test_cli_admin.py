"""Running the hub from the shell: settings, migrations, the audit log, help for every command."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner, Result

from bitgoeul.cli import app
from bitgoeul.config import Settings

Invoke = Callable[..., Result]


def test_config_shows_settings_with_the_secret_masked(invoke: Invoke) -> None:
    result = invoke("config", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["secret_key"] == "**********"
    assert "test-secret" not in result.output
    assert shown["environment"] == "test"


def test_config_masks_the_database_password_in_the_table(settings: Settings) -> None:
    settings = settings.model_copy(
        update={"database_url": "postgresql://bitgoeul:hunter2@db.internal/bitgoeul"}
    )
    result = CliRunner().invoke(app, ["config"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "db.internal" in result.output


def test_invalid_settings_are_one_line_not_a_traceback() -> None:
    result = CliRunner().invoke(
        app, ["config"], env={"BITGOEUL_ENVIRONMENT": "production", "BITGOEUL_SECRET_KEY": "secret"}
    )
    assert result.exit_code == 1
    assert "placeholder" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_can_run_again_on_a_migrated_database(invoke: Invoke) -> None:
    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_audit_verify_passes_on_an_intact_log(invoke: Invoke) -> None:
    result = invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_without_a_command_the_cli_shows_its_commands() -> None:
    result = CliRunner().invoke(app, [])
    for command in ("serve", "demo", "config", "db", "user", "org", "token", "dataset"):
        assert command in result.output
