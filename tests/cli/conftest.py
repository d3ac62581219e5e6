"""CLI tests run the real commands in-process (Typer's CliRunner) on the test database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from bitgoeul.cli import app
from bitgoeul.config import Settings


@pytest.fixture
def invoke(settings: Settings) -> Callable[..., Result]:
    """``invoke("user", "create", ..., input="...")``: run ``bitgoeul ...`` on the test hub."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, obj=settings, catch_exceptions=False)

    return run
