"""The local executor (a bubblewrap sandbox per job on the hub's machine) passes the executors'
conformance suite; what the sandbox itself contains is tested in ``test_sandbox.py``."""

from __future__ import annotations

import pytest
from tests.compute.executor_conformance import ExecutorConformance

from bitgoeul.compute.executors import LocalExecutor, make_executor
from bitgoeul.compute.sandbox import sandbox_support
from bitgoeul.config import Settings

pytestmark = pytest.mark.skipif(
    not sandbox_support().available, reason=f"no sandbox here: {sandbox_support().reason}"
)


class TestLocalExecutor(ExecutorConformance):
    name = "local"

    @pytest.fixture
    def executor(self) -> LocalExecutor:
        return LocalExecutor()


def test_the_settings_choose_the_local_executor_by_default() -> None:
    assert isinstance(make_executor(Settings()), LocalExecutor)
