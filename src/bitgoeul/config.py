"""The one settings object.

Read from ``BITGOEUL_*`` environment variables once, then passed explicitly to whatever needs
it (the app factory, the CLI, tests).  Defaults run on one laptop: SQLite and files inside the
data directory.  Production points ``BITGOEUL_DATABASE_URL`` at PostgreSQL.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    storage_backend: Literal["local", "s3"] = Field(
        default="local",
        description="Where stored objects live: 'local' (a directory in the data dir) or 's3' "
        "(a bucket; the s3_* settings).",
    )
    s3_bucket: str | None = Field(default=None, description="The bucket for storage_backend=s3.")
    s3_prefix: str = Field(default="", description="A folder inside the bucket for the hub.")
    s3_endpoint_url: str | None = Field(
        default=None,
        description="An S3-compatible server (MinIO, Ceph), e.g. http://minio:9000; default AWS.",
    )
    s3_region: str | None = Field(default=None, description="The bucket's region.")
    s3_access_key_id: str | None = Field(
        default=None, description="Default: boto3's own lookup (environment, instance role)."
    )
    s3_secret_access_key: SecretStr | None = None
    max_upload_bytes: int = Field(default=10 * 1024**3, description="Largest accepted upload.")
    ingest_error_limit: int = Field(default=100, description="Errors listed in a report.")
    session_max_age_seconds: int = 14 * 24 * 3600
    login_failure_window_seconds: int = Field(
        default=24 * 3600, ge=60, description="How long a failed sign-in counts."
    )
    login_delay_after_failures: int = Field(
        default=3,
        ge=1,
        description="Failed sign-ins to one account from one address before that address waits.",
    )
    login_delay_first_seconds: int = Field(
        default=5, ge=1, description="The first wait; each further failure doubles it."
    )
    login_delay_max_seconds: int = Field(
        default=15 * 60, ge=1, description="The longest wait for one account from one address."
    )
    login_account_delay_after_failures: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins to one account from all addresses before every address "
        "that failed waits too.",
    )
    login_account_delay_max_seconds: int = Field(
        default=60,
        ge=1,
        description="The longest wait the all-addresses count imposes; kept short, since "
        "strangers add to it.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies whose X-Forwarded-For is believed: IP addresses or CIDR "
        "networks, separated by commas.",
    )
    metrics_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Addresses that may read /metrics without an operator's token: IP addresses "
        "or CIDR networks, separated by commas (loopback by default).",
    )
    base_url: str = "http://127.0.0.1:8000"
    job_executor: Literal["local", "ray"] = Field(
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
    job_max_output_bytes: int = Field(
        default=10 * 1024**3, gt=1024**2, description="The most a job may write to its outputs."
    )
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
    civic_support_min: int = Field(
        default=5, ge=1, description="Fewest supports that send a civic problem to triage."
    )
    civic_support_share: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Share of the active users whose support sends a problem to triage.",
    )
    civic_active_days: int = Field(
        default=90, ge=1, description="A user is active when audited in this many days."
    )
    civic_triage_days: int = Field(
        default=14, ge=1, description="Days the city's triage has to answer a problem."
    )
    civic_photo_max_bytes: int = Field(
        default=5 * 1024**2, gt=0, description="Largest photo a resident may attach."
    )

    @field_validator("trusted_proxies", "metrics_networks", mode="before")
    @classmethod
    def _read_trusted_proxies(cls, value: Any, info: ValidationInfo) -> Any:
        """Accept ``10.0.0.5, 10.1.0.0/16`` (or a JSON list) and write each one canonically."""
        variable = f"BITGOEUL_{(info.field_name or '').upper()}"
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.replace(",", " ").split()
        if not isinstance(value, list | tuple):
            return value
        networks = []
        for item in value:
            try:
                networks.append(str(ipaddress.ip_network(str(item).strip())))
            except ValueError as exc:
                raise ValueError(
                    f"{variable}: {item!r} is not an IP address or network ({exc}); "
                    "write addresses like 10.0.0.5 or networks like 10.0.0.0/24, separated by "
                    "commas."
                ) from None
        return networks

    @property
    def metrics_network_list(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(network) for network in self.metrics_networks]

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(network) for network in self.trusted_proxies]

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if (
            self.environment == Environment.production
            and self.secret_key is not None
            and self.secret_key.get_secret_value().lower() in PLACEHOLDER_SECRETS
        ):
            raise ValueError("BITGOEUL_SECRET_KEY is a placeholder; set a long random value.")
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("BITGOEUL_STORAGE_BACKEND=s3 needs BITGOEUL_S3_BUCKET.")
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
