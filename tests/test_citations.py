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
    return [list(groups[anchor]) for anchor in re.findall(r'class="cite[ "][^>]*id="([^"]+)"', html)]


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
        # a table's caption comes before its cells in the page, after them in the source
        assert sorted(scanned) == sorted(rendered), section.path.name
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
    # issue 11: pandoc's forms, maths, figures, tables, callouts, cross-references
    "See [see @altman-memo, p. 3; also @doe-2023, ch. 2] and [-@smith-2024].\n",
    "As @doe-2023 [p. 12] and @smith-2024 say, and [^yamada-2025, p. 4][^altman-memo].\n",
    "Mail info@example.com, \\@handle, https://x.org/@me and [a@b.org] plus @doe-2023.\n",
    "Maths $[@altman-memo]$ and $$x^{[^doe-2023]}$$ and $5 and $10[@smith-2024].\n",
    "これについては@doe-2023が論じ、[@yamada-2025, 12頁]も参照。\n",
    "![Growth [@doe-2023]](https://example.org/x.png){#fig-x}\n\nSee @fig-x.[@altman-memo]\n",
    "| a | b |\n| - | - |\n| 1[@doe-2023] | 2 |\n\n: Costs [@smith-2024] {#tbl-c}\n\n@tbl-c[^altman-memo]\n",
    "::: {.callout-note}\nInside[@doe-2023].\n\n- item @smith-2024\n:::\n\nAfter[^altman-memo].\n",
    "## Head {#sec-h}\n\nSee @sec-h and [-@sec-h] near @doe-2023.\n",
    "`@doe-2023` and ```[see @smith-2024]``` in code; real @altman-memo.\n",
])
def test_scanner_and_extension_agree_on_tricky_markdown(project, tmp_path, body):
    content = project({"sections/03-conclusion.en.md": section_file(body, "Conclusion")})
    site, _ = build_in_process(content, tmp_path)
    assert assert_scanner_matches_extension(site) > 0


# --- pandoc's full syntax: locators, prefixes, narrative, [-@key] ------------------------------

SPAN_TAG = re.compile(r"<span\b|</span>")


def without_popovers(html: str) -> str:
    """The HTML with each citation popover (a balanced `<span class="cite-pop">`) as "…"."""
    while (start := html.find('<span class="cite-pop"')) >= 0:
        depth = 0
        for tag in SPAN_TAG.finditer(html, start):
            depth += 1 if tag[0] == "<span" else -1
            if depth == 0:
                html = html[:start] + "…" + html[tag.end():]
                break
    return html


def rendered(project, tmp_path, body: str, language: str = "en", files: dict | None = None):
    """The rendered section 03 (popovers cut out) and the build's diagnostic lines."""
    name = f"sections/03-conclusion.{language}.md"
    content = project({name: section_file(body, "Conclusion"), **(files or {})})
    site, diag = build_in_process(content, tmp_path)
    return without_popovers(site.rendered["conclusion", language].html), lines(diag)


@pytest.mark.parametrize("body, expected", [
    ("x[@smith-2024, p. 12]", '<sup class="cite" id="cite-1">[<a aria-describedby="cite-1-pop" '
     'href="../bibliography/#ref-smith-2024">3</a>, p.\u00a012]…</sup>'),
    ("x[@smith-2024, pp. 3-5; @doe-2023, ch. 2]", '<sup class="cite" id="cite-1">[<a '
     'aria-describedby="cite-1-pop" href="../bibliography/#ref-smith-2024">3</a>, pp.\u00a03–5; '
     '<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>, ch.\u00a02]…</sup>'),
    ("x[see @smith-2024, p. 3; also @doe-2023]", '<sup class="cite" id="cite-1">[see <a '
     'aria-describedby="cite-1-pop" href="../bibliography/#ref-smith-2024">3</a>, p.\u00a03; also '
     '<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>]…</sup>'),
    ("x[@doe-2023, p. 33, emphasis added]", '<sup class="cite" id="cite-1">[<a aria-describedby='
     '"cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>, p.\u00a033, emphasis added]…</sup>'),
    ("x[-@doe-2023]", '<sup class="cite" id="cite-1">[<a aria-describedby="cite-1-pop" '
     'href="../bibliography/#ref-doe-2023">6</a>]…</sup>'),
    ("x[^doe-2023, p. 7]", '<sup class="cite" id="cite-1">[<a aria-describedby="cite-1-pop" '
     'href="../bibliography/#ref-doe-2023">6</a>, p.\u00a07]…</sup>'),
    ("x[^doe-2023, 第2章][^smith-2024]", '<sup class="cite" id="cite-1">[<a aria-describedby='
     '"cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>, ch.\u00a02; <a aria-describedby='
     '"cite-1-pop" href="../bibliography/#ref-smith-2024">3</a>]…</sup>'),
    ("As @smith-2024 shows", '<span class="cite cite-narrative" id="cite-1">Smith and Doe\u00a0[<a '
     'aria-describedby="cite-1-pop" href="../bibliography/#ref-smith-2024">3</a>]…</span> shows'),
    ("As @doe-2023 [p. 12] says", '<span class="cite cite-narrative" id="cite-1">Doe\u00a0[<a '
     'aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>, p.\u00a012]…</span> says'),
    ("As @doe-2023 [sic] says", '<span class="cite cite-narrative" id="cite-1">Doe\u00a0[<a '
     'aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>]…</span> [sic] says'),
])
def test_pandoc_forms_numeric_exact_html(project, tmp_path, body, expected):
    html, problems = rendered(project, tmp_path, body + "\n")
    assert problems == []
    assert html == f"<p>{body.split('[')[0].split('@')[0]}{expected}</p>"


