"""Tests for the `import` command (kakehashi/importer.py and its kakehashi/import_*.py stages).

One fixture report per export style and quirk under tests/fixtures/import/<style>/, written
for these tests and converted exactly (the expected content tree and the printed report sit
next to it; `pytest --update-golden` rewrites them), and for every fixture the proof that no
word of the report is lost; each marker form and list shape on its own; hostile input; the
round trip import → build → check; and the seed report, whose every marker must be converted
as content/EDITING.md decided or listed as ambiguous.
"""

from __future__ import annotations

import http.server
import os
import re
from collections import Counter
from html import unescape
from urllib.parse import unquote
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT, tree_bytes
from kakehashi.diagnostics import Diagnostics
from kakehashi.import_layout import read_layout
from kakehashi.import_headings import find_headings, section_slug
from kakehashi.import_markers import Context, numeric, scan_line, scan_markers
from kakehashi.import_references import parse_reference
from kakehashi.import_sources import SourceList, parse_documents
from kakehashi.import_text import normalise_url, repair_url
from kakehashi.importer import import_report, plan_report

FIXTURES = Path(__file__).parent / "fixtures" / "import"
STYLES = {  # fixture folder → (report file, language)
    "perplexity": ("report.md", "en"),
    "deep-research-plain": ("report.txt", "ja"),
    "links": ("report.md", "en"),
    "footnotes": ("report.md", "en"),
    "html-sup": ("report.md", "en"),
    "superscripts": ("report.txt", "ja"),
    "chatgpt-lenticular": ("report.md", "en"),
    "gemini-works-cited": ("report.md", "en"),
    "chatgpt-named-links": ("report.md", "en"),
    "gemini-plain-ja": ("report.txt", "ja"),  # bare digits `…する 1。`, 引用文献 one a line, no blank lines
    "gemini-plain-en": ("report.txt", "en"),  # bare digits `…researcher.1`, labelled code, Part/1.1
    "perplexity-turns": ("report.md", "en"),  # [^1_n], logo, hidden list, ⁂, a second turn
    "chatgpt-dagger": ("report.md", "en"),  # [n†…], 【n†…】, 【n:m†…】, citeturn, text fragments
    "two-reports": ("report.txt", "ja"),  # a second 引用文献 numbered from 1 again
    "no-sources": ("report.md", "en"),  # no source list at all
    "maths-and-code": ("report.md", "en"),  # $…$, $$…$$, \(…\), \[…\], code, σ², 10⁻⁶, [0,1]
    "formatted-references": ("report.md", "en"),  # IEEE, APA, ACM, 『』, arXiv, auto-numbered 1.
    "works-cited-one-line": ("report.txt", "en"),  # a whole numbered list on one line
    "non-ascii-slugs": ("report.md", "en"),  # Vietnamese, German, Greek, Japanese headings
}
SEED = ROOT / "content" / "seed" / "000_9e524ca5da1a39aa.txt"
# content/EDITING.md's decision for each marker the importer must list instead of guessing.
EDITING_DECISIONS = {"¹¹": (1,), "¹⁶¹⁷¹⁸": (6, 7, 8), "¹⁷¹⁸¹⁹": (7, 8, 9), "④": (1,), "⑪": (1,),
                     "⑫": (2,)}
EDITING_AMBIGUOUS_LINES = {47, 49, 51, 57, 59, 61, 63, 109, 173, 175, 179, 181, 183, 187, 189,
                           215, 217, 219, 225, 227, 229, 251, 257, 259, 268, 270, 274, 283, 285}
