"""The SDK's public surface is exactly ``__all__``, and everything public is in it."""

from __future__ import annotations

import inspect

import bitgoeul.client as sdk
from bitgoeul.client import _client, _errors, _models


def test_all_names_exactly_the_public_attributes_of_the_package() -> None:
    public = {name for name in dir(sdk) if not name.startswith("_")}
    assert sorted(sdk.__all__) == sorted(public)


def test_every_public_class_of_the_private_modules_is_exported() -> None:
    defined = {
        name
        for module in (_client, _errors, _models)
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert defined == set(sdk.__all__)


def test_every_api_error_is_a_bitgoeul_api_error() -> None:
    for name in sdk.__all__:
        value = getattr(sdk, name)
        if inspect.isclass(value) and issubclass(value, Exception):
            assert issubclass(value, sdk.BitgoeulAPIError), name
