"""The pages' two languages: English (default) and Korean.

Every UI string goes through :func:`translator` with a key from ``web/locales/<lang>.json``;
``tests/web/test_locales.py`` keeps both catalogs holding the same keys and every key a template
or view uses.  The language comes from ``?lang=``, then the ``lang`` cookie the switcher sets.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"

Translate = Callable[..., str]


@cache
def message_catalog(lang: str) -> dict[str, str]:
    catalog: dict[str, str] = json.loads((LOCALES_DIR / f"{lang}.json").read_text("utf-8"))
    return catalog


def request_language(request: Request) -> str:
    """``?lang=`` wins over the cookie; anything unknown falls back to English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


def translator(lang: str) -> Translate:
    """``t(key, **values)``: the message for ``key`` in ``lang``, English when it is missing."""
    catalog = message_catalog(lang)
    fallback = message_catalog(DEFAULT_LANGUAGE)

    def t(key: str, **values: Any) -> str:
        message = catalog.get(key) or fallback.get(key) or key
        return message.format(**values) if values else message

    return t
