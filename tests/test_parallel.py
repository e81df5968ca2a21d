"""The side-by-side pages: the alignment of two languages' blocks (align.py), the pages that
show it (pages.py, templates/parallel.html), and the layout in a real browser at 1280 px,
390 px and in print."""

from __future__ import annotations

import functools
import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, SITE_TOML, serve_folder, write_project
from kakehashi.align import Row, align_blocks
from kakehashi.site import BuildOptions, build
from test_browser import DESKTOP, PHONE, new_page  # noqa: F401 (a fixture)

FLAGSHIP = ROOT / "content"
HEADING = re.compile(r"h[1-6]$")


def built_site(content: Path, out: Path | None = None):
    """The stages' output for a content folder (the site is written when `out` is given)."""
    result = build(BuildOptions(content, out or content.parent / "unwritten"), write=out is not None)
    assert not result.diagnostics.failed(False), result.diagnostics.items
    return result.site


@pytest.fixture(scope="module")
def flagship():
    return built_site(FLAGSHIP)


def assert_complete(rows: tuple[Row, ...], first: int, second: int) -> None:
    """Every block of each language is on exactly one row, in reading order."""
    assert [i for row in rows for i in row.first] == list(range(first))
    assert [j for row in rows for j in row.second] == list(range(second))


def shape(rows: tuple[Row, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [(row.first, row.second) for row in rows]


# --- The alignment ------------------------------------------------------------------------------

def test_every_flagship_section_pairs_block_with_block(flagship):
    """The flagship's translations go paragraph by paragraph: all 113 blocks of each language
    pair one to one, headings with headings (measured: 113 of 113 rows paired)."""
    paired = total = 0
    for slug in flagship.report.slugs:
        first, second = flagship.rendered[slug, "ja"].blocks, flagship.rendered[slug, "en"].blocks
        rows = flagship.alignments[slug, "en"]
        assert_complete(rows, len(first), len(second))
        for row in rows:
            kinds = {first[i].kind for i in row.first} | {second[j].kind for j in row.second}
            if any(HEADING.match(kind) for kind in kinds):
                assert len(row.first) == len(row.second) == 1, (slug, row)
                assert first[row.first[0]].kind == second[row.second[0]].kind
        paired += sum(1 for row in rows if len(row.first) == len(row.second) == 1
                      and row.first == row.second)
        total += len(rows)
    assert (paired, total) == (113, 113)


def test_a_dropped_paragraph_stands_alone_in_nearly_every_flagship_section(flagship):
    """Each English paragraph of the flagship left out in turn: its Japanese paragraph stands
    alone and every other block keeps its partner. Measured: 68 of 70; the two others are
    neighbours citing the same sources at the same length, which nothing tells apart."""
    right = tried = 0
    for slug in flagship.report.slugs:
        first, second = flagship.rendered[slug, "ja"].blocks, flagship.rendered[slug, "en"].blocks
        for dropped in [j for j, block in enumerate(second) if block.kind == "p"]:
            rows = align_blocks(first, second[:dropped] + second[dropped + 1:])
            assert_complete(rows, len(first), len(second) - 1)
            expected = [((i,), (i if i < dropped else i - 1,)) for i in range(len(first))]
            expected[dropped] = ((dropped,), ())
            tried += 1
            right += shape(rows) == expected
    assert tried == 70
    assert right >= 68


def test_alignment_time_grows_linearly(flagship):
    """A section of 4,000 blocks (the flagship's sections, repeated) aligns in seconds."""
    import time
    first = [block for slug in flagship.report.slugs for block in flagship.rendered[slug, "ja"].blocks
             if block.kind != "notes"]
    second = [block for slug in flagship.report.slugs
              for block in flagship.rendered[slug, "en"].blocks if block.kind != "notes"]
    times = {}
    for copies in (10, 40):
        started = time.perf_counter()
        rows = align_blocks(first * copies, (second[:5] + second[6:]) * copies)
        times[copies] = time.perf_counter() - started
        assert_complete(rows, len(first) * copies, (len(second) - 1) * copies)
    assert times[40] < 10 * max(times[10], 0.05)  # 4 times the blocks: not 16 times the time
    assert times[40] < 20


SECTION_JA = """---
title: "分析"
---

## 背景

2025年11月、OpenAIの社内メモが流出し、Googleへの警戒感が明らかになった。[^altman-memo]

山田は生成AIの課題として、費用、電力、人材の3つを挙げている。[^yamada-2025]

{ja_list}Gemini 3は20のベンチマークのうち19で首位となり、Proモデルの評価を一変させた。[^google-gemini-3]

{ja_table}## 分析

Smithらはスケーリング則を2024年に再検討し、計算量の伸びが鈍ると論じた。[^smith-2024]

Project Shallotpeatは事前学習の立て直しを狙う計画である。[^xpert-shallotpeat]

Doeは2023年の著書で、計算資源の集中が競争を歪めると指摘した。[^doe-2023]
"""

SECTION_EN = """---
title: "Analysis"
---

## Background

In November 2025, an internal OpenAI memo leaked, revealing concern about Google.[^altman-memo]

Yamada lists three challenges for generative AI: cost, power and people.[^yamada-2025]

{extra}{en_list}Gemini 3 ranked first on 19 of 20 benchmarks, changing how its Pro model was judged.[^google-gemini-3]

{en_table}## Analysis

In 2024 Smith and colleagues revisited the scaling laws, arguing that gains in compute would slow.[^smith-2024]

Project Shallotpeat is a plan to rebuild pre-training.[^xpert-shallotpeat]

In his 2023 book, Doe argued that concentrated compute distorts competition.[^doe-2023]
"""

EXTRA = ("The memo also mentioned a hiring pause, which the company has neither confirmed nor "
         "denied in the weeks since.\n\n")
JA_LIST = "- 費用：1回の学習に10億ドル\n- 電力：データセンター1か所で1GW\n\n"
EN_LIST = "- Cost: $1 billion per training run\n- Power: 1 GW per data centre\n\n"
JA_TABLE = "| 年 | 費用 |\n| --- | --- |\n| 2024 | 50億ドル |\n| 2025 | 90億ドル |\n\n"
EN_TABLE = "| Year | Cost |\n| --- | --- |\n| 2024 | $5 billion |\n| 2025 | $9 billion |\n\n"


def section_project(project, ja: dict | None = None, en: dict | None = None) -> Path:
    """The default project with one more section, 04-analysis, written from the templates."""
    ja_parts = {"ja_list": JA_LIST, "ja_table": JA_TABLE} | (ja or {})
    en_parts = {"extra": "", "en_list": EN_LIST, "en_table": EN_TABLE} | (en or {})
    return project({"sections/04-analysis.ja.md": SECTION_JA.format(**ja_parts),
                    "sections/04-analysis.en.md": SECTION_EN.format(**en_parts)})


def analysis_rows(site) -> tuple[list[str], list[str], list[tuple]]:
    """The kinds of each language's blocks of 04-analysis, and its rows."""
    first, second = site.rendered["analysis", "ja"].blocks, site.rendered["analysis", "en"].blocks
    rows = site.alignments["analysis", "en"]
    assert_complete(rows, len(first), len(second))
    return [block.kind for block in first], [block.kind for block in second], shape(rows)


def test_the_same_blocks_pair_one_to_one(project):
    first, second, rows = analysis_rows(built_site(section_project(project)))
    assert first == second == ["h2", "p", "p", "list", "p", "table", "h2", "p", "p", "p"]
    assert rows == [((i,), (i,)) for i in range(10)]


def test_an_extra_english_paragraph_stands_alone_and_the_rest_stay_paired(project):
    first, second, rows = analysis_rows(built_site(section_project(project, en={"extra": EXTRA})))
    assert len(second) == len(first) + 1
    assert rows == [((0,), (0,)), ((1,), (1,)), ((2,), (2,)), ((), (3,)),
                    *[((i,), (i + 1,)) for i in range(3, 10)]]


def test_an_extra_japanese_paragraph_stands_alone_too(project):
    extra = "このメモは採用の一時停止にも触れていたが、同社はその後も肯定も否定もしていない。\n\n"
    first, second, rows = analysis_rows(built_site(section_project(
        project, ja={"ja_list": extra + JA_LIST})))
    assert rows == [((0,), (0,)), ((1,), (1,)), ((2,), (2,)), ((3,), ()),
                    *[((i + 1,), (i,)) for i in range(3, 10)]]


def test_a_missing_table_and_a_missing_list_leave_their_partner_alone(project):
    site = built_site(section_project(project, en={"en_table": ""}))
    first, second, rows = analysis_rows(site)
    assert first[5] == "table" and "table" not in second
    assert rows == [*[((i,), (i,)) for i in range(5)], ((5,), ()),
                    *[((i,), (i - 1,)) for i in range(6, 10)]]
    first, second, rows = analysis_rows(built_site(section_project(project, ja={"ja_list": ""})))
    assert second[3] == "list" and "list" not in first
    assert rows == [*[((i,), (i,)) for i in range(3)], ((), (3,)),
                    *[((i - 1,), (i,)) for i in range(4, 10)]]


def test_a_paragraph_split_in_two_faces_both_halves(project):
    halves = ("Project Shallotpeat is a plan.[^xpert-shallotpeat]\n\n"
              "It aims to rebuild pre-training from the ground up.\n\n")
    content = section_project(project)
    path = content / "sections/04-analysis.en.md"
    path.write_text(path.read_text("utf-8").replace(
        "Project Shallotpeat is a plan to rebuild pre-training.[^xpert-shallotpeat]\n\n", halves),
        "utf-8")
    first, second, rows = analysis_rows(built_site(content))
    assert rows[8] == ((8,), (8, 9))
    assert rows[9] == ((9,), (10,))


# --- The pages ----------------------------------------------------------------------------------

class Page(HTMLParser):
    """What the page checks need: ids, links, and each grid cell's lang."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.links: list[str] = []
        self.cells: list[str | None] = []
        self.alternates: dict[str, str] = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])
        if tag == "img":
            self.links.append(attributes["src"])
        if "parallel-cell" in (attributes.get("class") or "").split():
            self.cells.append(attributes.get("lang"))
        if tag == "link" and attributes.get("rel") == "alternate":
            self.alternates[attributes["hreflang"]] = attributes["href"]


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> Page:
    return Page(path.read_text("utf-8"))


def test_every_link_of_the_flagship_side_by_side_pages_has_its_target(tmp_path):
    """Citations of both columns lead to their language's bibliography entry, notes and
    headings to their own column's copy, and every id is unique on its page."""
    out = tmp_path / "site"
    built_site(FLAGSHIP, out)
    pages = sorted(out.glob("*/parallel/*/index.html"))
    assert len(pages) == 22
    checked = 0
    for path in pages:
        page = parsed(path)
        assert len(page.ids) == len(set(page.ids)), path
        assert set(page.cells) == {"ja", "en"}
        for link in page.links:
            if re.match(r"^[a-z]+:", link):
                continue
            address, _, fragment = link.partition("#")
            target = (path.parent / address).resolve() if address else path
            if target.is_dir():
                target = target / "index.html"
            assert target.is_file(), (path, link)
            if fragment and target.suffix == ".html":
                assert urllib.parse.unquote(fragment) in parsed(target).ids, (path, link)
            checked += 1
    assert checked > 1800  # 1,850 links in all
    page = parsed(out / "en/parallel/gemini-3/index.html")
    assert page.alternates == {"ja": "https://example.github.io/kakehashi/ja/parallel/gemini-3/",
                               "en": "https://example.github.io/kakehashi/en/parallel/gemini-3/",
                               "x-default": "https://example.github.io/kakehashi/ja/parallel/gemini-3/"}
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    assert sitemap.count("/parallel/") == 22 * 4  # each page, its two alternates, x-default


def test_section_pages_link_to_their_side_by_side_page_and_back(built_default):
    section = (built_default / "en/gemini/index.html").read_text("utf-8")
    assert ('<p class="parallel-link"><a href="../parallel/gemini/">Read side by side'
            '<span class="parallel-link-pair"> English | <span lang="ja">日本語</span></span></a></p>'
            in section)
    page = (built_default / "en/parallel/gemini/index.html").read_text("utf-8")
    assert '<a href="../../gemini/">Read this section on its own</a>' in page
    assert '<html lang="en">' in page
    # The page language's column first; the original (ja) marked for narrow screens.
    assert page.index('<div class="parallel-cell prose" lang="en">') < \
        page.index('<div class="parallel-cell prose parallel-original" lang="ja">')
    assert 'rel="prev" href="../memo-leak/"' in page and 'rel="next" href="../conclusion/"' in page


def test_a_section_in_one_language_shows_what_exists_and_says_what_is_missing(project, tmp_path):
    content = project({"site.toml": SITE_TOML.replace("allow_missing_translations = false",
                                                      "allow_missing_translations = true"),
                       "sections/03-conclusion.en.md": None})
    out = tmp_path / "site"
    built_site(content, out)
    for code in ("ja", "en"):
        page = (out / f"{code}/parallel/conclusion/index.html").read_text("utf-8")
        assert ('<p class="parallel-missing" role="note">This section is not yet available in '
                'English.</p>') in page
        assert 'class="parallel-row parallel-kind-p parallel-single"' in page
    assert "parallel-link" not in (out / "ja/conclusion/index.html").read_text("utf-8")
    assert "parallel-link" in (out / "ja/gemini/index.html").read_text("utf-8")


# --- In the browser -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def flagship_site(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The flagship site served on 127.0.0.1 under its base path; its root URL."""
    root = tmp_path_factory.mktemp("parallel-flagship")
    built_site(FLAGSHIP, root / "kakehashi")
    with serve_folder(root) as origin:
        yield f"{origin}/kakehashi/"


CELLS = """() => [...document.querySelectorAll('.parallel-row')].map(row => [...row.children]
  .map(cell => { const box = cell.getBoundingClientRect();
                 return {lang: cell.lang, top: box.top, left: box.left, bottom: box.bottom,
                         original: cell.classList.contains('parallel-original'),
                         shown: box.height > 0}; }))"""


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pairs_stand_side_by_side_at_1280px(browser, new_page, flagship_site, lang):  # noqa: F811
    page = new_page(DESKTOP)
    for slug in ("memo-leak", "gemini-3", "conclusion"):
        page.goto(f"{flagship_site}{lang}/parallel/{slug}/")
        rows = page.evaluate(CELLS)
        assert len(rows) > 5
        for first, second in rows:
            assert (first["lang"], second["lang"]) == (lang, {"ja": "en", "en": "ja"}[lang])
            assert abs(first["top"] - second["top"]) < 1, (slug, first, second)
            assert first["left"] + 300 < second["left"]
        assert page.evaluate("document.scrollingElement.scrollWidth") <= DESKTOP["width"]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pairs_stack_original_first_at_390px(browser, new_page, flagship_site, lang):  # noqa: F811
    page = new_page(PHONE)
    for slug in ("memo-leak", "gemini-3", "conclusion", "finances"):
        page.goto(f"{flagship_site}{lang}/parallel/{slug}/")
        for cells in page.evaluate(CELLS):
            original, translation = sorted(cells, key=lambda cell: not cell["original"])
            assert original["lang"] == "ja"
            assert original["bottom"] <= translation["top"] + 1, (slug, cells)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]


def test_citations_of_both_columns_preview_and_lead_to_their_entries(browser, new_page,  # noqa: F811
                                                                     flagship_site):
    page = new_page(DESKTOP)
    page.goto(f"{flagship_site}ja/parallel/gemini-3/")
    for side, bibliography in (("ja", "ja"), ("en", "en")):
        cite = page.locator(f'.parallel-cell[lang="{side}"] sup.cite').first
        cite.hover()
        preview = cite.locator(".cite-pop")
        assert preview.is_visible()
        box, cell = preview.bounding_box(), cite.locator("xpath=ancestor::div[1]").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"]
        link = cite.locator("a").first
        key = link.get_attribute("href").rpartition("#")[2]
        link.click()
        page.wait_for_url(re.compile(rf"/{bibliography}/bibliography/#{re.escape(key)}$"))
        assert page.locator(f'li.bib-entry[id="{key}"]').is_visible()
        page.go_back()


def test_print_keeps_two_columns_and_unsplit_rows(browser, new_page, flagship_site):  # noqa: F811
    page = new_page({"width": 700, "height": 990})  # about A4's printable width at 96 dpi
    page.emulate_media(media="print")
    page.goto(f"{flagship_site}en/parallel/finances/")
    for first, second in page.evaluate(CELLS):
        assert abs(first["top"] - second["top"]) < 1 and first["left"] < second["left"]
    assert page.evaluate("getComputedStyle(document.querySelector('.parallel-row'))"
                         ".breakInside") == "avoid"
    assert page.locator(".contents-menu").is_hidden() and page.locator(".pager").is_hidden()
