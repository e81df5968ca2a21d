"""Maths to MathML, callouts, table captions, and the content's own files."""

from __future__ import annotations

import pytest

from kakehashi.markup import MathError, latex_to_mathml
from kakehashi.scanner import scan_source
from test_citations import build_in_process, lines, section_file

# Formulas as reports write them: scaling laws, statistics, cost estimates, matrices.
REAL_FORMULAS = [
    r"L(N) = \left(\frac{N_c}{N}\right)^{\alpha_N}",
    r"C \approx 6ND",
    r"\hat{\theta} = \operatorname{arg\,min}_\theta \mathcal{L}(\theta)",
    r"p(x \mid y) \propto p(y \mid x)\,p(x)",
    r"\sum_{i=1}^{n} x_i^2",
    r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}",
    r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
    r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}",
    r"\text{年率}\ 3\% \times 1.4 \times 10^{12}",
    r"\mathbb{E}[X] = \mu, \quad \operatorname{Var}(X) = \sigma^2",
]


@pytest.mark.parametrize("latex", REAL_FORMULAS)
def test_real_formulas_convert_to_mathml(latex):
    mathml = latex_to_mathml(latex, display=False)
    assert mathml.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert "\\" not in mathml


def test_exact_mathml_inline_and_display():
    assert latex_to_mathml("E = mc^2", display=False) == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mi>E</mi>'
        "<mo>&#x0003D;</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow></math>")
    assert latex_to_mathml("x", display=True).startswith(
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')


@pytest.mark.parametrize("latex, problem", [
    (r"\frac{1}{2", "a { is never closed"),
    (r"a}", "a } closes nothing"),
    (r"x^", "a ^ or _ has nothing to raise or lower"),
    (r"\arg x", "\\arg is not a command latex2mathml knows"),
    (r"\foo{x}", "\\foo is not a command latex2mathml knows"),
])
def test_latex_it_cannot_convert_is_refused(latex, problem):
    with pytest.raises(MathError, match=problem.replace("\\", "\\\\").replace("^", "\\^")):
        latex_to_mathml(latex, display=False)


def test_maths_in_a_section_and_its_errors(project, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(
        "Energy $E = mc^2$, cost $5 and $10.\n\nA dollar \\$x$ sign.\n\n$$\n\\sum_i x_i\n$$\n\n"
        "Broken $\\frac{1}{2$ here and $x^$.\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [
        "content/sections/03-conclusion.en.md:13:8: error: cannot convert the formula $\\frac{1}{2…: "
        "a { is never closed (write \\$ for a dollar sign) [math.latex]",
        "content/sections/03-conclusion.en.md:13:30: error: cannot convert the formula $x^…: a ^ or _ "
        "has nothing to raise or lower (write \\$ for a dollar sign) [math.latex]",
    ]
    html = site.rendered["conclusion", "en"].html
    assert html.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">') == 1
    assert html.count('display="block"') == 1
    assert "cost $5 and $10.</p>\n<p>A dollar $x$ sign." in html
    assert '<span class="math-error">$\\frac{1}{2$</span>' in html


def test_maths_is_never_citation_text_for_the_scanner():
    source = scan_source("A $[@key] + x@y$ formula and [@real].\n")
    assert source.maths == ((2, "[@key] + x@y", False),)
    assert "[@key]" not in source.citation_text() and "[@real]" in source.citation_text()


def test_money_is_not_maths_by_pandocs_rule():
    text = "$5,478を達成し、GPT-5.1の$2,012を上回った。It cost $5–$10, then $115 billion and $74B."
    assert scan_source(text).maths == ()


# --- callouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language, body, expected", [
    ("ja", "::: {.callout-note}\n注意点[^doe-2023]。\n:::\n",
     '<div class="callout callout-note" role="note">\n<p class="callout-title">注記</p>\n<p>注意点'),
    ("en", "::: callout-warning\nCareful.\n:::\n",
     '<div class="callout callout-warning" role="note">\n<p class="callout-title">Warning</p>\n'
     "<p>Careful.</p>\n</div>"),
    ("en", '::: {.callout-tip title="Try this"}\n\nFirst.\n\n- a list\n\n:::\n\nAfter.\n',
     '<div class="callout callout-tip" role="note">\n<p class="callout-title"><span class="callout-label">'
     "Tip</span>: Try this</p>\n<p>First.</p>\n<ul>\n<li>a list</li>\n</ul>\n</div>\n<p>After.</p>"),
    ("ja", "::: {.callout-tip}\n試す。\n:::\n",
     '<div class="callout callout-tip" role="note">\n<p class="callout-title">ヒント</p>\n<p>試す。</p>\n</div>'),
    ("ja", "::: {.callout-warning}\n危険。\n:::\n", '<p class="callout-title">警告</p>'),
])
def test_callouts(project, tmp_path, language, body, expected):
    content = project({f"sections/03-conclusion.{language}.md": section_file(body, "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert diag.errors == []
    assert expected in site.rendered["conclusion", language].html


def test_callout_citations_are_back_linked(project, tmp_path):
    content = project({"sections/03-conclusion.en.md": section_file(
        "::: {.callout-note}\nInside[^doe-2023].\n:::\n", "Conclusion")})
    site, _ = build_in_process(content, tmp_path)
    assert [(s.key, s.anchor) for s in site.rendered["conclusion", "en"].sites] == [("doe-2023", "cite-1")]


@pytest.mark.parametrize("body, message", [
    ("::: {.callout-important}\nx\n:::\n", '5:1: error: "::: {.callout-important}" is not a callout '
     "Kakehashi knows; write ::: {.callout-note}, {.callout-warning} or {.callout-tip} [callout.unknown]"),
    ("::: {.callout-note}\nnever closed\n", "5:1: error: this callout is never closed; end it with a "
     "line ::: [callout.unclosed]"),
    ("Text.\n\n:::\n", "7:1: error: this ::: closes no callout; remove it [callout.unopened]"),
    ("::: {.callout-note}\n::: {.callout-tip}\nx\n:::\n", "6:1: error: callouts cannot be nested; "
     "close the one above with ::: first [callout.nested]"),
])
def test_callout_diagnostics(project, tmp_path, monkeypatch, body, message):
    monkeypatch.chdir(tmp_path)
    content = project({"sections/03-conclusion.en.md": section_file(body, "Conclusion")})
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag)[0] == f"content/sections/03-conclusion.en.md:{message}"


# --- table captions ------------------------------------------------------------------------------


def test_table_caption_without_label_or_blank_line(project, tmp_path):
    content = project({"sections/03-conclusion.en.md": section_file(
        "| a |\n| - |\n| 1 |\n: Unnumbered caption\n", "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert diag.errors == []
    html = site.rendered["conclusion", "en"].html
    assert '<div class="table-wrap"><table><caption>Unnumbered caption</caption>' in html
    assert "<td>: Unnumbered" not in html


# --- the content's files -------------------------------------------------------------------------

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"/>'


def test_files_are_copied_and_addresses_rewritten(project, tmp_path):
    content = project({"files/chart.svg": SVG, "files/data/table.csv": "a,b\n", "files/.hidden": "x",
                       "files/notes.txt~": "x",
                       "sections/03-conclusion.en.md": section_file(
                           "![A chart](../files/chart.svg) and [the data](../files/data/table.csv#top).\n",
                           "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    assert site.assets == {"files/chart.svg": SVG, "files/data/table.csv": b"a,b\n"}
    assert ('<p><img alt="A chart" src="../../files/chart.svg"> and '
            '<a href="../../files/data/table.csv#top">the data</a>.</p>') == \
        site.rendered["conclusion", "en"].html


@pytest.mark.parametrize("body, message", [
    ("![A chart](../files/chrat.svg)\n", '5:12: error: "../files/chrat.svg": there is no such file '
     '(content/files/chrat.svg); did you mean "../files/chart.svg"? [file.missing]'),
    ("[data](../files/none.csv)\n", '5:8: error: "../files/none.csv": there is no such file '
     "(content/files/none.csv); put the file in content/files/ [file.missing]"),
    ("![A chart](chart.svg)\n", '5:12: error: image "chart.svg" is outside content/files/, so it '
     "would not be published; move it there and write ../files/NAME [file.outside-files]"),
    ("![](../files/chart.svg)\n", "5:1: warning: image without alt text: write what it shows between "
     '![ and ] (for a figure, its caption, or fig-alt="…") [figure.missing-alt]'),
])
def test_file_reference_diagnostics(project, tmp_path, monkeypatch, body, message):
    monkeypatch.chdir(tmp_path)
    content = project({"files/chart.svg": SVG,
                       "sections/03-conclusion.en.md": section_file(body, "Conclusion")})
    _, diag = build_in_process(content, tmp_path)
    assert lines(diag) == [f"content/sections/03-conclusion.en.md:{message}"]


def test_a_figure_with_fig_alt_needs_no_other_alt(project, tmp_path):
    content = project({"files/chart.svg": SVG, "sections/03-conclusion.en.md": section_file(
        '![](../files/chart.svg){#fig-c fig-alt="Bars"}\n', "Conclusion")})
    site, diag = build_in_process(content, tmp_path)
    assert lines(diag) == []
    assert '<img alt="Bars" src="../../files/chart.svg">' in site.rendered["conclusion", "en"].html
