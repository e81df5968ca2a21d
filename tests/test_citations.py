"""The citation scanner, groups and compression, diagnostics, and numbering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, SITE_TOML
from kakehashi.bibliography import load_bibliography
from kakehashi.citations import compress, resolve_citations, scan_citations
from kakehashi.config import load_config
from kakehashi.content import load_report
from kakehashi.diagnostics import Diagnostics
from kakehashi.markdown_ext import make_markdown, render_markdown
from kakehashi.site import BuildOptions, build

CITE_POP = re.compile(r'<span class="cite-pop"[^>]*>.*?(?=</sup>)')  # the popover ends the group
CITE_SUP = re.compile(r'<sup class="cite" id="[^"]*">(.*?)</sup>')
TAG = re.compile(r"<[^>]+>")


def section_file(body: str, title: str = "試験") -> str:
    """A section file: three lines of front matter, a blank line, then `body` from line 5."""
    return f'---\ntitle: "{title}"\n---\n\n{body}'


def load(content: Path):
    """(config, report, bibliography, diagnostics) of a content folder."""
    diag = Diagnostics()
    config = load_config(content / "site.toml", diag)
    report = load_report(content, config, diag)
    bibliography = load_bibliography(config.bibliography_path, diag)
    return config, report, bibliography, diag


def scan(content: Path, slug: str, language: str = "ja") -> tuple[list[tuple], Diagnostics]:
    """The scanner's refs of one section as (line, col, label, group), and its diagnostics."""
    _, report, _, _ = load(content)
    diag = Diagnostics()
    refs = scan_citations(report.section(slug, language), diag)
    return [(ref.line, ref.col, ref.label, ref.group) for ref in refs], diag


def build_in_process(content: Path, tmp_path: Path):
    """Every stage up to rendering, in this process: (site, diagnostics)."""
    result = build(BuildOptions(content, tmp_path / "out"), write=False)
    return result.site, result.diagnostics


def cite_labels(html: str) -> list[str]:
    """The visible text of each citation group: `[1–3]`, `[1, 4]`…"""
    return [TAG.sub("", match) for match in CITE_SUP.findall(CITE_POP.sub("", html))]


def lines(diag: Diagnostics) -> list[str]:
    return [item.format() for item in diag.sorted()]


# --- the scanner -----------------------------------------------------------------------


def test_scanner_positions_count_front_matter_and_characters(project):
    content = project({"sections/03-conclusion.ja.md": section_file(
        "日本語の文です。[^altman-memo]\n\n"
        "次の段落[^yamada-2025][^smith-2024]、そして[@google-gemini-3; @xpert-shallotpeat]。\n")})
    refs, diag = scan(content, "conclusion")
    assert refs == [
        (5, 9, "altman-memo", 0),
        (7, 5, "yamada-2025", 1),
        (7, 19, "smith-2024", 1),
        (7, 36, "google-gemini-3", 2),
        (7, 36, "xpert-shallotpeat", 2),
    ]
    assert diag.items == []


def test_scanner_positions_with_longer_front_matter(project):
    content = project({"sections/03-conclusion.ja.md":
                       '---\ntitle: "結論"\nsummary: "要約"\ndraft: false\n---\n'
                       "\n\n一行目\n　全角空白の後[^doe-2023]\n"})
    refs, _ = scan(content, "conclusion")
    assert refs == [(9, 8, "doe-2023", 0)]


def test_footnote_with_definition_stays_a_footnote(project):
    content = project({"sections/03-conclusion.en.md": section_file(
        "Text[^note][^altman-memo] and[^altman-memo][^note].\n\n[^note]: A local note.\n",
        "Conclusion")})
    refs, diag = scan(content, "conclusion", "en")
    assert refs == [(5, 12, "altman-memo", 0), (5, 30, "altman-memo", 1)]
    assert diag.items == []


def test_citations_in_code_and_comments_are_not_counted(project):
    content = project({"sections/03-conclusion.en.md": section_file(
        "Inline `[^no-such-key]` and ``[@no-such-key]`` code.\n\n"
        "```\n[^fenced-key]\n```\n\n"
        "~~~ text\n[@tilde-key]\n~~~\n\n"
        "<!-- [^commented-key] -->\n\n"
        "Real.[^doe-2023]\n", "Conclusion")})
    refs, diag = scan(content, "conclusion", "en")
    assert refs == [(17, 6, "doe-2023", 0)]
    assert diag.items == []


