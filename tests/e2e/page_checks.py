"""Checks every page must pass, for any journey: call :func:`check_page` after each visit.

* **No horizontal scroll:** ``document.scrollingElement.scrollWidth <= innerWidth`` at the
  current viewport (the journeys look at 1280 and 390 px); the failure names the elements that
  stick out.
* **No link into the API:** no ``<a href>`` (nor ``<form action>``) on this origin whose path
  starts with ``/api/``: pages link to pages.
* **Tables scroll inside their box:** a table wider than the space it has scrolls sideways in
  a box of its own (its own, or a wrapper's ``overflow-x: auto``); none is cut off by a box
  that hides what sticks out (:func:`tables_cut_off`).
* **Names in tables stay whole:** a ``<code>`` in a table (a column's name, an id, SQL) never
  wraps between two letters or digits (``patie`` / ``nt_id``); at a space, hyphen or slash it
  may, and a hash (``.digest``) may anywhere (:func:`names_broken_in_tables`).
* **Hangul never breaks inside a word** (``word-break: keep-all``): on a Korean page no run of
  Hangul syllables is split across two lines (:func:`hangul_broken_inside_words`).
* **The page's language:** ``<html lang>`` is the language asked for.
* **Korean throughout:** a Korean page shows no English that the hub itself says.  The list of
  what the hub says is built from the sources of truth, not written by hand: the English
  ``msgid`` of every server message (``src/bitgoeul/locales/ko/LC_MESSAGES/*.po``) and every
  English UI string (``web/locales/en/*.json``) whose Korean differs.  A message with
  placeholders is cut at them into its literal fragments.  To stay precise on pages full of
  names (datasets, organizations, people, column names), a fragment of three English words or
  more counts anywhere in a text (as whole words); a shorter one (two words, or one capitalised
  word of four letters or more) only where it stands in its message: a whole text ("Sign in"),
  or the start or end of one beside a placeholder's value ("Revoked on 2026-12-05").  A
  fragment that also appears in some Korean translation (``SQL``, ``CSV``, ``REST API``) never
  counts.  Texts are the page's text nodes and labels (``aria-label``, ``title``,
  ``placeholder``, ``alt``) outside ``code``/``pre``/``textarea``, elements marked
  ``translate="no"``, and elements in another language (``lang="en"``, as the language
  switcher's "English" is).
* **What the server said reads in Korean:** on a Korean page, a box that shows the server's
  words (``.error``, ``.error-message``, ``[role=alert]``) holds no English sentence (four
  English words in a row, two of them lowercase, and no Hangul beside them).  This catches a
  message the catalogs cannot list because it was never written with ``msg()``; text in
  ``code``, in another language or marked ``translate="no"`` is left out, as above.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from playwright.sync_api import Page

SRC = Path(__file__).resolve().parents[2] / "src" / "bitgoeul"
PO_DIR = SRC / "locales" / "ko" / "LC_MESSAGES"
UI_DIR = SRC / "web" / "locales"

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")
_EDGE = " \t\n\r.,;:!?()[]\"'“”‘’—–-·/…*`=<>"


def _fragments(template: str) -> list[tuple[str, str]]:
    """The literal parts of a ``str.format`` template, trimmed of punctuation, each with where
    it stands: ``whole`` (no placeholder), ``start``, ``end`` or ``middle``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        parsed = [(template, None, None, None)]
    found: list[tuple[str, str]] = []
    for index, (literal, field, _, _) in enumerate(parsed):
        text = literal.strip(_EDGE)
        if not text:
            continue
        after = field is not None
        before = index > 0
        where = {(False, False): "whole", (False, True): "start", (True, False): "end"}.get(
            (before, after), "middle"
        )
        found.append((text, where))
    return found


def _po_entries() -> Iterable[tuple[str, str]]:
    for path in sorted(PO_DIR.glob("*.po")):
        with path.open("rb") as handle:
            for entry in read_po(handle, locale="ko", domain=path.stem):
                if entry.id and isinstance(entry.id, str) and isinstance(entry.string, str):
                    yield entry.id, entry.string


