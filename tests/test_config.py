"""Settings: defaults run on a laptop, secrets are generated once and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bitgoeul.config import Environment, Settings


def test_default_database_is_sqlite_inside_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'bitgoeul.sqlite3'}"


def test_postgres_urls_use_psycopg3() -> None:
    settings = Settings(database_url="postgresql://u:p@db/bitgoeul")
    assert settings.sqlalchemy_url == "postgresql+psycopg://u:p@db/bitgoeul"


def test_settings_come_from_bitgoeul_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BITGOEUL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BITGOEUL_MAX_UPLOAD_BYTES", "1234")
    settings = Settings()
    assert settings.resolved_data_dir == tmp_path.resolve()
    assert settings.max_upload_bytes == 1234


def test_the_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).secret()
    second = Settings(data_dir=tmp_path).secret()
    assert first == second
    assert len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_refuses_a_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment=Environment.production, secret_key="changethis")  # type: ignore[arg-type]


def test_masked_settings_hide_secrets_and_database_passwords(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        secret_key="a-very-long-secret-value-that-must-not-show",  # type: ignore[arg-type]
        database_url="postgresql://bitgoeul:hunter2@db.internal/bitgoeul",
    )
    shown = settings.masked()
    text = repr(shown)
    assert "a-very-long-secret" not in text
    assert "hunter2" not in text
    assert shown["secret_key"] == "**********"
    assert "db.internal/bitgoeul" in shown["database"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BITGOEUL_STORAGE_BACKEND", "lcoal"), ("BITGOEUL_JOB_EXECUTOR", "rey")],
)
def test_a_misspelt_engine_name_fails_at_start_up(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.removeprefix("BITGOEUL_").lower()) as info:
        Settings()
    assert "local" in str(info.value)


def test_the_engine_names_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITGOEUL_JOB_EXECUTOR", "ray")
    assert Settings().job_executor == "ray"
