"""The testbed's fixtures: the bench city (tests/testbed/bench_city.py) and the job runner."""

from tests.catalog.conftest import api, cast  # noqa: F401
from tests.compute.job_city import runner  # noqa: F401
from tests.testbed.bench_city import bench, submit_file  # noqa: F401