KNOWN = frozenset(map(str, range(1, 13)))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Only loopback connections: the importer must never reach the network on its own."""
    real = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"network access to {address[0]}")
        return real(address, *args, **kwargs)
    monkeypatch.setattr(socket, "create_connection", loopback_only)


def run_import(folder: Path, monkeypatch, capsys, report: str, lang: str = "en",
               **options) -> tuple[int, str, str]:
    """Run import_report in `folder` (paths relative to it); (status, stdout, stderr)."""
    monkeypatch.chdir(folder)
    status = import_report(Path(report), lang, Path(options.pop("content", "content")), **options)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def markers_of(line: str, known: frozenset[str] = KNOWN, bare: bool = False, table: bool = False):
    """(form, labels as numbers) of each marker of one line; bare digits read when `bare`."""
    masked = read_layout([line]).masked[0]  # code, maths and comments blanked, as an import does
    context = Context(masked, known, max(numeric(known), default=0), bare, table)
    return [(m.form, tuple(int(label) if label.isdigit() else label for label in m.labels))
            for m in scan_line(masked, 1, context)]


def sources_of(lines: list[str], diag: Diagnostics | None = None) -> SourceList:
    """The source list of the first report in `lines`."""
    return parse_documents(lines, read_layout(lines), "r.md", diag or Diagnostics())[0].sources


def write(folder: Path, name: str, text: str | bytes) -> str:
    """Write a report into `folder`; its name."""
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return name


# --- every export style, converted exactly ---------------------------------------------------

@pytest.mark.parametrize("style", sorted(STYLES))
def test_export_style_converted_exactly(style, tmp_path, monkeypatch, capsys, update_golden):
    report, lang = STYLES[style]
    shutil.copy(FIXTURES / style / report, tmp_path / report)
    status, out, err = run_import(tmp_path, monkeypatch, capsys, report, lang)
    produced, output = tree_bytes(tmp_path / "content"), f"exit {status}\n{err}{out}"
    expected_dir, expected_output = FIXTURES / style / "expected", FIXTURES / style / "output.txt"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(tmp_path / "content", expected_dir)
        expected_output.write_text(output, encoding="utf-8")
    assert produced == tree_bytes(expected_dir)
    assert output == expected_output.read_text(encoding="utf-8")


def test_styles_cover_every_marker_form_of_the_issue():
    outputs = "".join((FIXTURES / style / "output.txt").read_text("utf-8") for style in STYLES)
    for form in ("[n]", "^[n]", "^{[n]}", "[\\[n\\]](#)", "[n](url)", "([n](url))", "[^n]",
                 "<sup>n</sup>", "superscript digits", "【n】", "[cite: n]", "([site](url))",
                 "[text][n]", "ambiguous superscript digits", "bare digits", "uncertain bare digits",
                 "[^1_n]", "[n†…]", "【n:m†…】 (no list number)", "citeturn… (no list number)",
                 "citing a missing source"):
        assert f"    {form} " in outputs, form


# Dropped on purpose, and said so: a URL's text fragment and tracking parameters.
DROPPED = re.compile(r"#:~:text=[^\s)\]>]*|(?<=[?&])(?:utm_\w+|fbclid|gclid)=[^&\s)\]>#]*")
LIST_NUMBER = re.compile(r"^\s*\[\^?\w+\]:|\b\d{1,4}[.)](?=\s)")  # list markup the bibliography replaces


def words(text: str) -> Counter:
    """How often each word (letters or digits, case folded) occurs in a text."""
    return Counter(word.casefold() for word in re.findall(r"\w+", text))


@pytest.mark.parametrize("style", sorted(STYLES))
def test_no_word_of_the_report_is_lost(style, tmp_path):
    report, lang = STYLES[style]
    lines = (FIXTURES / style / report).read_text("utf-8").split("\n")
    export, plan, _, _ = plan_report(FIXTURES / style / report, lang, tmp_path / "content", None, True,
                                     False, Diagnostics())
    for marker in (*plan.converted, *plan.debris):  # converted markers are the only words that go
        line = lines[marker.line - 1]
        lines[marker.line - 1] = line[:marker.start] + " " * (marker.end - marker.start) + line[marker.end:]
    lines = [LIST_NUMBER.sub(" ", DROPPED.sub(" ", line)) for line in lines]

    def written(*kinds: str) -> Counter:
        text = "\n".join(f.data.decode("utf-8") for f in plan.files if f.kind in kinds)
        return words(text) | words(unescape(unquote(text)))  # as written, and URLs decoded
    everything = written("section", "site.toml", "references.bib", "leftovers")
    assert set(words("\n".join(lines))) - set(everything) == set()
    listed = {n for document in export.documents for n in document.sources.lines}
    body = words("\n".join(line for n, line in enumerate(lines, 1) if n not in listed))
    assert body - written("section", "site.toml", "leftovers") == Counter()  # every occurrence


def test_perplexity_style_reads_brackets_and_leaves_non_citations():
    text = (FIXTURES / "perplexity/expected/sections/01-energy-density.en.md").read_text("utf-8")
    assert "Wh/kg[^wikipedia-solid-state-battery][^quantumscape-samples-shipping], roughly" in text
    assert "Early reports [sic] overstated this; the 2025 review [2025] is more careful" \
           "[^wikipedia-solid-state-battery][^reuters-2025-toyota-solid-state][^nikkei-dgxzqouc123456]." in text
    assert "print(cells[1])  # [2] inside code is not a citation" in text
    bib = (FIXTURES / "perplexity" / "expected" / "references.bib").read_text("utf-8")
    assert """@online{reuters-2025-toyota-solid-state,
  title        = {Toyota's solid-state battery plans},
  organization = {Reuters},
  date         = {2025-06-03},
  url          = {https://www.reuters.com/business/autos-transportation/toyota-solid-state-battery-plans-2025-06-03/?id=7},
}
""" in bib


def test_deep_research_export_joins_markers_on_their_own_line():
    text = (FIXTURES / "deep-research-plain/expected/sections/01-section-01.ja.md").read_text("utf-8")
    assert text == """---
title: "主要企業の動向"
---

## IBMのロードマップ

IBMは2025年に誤り訂正を前提とした新しいロードマップを公表した。[^ibm-large-scale-ftqc][^nature-s41586-024]

同社は2029年までに大規模な誤り耐性量子コンピュータを実現する計画である。[^nature-s41586-024]

## Googleの成果

Googleは「Willow」チップで、量子ビット数を増やすほど誤りが減ることを示した。[^googleblog-google-willow-quantum][^arxiv-2408-13687][^ibm-large-scale-ftqc]
"""


# --- marker forms and source-list shapes ----------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("growth [1].", [("bracket", (1,))]),
    ("growth [1, 2].", [("bracket", (1, 2))]),
    ("growth [1-3] and [4–5].", [("bracket", (1, 2, 3)), ("bracket", (4, 5))]),
    ("growth[1][2].", [("bracket", (1,)), ("bracket", (2,))]),
    ("growth.^[1]", [("caret", (1,))]),
    ("growth.^{[1][2]}", [("caret_group", (1, 2))]),
    ("growth.[\\[1\\]](#)[\\[2\\]](#)", [("escaped", (1,)), ("escaped", (2,))]),
    ("growth [1](https://a.example/x).", [("link", (1,))]),
    ("growth ([1](https://a.example/x)).", [("paren_link", (1,))]),
    ("growth.[^1]", [("footnote", (1,))]),
    ("growth.<sup>1,2</sup>", [("sup", (1, 2))]),
    ("TechStack², and more¹˒³ or¹⁻³", [("superscript", (2,)), ("superscript", (1, 3)),
                                       ("superscript", (1, 2, 3))]),
    ("growth【1†source】【2】", [("lenticular", (1,)), ("lenticular", (2,))]),
    ("[cite_start]Growth [cite: 1, 2].", [("debris", ()), ("cite", (1, 2))]),
    ("growth ([Reuters](https://r.example/a)).", [("named", ())]),
    ("see [the survey][4].", [("reflink", (4,))]),
    ("上回った¹¹", [("superscript", ())]),
    ("考えられる。④", [("circled", ())]),
    ("growth ^{[1][2] and on", [("broken", ()), ("bracket", (1,)), ("bracket", (2,))]),
    ("growth [1, 2", [("broken", ())]),
])
def test_marker_forms(line, expected):
    assert markers_of(line) == expected


@pytest.mark.parametrize("line", [
    "Use `items[1]` here.", "items[1].name = 2", "In [2025] it changed.", "A [sic] error.",
    "See https://a.example/page[1] now.", "10² is a hundred; 10 m² of floor; x² + y²",
    "①から始める", "① 低複雑性、② 中複雑性", "An [image](https://a.example/x[1]).",
])
def test_not_citations(line):
    assert markers_of(line) == []


def test_superscript_runs_list_every_reading():
    known = frozenset(map(str, range(1, 97)))

    def readings(line: str) -> list[tuple[int, ...]]:
        (marker,) = scan_line(line, 1, Context(line, known, 96, False, False))
        return [tuple(map(int, reading)) for reading in marker.readings]
    assert readings("赤字に直面している。¹⁶¹⁷¹⁸")[:4] == [(16, 17, 18), (6, 7, 8), (1, 6, 7, 8), (1, 6, 7, 18)]
    assert readings("良好である。¹¹") == [(11,), (1,)]
    assert readings("かどうか。⑫") == [(12,), (2,), (1, 2)]  # the stray-¹ reading too


@pytest.mark.parametrize("item, expected", [
    ("1. https://a.example/x/.", (1, "https://a.example/x/", None, None, None)),
    ("2. <https://a.example/a b>", (2, "https://a.example/a%20b", None, None, None)),
    ("3. [Title of it](https://a.example/p?utm_source=x&id=3)",
     (3, "https://a.example/p?id=3", "Title of it", None, None)),
    ('[4]: https://a.example/y "A quoted title"', (4, "https://a.example/y", "A quoted title", None, None)),
    ("- A title — Example News — https://a.example/z",
     (1, "https://a.example/z", "A title", "Example News", None)),
    ("5. Working from home - WFH Research, accessed November 24, 2025, https://wfh.example/r",
     (5, "https://wfh.example/r", "Working from home", "WFH Research", "2025-11-24")),
    ("6. 資源エネルギー庁「エネルギー白書」 https://a.example/w （閲覧日 2025年3月1日）",
     (6, "https://a.example/w", "エネルギー白書", "資源エネルギー庁", "2025-03-01")),
    ("7. [https://h.example/model/DeepSeek R1 \\(January 2025\\)](https://h.example/model/DeepSeek R1 (January 2025))",
     (7, "https://h.example/model/DeepSeek%20R1%20(January%202025)", None, None, None)),
])
def test_source_list_shapes(item, expected):
    (found,) = sources_of(["Text.", "", item]).items
    assert (int(found.label), found.url, found.title, found.site, found.accessed) == expected


@pytest.mark.parametrize("heading", ["Works cited", "## Sources", "**References**", "参考文献",
                                     "Sources (accessed 2025-11-24)"])
def test_source_list_headings(heading):
    lines = ["Claim [1].", "", heading, "", "1. Title one", "   https://a.example/one", "2. Title two"]
    sources = sources_of(lines)
    assert [(i.label, i.url, i.title) for i in sources.items] == [
        ("1", "https://a.example/one", "Title one"), ("2", None, "Title two")]
    assert sources.lines == frozenset(range(3, 8))


def test_same_url_in_every_spelling_is_the_same_source():
    assert len({normalise_url(u) for u in (
        "https://www.Example.com/a/b/", "http://example.com/a/b", "https://example.com/a/b?utm_medium=x",
        "https://example.com/a/b#part")}) == 1
    assert repair_url("https://a.example/x y\\_z") == "https://a.example/x%20y_z"


# --- bare digits: converted only where a careful reader would take them for a citation ------

def bare_of(line: str, table: bool = False) -> list[tuple[str, tuple[int, ...], tuple[tuple[int, ...], ...]]]:
    """(form, certain reading, uncertain readings) of each marker, bare digits read."""
    masked = read_layout([line]).masked[0]
    context = Context(masked, KNOWN, 12, True, table)
    return [(m.form, tuple(map(int, m.labels)), tuple(tuple(map(int, r)) for r in m.readings))
            for m in scan_line(masked, 1, context)]


@pytest.mark.parametrize("line, expected", [
    ("…acts as an autonomous researcher.1", [("bare", (1,), ())]),
    ("…validates the synthesis.2 The next step", [("bare", (2,), ())]),
    ("…in 30% of the time.6", [("bare", (6,), ())]),
    ('…"the part nobody budgets for.".11 Two studies', [("bare", (11,), ())]),
    ("Two studies disagree on its cost.3, 4 A third", [("bare", (3, 4), ())]),
    ("…機会を提供している 1。", [("bare", (1,), ())]),
    ("…発生する 4。次の文が続く 5。", [("bare", (4,), ()), ("bare", (5,), ())]),
    ("…広がっている 3, 4。", [("bare", (3, 4), ())]),
    ("…である。7", [("bare", (7,), ())]),
    ("Retrofits in 2024.5 Analysts expect more.", [("bare", (), ((5,),))]),
    ("The ministry (OECD) 7 reported it.", [("bare", (), ((7,),))]),
    ("（メモリ1GB-3GB、実行時間10秒-60秒）5 を考慮すると", [("bare", (), ((5,),))]),
    ("…安定性が高いとされるため 9、QR生成ライブラリ側", [("bare", (), ((9,),))]),
    ("the synthesis 2.", [("bare", (), ((2,),))]),
    ("…growth.13 The next", [("bare", (), ((3,), (1, 3)))]),  # no 13 in the list: a stray ¹, or 1 and 3
])
def test_bare_digits(line, expected):
    assert bare_of(line) == expected


def test_bare_digits_at_the_end_of_a_table_cell_are_listed():
    assert bare_of("\t50–150 kW (per unit) 12", table=True) == [("bare", (), ((12,),))]
    assert bare_of("若桜鉄道 6", table=True) == [("bare", (), ((6,),))]


@pytest.mark.parametrize("line", [
    "Fig.2 shows it.", "No.3 in the chart.", "version 2.0 of the design", "Gemini 1.5 Pro is out.",
    "over 20 years, 500 units per day", "約 4 ポイント上回った", "主要な 20 の AI ベンチマーク",
    "2,439 に達し", "第 3。", "GPT-5 and GPT-4o", "It costs $5.", "It grew 10 倍。", "1 年間運営する",
    "1. A numbered line", "in 2025 it changed.", "e.g.1 is no marker", "rose to 15.", "3つ目は",
    "It was released in 2024.", "Windows 11.", "x = 5.",
])
def test_bare_digits_that_are_no_markers(line):
    assert bare_of(line) == []


def test_bare_digits_are_read_only_when_they_are_the_reports_own_form():
    known = frozenset({"1", "2"})
    assert [m.form for m in scan_markers(("Growth [1]. It rose.2",), [1], known, frozenset())] == ["bracket"]
    stray = scan_markers(("A value¹ first.", "Growth.1 It rose.2 And fell.1"), [1, 2], known, frozenset())
    assert [m.form for m in stray] == ["superscript", "bare", "bare", "bare"]  # one stray ¹ is no style
    bare = scan_markers(("Growth.1 It rose.2",), [1], known, frozenset())
    assert [m.form for m in bare] == ["bare", "bare"]
    assert scan_markers(("Growth.1 It rose.2",), [1], frozenset(), frozenset()) == []  # no list


@pytest.mark.parametrize("text, maths", [
    ("cost $x^{[2]}$ and $$2^{20}$$ end", ["$x^{[2]}$", "$$2^{20}$$"]),
    (r"note \(a_[1]\) and \[x \in [1, 5]\] end", [r"\(a_[1]\)", r"\[x \in [1, 5]\]"]),
    (r"escaped [\[1\]](#) stays", []),
    ("$5 and $10 are prices", []),
])
def test_maths_is_masked(text, maths):
    masked = text
    for span in maths:
        masked = masked.replace(span, " " * len(span))
    assert read_layout([text]).masked[0] == masked


# --- source lists: every shape, URLs kept whole ----------------------------------------------

@pytest.mark.parametrize("lines, expected", [
    (["Body 1。", "引用文献", "First, 2月 11, 2026にアクセス、 https://a.example/1", "Broken title `",
      "Third - Site, 2月 11, 2026にアクセス、 https://a.example/3"],
     [("1", "https://a.example/1", "First", "2026-02-11"), ("2", None, "Broken title `", None),
      ("3", "https://a.example/3", "Third", "2026-02-11")]),
    (["Body.1", "", "Works cited", "1. One - Site A, https://a.example/1 2. Two - Site B, "
      "https://a.example/2 3. Three, https://a.example/3.html"],
     [("1", "https://a.example/1", "One", None), ("2", "https://a.example/2", "Two", None),
      ("3", "https://a.example/3.html", "Three", None)]),
    (["Text[^1_1].", "", '<span style="display:none">[^1_2]</span>', "", "## References", "",
      "[^1_1]: https://a.example/Papers/Vindas et al. - 2023 - Tide gauges.pdf", "",
      "[^1_2]: https://b.example/note?os=Ubuntu_24.04\\&p=gps"],
     [("1_1", "https://a.example/Papers/Vindas%20et%20al.%20-%202023%20-%20Tide%20gauges.pdf", None, None),
      ("1_2", "https://b.example/note?os=Ubuntu_24.04&p=gps", None, None)]),
    (["Claim [1][2][3].", "", "## Works Cited", "1. One. https://a.example/1#:~:text=quoted%20words",
      "1. Two. Retrieved March 31, 2018 from https://a.example/2", "1. arXiv:2404.16696"],
     [("1", "https://a.example/1", "One", None), ("2", "https://a.example/2", "Two", "2018-03-31"),
      ("3", "https://arxiv.org/abs/2404.16696", None, None)]),
])
def test_source_list_forms(lines, expected):
    sources = sources_of(lines)
    assert [(i.label, i.url, i.title, i.accessed) for i in sources.items] == expected


def test_a_list_numbered_again_after_report_text_starts_a_second_report():
    lines = ["A。1", "引用文献", "One, https://a.example/1", "Second report", "Its text is long enough。1",
             "引用文献", "Two, https://a.example/2"]
    documents = parse_documents(lines, read_layout(lines), "r.txt", Diagnostics())
    assert [(d.start, d.end, [i.url for i in d.sources.items]) for d in documents] == [
        (1, 4, ["https://a.example/1"]), (4, 8, ["https://a.example/2"])]
    continued = ["A [1].", "", "Sources", "1. https://a.example/1", "", "More text [2].", "", "Sources",
                 "2. https://a.example/2"]  # numbered on: one report, one list
    (document,) = parse_documents(continued, read_layout(continued), "r.md", Diagnostics())
    assert [i.label for i in document.sources.items] == ["1", "2"]


@pytest.mark.parametrize("text, fields", [
    ('J. Rissanen, "Modeling by shortest data description," Automatica 14, 465–471 (1978)',
     {"author": "Rissanen, J.", "title": "Modeling by shortest data description", "journal": "Automatica",
      "volume": "14", "pages": "465--471", "year": "1978"}),
    ("Smith, J., & Doe, A. (2020). Scaling laws for everything. Journal of AI, 3(2), 1–9.",
     {"author": "Smith, J. and Doe, A.", "title": "Scaling laws for everything", "journal": "Journal of AI",
      "volume": "3", "number": "2", "pages": "1--9", "year": "2020"}),
    ("Konar, S., Cohen, M. Information as regulation. Journal of Environmental Economics, 32, "
     "109–124 (1997).",
     {"author": "Konar, S. and Cohen, M.", "title": "Information as regulation", "volume": "32",
      "journal": "Journal of Environmental Economics", "pages": "109--124", "year": "1997"}),
    ('A. Vaswani, N. Shazeer, and N. Parmar, "Attention is all you need," in Proc. NeurIPS, 2017, '
     "pp. 5998–6008.", {"author": "Vaswani, A. and Shazeer, N. and Parmar, N.", "booktitle": "Proc. NeurIPS",
                        "pages": "5998--6008", "year": "2017"}),
    ("Zhang, Y. et al. Long context scaling. arXiv:2404.16696 (2024).",
     {"author": "Zhang, Y. and others", "title": "Long context scaling", "eprint": "2404.16696",
      "year": "2024"}),
    ("山田太郎「生成AIの課題」『情報処理』65巻3号, pp. 12-20, 2024年.",
     {"author": "山田太郎", "title": "生成AIの課題", "journal": "情報処理", "volume": "65", "number": "3",
      "pages": "12--20", "year": "2024"}),
    ("Anton van Straaten. 2003. RE: What's so cool about Scheme?",
     {"author": "van Straaten, Anton", "title": "RE: What's so cool about Scheme?", "year": "2003"}),
])
def test_formatted_references_become_fields(text, fields):
    reference = parse_reference(text)
    assert {name: value for name, value in reference.fields if name in fields} == fields


@pytest.mark.parametrize("text", [
    "Working from home in 2025 - WFH Research", "Troubleshooting Build Error: “Serverless Function has "
    "exceeded the unzipped maximum size of 250 MB” - Vercel", "IEA, \"The Future of Heat Pumps\"",
    "Vercel Functions Limits", "Top 10 tools for 2025",
])
def test_page_titles_are_no_formatted_references(text):
    assert parse_reference(text) is None


@pytest.mark.parametrize("heading, slug", [
    ("Tổng quan thị trường", "tong-quan-thi-truong"), ("Straße der Röstereien", "strasse-der-rostereien"),
    ("Ελληνικός καφές", "ellinikos-kafes"), ("Google Gemini 3 による技術的パラダイムシフト", "google-gemini-3"),
    ("日本の喫茶店文化", ""), ("2.1. A first estimate", "first-estimate"), ("Part 1: Why apartments are different",
                                                                       "apartments-different"),
    ("第2章：需要の予測", ""), ("1\\. Executive Strategy", "executive-strategy"),
])
def test_section_slugs_are_readable(heading, slug):
    assert section_slug(heading) == slug


def plain_headings_of(text: str) -> list[tuple[int, int, str]]:
    """(line, level, text) of the headings a plain-text export's lines give."""
    lines = text.split("\n")
    layout = read_layout(lines)
    return [(h.line, h.level, h.text) for h in find_headings(lines, layout, range(1, len(lines) + 1),
                                                             frozenset(), set(), None)]


def test_plain_text_headings_by_structure():
    text = ("報告書の題名\n緒論：背景\n本文の段落は長く、文の終わりに句点がある。\n第2章：方法\n2.1 手順\n"
            "手順の説明も段落である。\nPython\nimport numpy as np\nx = np.zeros(3)\n方式\n温度\n用途\nNV中心\n"
            "常温\n\n結論\n結びの段落である。")
    assert plain_headings_of(text) == [(1, 1, "報告書の題名"), (2, 2, "緒論：背景"), (4, 2, "第2章：方法"),
                                       (5, 3, "2.1 手順"), (16, 2, "結論")]


def test_plain_text_headings_chained_like_the_seed():
    text = ("Report title\n\nSection one\n\nPart A\n\nSome text here.\n\nPart B\n\nMore text.\n\n"
            "Section two\n\nPart C\n\nText.")
    assert plain_headings_of(text) == [(1, 1, "Report title"), (3, 2, "Section one"), (5, 3, "Part A"),
                                       (9, 3, "Part B"), (13, 2, "Section two"), (15, 3, "Part C")]


def test_unfenced_code_under_a_label_is_fenced_and_never_a_heading(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.txt", "Title\n\nIntro text.1\n\nPython\n\n\nimport os\nprint(os.sep)\n\n"
                                  "After the code.2\n\nWorks cited\n1. A, https://a.example/1\n"
                                  "2. B, https://a.example/2\n")
    run_import(tmp_path, monkeypatch, capsys, "report.txt")
    (section,) = (tmp_path / "content/sections").glob("*.md")
    assert section.read_text("utf-8").endswith(
        "Intro text.[^a]\n\n```python\nimport os\nprint(os.sep)\n```\n\nAfter the code.[^a-2]\n")
    assert 'title = "Title"' in (tmp_path / "content/site.toml").read_text("utf-8")


def test_a_closed_pipe_is_no_traceback(tmp_path):
    write(tmp_path, "report.md", REPORT)
    reader, writer = os.pipe()
    os.close(reader)  # `import … | head` after head has gone
    try:
        done = subprocess.run([sys.executable, str(ROOT / "build.py"), "import", "report.md", "--lang", "en",
                               "--dry-run"], cwd=tmp_path, stdout=writer, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (0, "")


def test_sources_without_markers_warn_loudly(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", "A claim (1) in a form nobody knows.\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert (code, err) == (0, "report.md: warning: the report lists 2 sources but no citation marker was "
                              "found in it: its markers may be in a form the importer does not know; read the "
                              "section files before you publish [import.no-markers]\n")
    assert "  markers converted: 0 in 0 groups\n    none found, although the report lists sources: see the " \
           "warning above\n" in out


def test_each_report_of_a_file_cites_its_own_list():
    osaka = (FIXTURES / "two-reports/expected/sections/02-section-02.ja.md").read_text("utf-8")
    assert "「風の道」の計画が進められている[^example-wind]" in osaka  # its 1 is 風の道, not the first list's 1
    bib = (FIXTURES / "two-reports/expected/references.bib").read_text("utf-8")
    assert bib.count("url          = {https://road.example.jp/pavement}") == 1  # one page, one entry


# --- hostile input ----------------------------------------------------------------------------

LIST = "\n\n1. https://a.example/one\n2. https://a.example/two\n"


@pytest.mark.parametrize("name, data, status, messages", [
    ("empty", b"", 1, ["report.md: error: the report is empty; export it again [import.empty]"]),
    ("blank", b"\n  \n\n", 1, ["report.md: error: the report is empty; export it again [import.empty]"]),
    ("not-utf8", b"Caf\xe9 au lait [1].\n" + LIST.encode(), 1,
     ["report.md:1: error: this file is not UTF-8 (byte 0xe9); save it as UTF-8 [file.not-utf8]"]),
    ("duplicates", ("Claim [1].\n\n1. https://a.example/one\n1. https://a.example/other\n").encode(), 1,
     ["report.md:4:4: error: source number 1 is listed twice (first on line 3) with different text; "
      "renumber the list so each number names one source [import.duplicate-source]"]),
    ("no-source", ("Claim [3].\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "[3]" cites 3, which the source list does not have; left as written in '
      "content/sections/00-introduction.en.md: replace it with the [^key] you mean «Claim [3].» "
      "[import.missing-source]"]),
    ("huge-number", ("Claim [1000000000].\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "[1000000000]" cites 1000000000, which the source list does not have; '
      "left as written in content/sections/00-introduction.en.md: replace it with the [^key] you "
      "mean «Claim [1000000000].» [import.missing-source]"]),
    ("unbalanced", ("Claim ^{[1][2] and [1, 2\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "^{" is an unfinished or malformed marker (unbalanced brackets?); left as '
      "written in content/sections/00-introduction.en.md: replace it with the [^key] you mean "
      "«Claim ^{[1][2] and [1, 2» [import.malformed-marker]",
      'report.md:1:20: error: "[1, 2" is an unfinished or malformed marker (unbalanced brackets?); '
      "left as written in content/sections/00-introduction.en.md: replace it with the [^key] you "
      "mean «Claim ^{[1][2] and [1, 2» [import.malformed-marker]"]),
])
def test_hostile_input_gives_one_clear_line(name, data, status, messages, tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", data)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == status
    assert err.splitlines() == messages
    assert "Traceback" not in out + err
    if name in ("empty", "blank", "not-utf8", "duplicates"):
        assert not (tmp_path / "content").exists()


def test_five_megabyte_line(tmp_path, monkeypatch, capsys):
    line = "Lorem ipsum dolor sit amet, 2025 年の売上 [sic] は 5%. " * 100_000 + "[1]"
    write(tmp_path, "report.md", f"# Big\n\nIntro [2].\n\n## Part\n\n{line}\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0
    assert err == ("report.md:7:1: warning: line 7 is 5,000,003 characters long; an export breaks "
                   "paragraphs into lines, so check this is the report [import.long-line]\n")
    assert (tmp_path / "content/sections/01-part.en.md").read_text("utf-8").endswith(
        "[sic] は 5%.[^a-one]\n")


def test_missing_report_and_folder(tmp_path, monkeypatch, capsys):
    assert run_import(tmp_path, monkeypatch, capsys, "nope.md")[2] == \
        "nope.md: error: cannot read this file: No such file or directory [file.unreadable]\n"
    (tmp_path / "folder").mkdir()
    assert run_import(tmp_path, monkeypatch, capsys, "folder")[2] == \
        "folder: error: this is a folder; give the exported report file [import.not-a-file]\n"


def test_command_line_never_shows_a_traceback(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"bad \xff [1]\n")
    command = [sys.executable, str(ROOT / "build.py"), "import", "bad.txt", "--lang", "ja"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "bad.txt:1: error: this file is not UTF-8 (byte 0xff); save it as UTF-8 " \
                          "[file.not-utf8]\n"


def test_allow_unmapped_turns_errors_into_warnings(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", "Claim [3] and [1].\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", allow_unmapped=True)
    assert code == 0 and err.startswith('report.md:1:7: warning: "[3]" cites 3')
    assert "numbers cited but missing from the list: 3" in out
    assert "Claim [3] and[^a-one]." in (tmp_path / "content/sections/00-introduction.en.md").read_text()


# --- files: idempotence, files in the way, dry run, headings, pairing, merging --------------------

REPORT = "# Report\n\nIntro.[1]\n\n## Alpha\n\nText.[2]\n\n## Beta\n\nMore.[1][2]\n" + LIST


def test_second_import_changes_nothing(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    assert run_import(tmp_path, monkeypatch, capsys, "report.md")[0] == 0
    files = [p for p in (tmp_path / "content").rglob("*") if p.is_file()]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0 and err == ""
    assert "  files: wrote 0, 3 unchanged\n" in out
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}


def test_sources_without_url_become_misc_entries_once(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", "Claim.[^1] Another.[^2]\n\n[^1]: Sato, K. *Tides of Change*. "
                                 "Iwanami, 2019.\n[^2]: https://a.example/two\n")
    assert run_import(tmp_path, monkeypatch, capsys, "report.md")[0] == 0
    bib = (tmp_path / "content/references.bib").read_text()
    assert "@book{sato-2019-tides-change,\n  author       = {Sato, K.},\n" \
           "  title        = {Tides of Change},\n" \
           "  publisher    = {Iwanami},\n  date         = {2019},\n}\n" in bib
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert "files: wrote 0" in out and (tmp_path / "content/references.bib").read_text() == bib


def test_files_in_the_way_stop_the_import_unless_forced(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    run_import(tmp_path, monkeypatch, capsys, "report.md")
    edited = tmp_path / "content/sections/01-alpha.en.md"
    edited.write_text("---\ntitle: Mine\n---\n\nMy text.\n")
    (tmp_path / "content/sections/02-other.en.md").write_text("---\ntitle: Other\n---\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 1 and out == ""
    assert err == ("content/sections: error: these section files are in the way: "
                   "content/sections/01-alpha.en.md, content/sections/02-other.en.md; move them, or "
                   "run again with --force to replace them [import.in-the-way]\n")
    assert edited.read_text() == "---\ntitle: Mine\n---\n\nMy text.\n"
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", force=True)
    assert code == 0 and "Text.[^a-two]" in edited.read_text()
    assert sorted(p.name for p in (tmp_path / "content/sections").iterdir()) == [
        "00-introduction.en.md", "01-alpha.en.md", "02-beta.en.md"]


def test_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", dry_run=True)
    assert code == 0 and not (tmp_path / "content").exists()
    assert out.splitlines()[:3] == ["Imported report.md (en) into content (dry run)",
                                    "  files: would write 5, 0 unchanged",
                                    "    content/sections/00-introduction.en.md"]


def test_headings_file_names_the_sections(tmp_path, monkeypatch, capsys):
    shutil.copy(FIXTURES / "deep-research-plain" / "report.txt", tmp_path / "report.txt")
    write(tmp_path, "headings.tsv", "companies\t主要企業の動向\nerror-correction\t誤り訂正と日本の取り組み\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja",
                                headings=Path("headings.tsv"))
    assert code == 0 and err == ""
    assert sorted(p.name for p in (tmp_path / "content/sections").iterdir()) == [
        "00-introduction.ja.md", "01-companies.ja.md", "02-error-correction.ja.md"]
    write(tmp_path, "bad.tsv", "Companies\t主要企業の動向\nlater\tNo such heading\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja", headings=Path("bad.tsv"))
    assert code == 1 and err.splitlines() == [
        'bad.tsv:1:1: error: slug "Companies" must be lowercase ASCII letters, digits and hyphens '
        "[import.headings-file]"]


def test_english_import_pairs_with_japanese_files_by_order(tmp_path, monkeypatch, capsys):
    shutil.copy(FIXTURES / "deep-research-plain" / "report.txt", tmp_path / "report.txt")
    run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja")
    site_toml = (tmp_path / "content/site.toml").read_bytes()
    write(tmp_path, "report.en.md", "# Quantum\n\nIntro.[1]\n\n## Companies\n\nIBM.[3]\n" + LIST.replace(
        "two", "two\n3. https://www.nature.com/articles/s41586-024-08449-y"))
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.en.md", "en")
    assert code == 0
    assert err == ("content/sections: warning: the report has 2 sections and sections/ has 3 in another "
                   "language; they are paired by order, so check the pairs [import.count-mismatch]\n")
    assert sorted(p.name for p in (tmp_path / "content/sections").glob("*.en.md")) == [
        "00-introduction.en.md", "01-section-01.en.md"]
    assert "IBM.[^nature-s41586-024]" in (tmp_path / "content/sections/01-section-01.en.md").read_text()
    toml = (tmp_path / "content/site.toml").read_bytes()
    assert toml.startswith(site_toml) and toml[len(site_toml):] == (
        b'\n[languages.en]\ntitle = "Quantum"\ndescription = "Intro."\n')


def test_pairing_skips_an_introduction_the_other_report_lacks(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    run_import(tmp_path, monkeypatch, capsys, "report.md")
    write(tmp_path, "bericht.md", "## Alpha\n\nText.[1]\n\n## Beta\n\nMore.[2]\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "bericht.md", "ja")
    assert "content/sections/01-alpha.ja.md" in out and "content/sections/02-beta.ja.md" in out
    assert "00-introduction.ja.md" not in out


def test_merge_keeps_existing_keys_and_bytes(tmp_path, monkeypatch, capsys):
    (tmp_path / "content").mkdir()
    old = b"% mine\r\n@online{kept-key,\r\n  title = {One},\r\n  url = {http://A.example/one/},\r\n}"
    (tmp_path / "content/references.bib").write_bytes(old)
    write(tmp_path, "report.md", "Claim [1][2].\n\n1. https://a.example/one?utm_source=x\n"
                                 "2. [Second source](https://a.example/two)\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0
    bib = (tmp_path / "content/references.bib").read_bytes()
    added = b"\n\n% Added by `python build.py import` from report.md.\n\n"
    assert bib == old + added + b"@online{a-second-source,\n  title        = {Second source},\n" \
                        b"  organization = {a.example},\n  url          = {https://a.example/two},\n}\n"
    section = tmp_path / "content/sections/00-introduction.en.md"
    assert "Claim[^kept-key][^a-second-source]." in section.read_text()


def test_fetch_titles_uses_a_cache_and_notes_failures(tmp_path, monkeypatch, capsys):
    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/ok":
                body = "<html><head><title> A fetched &amp; real title </title></head></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    write(tmp_path, "report.md", f"Claim [1][2].\n\n1. {base}/ok\n2. {base}/missing\n")
    try:
        code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", fetch_titles=True)
    finally:
        server.shutdown()
    assert code == 0
    assert err == (f"report.md:4:4: note: could not fetch the title of {base}/missing: Not Found; its "
                   "title is derived from the URL [import.fetch-failed]\n")
    bib = (tmp_path / "content/references.bib").read_text()
    assert "title        = {A fetched & real title}," in bib and bib.count("verify") == 1
    cache = (tmp_path / "content/fetched-titles.json").read_text()
    assert "A fetched & real title" in cache
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", fetch_titles=True)
    assert "files: wrote 0" in out


# --- the round trip and the seed ------------------------------------------------------------------

def build_py(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` in `cwd`."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_round_trip_import_build_check(tmp_path):
    fixture = FIXTURES / "deep-research-plain"
    ja = build_py("import", str(fixture / "report.txt"), "--lang", "ja", "--headings",
                  str(fixture / "headings.tsv"), cwd=tmp_path)
    en = build_py("import", str(fixture / "report.en.md"), "--lang", "en", cwd=tmp_path)
    assert (ja.returncode, ja.stderr, en.returncode, en.stderr) == (0, "", 0, "")
    built = build_py("build", "--out", "site", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site/en/companies/index.html").is_file()
    checked = build_py("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.endswith("check: 0 error(s), 0 warning(s)\n")


def seed_urls() -> list[str]:
    """The seed's 96 source URLs as a reader would type them (spaces as %20)."""
    urls = []
    for line in SEED.read_text("utf-8").splitlines()[288:]:
        if match := re.match(r"\d+\. (?:<(.+)>|\[.*\]\((.+)\)|(\S+))$", line):
            url = (match[1] or match[2] or match[3]).replace(" ", "%20")
            urls.append(url)
    return urls


def test_seed_import_lists_every_uncertain_marker_and_builds(tmp_path, monkeypatch, capsys):
    code, out, err = run_import(tmp_path, monkeypatch, capsys, str(SEED), "ja", content="x")
    assert code == 1
    listed = [re.match(r".*?:(\d+):\d+: error: \"(.*?)\": .* \[import\.ambiguous-marker\]$", line)
              for line in err.splitlines()]
    assert all(listed) and {int(m[1]) for m in listed} == EDITING_AMBIGUOUS_LINES
    for match in listed:  # each listing offers content/EDITING.md's reading (④ was decided by content)
        offered = re.search(r"can be read as (.*?)(?: \(or \d+ other ways.*)?; left as written", match[0])[1]
        readings = {tuple(map(int, re.findall(r"\d+", re.sub(r"\[\^[^\]]+\]", "", part))))
                    for part in offered.split(" or as ")}
        assert match[2] == "④" or EDITING_DECISIONS[match[2]] in readings, match[0]
    assert "  markers converted: 91 in 64 groups\n" in out
    assert "  markers left as written: 29, listed above" in out
    bib = (tmp_path / "x/references.bib").read_text("utf-8")
    assert re.findall(r"^  url +\= \{(.*)\},$", bib, re.MULTILINE) == seed_urls()
    assert len(seed_urls()) == 96
    built = build_py("build", "--content", "x", "--out", "site", cwd=tmp_path)
    assert built.returncode == 0, built.stderr


def test_seed_conversions_agree_with_editing_md(tmp_path, monkeypatch, capsys):
    (tmp_path / "x").mkdir()
    shutil.copy(ROOT / "content/references.bib", tmp_path / "x/references.bib")
    run_import(tmp_path, monkeypatch, capsys, str(SEED), "ja", content="x")
    # The flagship's entries were edited after the import (titles confirmed, fields added):
    # the import must still leave every key with its URL, in the seed's order.
    def keys_and_urls(path: Path) -> list[tuple[str, str]]:
        text = path.read_text("utf-8")
        return re.findall(r"^@\w+\{([^,]+),(?:.|\n)*?^  url +\= \{(.*)\},$", text, re.MULTILINE)
    assert keys_and_urls(tmp_path / "x/references.bib") == keys_and_urls(ROOT / "content/references.bib")
    assert len(keys_and_urls(ROOT / "content/references.bib")) == 96
    keys = [line.split("\t")[1] for line in (ROOT / "content/sources.tsv").read_text().splitlines()]
    pattern = re.compile(r"\[\^([^\]]+)\]|" + "|".join(map(re.escape, EDITING_DECISIONS)))

    def cited(text: str) -> list[str]:  # citations only: an editor's note ([^ed-x] + [^ed-x]: …) is none
        notes = set(re.findall(r"^\[\^([^\]]+)\]:", text, re.MULTILINE))
        return [key for m in pattern.finditer(text) if m[1] not in notes
                for key in ([m[1]] if m[1] else [keys[n - 1] for n in EDITING_DECISIONS[m[0]]])]
    imported = sorted((tmp_path / "x/sections").glob("*.ja.md"))
    flagship = sorted((ROOT / "content/sections").glob("*.ja.md"))
    assert len(imported) == len(flagship) == 11
    for ours, theirs in zip(imported, flagship):
        assert cited(ours.read_text("utf-8")) == cited(theirs.read_text("utf-8")), ours.name


def test_headings_file_naming_a_missing_heading(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    write(tmp_path, "headings.tsv", "alpha\tAlpha\ngamma\tGamma\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", headings=Path("headings.tsv"))
    assert (code, out) == (1, "") and not (tmp_path / "content").exists()
    assert err == 'headings.tsv: error: heading "Gamma" is not in the report; copy it exactly ' \
                  "[import.heading-not-found]\n"
