"""Bloom-filter encodings: keyed per field, Korean names as jamo, hardening."""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# The compiled encoder against the definition, written out plainly: every record's every
# field tokenized by ``TOKENIZERS``, each token salted as the schema says and set at its HMAC
# positions under the field's key, one at a time.
def reference_encode(
    schema: clk.ClkSchema, records: Sequence[Mapping[str, object]], seed: int
) -> clk.Packed:
    bits = np.zeros((len(records), schema.length), dtype=bool)
    for row, record in enumerate(records):
        raw = record.get("birth_date")
        day = (
            raw
            if isinstance(raw, date)
            else normalise.birth_date(None if raw is None else str(raw))
        )
        salts = {}
        if day is not None:
            first, second = sorted((day.month, day.day))
            salts = {"birth_year": f"y{day.year}", "birth_month_day": f"md{first}-{second}"}
        for encoding in schema.fields:
            key = clk.field_key(
                SECRET, "p1", f"{encoding.field}/{encoding.tokenizer}/{encoding.salt}"
            )
            value = clk.as_text(record.get(encoding.field))
            salt = salts.get(encoding.salt, "") if encoding.salt else ""
            for token in clk.TOKENIZERS[encoding.tokenizer](value) if value else []:
                salted = f"{salt}\x1f{token}" if salt else token
                bits[row, clk.token_positions(key, salted, encoding.hashes, schema.length)] = True
    hardener = clk.ClkEncoder(schema, SECRET, "p1", rng=np.random.default_rng(seed))
    return hardener._harden(bits)


_SYLLABLES = "김이리류유임림나라노로녀여박최정강조윤장한오서신권황안송전홍재제민영희수"
_DAYS = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
_WRITTEN_DAYS = st.tuples(
    _DAYS,
    st.sampled_from(
        [
            "{y:04d}-{m:02d}-{d:02d}",
            "{y}.{m}.{d}",
            "{y}/{m:02d}/{d}",
            "{y}년 {m}월 {d}일",
            "{y:04d}{m:02d}{d:02d}",
            "{yy:02d}{m:02d}{d:02d}",
            "{d}/{m}/{y}",
            "{y}-{m}-{d}-1",
            "１９{yy:02d}.{m}.{d}",
        ]
    ),
).map(lambda p: p[1].format(y=p[0].year, yy=p[0].year % 100, m=p[0].month, d=p[0].day))
_VALUES = {
    "name": st.text(_SYLLABLES + "ㄱㅣㅁ ()[]（）abc-1\t", max_size=12),
    "name_latin": st.one_of(
        st.lists(
            st.sampled_from(
                [
                    "kim",
                    "Gim",
                    "LEE",
                    "rhee",
                    "i",
                    "young",
                    "hee",
                    "Young-hee",
                    "o'brien",
                    "yoo",
                    "jung",
                    "park",
                    "Jae",
                    "min",
                    "abcdefghijklmnop",
                    "é",
                    "ß",
                    "ＫＩＭ",
                ]
            ),
            max_size=5,
        ).map(" ".join),
        st.text("aZkim- '.,0\t", max_size=20),
    ),
    "birth_date": st.one_of(
        _WRITTEN_DAYS,
        _DAYS,
        st.datetimes(),
        st.text("0123456789-./년 ", max_size=12),
    ),
    "phone": st.one_of(
        st.text("0123456789+- ８２", max_size=18),
        st.from_regex(r"(\+82|82|0)?1[0-9]{8,10}", fullmatch=True),
        st.integers(0, 10**12),
    ),
    "district": st.sampled_from(
        ["북구", "Buk-gu", "광주광역시 남구", "gwangju, seo-gu", "Gangnam", ""]
    ),
    "sex": st.sampled_from(["M", "F", "ｆ", " m ", "", "Other"]),
}
_RECORDS = st.lists(
    st.fixed_dictionaries({}, optional={k: st.one_of(st.none(), v) for k, v in _VALUES.items()}),
    max_size=12,
)
_EVERY_TOKENIZER = (
    clk.FieldEncoding("name", "hangul_name", 3, salt="birth_month_day"),
    clk.FieldEncoding("name", "hangul_surname", 5, salt="birth_year"),
    clk.FieldEncoding("name", "hangul_given_name", 6),
    clk.FieldEncoding("name_latin", "latin_name", 2, salt="birth_year"),
    clk.FieldEncoding("birth_date", "date", 20),
    clk.FieldEncoding("birth_date", "date", 4, salt="birth_month_day"),
    clk.FieldEncoding("phone", "phone", 6),
    clk.FieldEncoding("phone", "phone", 3, salt="birth_year"),
    clk.FieldEncoding("district", "district", 4, salt="birth_year"),
    clk.FieldEncoding("sex", "text", 4),
)


@settings(max_examples=150, deadline=None)
@given(
    records=_RECORDS,
    fields=st.sampled_from([clk.DEFAULT_SCHEMA.fields, _EVERY_TOKENIZER]),
    hardening=st.sampled_from(["none", "balanced", "xor_fold"]),
    blip=st.sampled_from([0.0, 0.1]),
    batch=st.integers(1, 12),
)
def test_the_compiled_encoder_sets_exactly_the_bits_of_the_plain_definition(
    records: list[dict[str, object]],
    fields: tuple[clk.FieldEncoding, ...],
    hardening: clk.Hardening,
    blip: float,
    batch: int,
) -> None:
    schema = clk.ClkSchema(fields=fields, length=256, hardening=hardening, blip=blip)
    encoder = clk.ClkEncoder(schema, SECRET, "p1", rng=np.random.default_rng(7))
    # Batches smaller than the records: tokens, salts and lookups carried from one to the next.
    ours = encoder.encode(records, batch=batch)
    assert np.array_equal(ours, reference_encode(schema, records, seed=7))


def test_the_compiled_encoder_matches_the_definition_on_the_generated_city() -> None:
    records = synthetic.generate(400, 400, 240, seed=11)
    both = records.left + records.right
    for fields in (clk.DEFAULT_SCHEMA.fields, _EVERY_TOKENIZER):
        schema = clk.ClkSchema(fields=fields)
        ours = clk.ClkEncoder(schema, SECRET, "p1").encode(both, batch=300)
        assert np.array_equal(ours, reference_encode(schema, both, seed=0))


@given(key=st.binary(max_size=100), message=st.binary(max_size=200))
def test_hmac_from_the_keys_precomputed_states_is_hmac_sha256(key: bytes, message: bytes) -> None:
    assert clk.hmac_sha256(*clk.hmac_states(key), message) == hmac.digest(key, message, "sha256")
