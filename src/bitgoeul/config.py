"""The one settings object.

Read from ``BITGOEUL_*`` environment variables once, then passed explicitly to whatever needs
it (the app factory, the CLI, tests).  Defaults run on one laptop: SQLite and files inside the
data directory.  Production points ``BITGOEUL_DATABASE_URL`` at PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changethis", "secret", "changeme", ""}


class Environment(StrEnum):
    development = "development"
    demo = "demo"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BITGOEUL_", extra="ignore")

    environment: Environment = Environment.development
    data_dir: Path = Path("./bitgoeul-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default is a SQLite file in the data dir."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions and keys pseudonyms; generated on first run."
    )
    storage_backend: str = "local"
    max_upload_bytes: int = Field(default=10 * 1024**3, description="Largest accepted upload.")
    ingest_error_limit: int = Field(default=100, description="Errors listed in a report.")
    session_max_age_seconds: int = 14 * 24 * 3600
    login_failure_limit: int = Field(default=5, description="Failures before throttling.")
    login_failure_window_seconds: int = 15 * 60
    base_url: str = "http://127.0.0.1:8000"
    job_executor: str = Field(
        default="local", description="Where jobs run: 'local' (sandboxed here) or 'ray'."
    )
    ray_address: str | None = Field(
        default=None, description="The Ray cluster for job_executor=ray, e.g. ray://head:10001."
    )
    job_environments: dict[str, Path] = Field(
        default_factory=dict,
        description="Job environments: name -> Python interpreter, as JSON. 'default' is "
        "always the hub's own interpreter unless given here.",
    )
    job_cpus: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="CPU cores the local executor may hand out to running jobs at once.",
    )
    job_gpus: int = Field(default=0, description="GPUs the local executor may hand out.")
    job_max_memory_mb: int = Field(default=8192, description="Most memory one job may ask.")
    job_max_time_limit_s: int = Field(default=24 * 3600, description="Longest job time limit.")
    job_max_bundle_bytes: int = Field(
        default=200 * 1024**2, description="Largest code bundle a job may upload."
    )
    testbed_max_predictions_bytes: int = Field(
        default=512 * 1024**2, description="Largest predictions file a testbed submission may be."
    )
    query_max_result_bytes: int = Field(
        default=64 * 1024**2,
        gt=0,
        description="Largest query result (or export) the gateway returns; larger ones are 413.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if (
            self.environment == Environment.production
            and self.secret_key is not None
            and self.secret_key.get_secret_value().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("BITGOEUL_SECRET_KEY is a placeholder; set a long random value.")
        return self

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the common ``postgresql://`` spelling and use psycopg 3.
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            elif url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgres://")
            return url
        return f"sqlite:///{self.resolved_data_dir / 'bitgoeul.sqlite3'}"

    @property
    def is_demo(self) -> bool:
        return self.environment == Environment.demo

    def ensure_data_dir(self) -> Path:
        path = self.resolved_data_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def environments(self) -> dict[str, Path]:
        """The job environments the operator installed, by name; ``default`` is the hub's
        own interpreter unless configured otherwise."""
        return {"default": Path(sys.executable), **self.job_environments}

    def secret(self) -> str:
        """The signing secret: configured, or generated once and kept in the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        value = path.read_text(encoding="utf-8").strip()
        self.secret_key = SecretStr(value)
        return value

    def masked(self) -> dict[str, Any]:
        """Settings as shown by ``bitgoeul config``: secrets masked."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "**********" if value.get_secret_value() else ""
            elif name == "database_url" and value and "@" in value:
                scheme, _, rest = value.partition("://")
                value = f"{scheme}://***@{rest.split('@', 1)[1]}"
            shown[name] = str(value) if isinstance(value, Path | StrEnum) else value
        shown["database"] = self.sqlalchemy_url.split("@")[-1]
        return shown