def test_locators_are_localized_on_japanese_pages(project, tmp_path):
    """第2章, 図3 on Japanese pages; a page is 12頁 for a Japanese source, p. 12 for a foreign one."""
    html, problems = rendered(project, tmp_path, "一[@yamada-2025, p. 12]、二[@doe-2023, pp. 3–5]、"
                              "三[@doe-2023, ch. 2]、四[@smith-2024, fig. 3]、五[@yamada-2025, 第4節]\n", "ja")
    assert problems == []
    assert [re.sub(r"<[^>]+>", "", cite) for cite in re.findall(r"<sup[^>]*>(.*?)…</sup>", html)] == [
        "[2, 12頁]", "[6, pp.\u00a03–5]", "[6, 第2章]", "[3, 図3]", "[2, 第4節]"]


def test_the_popover_shows_the_passage_cited(project, tmp_path):
    content = project({"sections/03-conclusion.ja.md": section_file("一[@doe-2023, ch. 2]\n", "結論")})
    site, _ = build_in_process(content, tmp_path)
    html = site.rendered["conclusion", "ja"].html
    assert ('<span class="cite-pop-item"><a href="../bibliography/#ref-doe-2023">[6]</a> <span lang="en">'
            "John Doe. <em>The iPhone and the eBook: Lower-Case Names in Titles</em>. Example Press, "
            'London, 2023.</span><span class="cite-pop-passage">該当箇所：第2章</span></span>') in html
    content = project({"sections/03-conclusion.en.md": section_file("x[@doe-2023, pp. 3–5]\n", "Conclusion")})
    site, _ = build_in_process(content, tmp_path)
    assert '<span class="cite-pop-passage">Passage: pp.\u00a03–5</span>' in site.rendered["conclusion", "en"].html


@pytest.mark.parametrize("body", [
    "Write to info@example.com today.",
    "A URL https://medium.com/@someone/post in text.",
    "An escaped \\@handle here.",
    "A lone @ sign, and @ followed by space.",
    "Brackets [info@example.com] are text.",
])
def test_at_signs_that_are_plain_text_by_the_documented_rule(project, tmp_path, body):
    html, problems = rendered(project, tmp_path, body + "\n")
    assert problems == []
    assert "cite" not in html and "@" in html


