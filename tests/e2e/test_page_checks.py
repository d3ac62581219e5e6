"""The Korean-page check itself: it catches the hub's English and spares names and data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from page_checks import server_strings, untranslated_in

HANGUL = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)


def test_the_list_holds_ui_strings_and_server_messages_cut_at_placeholders() -> None:
    said = {s.text: s.where for s in server_strings()}
    assert said["Download CSV"] == "whole"  # a UI string
    assert said["Revoked on"] == "start"  # "Revoked on {when} UTC"
    assert said["Signed in as"] == "anywhere"  # three words: anywhere in a text
    # A server message from a .po catalog, cut before its placeholder.
    assert said["translation; choose one of"] == "anywhere"
    # Korean uses these too, so they are never counted.
    assert "REST API" not in said
    assert "CSV" not in said


def test_catches_english_the_hub_says_on_a_korean_page() -> None:
    assert untranslated_in(["Download CSV"])
    assert untranslated_in(["Signed in as researcher"])
    assert untranslated_in(["Revoked on 2026-12-05 08:00 UTC"])
    assert untranslated_in(["There is no 'fr' translation; choose one of en, ko."])
    assert untranslated_in(["미리보기: There is no 'fr' translation; choose one of en, ko."])


def test_spares_names_data_and_english_that_only_looks_alike() -> None:
    # A dataset title that starts with a frequency label ("Hourly") and holds common words.
    assert untranslated_in(["Hourly household electricity use"]) == []
    assert (
        untranslated_in(["KEPCO", "M001", "Dong-gu", "Kim Minji", "Clinic load forecasting"]) == []
    )
    # A UI word inside a longer name is not the UI string ("Search" is a button's label).
    assert untranslated_in(["Search and rescue calls"]) == []
    assert untranslated_in(["검색"]) == []


@given(st.lists(st.text(HANGUL | st.sampled_from(" 0123456789.,:·"), max_size=40), max_size=5))
def test_korean_text_never_counts(texts: list[str]) -> None:
    assert untranslated_in(texts) == []