def _ui_catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((UI_DIR / lang).glob("*.json")):
        merged.update(json.loads(path.read_text("utf-8")))
    return merged


@dataclass(frozen=True)
class ServerString:
    """A piece of English the hub says; ``where`` is how it must sit in a text to count:
    ``anywhere`` (three words or more), else ``whole`` (the text is exactly it), ``start`` or
    ``end`` (it begins or ends the text, a placeholder's value beside it)."""

    text: str
    where: str

    def found_in(self, text: str) -> bool:
        if self.where == "whole":
            return text.strip(_EDGE) == self.text
        if self.text not in text:
            return False
        if self.where == "start":
            return bool(re.match(re.escape(self.text) + r"(?![A-Za-z])", text.lstrip(_EDGE)))
        if self.where == "end":
            ending = r"(?<![A-Za-z])" + re.escape(self.text) + "$"
            return bool(re.search(ending, text.rstrip(_EDGE)))
        return bool(_pattern(self.text).search(text))


@cache
def server_strings() -> tuple[ServerString, ...]:
    """What the hub says in English that a Korean page must not show, longest first."""
    po = list(_po_entries())
    english_ui, korean_ui = _ui_catalog("en"), _ui_catalog("ko")
    korean_text = "\n".join([*(k for _, k in po), *korean_ui.values()])
    templates = [msgid for msgid, _ in po]
    templates += [e for k, e in english_ui.items() if korean_ui.get(k, e) != e]
    found: set[ServerString] = set()
    for template in templates:
        for fragment, where in _fragments(template):
            words = _WORD.findall(fragment)
            if fragment in korean_text or not words:
                continue
            if len(words) >= 3:
                found.add(ServerString(fragment, "anywhere"))
            elif where == "middle":
                continue
            elif len(words) == 2 or (
                fragment == words[0] and len(fragment) >= 4 and fragment[0].isupper()
            ):
                found.add(ServerString(fragment, where))
    return tuple(sorted(found, key=lambda f: (-len(f.text), f.text, f.where)))


@cache
def _pattern(fragment: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])" + re.escape(fragment) + r"(?![A-Za-z])")


def untranslated_in(texts: Iterable[str]) -> list[str]:
    """The server strings that ``texts`` show (at most one reported per text)."""
    hits: list[str] = []
    for text in texts:
        for said in server_strings():
            if said.found_in(text):
                hits.append(f"{said.text!r} in {text[:120]!r}")
                break
    return hits


# What the browser reports ------------------------------------------------------------------

_TEXTS_JS = """() => {
  const skip = 'script,style,noscript,template,code,pre,kbd,samp,textarea,[translate="no"]';
  const foreign = (el) => { const l = el.closest('[lang]'); return l && !l.lang.startsWith('ko'); };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || foreign(el)) continue;
    const text = n.nodeValue.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  const labelled = '[aria-label],[title],[placeholder],[alt],input[type=submit][value]';
  for (const el of document.querySelectorAll(labelled)) {
    if (el.closest(skip) || foreign(el)) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      const v = el.getAttribute(name); if (v && v.trim()) out.push(v.trim());
    }
    if (el.matches('input[type=submit]')) out.push(el.value);
  }
  out.push(document.title);
  return out;
}"""

