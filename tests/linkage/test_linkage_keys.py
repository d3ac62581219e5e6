"""Combination keys: HMAC-SHA256 under the custodian's secret, cascading definitions."""

from __future__ import annotations

import hashlib

import pytest

from bitgoeul.linkage import attacks, keys, synthetic

SECRET = b"the key custodian's secret, 32 b"
NAME_BIRTH_PHONE = keys.DEFAULT_CASCADE[0]
PERSON = {"name": "이영희", "birth_date": "1956-03-02", "phone": "010-1234-5678",
          "district": "북구"}  # fmt: skip
SAME_PERSON_ELSEWHERE = {"name": "리 영희", "birth_date": "19560302", "phone": "+82 10 1234 5678",
                         "district": "Buk-gu"}  # fmt: skip


def test_two_agencies_writing_one_person_differently_derive_the_same_key() -> None:
    for definition in keys.DEFAULT_CASCADE:
        a = keys.derive_key(SECRET, "p1", definition, PERSON)
        b = keys.derive_key(SECRET, "p1", definition, SAME_PERSON_ELSEWHERE)
        assert a is not None
        assert a == b


def test_a_key_is_neither_a_plain_nor_a_salted_hash_of_the_fields() -> None:
    key = keys.derive_key(SECRET, "p1", NAME_BIRTH_PHONE, PERSON)
    message = "\x1f".join(("p1", NAME_BIRTH_PHONE.name, "이영희", "1956-03-02", "01012345678"))
    assert key not in {
        hashlib.sha256(message.encode()).hexdigest(),
        hashlib.sha256(("p1" + message).encode()).hexdigest(),
        hashlib.sha256("이영희1956-03-0201012345678".encode()).hexdigest(),
    }


def test_keys_differ_between_secrets_and_between_projects() -> None:
    key = keys.derive_key(SECRET, "p1", NAME_BIRTH_PHONE, PERSON)
    assert keys.derive_key(b"another secret", "p1", NAME_BIRTH_PHONE, PERSON) != key
    assert keys.derive_key(SECRET, "p2", NAME_BIRTH_PHONE, PERSON) != key


def test_a_record_missing_a_field_gets_no_key_under_that_definition() -> None:
    without_phone = {**PERSON, "phone": None}
    assert keys.derive_key(SECRET, "p1", NAME_BIRTH_PHONE, without_phone) is None
    assert keys.derive_key(SECRET, "p1", keys.DEFAULT_CASCADE[1], without_phone) is not None


def test_the_cascade_links_by_the_looser_key_what_the_strict_one_missed() -> None:
    moved_phone = {**SAME_PERSON_ELSEWHERE, "phone": "010-9999-0000"}
    left = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE, [PERSON])
    right = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE, [moved_phone])
    links = keys.link_exact(keys.DEFAULT_CASCADE, left, right)
    assert [(x.left, x.right, x.definition) for x in links] == [(0, 0, "name_birth_district")]


def test_a_key_two_records_of_one_source_share_links_neither() -> None:
    twin = {**PERSON, "phone": "010-5555-6666"}
    left = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE[1:], [PERSON, twin])
    right = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE[1:], [SAME_PERSON_ELSEWHERE])
    assert keys.link_exact(keys.DEFAULT_CASCADE[1:], left, right) == []


def test_an_unknown_field_in_a_definition_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown fields \\['email'\\]"):
        keys.KeyDefinition("bad", ("name", "email"))


def test_exact_linkage_on_the_generated_truth_makes_no_false_link() -> None:
    data = synthetic.generate(1500, 1500, 900, seed=5)
    left = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE, data.left)
    right = keys.derive_keys(SECRET, "p1", keys.DEFAULT_CASCADE, data.right)
    found = {(x.left, x.right) for x in keys.link_exact(keys.DEFAULT_CASCADE, left, right)}
    assert found <= data.truth
    # Only duplicates with no modification to name, birth date, and phone or district link.
    assert len(found) > 0.4 * len(data.truth)


def test_a_dictionary_attack_without_the_secret_recovers_no_key() -> None:
    data = synthetic.generate(500, 500, 300, seed=9)
    held = [k[NAME_BIRTH_PHONE.name] for k in
            keys.derive_keys(SECRET, "p1", [NAME_BIRTH_PHONE], data.left)]  # fmt: skip
    result = attacks.dictionary_attack(held, data.left, NAME_BIRTH_PHONE, "p1")
    assert result.keys == 500
    assert result.recovered == 0


def test_the_same_dictionary_attack_with_the_secret_recovers_every_key() -> None:
    data = synthetic.generate(200, 200, 100, seed=9)
    held = [k[NAME_BIRTH_PHONE.name] for k in
            keys.derive_keys(SECRET, "p1", [NAME_BIRTH_PHONE], data.left)]  # fmt: skip
    result = attacks.dictionary_attack(
        held, data.left, NAME_BIRTH_PHONE, "p1", guessed_secrets=[SECRET]
    )
    assert result.recovered == 200
