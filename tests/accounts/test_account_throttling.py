"""Failed sign-ins slow further guesses without letting anyone lock a user out.

The clock is the ``now`` that ``authenticate`` takes, and failures are rows with timestamps, so
nothing here sleeps.  With the default settings an address waits 5 s after its 3rd failure for
an account, doubling to 15 minutes; once an account has 10 failures from all addresses, every
address that has failed for it waits too, but never more than a minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions, passwords
from bitgoeul.accounts.models import LoginFailure, User
from bitgoeul.accounts.throttling import LoginDelays, wait_before_sign_in
from bitgoeul.audit.models import AuditEvent
from bitgoeul.config import Settings
from bitgoeul.db.base import utcnow
from bitgoeul.errors import NotAuthenticated, RateLimited

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ATTACKER = "203.0.113.66"
HOME = "198.51.100.7"
TOKEN_URL = "/api/v1/auth/token"


def _guess(db: Session, settings: Settings, username: str, client: str, at: datetime) -> int | None:
    """One wrong password at ``at``: None when it was checked (and failed), else the wait."""
    try:
        actions.authenticate(
            db, settings=settings, username=username, password="wrong-guess", client=client, now=at
        )
    except RateLimited as refused:
        return refused.retry_after
    except NotAuthenticated:
        return None
    raise AssertionError("a wrong password signed in")


def _sign_in(
    db: Session, settings: Settings, username: str, password: str, client: str, at: datetime
) -> User:
    return actions.authenticate(
        db, settings=settings, username=username, password=password, client=client, now=at
    )


def _record_failures(
    db: Session, username: str, clients: Iterable[str], *, each: int, at: datetime
) -> None:
    """Failures as if guessed earlier: ``each`` per address, all at ``at``."""
    db.add_all(
        LoginFailure(username=username, client=client, at=at)
        for client in clients
        for _ in range(each)
    )
    db.commit()


def _strangers(count: int) -> list[str]:
    return [f"192.0.2.{index}" for index in range(1, count + 1)]


def _failures(db: Session, username: str) -> list[str]:
    """The addresses of the failures still counted for ``username``, sorted."""
    return sorted(db.scalars(select(LoginFailure.client).where(LoginFailure.username == username)))


# The schedule ------------------------------------------------------------------------------


def test_the_default_wait_doubles_from_five_seconds_after_three_failures_up_to_fifteen_minutes(
    settings: Settings,
) -> None:
    delays = LoginDelays.from_settings(settings)

    waits = [delays.delay(from_address=n, for_account=n).total_seconds() for n in range(13)]

    assert waits == [0, 0, 0, 5, 10, 20, 40, 80, 160, 320, 640, 900, 900]


def test_the_default_account_wide_wait_starts_after_ten_failures_and_stops_at_a_minute(
    settings: Settings,
) -> None:
    delays = LoginDelays.from_settings(settings)

    waits = [delays.delay(from_address=1, for_account=n).total_seconds() for n in range(8, 17)]

    assert waits == [0, 0, 5, 10, 20, 40, 60, 60, 60]


def test_an_address_without_failures_never_waits_however_many_the_account_has(
    settings: Settings,
) -> None:
    wait = wait_before_sign_in(
        LoginDelays.from_settings(settings),
        failures_from_address=0,
        last_failure_from_address=None,
        failures_for_account=1_000_000,
        now=T0,
    )

    assert wait is None


def test_a_huge_count_of_failures_still_waits_only_the_cap(settings: Settings) -> None:
    delays = LoginDelays.from_settings(settings)

    wait = delays.delay(from_address=10**9, for_account=10**9)

    assert wait == timedelta(seconds=settings.login_delay_max_seconds)


# Per account and address -------------------------------------------------------------------


def test_the_wait_doubles_with_each_failure_from_the_same_address(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    for _ in range(3):
        assert _guess(db, settings, "kepco", ATTACKER, T0) is None

    at, waits = T0, []
    for _ in range(5):
        wait = _guess(db, settings, "kepco", ATTACKER, at)
        assert wait is not None
        waits.append(wait)
        at += timedelta(seconds=wait)
        assert _guess(db, settings, "kepco", ATTACKER, at) is None

    assert waits == [5, 10, 20, 40, 80]


def test_the_wait_from_one_address_stops_growing_at_fifteen_minutes(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    _record_failures(db, "kepco", [ATTACKER], each=40, at=T0)

    assert _guess(db, settings, "kepco", ATTACKER, T0) == 900
    assert _guess(db, settings, "kepco", ATTACKER, T0 + timedelta(seconds=900)) is None


def test_refused_attempts_do_not_lengthen_the_wait(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    _record_failures(db, "kepco", [ATTACKER], each=3, at=T0)

    refused = [
        _guess(db, settings, "kepco", ATTACKER, T0 + timedelta(seconds=s)) for s in (1, 2, 4)
    ]

    assert refused == [4, 3, 1]
    assert _guess(db, settings, "kepco", ATTACKER, T0 + timedelta(seconds=5)) is None
    assert _failures(db, "kepco") == [ATTACKER] * 4


def test_a_waiting_address_is_refused_even_with_the_right_password(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", [HOME], each=3, at=T0)

    with pytest.raises(RateLimited) as refused:
        _sign_in(db, settings, "kepco", password, HOME, T0 + timedelta(seconds=2))

    assert refused.value.retry_after == 3
    assert "Too many failed sign-ins" in refused.value.message
    assert _sign_in(db, settings, "kepco", password, HOME, T0 + timedelta(seconds=5))


def test_guesses_at_a_username_that_does_not_exist_wait_the_same_way(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    for _ in range(3):
        assert _guess(db, settings, "nobody-here", ATTACKER, T0) is None

    assert _guess(db, settings, "nobody-here", ATTACKER, T0) == 5


def test_failures_older_than_the_window_no_longer_count_and_are_dropped(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    window = timedelta(seconds=settings.login_failure_window_seconds)
    _record_failures(db, "kepco", [ATTACKER], each=40, at=T0 - window - timedelta(seconds=1))

    assert _guess(db, settings, "kepco", ATTACKER, T0) is None
    assert _failures(db, "kepco") == [ATTACKER]


# No lockouts from elsewhere ------------------------------------------------------------------


def test_an_outsider_cannot_lock_the_operator_out(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    # One address guesses as fast as it is let, and two hundred more have failed five times each.
    for second in range(60):
        _guess(db, settings, "operator", ATTACKER, T0 + timedelta(seconds=second))
    _record_failures(db, "operator", _strangers(200), each=5, at=T0 + timedelta(seconds=59))
    assert _guess(db, settings, "operator", ATTACKER, T0 + timedelta(seconds=60)) is not None

    user = _sign_in(db, settings, "operator", password, HOME, T0 + timedelta(seconds=60))

    assert user.username == "operator"


def test_one_addresses_failures_do_not_hold_back_another_address(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    _record_failures(db, "kepco", [ATTACKER], each=40, at=T0)

    assert _guess(db, settings, "kepco", HOME, T0) is None


def test_the_account_wide_count_slows_an_address_from_its_first_failure(
    db: Session, settings: Settings, people: dict[str, User]
) -> None:
    _record_failures(db, "kepco", _strangers(9), each=1, at=T0)

    assert _guess(db, settings, "kepco", HOME, T0) is None  # the account's 10th failure
    assert _guess(db, settings, "kepco", HOME, T0 + timedelta(seconds=1)) == 4


def test_a_user_who_mistypes_during_an_attack_waits_a_minute_at_most(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", _strangers(200), each=5, at=T0)
    assert _guess(db, settings, "kepco", HOME, T0) is None  # a typo

    # The guessing goes on, but the wait is counted from the user's own typo.
    _record_failures(db, "kepco", _strangers(200), each=1, at=T0 + timedelta(seconds=30))
    assert _guess(db, settings, "kepco", HOME, T0 + timedelta(seconds=30)) == 30
    _record_failures(db, "kepco", _strangers(200), each=1, at=T0 + timedelta(seconds=59))

    assert _sign_in(db, settings, "kepco", password, HOME, T0 + timedelta(seconds=60))


def test_signing_in_forgets_that_addresses_failures_but_not_a_strangers(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", [ATTACKER], each=3, at=T0)
    _guess(db, settings, "kepco", HOME, T0)
    _guess(db, settings, "kepco", HOME, T0)

    _sign_in(db, settings, "kepco", password, HOME, T0)

    assert _failures(db, "kepco") == [ATTACKER] * 3


def test_a_deactivated_accounts_right_password_is_not_counted_as_a_failure(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    actions.deactivate_user(db, actor=None, username="citizen")

    with pytest.raises(NotAuthenticated, match="deactivated"):
        _sign_in(db, settings, "citizen", password, HOME, T0)

    assert _failures(db, "citizen") == []


def test_each_attempt_counts_as_a_failure_while_its_password_is_checked(
    app: FastAPI,
    db: Session,
    settings: Settings,
    people: dict[str, User],
    password: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parallel guesses cannot all slip in before the first is recorded: each is written down,
    # for every other connection to see, before its password is checked.
    seen_meanwhile = []
    check_password = passwords.verify_password

    def watching(password_hash: str, given: str, *, settings: Settings) -> bool:
        with app.state.sessionmaker() as other:
            seen_meanwhile.append(other.scalar(select(func.count()).select_from(LoginFailure)))
        return check_password(password_hash, given, settings=settings)

    monkeypatch.setattr(passwords, "verify_password", watching)
    _guess(db, settings, "kepco", HOME, T0)
    _sign_in(db, settings, "kepco", password, HOME, T0)

    assert seen_meanwhile == [1, 2]
    assert _failures(db, "kepco") == []


# Over HTTP ----------------------------------------------------------------------------------


def test_the_api_refuses_a_waiting_address_with_429_and_retry_after(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", ["testclient"], each=10, at=utcnow())

    response = client.post(TOKEN_URL, json={"username": "kepco", "password": password})

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert 0 < int(response.headers["Retry-After"]) <= 640


def test_refused_attempts_are_audited_as_denied_with_the_wait(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", ["testclient"], each=10, at=utcnow())

    response = client.post(TOKEN_URL, json={"username": "kepco", "password": password})

    last = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
    assert (last.action, last.outcome, last.actor_name) == ("login", "denied", "kepco")
    assert last.detail == {
        "client": "testclient",
        "reason": "throttled",
        "retry_after": int(response.headers["Retry-After"]),
    }


def test_the_sign_in_page_refuses_a_waiting_address_with_429_and_retry_after(
    client: TestClient, db: Session, people: dict[str, User], password: str
) -> None:
    _record_failures(db, "kepco", ["testclient"], each=10, at=utcnow())
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None

    response = client.post(
        "/login",
        data={"username": "kepco", "password": password, "csrf_token": token.group(1)},
    )

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert 0 < int(response.headers["Retry-After"]) <= 640
    assert "bitgoeul_session" not in response.cookies
