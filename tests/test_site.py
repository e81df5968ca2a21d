"""Whole builds: the output tree, links, hreflang, sub-path hosting, reproducibility, golden."""

from __future__ import annotations

import posixpath
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import ROOT, run_build, tree_bytes, write_project

GOLDEN = Path(__file__).resolve().parent / "golden"
SUB_PATH_URL = "https://example.github.io/repo/"
PAGES = [
    "index.html", "404.html",
    *[f"{lang}/{page}index.html" for lang in ("ja", "en")
      for page in ("", "memo-leak/", "gemini/", "conclusion/", "bibliography/", "print/",
                   "parallel/memo-leak/", "parallel/gemini/", "parallel/conclusion/",
                   "search/")],
]
SEARCH_DATA = re.compile(r"^(ja|en)/search/data/(manifest|t\d+|s\d+|b\d+)\.json$")


class PageParser(HTMLParser):
    """Collects what the link checks need from one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag, href or src)
        self.canonical: list[str] = []
        self.alternates: dict[str, str] = {}  # hreflang -> absolute URL
        self.switch: list[tuple[str, str]] = []  # (hreflang, href) in the language switch
        self.html_lang: str | None = None
        self.bib_entries: list[str] = []  # ids of <li class="bib-entry">
        self._nav_depth = 0
        self._in_switch = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        for name in ("id", "name"):
            if attributes.get(name) and (name == "id" or tag == "a"):
                self.ids.add(attributes[name])
        if tag == "li" and "bib-entry" in (attributes.get("class") or "").split():
            self.bib_entries.append(attributes.get("id"))
        if tag == "nav":
            self._nav_depth += 1
            if "language-switch" in (attributes.get("class") or "").split():
                self._in_switch = self._nav_depth
        if tag == "link":
            rel = (attributes.get("rel") or "").split()
            if "canonical" in rel:
                self.canonical.append(attributes["href"])
                return
            if "alternate" in rel and attributes.get("hreflang"):
                self.alternates[attributes["hreflang"]] = attributes["href"]
                return
        for name in ("href", "src"):
            if attributes.get(name) is not None:
                self.links.append((tag, attributes[name]))
        if tag == "a" and self._in_switch and attributes.get("href") is not None:
            self.switch.append((attributes.get("hreflang"), attributes["href"]))

    def handle_endtag(self, tag):
        if tag == "nav":
            if self._in_switch == self._nav_depth:
                self._in_switch = False
            self._nav_depth -= 1


def parse(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text("utf-8"))
    parser.close()
    return parser


def html_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))


def page_url(output_path: str) -> str:
    """The site URL of an output file: `ja/x/index.html` -> `/ja/x/`."""
    url = "/" + output_path
    return url[: -len("index.html")] if url.endswith("/index.html") or url == "/index.html" else url


def resolve(out: Path, output_path: str, href: str, base_path: str) -> tuple[str, str] | None:
    """(target output path, fragment) of an in-site href; None for external links."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    if parts.path.startswith("/"):
        assert parts.path.startswith(base_path), f"{output_path}: {href} is outside {base_path}"
        target = "/" + parts.path[len(base_path):]
    elif parts.path:
        target = posixpath.normpath(posixpath.join(posixpath.dirname("/" + output_path),
                                                   unquote(parts.path)))
        if parts.path.endswith("/"):
            target += "/"
    else:
        target = "/" + output_path
    relative = unquote(target).lstrip("/")
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    return relative, unquote(parts.fragment)


def check_links(out: Path, base_path: str) -> list[str]:
    """Every in-site href/src whose file or #fragment does not exist."""
    parsed = {name: parse(out / name) for name in html_files(out)}
    broken = []
    for name, page in parsed.items():
        for tag, href in page.links:
            target = resolve(out, name, href, base_path)
            if target is None:
                continue
            path, fragment = target
            if not (out / path).is_file():
                broken.append(f"{name}: <{tag}> {href} -> {path} does not exist")
            elif fragment and path.endswith(".html"):
                ids = parsed[path].ids if path in parsed else parse(out / path).ids
                if fragment not in ids:
                    broken.append(f"{name}: <{tag}> {href} -> no id {fragment!r} in {path}")
    return broken


@pytest.fixture
def built(built_default) -> Path:
    """The default project built once, with its site.toml base_url."""
    return built_default


@pytest.fixture(scope="module")
def built_sub_path(tmp_path_factory) -> Path:
    """The default project built for a GitHub Pages project site under /repo/."""
    folder = tmp_path_factory.mktemp("subpath")
    content = write_project(folder / "content")
    code, _, stderr = run_build(content, folder / "out", "--base-url", SUB_PATH_URL)
    assert code == 0, stderr
    return folder / "out"


