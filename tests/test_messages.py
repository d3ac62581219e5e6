"""What the server says is translated: every ``msg("...")`` in the source has its Korean
entry in its package's catalog, with the same placeholders, and no entry is left unused."""

from __future__ import annotations

import ast
import json
import pickle
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from bitgoeul.messages import (
    LOCALES_DIR,
    Message,
    catalog,
    msg,
    placeholders,
    preferred_language,
    translate,
    translate_stored,
    translate_tree,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "bitgoeul"
CATALOGS = LOCALES_DIR / "ko" / "LC_MESSAGES"


def domain_of(path: str) -> str:
    """A message's catalog: its package (``query/rewrite.py`` → ``query``), ``core`` for the
    top-level modules."""
    parts = Path(path).parts
    return parts[0] if len(parts) > 1 else "core"


def _extracted() -> dict[str, dict[str, list[str]]]:
    """domain → English template → where it is written."""
    found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SRC), method_map=[("**.py", "python")], keywords={"msg": None}
    ):
        if isinstance(message, str):
            found[domain_of(filename)][message].append(f"{filename}:{lineno}")
    return found


def _entries() -> dict[str, dict[str, str]]:
    """domain → English template → Korean template, as the files hold them."""
    entries: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGS.glob("*.po")):
        with path.open("rb") as handle:
            po = read_po(handle, locale="ko", domain=path.stem)
        entries[path.stem] = {str(e.id): str(e.string) for e in po if e.id}
    return entries


def test_every_message_is_written_as_a_literal_template() -> None:
    """``msg(f"...")`` or ``msg(text)`` could never be found in a catalog."""
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "msg"
                and not (
                    node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                )
            ):
                bad.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not bad, f"msg() needs a literal English template with {{placeholders}}: {bad}"


def test_every_message_has_a_korean_translation_in_its_packages_catalog() -> None:
    entries = _entries()
    missing = {
        f"{domain}.po": sorted(set(messages) - {k for k, v in entries.get(domain, {}).items() if v})
        for domain, messages in _extracted().items()
    }
    missing = {domain: ids for domain, ids in missing.items() if ids}
    assert not missing, (
        "add these to src/bitgoeul/locales/ko/LC_MESSAGES/ (see bitgoeul.messages):\n"
        + json.dumps(missing, ensure_ascii=False, indent=1)
    )


def test_translations_keep_the_placeholders_of_the_english_template() -> None:
    differ = [
        f"{domain}.po: {english!r}"
        for domain, pairs in _entries().items()
        for english, korean in pairs.items()
        if korean and placeholders(english) != placeholders(korean)
    ]
    assert not differ, differ


def test_no_catalog_entry_is_left_unused() -> None:
    extracted = _extracted()
    unused = {
        f"{domain}.po": sorted(set(pairs) - set(extracted.get(domain, {})))
        for domain, pairs in _entries().items()
    }
    unused = {domain: ids for domain, ids in unused.items() if ids}
    assert not unused, f"remove (or use) these entries: {unused}"


def test_the_scan_finds_messages() -> None:
    assert "There is no '{code}' translation; choose one of {languages}." in _extracted()["web"]


def test_a_message_is_english_text_that_can_be_said_in_korean() -> None:
    said = msg(
        "There is no '{code}' translation; choose one of {languages}.",
        code="fr",
        languages="en, ko",
    )
    assert said == "There is no 'fr' translation; choose one of en, ko."
    assert translate(said, "ko") == "'fr' 번역은 없습니다. en, ko 중에서 고르세요."
    assert translate(said, "en") == said
    assert json.loads(json.dumps({"detail": said})) == {"detail": str(said)}
    # A message crosses process boundaries (worker, Ray) pickled; this pickle is our own bytes.
    assert pickle.loads(pickle.dumps(said)).template == said.template  # noqa: S301


def test_an_untranslated_message_and_other_values_stay_as_they_are() -> None:
    assert translate(msg("No such entry {x}.", x=1), "ko") == "No such entry 1."
    assert translate(42, "ko") == "42"
    tree = {
        "errors": [
            {
                "row": 3,
                "message": msg(
                    "There is no '{code}' translation; choose one of {languages}.",
                    code="x",
                    languages="y",
                ),
            }
        ]
    }
    assert translate_tree(tree, "ko") == {
        "errors": [{"row": 3, "message": "'x' 번역은 없습니다. y 중에서 고르세요."}]
    }


def test_the_catalog_holds_only_finished_translations() -> None:
    assert all(catalog("ko").values())


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        ("fr-FR,ko;q=0.5", "ko"),
        ("fr", "en"),
        ("en;q=0.2, ko;q=0.9", "ko"),
        ("ko;q=0", "en"),
        ("*", "en"),
        ("ko;q=abc, en", "en"),
    ],
)
def test_the_preferred_language_is_read_from_accept_language(
    header: str | None, expected: str
) -> None:
    assert preferred_language(header) == expected


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_an_offered_language(header: str) -> None:
    assert preferred_language(header) in ("en", "ko")


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text(max_size=20) | st.integers()))
def test_a_message_reads_as_its_template_filled_in(values: dict[str, object]) -> None:
    template = " ".join("{" + name + "}" for name in sorted(values)) + " done."
    made = msg(template, **values)
    assert isinstance(made, Message)
    assert made == template.format(**values)


# Messages kept as English text (the audit log, a query's history) ---------------------------


def test_a_stored_message_is_said_in_korean_with_its_values_translated_too() -> None:
    needs = msg("restricted data needs an approved project agreement")
    reason = msg("{needs}; name the project you are working for", needs=needs)
    stored = str(msg("Dataset '{slug}': {reason}", slug="patient-visits", reason=reason))
    assert translate_stored(stored, "ko") == translate(
        msg("Dataset '{slug}': {reason}", slug="patient-visits", reason=reason), "ko"
    )
    assert "patient-visits" in translate_stored(stored, "ko")
    assert translate_stored(stored, "en") == stored


@given(
    st.text(
        st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
        | st.sampled_from(" 0123456789:;'-"),
        max_size=60,
    )
)
def test_text_that_no_english_template_makes_stays_as_it_is(text: str) -> None:
    """Korean (or any text without the English of a template) is never rewritten."""
    assert translate_stored(text, "ko") == text


def test_names_and_data_are_left_alone() -> None:
    for text in ("Kim Minji", "household-electricity", "M001", "Clinic load forecasting"):
        assert translate_stored(text, "ko") == text


_DOMAIN_ERRORS = {
    "BitgoeulError",
    "NotAuthenticated",
    "AccessDenied",
    "NotFound",
    "Conflict",
    "TooLarge",
    "ValidationFailed",
    "RateLimited",
}


def _plain_text(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _plain_text(node.left) or _plain_text(node.right)
    return False


def test_errors_the_hub_raises_are_messages_it_can_say_in_korean() -> None:
    """A domain error raised with plain English (``NotFound(f"...")``) would reach a Korean
    page or API answer in English: its text must be a ``msg(...)``; so must a validator's
    ``ValueError`` in a ``schemas.py`` (pydantic hands it to the form or API answer).  The
    command line (``cli/``) and the demo builder, which speak to an operator's terminal, are
    left out."""
    plain = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in ("cli", "demo"):
            continue
        said = _DOMAIN_ERRORS | ({"ValueError"} if path.name == "schemas.py" else set())
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in said and node.args and _plain_text(node.args[0]):
                plain.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not plain, f"write these errors with msg(...) and translate them: {plain}"
