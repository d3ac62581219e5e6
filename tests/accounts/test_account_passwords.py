from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from bitgoeul.accounts import actions, passwords
from bitgoeul.accounts.models import User
from bitgoeul.config import Environment, Settings
from bitgoeul.errors import ValidationFailed


def test_a_password_hash_is_argon2id_and_verifies_only_the_same_password(
    settings: Settings,
) -> None:
    hashed = passwords.hash_password("correct-horse-battery", settings=settings)
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "correct-horse-battery", settings=settings)
    assert not passwords.verify_password(hashed, "correct-horse-batterY", settings=settings)


def test_an_unreadable_hash_never_verifies(settings: Settings) -> None:
    assert not passwords.verify_password("not-a-hash", "anything", settings=settings)
    assert passwords.needs_rehash("not-a-hash", settings=settings)


def test_outside_tests_hashes_use_the_librarys_recommended_parameters(
    settings: Settings,
) -> None:
    recommended = PasswordHasher()
    for environment in (Environment.production, Environment.development, Environment.demo):
        hasher = passwords.password_hasher(settings.model_copy(update={"environment": environment}))
        assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
            recommended.time_cost,
            recommended.memory_cost,
            recommended.parallelism,
        )


def test_the_test_environment_uses_cheap_parameters(settings: Settings) -> None:
    assert passwords.password_hasher(settings).memory_cost < PasswordHasher().memory_cost


def test_signing_in_upgrades_a_hash_made_with_older_parameters(
    db: Session, settings: Settings, people: dict[str, User], password: str
) -> None:
    before = people["member"].password_hash
    assert "m=8," in before
    production_like = settings.model_copy(update={"environment": Environment.development})

    user = actions.authenticate(
        db, settings=production_like, username="kepco-analyst", password=password
    )

    assert user.password_hash != before
    assert f"m={PasswordHasher().memory_cost}," in user.password_hash
    assert passwords.verify_password(user.password_hash, password, settings=production_like)


def test_a_short_password_is_refused_in_production_with_the_rule_named(
    db: Session, settings: Settings
) -> None:
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(ValidationFailed) as caught:
        actions.create_user(
            db, settings=production, username="newbie", password="demo", role="citizen"
        )
    assert caught.value.detail[0]["loc"] == ["password"]
    assert "at least 8 characters" in caught.value.message


@pytest.mark.parametrize("environment", [Environment.demo, Environment.test])
def test_the_demo_password_is_allowed_in_demo_and_test_environments(
    db: Session, settings: Settings, environment: Environment
) -> None:
    demo = settings.model_copy(update={"environment": environment})
    user = actions.create_user(
        db, settings=demo, username="citizen", password="demo", role="citizen"
    )
    assert passwords.verify_password(user.password_hash, "demo", settings=demo)


def test_other_short_passwords_are_refused_even_in_the_demo(settings: Settings) -> None:
    demo = settings.model_copy(update={"environment": Environment.demo})
    assert passwords.password_problem("abc", settings=demo) is not None
    assert passwords.password_problem("x" * 1025, settings=demo) is not None
