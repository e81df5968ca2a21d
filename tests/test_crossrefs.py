"""Figures, tables and labelled headings: numbering per language, cross-references, diagnostics."""

from __future__ import annotations

import re

import pytest

from test_citations import build_in_process, lines, section_file

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'
FIGURE_JA = "![計算量の伸び](../files/growth.svg){#fig-growth fig-alt=\"右上がりの棒グラフ\"}\n"
FIGURE_EN = "![Growth of compute](../files/growth.svg){#fig-growth fig-alt=\"A rising bar chart\"}\n"
TABLE = "| a | b |\n| - | - |\n| 1 | 2 |\n"


def labelled_project(project, ja: str, en: str, other_ja: str = "一。\n", other_en: str = "One.\n"):
    """The default project with section 02 given labels and section 03 referring to them."""
    return project({
        "files/growth.svg": SVG,
        "sections/02-gemini.ja.md": section_file(ja, "Gemini 3"),
        "sections/02-gemini.en.md": section_file(en, "Gemini 3"),
        "sections/03-conclusion.ja.md": section_file(other_ja, "結論"),
        "sections/03-conclusion.en.md": section_file(other_en, "Conclusion"),
    })


def test_figure_table_and_heading_exact_html(project, tmp_path):
    content = labelled_project(
        project,
        f"## 市場 {{#sec-markets}}\n\n@fig-growthと@tbl-costsを見よ。\n\n{FIGURE_JA}\n{TABLE}\n: 費用 {{#tbl-costs}}\n",
        f"## Markets {{#sec-markets}}\n\nSee @fig-growth and @tbl-costs.\n\n{FIGURE_EN}\n{TABLE}\n: Costs {{#tbl-costs}}\n")
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    ja = site.rendered["gemini", "ja"].html
    en = site.rendered["gemini", "en"].html
    assert '<p><a class="xref" href="#fig-growth">図1</a>と<a class="xref" href="#tbl-costs">表1</a>を見よ。</p>' in ja
    assert ('<figure class="figure" id="fig-growth"><img alt="右上がりの棒グラフ" src="../../files/growth.svg">'
            '<figcaption><span class="caption-number">図1</span>：計算量の伸び</figcaption>\n</figure>') in ja
    assert '<table id="tbl-costs"><caption><span class="caption-number">表1</span>：費用</caption>' in ja
    assert ('<p>See <a class="xref" href="#fig-growth">Figure\u00a01</a> and '
            '<a class="xref" href="#tbl-costs">Table\u00a01</a>.</p>') in en
    assert ('<figcaption><span class="caption-number">Figure\u00a01</span>: Growth of compute'
            "</figcaption>") in en
    assert '<caption><span class="caption-number">Table\u00a01</span>: Costs</caption>' in en


def test_numbers_run_through_the_report_and_links_reach_other_sections(project, tmp_path):
    content = labelled_project(
        project, f"{FIGURE_JA}\n一。\n", f"{FIGURE_EN}\nOne.\n",
        "## 結果 {#sec-results}\n\n![二つ目](../files/growth.svg){#fig-second}\n\n@fig-growth、@fig-second、@sec-results、[-@fig-second]\n",
        "## Results {#sec-results}\n\n![Second](../files/growth.svg){#fig-second}\n\n@fig-growth, @fig-second, @sec-results, [-@fig-second]\n")
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    links = re.findall(r'<a class="xref" href="([^"]+)">([^<]+)</a>', site.rendered["conclusion", "ja"].html)
    assert links == [("../gemini/#fig-growth", "図1"), ("#fig-second", "図2"),
                     ("#sec-results", "3.1節「結果」"), ("#fig-second", "2")]
    links = re.findall(r'<a class="xref" href="([^"]+)">([^<]+)</a>', site.rendered["conclusion", "en"].html)
    assert links[2] == ("#sec-results", "Section\u00a03.1, “Results”")


