"""A city where jobs run: the gateway's small city (tests/query) plus a project with agreements
on the restricted and the secure dataset, credits for the lab, and code bundles.

Import the fixtures into a test module (``from tests.compute.job_city import *``-style, by
name) so they are collected there.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.catalog.conftest import Cast, api, cast, make_dataset  # noqa: F401
from tests.query.conftest import City, city  # noqa: F401

from bitgoeul.compute import actions as compute_actions
from bitgoeul.compute.runner import JobRunner
from bitgoeul.config import Settings
from bitgoeul.governance import actions as governance
from bitgoeul.governance.models import Purpose
from bitgoeul.governance.schemas import (
    AccessRequestCreate,
    ApprovalConditions,
    ProjectCreate,
)


@dataclass
class JobCity:
    city: City
    project_id: int
    agreements: dict[str, int]

    @property
    def cast(self) -> Cast:
        return self.city.cast

    def headers(self, who: str) -> dict[str, str]:
        return self.city.cast.headers(who)


def _approve(db: Session, town: City, project_id: int, slug: str) -> int:
    request = governance.request_access(
        db,
        actor=town.cast.actors["member"],
        data=AccessRequestCreate(project=project_id, dataset=slug, days=30),
    )
    agreement = governance.approve_request(
        db,
        actor=town.cast.actors["steward_of_publisher"],
        request_id=request.id,
        conditions=ApprovalConditions(),
    )
    return agreement.id


@pytest.fixture
def job_city(db: Session, city: City) -> JobCity:  # noqa: F811 - the fixture imported above
    project = governance.create_project(
        db,
        actor=city.cast.actors["member"],
        data=ProjectCreate(
            title="Clinic load forecasting",
            purpose=Purpose.ai_model_training,
            justification="Train a model next to the data.",
        ),
    )
    agreements = {
        slug: _approve(db, city, project.id, slug) for slug in (city.visits.slug, city.survey.slug)
    }
    compute_actions.grant_credits(
        db,
        actor=city.cast.actors["operator"],
        organization_slug="gist-lab",
        cpu_hours=Decimal(10),
        note="startup support",
    )
    return JobCity(city=city, project_id=project.id, agreements=agreements)


def make_bundle(files: dict[str, str]) -> bytes:
    """A .zip holding ``files`` (path -> text), dedented."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, dedent(text))
    return buffer.getvalue()


Submit = Callable[..., Any]


@pytest.fixture
def submit(api: TestClient, job_city: JobCity) -> Submit:  # noqa: F811
    """POST /api/v1/jobs as ``who`` with a bundle of ``files`` and the given spec fields."""

    def post(
        files: dict[str, str],
        *,
        who: str = "member",
        datasets: list[str] | None = None,
        entrypoint: str = "main.py",
        **spec: Any,
    ) -> Any:
        body = {
            "project": job_city.project_id,
            "datasets": datasets or [],
            "entrypoint": entrypoint,
            "resources": {"cpus": 1, "memory_mb": 512, "time_limit_s": 30},
            **spec,
        }
        return api.post(
            "/api/v1/jobs",
            files={"bundle": ("code.zip", make_bundle(files), "application/zip")},
            data={"spec": json.dumps(body)},
            headers=job_city.headers(who),
        )

    return post


@pytest.fixture
def runner(app: FastAPI) -> JobRunner:
    job_runner: JobRunner = app.state.job_runner
    return job_runner


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


def data_dir(app: FastAPI) -> Path:
    return settings_of(app).resolved_data_dir
