"""A dataset version as people name it: ``slug`` (the latest version) or ``slug@N``.

Jobs name their inputs this way and testbed tasks their test set; both read the name here, so
the two cannot come to disagree about what ``slug@2`` means.
"""

from __future__ import annotations

import re

from bitgoeul.errors import ValidationFailed
from bitgoeul.messages import msg

_NUMBER = re.compile(r"[0-9]+")


def reference_slug(reference: str) -> str:
    """The slug a reference names (``slug`` or ``slug@N``), without checking the version: for
    telling references to one dataset apart before they are parsed."""
    return reference.strip().partition("@")[0].strip()


def parse_reference(reference: str) -> tuple[str, int | None]:
    """``(slug, number)``; ``number`` is None for a bare slug (the latest version)."""
    slug, at, number = reference.strip().partition("@")
    if not slug:
        raise ValidationFailed(
            msg("A dataset reference needs a slug, e.g. 'kepco-household-power'.")
        )
    if at and not _NUMBER.fullmatch(number):
        raise ValidationFailed(
            msg(
                "'{reference}': the version after '@' must be a number, e.g. {slug}@2.",
                reference=reference,
                slug=slug,
            )
        )
    return slug, int(number) if number else None