def test_citation_in_indented_code_block_is_not_counted(project, tmp_path, monkeypatch):
    """Four-space indented text is a code block to Markdown; the scanner must agree."""
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(
        "Paragraph.\n\n    code [^no-such-key]\n\nReal.[^doe-2023]\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    assert "<code>code [^no-such-key]\n</code>" in site.rendered["conclusion", "en"].html


def test_escaped_bracket_is_not_a_citation(project, tmp_path, monkeypatch):
    r"""`\[^x]` is literal text to Markdown; the scanner must not report it either."""
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(
        "Literal \\[^no-such-key] here.[^doe-2023]\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    assert "Literal [^no-such-key] here." in site.rendered["conclusion", "en"].html


# --- groups and compression ---------------------------------------------------------------


def test_compress():
    assert compress([1, 2, 3]) == [(1, 3)]
    assert compress([4, 1]) == [(1, 1), (4, 4)]
    assert compress([3, 1, 2, 2, 6, 5]) == [(1, 3), (5, 6)]
    assert compress([]) == []


def test_group_rendering_exact_html(project, tmp_path):
    """Two consecutive numbers: `[3, 4]`, one superscript, each number its own link."""
    content = project({"sections/03-conclusion.en.md": section_file(
        "Both.[^smith-2024][^google-gemini-3]\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert diag.errors == []
    assert site.rendered["conclusion", "en"].html == (
        '<p>Both.<sup class="cite" id="cite-1">[<a aria-describedby="cite-1-pop" '
        'href="../bibliography/#ref-smith-2024">3</a>, <a aria-describedby="cite-1-pop" '
        'href="../bibliography/#ref-google-gemini-3">4</a>]<span class="cite-pop" '
        'id="cite-1-pop" role="tooltip"><span class="cite-pop-item"><a href="../bibliography/#ref-smith-2024">[3]</a> Jane Smith and '
        "John Doe. “Scaling Laws for Neural Language Models: A Review”. <em>Journal of AI "
        "Research</em>, vol. 12, no. 3, pp. 1–20, March 2024.</span>"
        '<span class="cite-pop-item"><a href="../bibliography/#ref-google-gemini-3">[4]</a> Google DeepMind. “A new era of intelligence '
        "with Gemini 3”. 18 November 2025. https://blog.google/products/gemini/gemini-3/ "
        "(Accessed 24 November 2025, archived copy).</span></span></sup></p>"
    )


@pytest.mark.parametrize("body, expected", [
    ("x[^altman-memo][^yamada-2025][^smith-2024]", ["[1–3]"]),
    ("x[^smith-2024][^altman-memo][^yamada-2025]", ["[1–3]"]),
    ("x[^altman-memo][^google-gemini-3]", ["[1, 4]"]),
    ("x[^altman-memo][^yamada-2025]", ["[1, 2]"]),
    ("x[^altman-memo][^yamada-2025][^smith-2024][^xpert-shallotpeat][^doe-2023]", ["[1–3, 5, 6]"]),
    ("x[^altman-memo][^altman-memo]", ["[1]"]),
    ("x[^altman-memo] [^yamada-2025]", ["[1]", "[2]"]),
    ("x[@altman-memo; @yamada-2025; @smith-2024]", ["[1–3]"]),
    ("x[@google-gemini-3]", ["[4]"]),
    ("x[@smith-2024;@doe-2023]", ["[3, 6]"]),
    ("x[^altman-memo][@yamada-2025]", ["[1, 2]"]),
])
def test_group_numbers(project, tmp_path, body, expected):
    content = project({"sections/03-conclusion.en.md": section_file(body + "\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert diag.errors == []
    assert cite_labels(site.rendered["conclusion", "en"].html) == expected


def test_footnote_beside_citation_renders_both(project, tmp_path):
    content = project({"sections/03-conclusion.en.md": section_file(
        "Text[^altman-memo][^note].\n\n[^note]: A local note.\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert diag.items == []
    html = site.rendered["conclusion", "en"].html
    assert cite_labels(html) == ["[1]"]
    assert ('</sup><sup id="fnref:note"><a class="footnote-ref" href="#fn:note">note\u00a01</a>'
            '</sup>.') in html
    assert '<li id="fn:note">\n<p>A local note.' in html


# --- diagnostics -----------------------------------------------------------------------------


def test_unknown_key_exact_diagnostic(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/02-x.ja.md": section_file(
        "\n\n一行目です。[^altman-mmo]\n", "X"),
        "sections/02-x.en.md": section_file("Fine.[^altman-memo]\n", "X"),
        "sections/02-gemini.ja.md": None, "sections/02-gemini.en.md": None})
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/02-x.ja.md:7:7: error: unknown citation key "altman-mmo"; '
        'did you mean "altman-memo"? [citation.unknown-key]',
    ]


def test_unknown_key_in_the_middle_of_a_line(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/02-x.ja.md": section_file(
        "\n\n一行目の文章[^altman-memo][^altman-mmo]\n", "X"),
        "sections/02-x.en.md": section_file("Fine.[^altman-memo]\n", "X"),
        "sections/02-gemini.ja.md": None, "sections/02-gemini.en.md": None})
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/02-x.ja.md:7:21: error: unknown citation key "altman-mmo"; '
        'did you mean "altman-memo"? [citation.unknown-key]',
    ]


def test_unknown_key_without_close_match(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(
        "Text[^zzzzzz].\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/03-conclusion.en.md:5:5: error: unknown citation key "zzzzzz"; add '
        "it to the bibliography or define a footnote [^label]: … [citation.unknown-key]",
    ]
    assert '<span class="cite-error">[^zzzzzz]</span>' in site.rendered["conclusion", "en"].html


def test_key_in_another_case_warns_and_resolves(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(
        "Text[^Altman-Memo].\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/03-conclusion.en.md:5:5: warning: citation key "Altman-Memo" is '
        'written "altman-memo" in the bibliography; use that spelling [citation.key-case]',
    ]
    assert cite_labels(site.rendered["conclusion", "en"].html) == ["[1]"]


@pytest.mark.parametrize("written, message, code", [
    ("[^]", "empty citation [^]; write the BibTeX key, as in [^smith2020]", "citation.empty"),
    ("[@]", "malformed citation [@]; write [@key], [@key1; @key2] or [see @key, p. 12]", "citation.malformed"),
    ("[@altman-memo;]", "malformed citation [@altman-memo;]; write [@key], [@key1; @key2] or [see @key, p. 12]",
     "citation.malformed"),
    ("[@altman-memo; yamada-2025]", "malformed citation [@altman-memo; yamada-2025]; write "
     "[@key], [@key1; @key2] or [see @key, p. 12]", "citation.malformed"),
])
def test_empty_and_malformed_citations(project, tmp_path, monkeypatch, written, message, code):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.ja.md": section_file(
        f"計画は続く。{written}\n", "結論")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [f"content/sections/03-conclusion.ja.md:5:7: error: {message} [{code}]"]
    assert diag.failed()


def test_every_problem_is_reported(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.ja.md": section_file(
        "一[^altman-mmo]\n二[^]\n三[@]\n四[^Doe-2023]\n", "結論")})
    _, diag = build_in_process(content, tmp_path)
    path = "content/sections/03-conclusion.ja.md"
    assert [(d.path, d.line, d.col, d.severity, d.code) for d in diag.sorted()] == [
        (path, 5, 2, "error", "citation.unknown-key"),
        (path, 6, 2, "error", "citation.empty"),
        (path, 7, 2, "error", "citation.malformed"),
        (path, 8, 2, "warning", "citation.key-case"),
    ]


# --- numbering ---------------------------------------------------------------------------------


def test_numbering_follows_the_bibliography(project):
    config, report, bibliography, diag = load(project())
    index = resolve_citations(report, bibliography, config, diag)
    assert index.numbers == {"altman-memo": 1, "yamada-2025": 2, "smith-2024": 3,
                             "google-gemini-3": 4, "xpert-shallotpeat": 5, "doe-2023": 6}
    assert diag.items == []


def first_cited_project(project):
    return project({
        "site.toml": SITE_TOML.replace('"bibliography"\n', '"first-cited"\n'),
        "sections/01-memo-leak.ja.md": section_file("一[^doe-2023]、二[^smith-2024][^doe-2023]\n"),
        "sections/01-memo-leak.en.md": section_file("One[^google-gemini-3][^smith-2024]\n"),
        "sections/02-gemini.ja.md": section_file("三[@yamada-2025]\n"),
        "sections/02-gemini.en.md": section_file("Three[@yamada-2025; @doe-2023]\n"),
        "sections/03-conclusion.ja.md": section_file("四\n"),
        "sections/03-conclusion.en.md": section_file("Four[^xpert-shallotpeat]\n"),
    })


def test_numbering_first_cited_in_default_language_reading_order(project):
    config, report, bibliography, diag = load(first_cited_project(project))
    assert config.citation_numbering == "first-cited"
    index = resolve_citations(report, bibliography, config, diag)
    assert index.cited[:3] == ("doe-2023", "smith-2024", "yamada-2025")
    assert index.numbers == {"doe-2023": 1, "smith-2024": 2, "yamada-2025": 3,
                             "google-gemini-3": 4, "xpert-shallotpeat": 5, "altman-memo": 6}


def test_first_cited_numbers_are_rendered(project, tmp_path):
    site, diag = build_in_process(first_cited_project(project), tmp_path)
    assert diag.items == []
    assert cite_labels(site.rendered["memo-leak", "ja"].html) == ["[1]", "[1, 2]"]
    assert cite_labels(site.rendered["memo-leak", "en"].html) == ["[2, 4]"]
    assert cite_labels(site.rendered["gemini", "en"].html) == ["[1, 3]"]


def test_same_numbers_in_both_languages(project, tmp_path):
    site, diag = build_in_process(project(), tmp_path)
    assert diag.items == []
    for slug in site.report.slugs:
        assert cite_labels(site.rendered[slug, "ja"].html) == \
            cite_labels(site.rendered[slug, "en"].html), slug
    assert cite_labels(site.rendered["memo-leak", "ja"].html) == ["[1–3]", "[1, 4]"]
    assert cite_labels(site.rendered["gemini", "en"].html) == ["[4, 5]", "[3]"]
    for key in site.index.numbers:
        assert site.entries["ja"][key].number == site.entries["en"][key].number


# --- the scanner and the Markdown extension agree ---------------------------------------------


def scanner_groups(section, index) -> list[list[str]]:
    """Resolved keys per group, as the scanner sees them."""
    groups: dict[int, list[str]] = {}
    for ref in scan_citations(section, Diagnostics()):
        key = index.key(ref.label)
        if key is not None:
            groups.setdefault(ref.group, [])
            if key not in groups[ref.group]:
                groups[ref.group].append(key)
    return list(groups.values())


def extension_groups(section, index, entries) -> list[list[str]]:
    """Resolved keys per group, as the Markdown extension sees them, in reading order."""
    converter = make_markdown(index, section.language)
    html = render_markdown(section, converter, entries).html
    groups = converter[1].group_keys
    return [list(groups[anchor]) for anchor in re.findall(r'<sup class="cite" id="([^"]+)"', html)]


def test_citation_anchors_are_numbered_in_reading_order(project, tmp_path):
    """`cite-N` is the Nth group on the page, also when lists come between paragraphs."""
    content = project({"sections/03-conclusion.en.md": section_file(
        "One[^altman-memo].\n\n- two[^yamada-2025]\n- three[^smith-2024]\n\nFour[^doe-2023].\n",
        "Conclusion")})
    site, _ = build_in_process(content, tmp_path)
    html = site.rendered["conclusion", "en"].html
    assert re.findall(r'<sup class="cite" id="([^"]+)"', html) == [
        "cite-1", "cite-2", "cite-3", "cite-4"]


def assert_scanner_matches_extension(site) -> int:
    count = 0
    for section in site.report.sections:
        entries = site.entries[section.language]
        scanned = scanner_groups(section, site.index)
        rendered = extension_groups(section, site.index, entries)
        assert scanned == rendered, section.path.name
        count += sum(map(len, scanned))
    return count


def test_scanner_and_extension_agree_on_the_real_content(tmp_path):
    site, diag = build_in_process(ROOT / "content", tmp_path)
    assert diag.errors == []
    assert len(site.report.sections) >= 2
    assert assert_scanner_matches_extension(site) > 100


@pytest.mark.parametrize("body", [
    "Plain[^altman-memo] and[@yamada-2025; @smith-2024].\n",
    "Code `[^altman-memo]` and ``[^yamada-2025]``.[^smith-2024]\n",
    "```\n[^altman-memo]\n```\n\nAfter.[^doe-2023]\n",
    "Note[^n][^altman-memo] and[^altman-memo][^n].\n\n[^n]: See[^yamada-2025].\n",
    "- item[^altman-memo]\n- item[^yamada-2025][^smith-2024]\n\n> quote[^doe-2023]\n",
    "| a | b |\n| - | - |\n| x[^altman-memo] | y[@doe-2023] |\n",
    "Paragraph.\n\n    indented [^altman-memo]\n\nAfter.[^doe-2023]\n",
    "Escaped \\[^altman-memo] text.[^doe-2023]\n",
    "<div>\n[^altman-memo]\n</div>\n\nAfter.[^doe-2023]\n",
    # a definition Markdown does not see (raw HTML, a comment, code) defines nothing
    "Cited[^doe-2023].\n\n<div>\n[^doe-2023]: not a definition\n</div>\n",
    "Cited[^doe-2023].\n\n<!--\n[^doe-2023]: not a definition\n-->\n",
    "Cited[^doe-2023].\n\n```\n[^doe-2023]: not a definition\n```\n",
    "Cited[^altman-memo] <!-- [^doe-2023] --> and `[^smith-2024]`.[^yamada-2025]\n",
    "> quoted[^altman-memo]\n>\n> > nested[^doe-2023]\n\n1. one[@smith-2024]\n   - two[^yamada-2025]\n",
    "Brackets [x] [^altman-memo] [link](https://example.org/[^doe-2023]) after.\n",
    "Text[^altman-memo][^doe-2023] (a[^smith-2024])\n\n  Indented two spaces[^yamada-2025].\n",
])
def test_scanner_and_extension_agree_on_tricky_markdown(project, tmp_path, body):
    content = project({"sections/03-conclusion.en.md": section_file(body, "Conclusion")})
    site, _ = build_in_process(content, tmp_path)
    assert assert_scanner_matches_extension(site) > 0
