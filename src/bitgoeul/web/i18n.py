"""The pages' two languages: English (default) and Korean.

Every UI string goes through :func:`translator` with a key from the JSON files of
``web/locales/<lang>/`` (one file per area of the site; a key lives in exactly one file).
``tests/web/test_locales.py`` keeps both catalogs holding the same keys and every key a template
or view uses.  What the *server* says (errors, refusals, reports) is not here but in
:mod:`bitgoeul.messages`; ``t`` passes such messages through :func:`bitgoeul.messages.translate`.

The language comes from ``?lang=``, then the ``lang`` cookie the switcher sets, then the
browser's ``Accept-Language``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request

from bitgoeul.messages import preferred_language, translate

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"

Translate = Callable[..., str]


@cache
def message_catalog(lang: str) -> dict[str, str]:
    """Every area's keys for ``lang``; a key defined in two files is a mistake, refused."""
    catalog: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.json")):
        entries: dict[str, str] = json.loads(path.read_text("utf-8"))
        twice = sorted(set(entries) & set(catalog))
        if twice:
            raise ValueError(f"{path}: keys defined in another file of {lang} too: {twice}")
        catalog.update(entries)
    return catalog


def request_language(request: Request) -> str:
    """``?lang=``, then the switcher's cookie, then ``Accept-Language``; else English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return preferred_language(request.headers.get("accept-language"), LANGUAGES)


def translator(lang: str) -> Translate:
    """``t(key, **values)``: the message for ``key`` in ``lang``, English when it is missing."""
    catalog = message_catalog(lang)
    fallback = message_catalog(DEFAULT_LANGUAGE)

    def t(key: str, **values: Any) -> str:
        message = catalog.get(key) or fallback.get(key) or key
        if not values:
            return message
        return message.format(**{name: translate(value, lang) for name, value in values.items()})

    return t