_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const root = document.scrollingElement;
  if (root.scrollWidth <= width) return null;
  const culprits = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0) {
      // Report the outermost element only: skip one whose parent already sticks out.
      const p = el.parentElement && el.parentElement.getBoundingClientRect();
      if (p && p.right > width + 1) continue;
      const id = el.id ? '#' + el.id : '';
      const cls = el.classList.length ? '.' + [...el.classList].join('.') : '';
      const name = el.tagName.toLowerCase() + id + cls;
      culprits.push(name + ' (right edge ' + Math.round(r.right) + ')');
      if (culprits.length >= 5) break;
    }
  }
  return {scrollWidth: root.scrollWidth, width: width, culprits: culprits};
}"""

_MESSAGE_BOXES_JS = """() => {
  const skip = 'script,style,noscript,template,code,pre,kbd,samp,textarea,[translate="no"]';
  const foreign = (el) => { const l = el.closest('[lang]'); return l && !l.lang.startsWith('ko'); };
  const out = [];
  const boxes = '.error, .error-message, [role=alert]';
  for (const box of document.querySelectorAll(boxes)) {
    if (box.closest(skip) || foreign(box) || box.parentElement.closest(boxes)) continue;
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || el.closest(skip) || foreign(el)) continue;
      const text = n.nodeValue.replace(/\\s+/g, ' ').trim();
      if (text) out.push(text);
    }
  }
  return out;
}"""

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ ,]+[A-Za-z][A-Za-z'’]*){3,}")


def english_sentences_in(texts: Iterable[str]) -> list[str]:
    """The texts that read as an English sentence with no Korean beside it."""
    found = []
    for text in texts:
        if _HANGUL.search(text):
            continue
        for run in _ENGLISH_RUN.findall(text):
            lowercase = [w for w in re.findall(r"[A-Za-z][A-Za-z'’]*", run) if w.islower()]
            if len(lowercase) >= 2:
                found.append(text[:120])
                break
    return found


_API_LINKS_JS = """() => {
  const out = [];
  const into = (value) => {
    if (!value) return false;
    const url = new URL(value, document.baseURI);
    return url.origin === location.origin && url.pathname.startsWith('/api/');
  };
  for (const a of document.querySelectorAll('a[href]')) {
    const href = a.getAttribute('href');
    if (into(href)) out.push('<a href="' + href + '">' + a.textContent.trim().slice(0, 60));
  }
  for (const f of document.querySelectorAll('form[action]')) {
    const action = f.getAttribute('action');
    if (into(action)) out.push('<form action="' + action + '">');
  }
  return out;
}"""


_TABLES_JS = """() => {
  const found = {scrolling: 0, cut: []};
  for (const table of document.querySelectorAll('main table')) {
    if (!table.getClientRects().length) continue;
    const wide = table.scrollWidth;
    // Up from the table (itself included): the first box that scrolls or hides sideways.
    for (let box = table; box && box !== document.body; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'visible') continue;
      if (wide > box.clientWidth + 1) {
        if (overflow === 'auto' || overflow === 'scroll') found.scrolling += 1;
        else {
          const id = table.id ? '#' + table.id : (table.className ? '.' + table.className : '');
          found.cut.push('table' + id + ' (' + wide + ' px in ' + box.clientWidth + ' px, '
            + 'overflow-x: ' + overflow + ')');
        }
      }
      break;
    }
  }
  return found;
}"""

_HANGUL_BREAKS_JS = """() => {
  const skip = 'script,style,noscript,template,code,pre,kbd,samp,textarea';
  const run = /[\\uac00-\\ud7a3]{2,}/g;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n && out.length < 10; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !el.getClientRects().length) continue;
    run.lastIndex = 0;
    for (let m = run.exec(n.nodeValue); m; m = run.exec(n.nodeValue)) {
      const range = document.createRange();
      range.setStart(n, m.index);
      range.setEnd(n, m.index + m[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0);
      // Two lines: a rectangle that starts below where the first one ends.
      if (rects.some((r) => r.top >= rects[0].bottom - 1)) {
        out.push(m[0] + ' in <' + el.tagName.toLowerCase() + '>: '
          + n.nodeValue.replace(/\\s+/g, ' ').trim().slice(0, 80));
        break;
      }
    }
  }
  return out;
}"""


_NAMES_BROKEN_JS = """() => {
  // A line that ends between two word characters (letters, digits, _) cut a name in two;
  // a break at a space, a hyphen or a slash is where names and code may wrap.  A hash
  // (.digest) is meant to wrap anywhere.
  const out = [];
  for (const code of document.querySelectorAll('main table code:not(.digest)')) {
    const node = code.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE || !code.getClientRects().length) continue;
    const text = node.nodeValue;
    let line = null;
    for (let i = 0; i < text.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (!box.height) continue;
      if (line !== null && box.top >= line.bottom - 1) {
        if (/\\w/.test(text[i - 1]) && /\\w/.test(text[i])) {
          out.push(text.trim().slice(0, 60));
          break;
        }
      }
      if (line === null || box.top >= line.bottom - 1) line = box;
    }
    if (out.length >= 10) break;
  }
  return out;
}"""


def names_broken_in_tables(page: Page) -> list[str]:
    """Code in tables (names, ids, SQL) that the page cuts between two word characters."""
    broken: list[str] = page.evaluate(_NAMES_BROKEN_JS)
    return broken


def tables_cut_off(page: Page) -> list[str]:
    """Tables wider than their box that a box hides instead of scrolling."""
    found: dict[str, list[str]] = page.evaluate(_TABLES_JS)
    return found["cut"]


def tables_scrolling_in_their_box(page: Page) -> int:
    """How many tables on the page are wider than their box and scroll inside it."""
    found: dict[str, int] = page.evaluate(_TABLES_JS)
    return found["scrolling"]


def hangul_broken_inside_words(page: Page) -> list[str]:
    """Runs of Hangul syllables that the page, as laid out now, splits across two lines."""
    broken: list[str] = page.evaluate(_HANGUL_BREAKS_JS)
    return broken


def horizontal_overflow(page: Page) -> str | None:
    """Why the page scrolls sideways at its current width, or ``None`` when it does not."""
    found = page.evaluate(_OVERFLOW_JS)
    if found is None:
        return None
    return (
        f"scrollWidth {found['scrollWidth']} > {found['width']} px; "
        f"sticking out: {', '.join(found['culprits']) or '?'}"
    )


def api_links(page: Page) -> list[str]:
    """Links (and forms) on the page that lead into ``/api/``."""
    links: list[str] = page.evaluate(_API_LINKS_JS)
    return links


def page_texts(page: Page) -> list[str]:
    """The page's text a person reads in its language (see the module's docstring)."""
    texts: list[str] = page.evaluate(_TEXTS_JS)
    return texts


@dataclass(frozen=True)
class Problem:
    url: str
    width: int
    what: str

    def __str__(self) -> str:
        return f"{self.url} at {self.width} px: {self.what}"


def check_page(page: Page, *, lang: str) -> list[Problem]:
    """Everything wrong with the page as it is now shown; empty when it passes."""
    url = page.url
    width = page.viewport_size["width"] if page.viewport_size else 0
    problems: list[Problem] = []
    declared = page.evaluate("() => document.documentElement.lang")
    if declared != lang:
        problems.append(Problem(url, width, f'<html lang="{declared}">, expected "{lang}"'))
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(Problem(url, width, overflow))
    problems.extend(Problem(url, width, f"links into the API: {a}") for a in api_links(page))
    problems.extend(
        Problem(url, width, f"a table cut off instead of scrolling: {t}")
        for t in tables_cut_off(page)
    )
    problems.extend(
        Problem(url, width, f"a name in a table cut across lines: {n!r}")
        for n in names_broken_in_tables(page)
    )
    if lang == "ko":
        problems.extend(
            Problem(url, width, f"Hangul broken inside a word: {w}")
            for w in hangul_broken_inside_words(page)
        )
        problems.extend(
            Problem(url, width, f"untranslated: {hit}") for hit in untranslated_in(page_texts(page))
        )
        problems.extend(
            Problem(url, width, f"the server said in English: {text!r}")
            for text in english_sentences_in(page.evaluate(_MESSAGE_BOXES_JS))
        )
    return problems