def test_output_tree(built):
    files = sorted(name for name in tree_bytes(built) if not SEARCH_DATA.match(name))
    search = {name for name in tree_bytes(built) if SEARCH_DATA.match(name)}
    for lang in ("ja", "en"):  # the manifest, one shard at least, each section's passages
        assert {f"{lang}/search/data/{name}.json"
                for name in ("manifest", "t0", "s0", "s1", "s2", "b0")} <= search
    expected = sorted(PAGES + ["sitemap.xml", ".nojekyll", ".kakehashi-output"]
                      + [f"static/{p.relative_to(ROOT / 'static').as_posix()}"
                         for p in (ROOT / "static").rglob("*")
                         if p.is_file() and not p.name.startswith(".")])
    assert files == expected
    assert (built / ".nojekyll").read_bytes() == b""


def test_html_lang_of_every_page(built):
    for name in PAGES:
        lang = name.split("/")[0] if "/" in name else "ja"
        assert parse(built / name).html_lang == lang, name


def test_every_internal_link_and_fragment_resolves(built):
    assert check_links(built, "/report/") == []


def test_every_internal_link_resolves_under_a_sub_path(built_sub_path):
    assert check_links(built_sub_path, "/repo/") == []


def test_canonical_on_every_page(built):
    for name in PAGES:
        if name == "404.html":
            continue
        page = parse(built / name)
        assert page.canonical == [f"https://example.org/report{page_url(name)}"], name


def language_pages() -> list[str]:
    return [name for name in PAGES if name.startswith(("ja/", "en/"))]


def test_hreflang_alternates_on_language_pages(built):
    for name in language_pages():
        lang, rest = name.split("/", 1)
        url = "/" + rest[: -len("index.html")]
        page = parse(built / name)
        assert page.alternates == {
            "ja": f"https://example.org/report/ja{url}",
            "en": f"https://example.org/report/en{url}",
            # a language's index page shares the chooser at / as its x-default
            "x-default": "https://example.org/report/" if url == "/" else f"https://example.org/report/ja{url}",
        }, name


def alternate_graph(out: Path, base_url: str) -> dict[str, set[str]]:
    """Output page -> the output pages its hreflang alternates (x-default too) point to."""
    graph = {}
    for name in html_files(out):
        targets = set()
        for href in parse(out / name).alternates.values():
            assert href.startswith(base_url), (name, href)
            relative = href[len(base_url):]
            targets.add(relative + "index.html" if relative == "" or relative.endswith("/")
                        else relative)
        graph[name] = targets
    return graph


def test_hreflang_reciprocal_between_language_pages(built):
    graph = alternate_graph(built, "https://example.org/report/")
    for name in language_pages():
        for target in graph[name]:
            assert target in graph, f"{name} -> {target}: no such page"
            if target != name and target in language_pages():
                assert name in graph[target], f"{name} -> {target}, but not back"


def test_hreflang_reciprocal_with_the_language_chooser(built):
    """The chooser names /ja/ and /en/ as alternates; they must name it back (x-default)."""
    graph = alternate_graph(built, "https://example.org/report/")
    assert graph["index.html"] == {"index.html", "ja/index.html", "en/index.html"}
    for target in sorted(graph["index.html"] - {"index.html"}):
        assert "index.html" in graph[target], f"index.html -> {target}, but not back"


def test_language_switch_goes_to_the_same_page(built):
    for name in language_pages():
        lang, rest = name.split("/", 1)
        other = "en" if lang == "ja" else "ja"
        switch = parse(built / name).switch
        assert len(switch) == 1, (name, switch)
        hreflang, href = switch[0]
        assert hreflang == other
        assert resolve(built, name, href, "/report/") == (f"{other}/{rest}", ""), (name, href)


def test_sub_path_absolute_urls_and_relative_links(built_sub_path):
    out = built_sub_path
    for name in html_files(out):
        page = parse(out / name)
        for href in page.canonical + list(page.alternates.values()):
            assert href.startswith(SUB_PATH_URL), (name, href)
        for tag, href in page.links:
            if name == "404.html":
                assert href.startswith("/repo/"), (name, href)
            else:
                parts = urlsplit(href)
                assert not parts.scheme or parts.netloc != "example.github.io", (name, href)
                assert not href.startswith("/"), (name, href)
    assert parse(out / "en/gemini/index.html").canonical == [SUB_PATH_URL + "en/gemini/"]
    sitemap = (out / "sitemap.xml").read_text("utf-8")
    urls = re.findall(r'<loc>([^<]*)</loc>|href="([^"]*)"', sitemap)
    assert urls
    for loc, href in urls:
        assert (loc or href).startswith(SUB_PATH_URL), loc or href
    locs = re.findall(r"<loc>([^<]*)</loc>", sitemap)
    assert sorted(locs) == sorted(SUB_PATH_URL + page_url(name).lstrip("/")
                                  for name in PAGES if name != "404.html"
                                  and not name.endswith("/search/index.html"))  # not listed


