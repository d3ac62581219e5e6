"""Password hashing (Argon2id) and the rules a new password must follow.

Hashes use argon2-cffi's recommended parameters everywhere except the test environment, where
the cheapest valid parameters keep the suite fast.  A hash made with other parameters than the
current ones is replaced at the next successful sign-in (``needs_rehash``), so raising the cost
later upgrades every account as its owner signs in.
"""

from __future__ import annotations

from functools import cache

from argon2 import Parameters, PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from bitgoeul.config import Environment, Settings
from bitgoeul.messages import msg

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented password of demo accounts
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024

# Far below any safe cost: only ever used when ``Settings.environment`` is ``test``.
_TEST_PARAMETERS = Parameters(
    type=Type.ID,
    version=19,
    salt_len=16,
    hash_len=16,
    time_cost=1,
    memory_cost=8,
    parallelism=1,
)


@cache
def _hasher(*, cheap: bool) -> PasswordHasher:
    return PasswordHasher.from_parameters(_TEST_PARAMETERS) if cheap else PasswordHasher()


def password_hasher(settings: Settings) -> PasswordHasher:
    return _hasher(cheap=settings.environment == Environment.test)


@cache
def _decoy_hash(*, cheap: bool) -> str:
    return _hasher(cheap=cheap).hash("not-a-real-password")


def hash_password(password: str, *, settings: Settings) -> str:
    return password_hasher(settings).hash(password)


def verify_password(password_hash: str, password: str, *, settings: Settings) -> bool:
    """True when ``password`` matches; False for a wrong password or an unreadable hash."""
    try:
        return password_hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str, *, settings: Settings) -> None:
    """Verify against a decoy hash, so an unknown username takes as long as a wrong password."""
    verify_password(
        _decoy_hash(cheap=settings.environment == Environment.test), password, settings=settings
    )


def needs_rehash(password_hash: str, *, settings: Settings) -> bool:
    try:
        return password_hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problem(password: str, *, settings: Settings) -> str | None:
    """Why ``password`` may not be used, or None when it may."""
    if len(password) > PASSWORD_MAX_LENGTH:
        return msg("The password is longer than {most} characters.", most=PASSWORD_MAX_LENGTH)
    if password == DEMO_PASSWORD and settings.environment in (
        Environment.demo,
        Environment.test,
    ):
        return None
    if len(password) < PASSWORD_MIN_LENGTH:
        return msg("The password must have at least {least} characters.", least=PASSWORD_MIN_LENGTH)
    return None
