"""Rendering: relative links, and the navigation of short and long reports."""

from __future__ import annotations

import posixpath
import re

import pytest

from conftest import run_build, write_project
from kakehashi.pages import relative_href

SITE_TOML_LIMIT = """\
default_language = "ja"
base_url = "https://example.org/report/"
navigation_limit = {limit}

[languages.ja]
title = "長い報告"

[languages.en]
title = "A long report"
"""


def reference_href(from_url: str, to_url: str) -> str:
    """The definition relative_href must agree with: posixpath.relpath on the URLs."""
    target, _, fragment = to_url.partition("#")
    if not target:
        return f"#{fragment}"
    base = from_url if from_url.endswith("/") else posixpath.dirname(from_url) + "/"
    href = posixpath.relpath(target, base)
    if target.endswith("/") and not href.endswith("/"):
        href += "/"
    if href == "./" and fragment:
        href = ""
    return href + (f"#{fragment}" if fragment else "")


URLS = ["/", "/404.html", "/sitemap.xml", "/ja/", "/en/", "/ja/memo-leak/", "/en/memo-leak/",
        "/ja/bibliography/", "/ja/print/", "/static/kakehashi.css", "/static/favicon.svg",
        "/ja/report.pdf", "/files/chart.png", "/ja/memo-leak/#cite-3", "/ja/#contents",
        "#ref-x", "/ja/bibliography/#ref-altman-memo"]


@pytest.mark.parametrize("here", [url for url in URLS if not url.startswith("#") and "#" not in url])
def test_relative_href_agrees_with_relpath(here):
    assert [relative_href(here, there) for there in URLS] == \
        [reference_href(here, there) for there in URLS]


def long_report(folder, sections: int, limit: int):
    files = {"site.toml": SITE_TOML_LIMIT.format(limit=limit), "sections/01-memo-leak.ja.md": None,
             "sections/01-memo-leak.en.md": None, "sections/02-gemini.ja.md": None,
             "sections/02-gemini.en.md": None, "sections/03-conclusion.ja.md": None,
             "sections/03-conclusion.en.md": None}
    for number in range(1, sections + 1):
        for code, title in (("ja", f"第{number}節"), ("en", f"Part {number}")):
            files[f"sections/{number:03d}-part-{number}.{code}.md"] = (
                f'---\ntitle: "{title}"\n---\n\n{title}の本文。[^smith-2024]\n')
    return write_project(folder, files)


def navigation(html: str) -> str:
    """The sidebar's lists, whitespace between tags removed."""
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.DOTALL)[0]
    return re.sub(r">\s+<", "><", nav)


def test_a_short_report_lists_every_section(tmp_path):
    content = long_report(tmp_path / "content", 12, 40)
    assert run_build(content, tmp_path / "out")[0] == 0
    html = (tmp_path / "out/en/part-5/index.html").read_text("utf-8")
    assert navigation(html).count("<li>") == 12 + 2  # the sections, bibliography and print
    assert "site-nav-window" not in html and "data-number" not in html


def test_a_long_report_lists_the_neighbours_and_links_to_the_contents(tmp_path):
    content = long_report(tmp_path / "content", 30, 12)
    code, _, stderr = run_build(content, tmp_path / "out")
    assert code == 0, stderr
    html = (tmp_path / "out/en/part-20/index.html").read_text("utf-8")
    items = "".join(f'<li><a href="../part-{n}/" data-number="{n}">Part {n}</a></li>'
                    for n in range(15, 20))
    items += '<li><a href="./" data-number="20" aria-current="page">Part 20</a></li>'
    items += "".join(f'<li><a href="../part-{n}/" data-number="{n}">Part {n}</a></li>'
                     for n in range(21, 26))
    more = '<li class="site-nav-more" aria-hidden="true">…</li>'
    assert navigation(html) == (
        '<nav class="site-nav" aria-label="Contents"><h2 class="site-nav-title">Contents</h2>'
        '<p class="site-nav-position">Section 20 of 30</p>'
        f'<ol class="site-nav-list site-nav-window">{more}{items}{more}</ol>'
        '<ul class="site-nav-extra"><li><a href="../#contents">All 30 sections</a></li>'
        '<li><a href="../bibliography/">Bibliography</a></li>'
        '<li><a href="../print/">Print version (one page)</a></li></ul></nav>')
    folded = re.search(r'<nav class="contents-menu".*?</nav>', html, re.DOTALL)[0]
    assert "Section 20 of 30" in folded and 'href="../#contents"' in folded


def test_the_window_keeps_its_size_at_the_ends(tmp_path):
    content = long_report(tmp_path / "content", 30, 12)
    assert run_build(content, tmp_path / "out")[0] == 0
    for page, numbers in (("ja/part-1/", range(1, 12)), ("ja/part-30/", range(20, 31)),
                          ("ja/bibliography/", range(1, 12)), ("ja/", range(1, 12))):
        html = (tmp_path / "out" / page / "index.html").read_text("utf-8")
        assert [int(n) for n in re.findall(r'data-number="(\d+)"', navigation(html))] == \
            list(numbers), page
    index = (tmp_path / "out/ja/index.html").read_text("utf-8")
    assert 'href="#contents">目次（全30節）' in index
    assert "第" not in re.search(r'<p class="site-nav-position">.*?</p>|$', index)[0]


def test_section_pages_do_not_grow_with_the_report(tmp_path):
    sizes = {}
    for sections in (40, 80):
        content = long_report(tmp_path / f"content-{sections}", sections, 12)
        assert run_build(content, tmp_path / f"out-{sections}", "--no-cache")[0] == 0
        sizes[sections] = len((tmp_path / f"out-{sections}/ja/part-30/index.html").read_bytes())
    assert sizes[40] == sizes[80]


@pytest.mark.parametrize("value, message", [
    ("0", "navigation_limit must be a number of sections, 1 or more (default 40)"),
    ("true", "navigation_limit must be a number of sections, 1 or more (default 40)"),
    ('"many"', '"navigation_limit" must be a int'),
])
def test_navigation_limit_must_be_a_count(tmp_path, value, message):
    content = long_report(tmp_path / "content", 2, 1)
    (content / "site.toml").write_text(SITE_TOML_LIMIT.format(limit=value), "utf-8")
    code, _, stderr = run_build(content, tmp_path / "out")
    assert code == 1
    assert f"site.toml:3: error: {message}" in stderr


def test_compiled_templates_are_compiled_again_when_damaged_changed_or_unwritable(tmp_path):
    """The compiled templates' folder is only a saving: a damaged file, an edited template
    and a folder that cannot be written all render what the template says now."""
    from kakehashi.render import CompiledTemplates, make_environment

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.html").write_text("<p>{{ word }}</p>\n", "utf-8")
    folder = tmp_path / "compiled"

    def render(cache_folder) -> str:
        env = make_environment(templates)
        env.bytecode_cache = CompiledTemplates(cache_folder)
        return env.get_template("page.html").render(word="one")

    assert render(folder) == "<p>one</p>\n"
    [compiled] = list(folder.iterdir())
    assert render(folder) == "<p>one</p>\n"  # read back
    compiled.write_bytes(compiled.read_bytes()[:20] + b"\xff" * 40)  # damaged
    assert render(folder) == "<p>one</p>\n"
    (templates / "page.html").write_text("<p>{{ word }}!</p>\n", "utf-8")  # edited
    assert render(folder) == "<p>one!</p>\n"
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", "utf-8")
    assert render(blocked / "compiled") == "<p>one!</p>\n"  # cannot be made: compiled each time
