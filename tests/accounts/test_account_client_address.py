"""The address sign-in throttling counts by: X-Forwarded-For is believed only from a proxy in
``BITGOEUL_TRUSTED_PROXIES``, and only as far as the entries trusted proxies wrote."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bitgoeul.accounts.deps import address_behind_proxies
from bitgoeul.accounts.models import LoginFailure, User
from bitgoeul.app import create_app
from bitgoeul.config import Settings

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
FORGED = "192.0.2.66"
TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:1::/48")]


def _behind(peer: str, *forwarded_for: str) -> str:
    return address_behind_proxies(peer, forwarded_for, trusted_proxies=TRUSTED)


def test_x_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored() -> None:
    assert _behind(CLIENT, FORGED) == CLIENT


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted() -> None:
    assert address_behind_proxies(PROXY, [CLIENT], trusted_proxies=[]) == PROXY


def test_x_forwarded_for_from_a_trusted_proxy_gives_the_client() -> None:
    assert _behind(PROXY, CLIENT) == CLIENT


def test_entries_the_client_wrote_left_of_the_proxys_are_not_believed() -> None:
    assert _behind(PROXY, f"{FORGED}, {CLIENT}") == CLIENT


def test_the_walk_passes_every_trusted_proxy_in_a_chain() -> None:
    assert _behind(PROXY, f"{FORGED}, {CLIENT}, 10.0.0.3, 10.9.9.9") == CLIENT


def test_several_x_forwarded_for_lines_read_as_one_list() -> None:
    assert _behind(PROXY, FORGED, f"{CLIENT}, 10.0.0.3") == CLIENT


def test_when_every_hop_is_a_trusted_proxy_the_first_one_is_the_client() -> None:
    assert _behind(PROXY, "10.0.0.4, 10.0.0.3") == "10.0.0.4"


def test_a_peer_without_x_forwarded_for_is_itself_the_client() -> None:
    assert _behind(PROXY) == PROXY


@pytest.mark.parametrize(
    ("header", "address"),
    [
        ("unknown", PROXY),
        ("", PROXY),
        (" , ", PROXY),
        (f"{CLIENT},", PROXY),
        ("not an address", PROXY),
        ("198.51.100.300", PROXY),
        (f"{CLIENT}:80x", PROXY),
        ("[2001:db8::7", PROXY),
        (f"{CLIENT}, garbage, 10.0.0.3", "10.0.0.3"),
        ("\u0661\u0669\u0668.51.100.7", PROXY),
        ("x" * 10_000, PROXY),
    ],
)
def test_a_malformed_entry_ends_the_walk_at_the_proxy_that_passed_it_on(
    header: str, address: str
) -> None:
    assert _behind(PROXY, header) == address


@pytest.mark.parametrize(
    ("header", "address"),
    [
        (f"{CLIENT}:5123", CLIENT),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("2001:DB8::7", "2001:db8::7"),
        (f"  {CLIENT}  ", CLIENT),
        (f"::ffff:{CLIENT}", CLIENT),
    ],
)
def test_ports_case_spaces_and_mapped_ipv4_are_read_as_proxies_write_them(
    header: str, address: str
) -> None:
    assert _behind(PROXY, header) == address


def test_an_ipv6_or_ipv4_mapped_peer_is_matched_against_the_trusted_networks() -> None:
    assert _behind("2001:db8:1::5", CLIENT) == CLIENT
    assert _behind("::ffff:10.0.0.2", CLIENT) == CLIENT


def test_a_peer_that_is_not_an_ip_address_is_kept_as_it_is() -> None:
    assert _behind("testclient", CLIENT) == "testclient"


def test_a_long_header_is_read_quickly() -> None:
    assert _behind(PROXY, ", ".join([FORGED] * 50_000 + [CLIENT])) == CLIENT


# The setting -----------------------------------------------------------------------------


def test_trusted_proxies_are_read_from_a_comma_separated_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BITGOEUL_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,2001:db8::/32")

    settings = Settings()

    assert settings.trusted_proxies == ["10.0.0.5/32", "10.1.0.0/16", "2001:db8::/32"]
    assert ipaddress.ip_address("10.1.2.3") in settings.trusted_proxy_networks[1]


def test_trusted_proxies_may_be_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITGOEUL_TRUSTED_PROXIES", '["10.0.0.5", "::1"]')

    assert Settings().trusted_proxies == ["10.0.0.5/32", "::1/128"]


def test_no_proxy_is_trusted_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BITGOEUL_TRUSTED_PROXIES", raising=False)

    assert Settings().trusted_proxies == []


@pytest.mark.parametrize("value", ["proxy.internal", "10.0.0.1/8", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_not_an_address_or_network_is_refused_at_start(
    value: str,
) -> None:
    with pytest.raises(ValidationError, match=re.escape(f"{value!r} is not an IP address")):
        Settings(trusted_proxies=[value])


# Through sign-in ---------------------------------------------------------------------------


@pytest.fixture
def trusting_hub(settings: Settings) -> Iterator[FastAPI]:
    """A hub that trusts the proxies in 10.0.0.0/8."""
    app = create_app(settings.model_copy(update={"trusted_proxies": ["10.0.0.0/8"]}), migrate=False)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def behind_proxy(trusting_hub: FastAPI) -> Iterator[TestClient]:
    """The trusting hub, reached through a proxy at ``PROXY``."""
    with TestClient(trusting_hub, client=(PROXY, 50000)) as client:
        yield client


def _failed_from(client: TestClient, db: Session, forwarded_for: str) -> str:
    """Fail one API sign-in; the address the failure was counted against."""
    response = client.post(
        "/api/v1/auth/token",
        json={"username": "kepco", "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert response.status_code == 401
    return db.scalars(select(LoginFailure.client).order_by(LoginFailure.id.desc())).first() or ""


def test_api_sign_in_counts_failures_against_the_client_behind_a_trusted_proxy(
    behind_proxy: TestClient, db: Session, people: dict[str, User]
) -> None:
    assert _failed_from(behind_proxy, db, f"{FORGED}, {CLIENT}") == CLIENT


def test_api_sign_in_ignores_x_forwarded_for_from_an_untrusted_peer(
    trusting_hub: FastAPI, db: Session, people: dict[str, User]
) -> None:
    with TestClient(trusting_hub, client=(CLIENT, 50000)) as direct:
        assert _failed_from(direct, db, FORGED) == CLIENT


def test_the_sign_in_page_counts_failures_against_the_client_behind_a_trusted_proxy(
    behind_proxy: TestClient, db: Session, people: dict[str, User]
) -> None:
    form = behind_proxy.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None

    response = behind_proxy.post(
        "/login",
        data={"username": "kepco", "password": "wrong-password", "csrf_token": token.group(1)},
        headers={"X-Forwarded-For": CLIENT},
    )

    assert response.status_code == 401
    assert db.scalars(select(LoginFailure.client)).all() == [CLIENT]
