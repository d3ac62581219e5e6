"""The programmes' fixtures: the catalog's cast with two startups (programme_city.py), and the
job city where trainees' lab jobs run (tests/compute/job_city.py)."""

from tests.catalog.conftest import api, cast  # noqa: F401
from tests.compute.job_city import city, job_city, runner, submit  # noqa: F401
from tests.programmes.programme_city import people  # noqa: F401
from tests.testbed.bench_city import bench, submit_file  # noqa: F401