def test_cross_references_work_on_the_print_page(project, tmp_path):
    content = labelled_project(project, f"{FIGURE_JA}\n一。\n", f"{FIGURE_EN}\nOne.\n",
                               "@fig-growthを見よ。\n", "See @fig-growth.\n")
    result_dir = tmp_path / "site"
    from kakehashi.site import BuildOptions, build
    result = build(BuildOptions(content, result_dir))
    assert result.diagnostics.errors == []
    printed = (result_dir / "ja/print/index.html").read_text("utf-8")
    assert '<a class="xref" href="#gemini-fig-growth">図1</a>' in printed
    assert 'id="gemini-fig-growth"' in printed
    assert (result_dir / "files/growth.svg").read_text("utf-8") == SVG


@pytest.mark.parametrize("body, message", [
    ("See @fig-growht.\n", '5:5: error: unknown label "fig-growht"; did you mean "fig-growth"? '
     "[crossref.unknown-label]"),
    ("See @tbl-none.\n", '5:5: error: unknown label "tbl-none"; define it (a table\'s caption is the '
     "line after it, : Caption {#tbl-x}) [crossref.unknown-label]"),
    ("See @eq-one.\n", '5:5: error: "@eq-one": Kakehashi numbers figures (@fig-…), tables (@tbl-…) '
     "and headings (@sec-…), not this kind; write \\@ for an @ that is not a reference "
     "[crossref.unsupported-kind]"),
    ("See [see @fig-growth, p. 2].\n", "5:5: error: cross-reference inside a citation [see "
     "@fig-growth, p. 2]; write it in the text, as in @fig-growth [crossref.in-citation]"),
    ("Text {#fig-stray} here.\n", '5:6: error: label "fig-stray" is not where a figure label can be: '
     "a figure is a paragraph of its own, ![Caption](../files/x.png){#fig-x} [crossref.misplaced-label]"),
    ("$$\nE = mc^2\n$$ {#eq-energy}\n", '7:4: error: label "eq-energy": Kakehashi numbers figures '
     "(fig-), tables (tbl-) and headings (sec-), not this kind [crossref.unsupported-kind]"),
])
def test_cross_reference_diagnostics(project, tmp_path, monkeypatch, body, message):
    monkeypatch.chdir(tmp_path)
    content = labelled_project(project, f"{FIGURE_JA}", f"{FIGURE_EN}", "一。\n", body)
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [f"content/sections/03-conclusion.en.md:{message}"]


def test_label_defined_twice_is_an_error_naming_the_first(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = labelled_project(project, FIGURE_JA, FIGURE_EN, FIGURE_JA, FIGURE_EN)
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/03-conclusion.en.md:5:1: error: label "fig-growth" is already defined at '
        "content/sections/02-gemini.en.md:5:1; give each figure its own label [crossref.duplicate-label]",
        'content/sections/03-conclusion.ja.md:5:1: error: label "fig-growth" is already defined at '
        "content/sections/02-gemini.ja.md:5:1; give each figure its own label [crossref.duplicate-label]",
    ]


def test_a_label_in_the_other_language_only_is_named(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = labelled_project(project, "一。\n", FIGURE_EN, "@fig-growthを見よ。\n", "See @fig-growth.\n")
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        'content/sections/03-conclusion.ja.md:5:1: error: unknown label "fig-growth"; it is defined '
        "only in the en files: add it here too [crossref.unknown-label]"]


def test_check_warns_when_a_target_exists_in_one_language(project, tmp_path, monkeypatch, capsys):
    """The English text refers to a figure only the English file labels; the Japanese file has none."""
    monkeypatch.chdir(tmp_path)
    content = labelled_project(project, "一。\n", FIGURE_EN, "一。\n", "See @fig-growth.\n")
    from kakehashi.check import check
    assert check(content) == 0
    assert check(content, strict=True) == 1
    err = capsys.readouterr().err
    assert ('content/sections/03-conclusion.en.md:5:5: warning: "@fig-growth" points at a figure that '
            "only the en file has; label the same figure in 02-gemini.ja.md too "
            "[check.crossref-one-language]") in err
