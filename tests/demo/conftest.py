"""A small synthetic Gwangju, generated once per test module run (pure: no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitgoeul.demo import DemoDatasetSpec, Population, generate_population, write_demo_files

SMALL_CITY = 200
SEED = 7


@pytest.fixture(scope="session")
def population() -> Population:
    return generate_population(SMALL_CITY, SEED)


@pytest.fixture(scope="session")
def demo_files(
    population: Population, tmp_path_factory: pytest.TempPathFactory
) -> list[DemoDatasetSpec]:
    return write_demo_files(population, tmp_path_factory.mktemp("demo-sources"), SEED)


@pytest.fixture(scope="session")
def files_by_slug(demo_files: list[DemoDatasetSpec]) -> dict[str, Path]:
    return {spec.slug: spec.path for spec in demo_files if spec.path is not None}
