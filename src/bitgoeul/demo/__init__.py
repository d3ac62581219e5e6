"""Synthetic Gwangju: one seeded population of residents and households, from which every
partner institution's demo datasets are derived, and the builder that loads them into a hub.

``generate_population`` and ``write_demo_files`` are pure (no database); ``build_demo_city``
creates the organizations, accounts and datasets through the platform's own actions.
"""

from bitgoeul.demo.build import (
    DemoAccount,
    DemoDataset,
    DemoOrganization,
    DemoSummary,
    build_demo_city,
)
from bitgoeul.demo.datasets import CATALOGUE, DemoDatasetSpec, write_demo_files
from bitgoeul.demo.population import Population, generate_population

__all__ = [
    "CATALOGUE",
    "DemoAccount",
    "DemoDataset",
    "DemoDatasetSpec",
    "DemoOrganization",
    "DemoSummary",
    "Population",
    "build_demo_city",
    "generate_population",
    "write_demo_files",
]