def test_rebuilds_are_byte_identical(tmp_path):
    content = write_project(tmp_path / "content")
    assert run_build(content, tmp_path / "one")[0] == 0
    assert run_build(content, tmp_path / "two")[0] == 0
    one, two = tree_bytes(tmp_path / "one"), tree_bytes(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_golden_tree(built, update_golden):
    """The default project's output, byte for byte (static/ is compared with its source)."""
    golden = GOLDEN / "basic"
    actual = {name: data for name, data in tree_bytes(built).items()
              if not name.startswith("static/")}
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        for name, data in actual.items():
            (golden / name).parent.mkdir(parents=True, exist_ok=True)
            (golden / name).write_bytes(data)
    assert golden.is_dir(), "no golden tree yet: run pytest --update-golden"
    expected = tree_bytes(golden)
    assert sorted(actual) == sorted(expected)
    assert [name for name in sorted(actual) if actual[name] != expected[name]] == []
    for name, data in tree_bytes(built).items():
        if name.startswith("static/"):
            assert data == (ROOT / name).read_bytes(), name


def test_real_content_builds_strict_with_every_source(tmp_path):
    code, _, stderr = run_build(ROOT / "content", tmp_path / "out", "--strict")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    for lang in ("ja", "en"):
        page = parse(tmp_path / "out" / lang / "bibliography" / "index.html")
        assert len(page.bib_entries) == 96, lang
        assert len(set(page.bib_entries)) == 96, lang
    assert check_links(tmp_path / "out", "/kakehashi/") == []


TWICE_IN_ONE_PARAGRAPH = {
    "sections/01-memo-leak.ja.md": "---\ntitle: \"メモ流出\"\n---\n\nメモは流出した。[^altman-memo]"
                                   "内容も報じられた。[^altman-memo][^smith-2024]\n\n"
                                   "その後の報道[^altman-memo]があった。\n",
    "sections/01-memo-leak.en.md": "---\ntitle: \"The memo leak\"\n---\n\nThe memo leaked."
                                   "[^altman-memo] Its content was reported.[^altman-memo]"
                                   "[^smith-2024]\n\nReports followed[^altman-memo].\n",
}


def back_links(out: Path, page: str, key: str) -> str:
    """The back-link block of one bibliography entry, whitespace between tags removed."""
    html = (out / page).read_text("utf-8")
    entry = re.search(rf'<li id="ref-{key}".*?</li>', html, re.DOTALL)[0]
    block = re.search(r'<span class="bib-backlinks">.*?</span>\s*</li>', entry, re.DOTALL)[0]
    return re.sub(r">\s+<", "><", block.removesuffix("</li>").strip())


def test_one_back_link_per_citing_paragraph(project, tmp_path):
    """Two citations in ¶1 give one link marked ×2; the count still counts citations."""
    content = project(TWICE_IN_ONE_PARAGRAPH)
    code, _, stderr = run_build(content, tmp_path / "out")
    assert code == 0, stderr
    out = tmp_path / "out"
    assert back_links(out, "en/bibliography/index.html", "altman-memo") == (
        '<span class="bib-backlinks"><span class="bib-count">cited 3 times</span>'
        '<span class="visually-hidden">Cited at:</span>'
        '<a href="../memo-leak/#cite-1" title="The memo leak, paragraph 1, cited 2 times">'
        "§1&#8239;¶1&#8239;×2</a>"
        '<a href="../memo-leak/#cite-3" title="The memo leak, paragraph 2">§1&#8239;¶2</a></span>')
    assert back_links(out, "ja/bibliography/index.html", "altman-memo") == (
        '<span class="bib-backlinks"><span class="bib-count">引用 3 回</span>'
        '<span class="visually-hidden">引用箇所:</span>'
        '<a href="../memo-leak/#cite-1" title="メモ流出, 第1段落, 引用 2 回">'
        "§1&#8239;¶1&#8239;×2</a>"
        '<a href="../memo-leak/#cite-3" title="メモ流出, 第2段落">§1&#8239;¶2</a></span>')
    assert re.findall(r'href="([^"]+)"', back_links(out, "ja/print/index.html", "altman-memo")) \
        == ["#memo-leak-cite-1", "#memo-leak-cite-3"]
    assert back_links(out, "en/bibliography/index.html", "smith-2024") == (
        '<span class="bib-backlinks"><span class="bib-count">cited 2 times</span>'
        '<span class="visually-hidden">Cited at:</span>'
        '<a href="../memo-leak/#cite-2" title="The memo leak, paragraph 1">§1&#8239;¶1</a>'
        '<a href="../gemini/#cite-2" title="Gemini 3, paragraph 2">§2&#8239;¶2</a></span>')
