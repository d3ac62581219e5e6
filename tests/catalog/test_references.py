"""``slug`` and ``slug@N``: one reading of a dataset version's name for jobs and the testbed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.catalog.references import parse_reference, reference_slug
from bitgoeul.errors import ValidationFailed

slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,30}", fullmatch=True)


@given(slug=slugs, number=st.integers(min_value=1, max_value=10**6))
def test_a_numbered_reference_reads_back_its_slug_and_number(slug: str, number: int) -> None:
    assert parse_reference(f" {slug}@{number} ") == (slug, number)


@given(slug=slugs)
def test_a_bare_slug_names_the_latest_version(slug: str) -> None:
    assert parse_reference(slug) == (slug, None)


@pytest.mark.parametrize("reference", ["power@two", "power@", "power@²", "power@-1", "power@1.5"])
def test_a_version_that_is_not_a_number_is_refused_naming_the_reference(reference: str) -> None:
    with pytest.raises(ValidationFailed, match="must be a number") as info:
        parse_reference(reference)
    assert reference in str(info.value)


@pytest.mark.parametrize("reference", ["", "  ", "@2"])
def test_a_reference_without_a_slug_is_refused(reference: str) -> None:
    with pytest.raises(ValidationFailed, match="needs a slug"):
        parse_reference(reference)


@pytest.mark.parametrize(
    ("reference", "slug"),
    [("power", "power"), (" power@2 ", "power"), ("power@latest", "power"), ("@3", "")],
)
def test_the_slug_of_a_reference_is_read_without_checking_its_version(
    reference: str, slug: str
) -> None:
    assert reference_slug(reference) == slug


def test_slug_at_n_is_split_only_in_catalog_references() -> None:
    """One reading of ``slug@N``: a second one would drift from it."""
    src = Path(__file__).parents[2] / "src" / "bitgoeul"
    found = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if 'partition("@")' in path.read_text(encoding="utf-8")
    ]
    assert found == ["catalog/references.py"]
