"""The civic fixtures: the civic city (tests/civic/civic_city.py)."""

from tests.catalog.conftest import api, browser, cast  # noqa: F401
from tests.civic.civic_city import civic  # noqa: F401
