"""Suggested column classes, from a column's name and a sample of its values.

The class drives governance: direct identifiers are masked or pseudonymised, quasi-identifiers
feed k-anonymity checks, sensitive columns need a stricter access level.  A suggestion is only
that: the steward's choice (``column_classes``) wins, and both are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

CLASSES = ("direct_identifier", "quasi_identifier", "sensitive", "other")
VALUE_SHARE = 0.8
SAMPLE_VALUES = 2000


@dataclass(frozen=True)
class Suggestion:
    classification: str
    reason: str


# (class, what it is, name pattern) — English and Korean column names seen in public data.
NAME_RULES: list[tuple[str, str, re.Pattern[str]]] = [
    (
        "direct_identifier",
        "a resident registration number",
        re.compile(
            r"(^|_)(rrn|ssn|resident_?(reg|registration)_?(no|number)?)($|_)|주민(등록)?번호"
        ),
    ),
    (
        "direct_identifier",
        "a phone number",
        re.compile(r"phone|mobile|(^|_)tel($|_)|전화|휴대폰|연락처|핸드폰"),
    ),
    ("direct_identifier", "an email address", re.compile(r"e_?mail|이메일|전자우편")),
    (
        "direct_identifier",
        "a person's name",
        re.compile(
            r"^(full_?|first_?|last_?|given_?|family_?|patient_?|person_?)?name$|성명|이름|환자명"
        ),
    ),
    (
        "direct_identifier",
        "an exact address",
        re.compile(r"(^|_)(street_?)?address(_?line\d?)?($|_)|(상세|도로명|지번)?주소"),
    ),
    ("quasi_identifier", "a birth date", re.compile(r"birth|(^|_)dob($|_)|생년월일|생일")),
    ("quasi_identifier", "an age", re.compile(r"(^|_)age(_group|_band)?($|_)|나이|연령")),
    ("quasi_identifier", "sex or gender", re.compile(r"(^|_)(sex|gender)($|_)|성별")),
    (
        "quasi_identifier",
        "a district or neighbourhood",
        re.compile(
            r"district|(^|_)(gu|dong|sigungu|neighbou?rhood)($|_)|자치구|시군구|행정동|법정동|읍면동|^구$|^동$"
        ),
    ),
    ("quasi_identifier", "a postcode", re.compile(r"post_?code|zip(_?code)?($|_)|우편번호")),
    (
        "sensitive",
        "a diagnosis or health attribute",
        re.compile(r"diagnos|(^|_)(kcd|icd)|disease|health|medical|질병|진단|상병|건강|병명"),
    ),
    ("sensitive", "income or wealth", re.compile(r"income|salary|wage|소득|급여|연봉|재산")),
    ("sensitive", "religion, ethnicity or orientation", re.compile(r"religion|ethnic|종교|민족")),
]

# (class, what it is, pattern over the whole value)
VALUE_RULES: list[tuple[str, str, str]] = [
    ("direct_identifier", "resident registration numbers", r"^\d{6}-?[1-8]\d{6}$"),
    (
        "direct_identifier",
        "phone numbers",
        r"^(\+82-?|0)1[016789]-?\d{3,4}-?\d{4}$|^0\d{1,2}-\d{3,4}-\d{4}$",
    ),
    ("direct_identifier", "email addresses", r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"),
    (
        "direct_identifier",
        "exact street addresses",
        r"(시|도)\s.*(로|길)\s?\d+(-\d+)?|\d+\s+\w+\s+(street|st|road|rd|avenue|ave)\b",
    ),
    (
        "direct_identifier",
        "Korean personal names",
        r"^(김|이|박|최|정|강|조|윤|장|임|한|오|서|신|권|황|안|송|류|유|전|홍|고|문|양|손|배|백|허|노|남|심)[가-힣]{1,3}$",
    ),
    ("sensitive", "diagnosis codes (KCD/ICD)", r"^[A-TV-Z]\d{2}(\.?\d{1,2})?$"),
    ("quasi_identifier", "sexes", r"^(M|F|m|f|male|female|Male|Female|남|여|남자|여자|남성|여성)$"),
    ("quasi_identifier", "Korean neighbourhood (dong) names", r"^[가-힣0-9]{1,6}(동|읍|면)$"),
    (
        "quasi_identifier",
        "Gwangju district (gu) names",
        r"^(광주광역시\s?)?(동구|서구|남구|북구|광산구)$",
    ),
]


def suggest_class(name: str, field_type: str, sample: pa.Array | None) -> Suggestion:
    """A class for one column, and why, in words a steward can check."""
    lowered = name.strip().lower().replace(" ", "_").replace("-", "_")
    for classification, what, pattern in NAME_RULES:
        if pattern.search(lowered):
            return Suggestion(classification, f"the column name '{name}' suggests {what}")
    if sample is not None and field_type == "string":
        present = pc.drop_null(sample)
        if len(present) > SAMPLE_VALUES:
            present = present.slice(0, SAMPLE_VALUES)
        if len(present):
            for classification, what, value_pattern in VALUE_RULES:
                matched = pc.sum(pc.match_substring_regex(present, value_pattern)).as_py() or 0
                share = matched / len(present)
                if share >= VALUE_SHARE:
                    return Suggestion(
                        classification,
                        f"{share:.0%} of {len(present)} sampled values look like {what}",
                    )
    return Suggestion("other", "neither the name nor the values match a known pattern")
