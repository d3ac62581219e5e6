"""The page checks themselves: the Korean-page check catches the hub's English and spares
names and data; the layout checks catch a table cut off and Hangul broken inside a word, in
Chromium, on pages written here to pass or fail them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from page_checks import (
    hangul_broken_inside_words,
    names_broken_in_tables,
    server_strings,
    tables_cut_off,
    tables_scrolling_in_their_box,
    untranslated_in,
)
from playwright.sync_api import Browser, Page

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


# Layout checks, on pages written here --------------------------------------------------------

CELLS = "".join(f"<td>column_{i}_value</td>" for i in range(12))
WIDE_TABLE = f"<table><tr>{CELLS}</tr></table>"
SENTENCE = "데이터셋을 내려받으려면 프로젝트의 이용 계약이 필요합니다 " * 3


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 900})
    yield context.new_page()
    context.close()


def _show(page: Page, body: str, *, lang: str = "en", style: str = "") -> None:
    page.set_content(
        f'<!doctype html><html lang="{lang}"><head><style>{style}</style></head>'
        f"<body><main>{body}</main></body></html>"
    )


@pytest.mark.e2e
def test_a_wide_table_in_a_scrolling_box_passes(phone: Page) -> None:
    _show(phone, f'<div style="overflow-x: auto">{WIDE_TABLE}</div>')
    assert tables_cut_off(phone) == []
    assert tables_scrolling_in_their_box(phone) == 1


@pytest.mark.e2e
def test_a_wide_table_in_a_box_that_hides_it_is_cut_off(phone: Page) -> None:
    _show(phone, f'<div style="overflow: hidden">{WIDE_TABLE}</div>')
    assert len(tables_cut_off(phone)) == 1
    assert tables_scrolling_in_their_box(phone) == 0


@pytest.mark.e2e
def test_a_table_that_fits_is_neither(phone: Page) -> None:
    _show(phone, '<div style="overflow: hidden"><table><tr><td>1</td></tr></table></div>')
    assert tables_cut_off(phone) == []
    assert tables_scrolling_in_their_box(phone) == 0


@pytest.mark.e2e
def test_hangul_broken_inside_a_word_is_found(phone: Page) -> None:
    _show(phone, f"<p>{SENTENCE}</p>", lang="ko", style="body { word-break: normal }")
    assert hangul_broken_inside_words(phone)


@pytest.mark.e2e
def test_keep_all_keeps_hangul_words_whole(phone: Page) -> None:
    _show(phone, f"<p>{SENTENCE}</p>", lang="ko", style="body { word-break: keep-all }")
    assert hangul_broken_inside_words(phone) == []


NAMES_TABLE = (
    '<table style="width: 100%"><tr>'
    + "".join(f"<td><code>patient_identifier_{i}</code></td>" for i in range(6))
    + "</tr></table>"
)


@pytest.mark.e2e
def test_a_name_cut_across_lines_in_a_table_is_found(phone: Page) -> None:
    _show(phone, NAMES_TABLE, style="code { overflow-wrap: anywhere }")
    assert names_broken_in_tables(phone)


@pytest.mark.e2e
def test_names_kept_whole_in_a_scrolling_table_pass(phone: Page) -> None:
    _show(
        phone,
        f'<div style="overflow-x: auto">{NAMES_TABLE}</div>',
        style="code { overflow-wrap: normal }",
    )
    assert names_broken_in_tables(phone) == []
    assert tables_scrolling_in_their_box(phone) == 1


@pytest.mark.e2e
def test_a_name_may_wrap_at_a_hyphen_and_a_hash_anywhere(phone: Page) -> None:
    slug = "-".join(["gwangju"] * 12)
    digest = "ab" * 32
    _show(
        phone,
        f'<table style="width: 100%"><tr><td><code>{slug}</code></td>'
        f'<td><code class="digest">{digest}</code></td></tr></table>',
        style=".digest { word-break: break-all }",
    )
    assert names_broken_in_tables(phone) == []