def test_an_unknown_narrative_key_is_an_error_never_literal(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    html, problems = rendered(project, tmp_path, "As @sama said, and @smith-2042 wrote.\n")
    assert problems == [
        'content/sections/03-conclusion.en.md:5:4: error: unknown citation key "sama"; add it to the '
        "bibliography or define a footnote [^label]: … (an @ that is not a citation is written \\@) "
        "[citation.unknown-key]",
        'content/sections/03-conclusion.en.md:5:20: error: unknown citation key "smith-2042"; did you '
        'mean "smith-2024"? (an @ that is not a citation is written \\@) [citation.unknown-key]',
    ]
    assert '<span class="cite-error">@sama</span>' in html


def test_narrative_key_in_japanese_prose_ends_at_the_japanese_text(project, tmp_path):
    html, problems = rendered(project, tmp_path, "これについては@doe-2023が論じた。\n", "ja")
    assert problems == []
    assert html == ('<p>これについては<span class="cite cite-narrative" id="cite-1">Doe\u00a0[<a '
                    'aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">6</a>]…</span>'
                    "が論じた。</p>")


def test_japanese_authors_are_named_in_native_order(project, tmp_path):
    html, _ = rendered(project, tmp_path, "@yamada-2025によれば\n", "ja")
    assert html.startswith('<p><span class="cite cite-narrative" id="cite-1">山田\u00a0[')


def test_scanner_reads_locators_prefixes_and_narratives(project):
    content = project({"sections/03-conclusion.en.md": section_file(
        "A[see @doe-2023, p. 3; -@smith-2024] and @altman-memo [p. 9] and [^yamada-2025, ch. 1].\n",
        "Conclusion")})
    _, report, _, _ = load(content)
    refs = scan_citations(report.section("conclusion", "en"), Diagnostics())
    assert [(r.col, r.label, r.group, r.prefix, r.locator, r.suppress_author, r.narrative)
            for r in refs] == [
        (2, "doe-2023", 0, "see", "p. 3", False, False),
        (2, "smith-2024", 0, "", "", True, False),
        (42, "altman-memo", 1, "", "p. 9", False, True),
        (66, "yamada-2025", 2, "", "ch. 1", False, False),
    ]


# --- author-date ----------------------------------------------------------------------------------


def author_date(files: dict) -> dict:
    """The default project in the author-date style, with `files` on top."""
    return {"site.toml": SITE_TOML.replace('citation_numbering = "bibliography"\n',
                                           'citation_numbering = "bibliography"\n'
                                           'citation_style = "author-date"\n'), **files}


@pytest.mark.parametrize("language, body, expected", [
    ("en", "x[@doe-2023, p. 12]", '(<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">'
     "Doe 2023</a>, 12)"),
    ("ja", "x[@doe-2023, p. 12]", '（<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">'
     "Doe 2023</a>, p.\u00a012）"),
    ("en", "x[see @doe-2023, ch. 2; @smith-2024]", '(see <a aria-describedby="cite-1-pop" '
     'href="../bibliography/#ref-doe-2023">Doe 2023</a>, ch.\u00a02; <a aria-describedby="cite-1-pop" '
     'href="../bibliography/#ref-smith-2024">Smith and Doe 2024</a>)'),
    ("en", "x[-@doe-2023, p. 4]", '(<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">'
     "2023</a>, 4)"),
    ("ja", "x[@yamada-2025, p. 4]", '（<a aria-describedby="cite-1-pop" href="../bibliography/#ref-yamada-2025">'
     "山田 2025</a>, 4頁）"),
])
def test_author_date_groups(project, tmp_path, language, body, expected):
    html, problems = rendered(project, tmp_path, body + "\n", language, author_date({}))
    assert problems == []
    assert html == f'<p>x<span class="cite cite-author-date" id="cite-1">{expected}…</span></p>'


@pytest.mark.parametrize("language, expected", [
    ("en", 'Doe\u00a0(<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">2023</a>, 12)'),
    ("ja", 'Doe（<a aria-describedby="cite-1-pop" href="../bibliography/#ref-doe-2023">2023</a>, p.\u00a012）'),
])
def test_author_date_narrative(project, tmp_path, language, expected):
    html, problems = rendered(project, tmp_path, "@doe-2023 [p. 12]\n", language, author_date({}))
    assert problems == []
    assert html == f'<p><span class="cite cite-author-date cite-narrative" id="cite-1">{expected}…</span></p>'


def test_switching_style_changes_no_source_file(project, tmp_path):
    """The same section files build in both styles, and cite the same sources in the same places."""
    numeric, _ = build_in_process(project(), tmp_path / "a")
    other, diag = build_in_process(project(author_date({}), name="other"), tmp_path / "b")
    assert diag.errors == []
    for key, site in (("numeric", numeric), ("author-date", other)):
        assert site.config.citation_style == key
    assert [s.key for r in numeric.rendered.values() for s in r.sites] == \
        [s.key for r in other.rendered.values() for s in r.sites]
    assert "(<a" in other.rendered["gemini", "en"].html and "(<a" not in numeric.rendered["gemini", "en"].html


def test_author_date_numbers_follow_the_authors(project):
    config, report, bibliography, diag = load(project(author_date({})))
    index = resolve_citations(report, bibliography, config, diag)
    assert list(index.numbers) == ["doe-2023", "google-gemini-3", "smith-2024", "altman-memo",
                                   "xpert-shallotpeat", "yamada-2025"]


def test_scanner_and_extension_agree_on_cross_references(project, tmp_path):
    """Every cross-reference the scanner finds is one link in the page, in the same order."""
    content = project({"sections/03-conclusion.en.md": section_file(
        "## Head {#sec-h}\n\n![Cap](https://example.org/x.png){#fig-x}\n\n| a |\n| - |\n| 1 |\n\n"
        ": T {#tbl-t}\n\nSee @fig-x, [-@tbl-t], @sec-h; `@fig-x` is code; $@fig-x$ maths.\n",
        "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    scanned = [ref.label for ref in site.index.crossrefs if ref.path.name.startswith("03-conclusion.en")]
    html = site.rendered["conclusion", "en"].html
    assert scanned == ["fig-x", "tbl-t", "sec-h"]
    assert re.findall(r'<a class="xref" href="#([^"]+)">([^<]+)</a>', html) == [
        ("fig-x", "Figure\u00a01"), ("tbl-t", "1"), ("sec-h", "Section\u00a03.1, “Head”")]
