"""Bloom-filter encodings: keyed per field, Korean names as jamo, hardening."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bitgoeul.linkage import attacks, clk, normalise, similarity, synthetic

SECRET = b"the key custodian's secret, 32 b"
PERSON = {"name": "김재민", "name_latin": "Kim Jaemin", "birth_date": "1980-05-17",
          "sex": "M", "phone": "010-2345-6789", "district": "북구"}  # fmt: skip


def dice(a: dict[str, str], b: dict[str, str], schema: clk.ClkSchema = clk.DEFAULT_SCHEMA) -> float:
    encoded = clk.ClkEncoder(schema, SECRET, "p1").encode([a, b])
    return float(similarity.dice_pairs(encoded[:1], encoded[1:], np.array([0]), np.array([0]))[0])


def test_the_same_person_written_differently_has_the_same_encoding() -> None:
    other = {**PERSON, "name": "김 재민", "birth_date": "1980.05.17", "phone": "01023456789",
             "district": "Buk-gu"}  # fmt: skip
    assert dice(PERSON, other) == 1.0


def test_a_one_sound_typo_keeps_the_encodings_close_and_another_person_far() -> None:
    typo = {**PERSON, "name": "김제민"}
    stranger = {"name": "박순자", "name_latin": "Park Sunja", "birth_date": "1944-11-02",
                "sex": "F", "phone": "010-8765-4321", "district": "동구"}  # fmt: skip
    assert dice(PERSON, typo) > 0.9
    assert dice(PERSON, stranger) < 0.4


def test_encodings_under_another_secret_are_unrelated() -> None:
    ours = clk.ClkEncoder(clk.DEFAULT_SCHEMA, SECRET, "p1").encode([PERSON])
    theirs = clk.ClkEncoder(clk.DEFAULT_SCHEMA, b"guessed", "p1").encode([PERSON])
    score = similarity.dice_pairs(ours, theirs, np.array([0]), np.array([0]))[0]
    assert score < 0.5


def test_each_field_has_its_own_key() -> None:
    keys = {clk.field_key(SECRET, "p1", f) for f in ("name", "birth_date", "phone")}
    assert len(keys) == 3
    assert clk.field_key(SECRET, "p2", "name") not in keys


def test_token_positions_are_not_an_arithmetic_progression() -> None:
    # Double hashing sets h1 + i·h2: constant steps between consecutive positions.
    positions = clk.token_positions(b"k" * 32, "ㄱㅣ", 12, 1024)
    steps = {int(b - a) % 1024 for a, b in itertools.pairwise(positions)}
    assert len(steps) > 1
    assert all(0 <= p < 1024 for p in positions)


def test_balanced_filters_all_have_the_same_number_of_ones() -> None:
    schema = clk.ClkSchema(fields=clk.DEFAULT_SCHEMA.fields, hardening="balanced")
    records = synthetic.generate(50, 50, 25, seed=3).left
    counts = similarity.popcounts(clk.ClkEncoder(schema, SECRET, "p1").encode(records))
    assert set(counts.tolist()) == {schema.length}
    assert schema.encoded_bits == 2048


def test_xor_folding_halves_the_encoding() -> None:
    schema = clk.ClkSchema(fields=clk.DEFAULT_SCHEMA.fields, hardening="xor_fold")
    encoded = clk.ClkEncoder(schema, SECRET, "p1").encode([PERSON])
    assert encoded.shape == (1, 512 // 64)


def test_blip_noise_flips_about_the_chosen_share_of_bits() -> None:
    plain = clk.ClkEncoder(clk.DEFAULT_SCHEMA, SECRET, "p1").encode([PERSON] * 200)
    noisy_schema = clk.ClkSchema(fields=clk.DEFAULT_SCHEMA.fields, blip=0.05)
    noisy = clk.ClkEncoder(noisy_schema, SECRET, "p1", rng=np.random.default_rng(1)).encode(
        [PERSON] * 200
    )
    flipped = np.bitwise_count(plain ^ noisy).sum() / (200 * 1024)
    assert 0.04 < flipped < 0.06


def test_a_schema_outside_its_limits_is_refused() -> None:
    with pytest.raises(ValueError, match="power of two"):
        clk.ClkSchema(fields=(), length=1000)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        clk.FieldEncoding("name", "soundex")


def test_the_frequency_attack_fails_on_the_default_schema_and_breaks_an_unsalted_one() -> None:
    records = synthetic.generate(3000, 10, 0, seed=11).left
    kim = np.array([(normalise.hangul_name(r["name"]) or " ")[0] == "김" for r in records])
    share = float(kim.mean())
    encoded = clk.ClkEncoder(clk.DEFAULT_SCHEMA, SECRET, "p1").encode(records)
    assert not attacks.frequency_attack(encoded, kim, share).succeeded
    unsalted = clk.ClkSchema(
        fields=tuple(
            clk.FieldEncoding(f.field, f.tokenizer, f.hashes) for f in clk.DEFAULT_SCHEMA.fields
        )
    )
    control = clk.ClkEncoder(unsalted, SECRET, "p1").encode(records)
    assert attacks.frequency_attack(control, kim, share).succeeded


@pytest.mark.parametrize(
    ("field", "tokenizer", "value"),
    [("birth_date", "date", "1956.3.2"), ("birth_date", "date", "19561203"),
     ("phone", "phone", "+82 10 2345 6789"), ("phone", "phone", "not a phone")],
)  # fmt: skip
def test_an_encoding_sets_exactly_the_bits_of_its_tokens(
    field: str, tokenizer: str, value: str
) -> None:
    # Dates and phones are encoded by table lookup; the bits must be those of the tokens the
    # tokenizer makes, each at its HMAC positions under the field's key.
    encoding = clk.FieldEncoding(field, tokenizer, 7)
    schema = clk.ClkSchema(fields=(encoding,))
    encoded = clk.ClkEncoder(schema, SECRET, "p1").encode([{field: value}])
    key = clk.field_key(SECRET, "p1", f"{field}/{tokenizer}/")
    expected = np.zeros(1024, dtype=bool)
    for token in clk.TOKENIZERS[tokenizer](value):
        expected[clk.token_positions(key, token, 7, 1024)] = True
    assert np.array_equal(clk.unpack(encoded)[0], expected)
