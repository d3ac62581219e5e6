"""The control tower's fixtures: the programmes' people (tests/programmes/programme_city.py)."""

from tests.catalog.conftest import api, cast  # noqa: F401
from tests.programmes.programme_city import people  # noqa: F401
