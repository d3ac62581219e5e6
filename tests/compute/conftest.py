"""Fixtures for the compute tests: the job city of ``job_city`` (projects, agreements, credits,
bundles) on top of the gateway's small city."""

from __future__ import annotations

from tests.compute.job_city import (  # noqa: F401 - fixtures, collected here
    api,
    cast,
    city,
    job_city,
    make_dataset,
    runner,
    submit,
)
