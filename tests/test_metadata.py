"""The report's own metadata: site.toml's [report], the index page, the print cover, How to
cite this report, and the citation_* / Open Graph / JSON-LD data of every page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pybtex.database import parse_string

from conftest import SITE_TOML
from kakehashi.config import load_config
from kakehashi.diagnostics import Diagnostics
from kakehashi.site import BuildOptions, build

REPORT = """
[report]
date = 2025-11-28
version = "1.2"
license = "CC BY 4.0"
license_url = "https://creativecommons.org/licenses/by/4.0/"
doi = "10.5281/zenodo.1234567"

[[report.authors]]
name = { ja = "山田, 太郎", en = "Yamada, Taro" }
affiliation = { ja = "架け橋研究所", en = "Kakehashi Institute" }
orcid = "0000-0002-1825-0097"

[[report.authors]]
name = { ja = "架け橋編集部", en = "Kakehashi editors" }
"""
TITLES = {"ja": "試験報告", "en": "Test Report"}


class HeadParser(HTMLParser):
    """The meta tags, JSON-LD scripts, canonical link and lang of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: list[tuple[str, str]] = []
        self.json_ld: list[str] = []
        self.canonical = ""
        self.lang = ""
        self.in_json = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang", "")
        if tag == "meta" and ("name" in attributes or "property" in attributes):
            self.meta.append((attributes.get("name") or attributes["property"], attributes["content"]))
        if tag == "link" and attributes.get("rel") == "canonical":
            self.canonical = attributes["href"]
        self.in_json = tag == "script" and attributes.get("type") == "application/ld+json"

    def handle_data(self, data):
        if self.in_json:
            self.json_ld.append(data)

    def handle_endtag(self, tag):
        self.in_json = False


def head(path: Path) -> HeadParser:
    parser = HeadParser()
    parser.feed(path.read_text("utf-8"))
    return parser


@pytest.fixture
def built_report(project, tmp_path) -> Path:
    content = project({"site.toml": SITE_TOML + REPORT})
    result = build(BuildOptions(content, tmp_path / "out", pdf_links=True))
    assert result.diagnostics.items == []
    return tmp_path / "out"


def language_pages(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("index.html") if p.relative_to(out).parts[0] in ("ja", "en"))


def test_every_page_carries_citation_tags_in_its_language(built_report):
    pages = language_pages(built_report)
    assert len(pages) == 20  # per language: index, 3 sections, bibliography, print, search,
    # 3 side by side
    for page in pages:
        language = page.relative_to(built_report).parts[0]
        parsed = head(page)
        tags = [(name, content) for name, content in parsed.meta if name.startswith("citation_")]
        expected_authors = {"ja": ["山田, 太郎", "架け橋編集部"], "en": ["Yamada, Taro", "Kakehashi editors"]}
        affiliation = {"ja": "架け橋研究所", "en": "Kakehashi Institute"}[language]
        assert tags == [
            ("citation_title", TITLES[language]),
            ("citation_author", expected_authors[language][0]),
            ("citation_author_institution", affiliation),
            ("citation_author_orcid", "https://orcid.org/0000-0002-1825-0097"),
            ("citation_author", expected_authors[language][1]),
            ("citation_publication_date", "2025/11/28"),
            ("citation_language", language),
            ("citation_doi", "10.5281/zenodo.1234567"),
            ("citation_abstract_html_url", f"https://example.org/report/{language}/"),
            ("citation_pdf_url", f"https://example.org/report/{language}/report.pdf"),
        ], page
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", dict(tags)["citation_publication_date"])


def test_every_page_has_open_graph_in_its_language(built_report):
    for page in language_pages(built_report):
        language = page.relative_to(built_report).parts[0]
        parsed = head(page)
        og = dict((name, content) for name, content in parsed.meta if name.startswith(("og:", "article:")))
        assert og["og:url"] == parsed.canonical
        assert og["og:locale"] == {"ja": "ja_JP", "en": "en_US"}[language]
        assert og["og:locale:alternate"] == {"ja": "en_US", "en": "ja_JP"}[language]
        assert og["og:site_name"] == TITLES[language]
        assert og["og:title"] and og["og:description"]
        # A section side by side is a page about the section, not the article itself.
        section = page.parent.name in ("memo-leak", "gemini", "conclusion") and \
            page.parent.parent.name != "parallel"
        assert og["og:type"] == ("article" if section else "website")
        if section:
            assert og["article:published_time"] == "2025-11-28"
            assert [c for n, c in parsed.meta if n == "article:author"] == \
                {"ja": ["山田太郎", "架け橋編集部"], "en": ["Taro Yamada", "Kakehashi editors"]}[language]


def test_every_page_has_valid_json_ld_in_its_language(built_report):
    for page in [*language_pages(built_report), built_report / "index.html"]:
        parsed = head(page)
        assert len(parsed.json_ld) == 1, page
        data = json.loads(parsed.json_ld[0])
        assert data["@context"] == "https://schema.org"
        assert data["@type"] in ("Report", "WebPage")
        assert data["url"] == parsed.canonical
        report = data if data["@type"] == "Report" else data["isPartOf"]
        assert report["@type"] == "Report"
        assert data["inLanguage"] == report["inLanguage"] == parsed.lang
        assert report["name"] == TITLES[parsed.lang]
        assert report["datePublished"] == "2025-11-28"
        assert report["version"] == "1.2"
        assert report["license"] == "https://creativecommons.org/licenses/by/4.0/"
        assert report["identifier"] == {"@type": "PropertyValue", "propertyID": "DOI",
                                        "value": "10.5281/zenodo.1234567"}
        person, organisation = report["author"]
        assert person["@type"] == "Person" and organisation["@type"] == "Organization"
        assert person["identifier"] == "https://orcid.org/0000-0002-1825-0097"
        assert person["affiliation"]["@type"] == "Organization"


def test_index_page_and_print_cover_show_the_metadata(built_report):
    index = (built_report / "ja/index.html").read_text("utf-8")
    assert ('<li><span class="author-name">山田太郎</span><span class="author-affiliation">架け橋研究所</span> '
            '<a class="author-orcid" href="https://orcid.org/0000-0002-1825-0097" aria-label="ORCID '
            '0000-0002-1825-0097">ORCID 0000-0002-1825-0097</a></li>') in index
    assert '<dt>公開日</dt><dd><time datetime="2025-11-28">2025年11月28日</time></dd>' in index
    assert '<dt>バージョン</dt><dd>1.2</dd>' in index
    assert '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>' in index
    assert '<h2 id="how-to-cite">この報告書の引用方法</h2>' in index
    english = (built_report / "en/print/index.html").read_text("utf-8")
    cover = english[english.index('<header class="print-cover">'):english.index("</header>", english.index("print-cover"))]
    assert '<span class="author-name">Taro Yamada</span>' in cover
    assert "<dt>Published</dt><dd><time datetime=\"2025-11-28\">28 November 2025</time></dd>" in cover
    assert '<h2 id="how-to-cite">How to cite this report</h2>' in cover


def test_how_to_cite_reference_and_bibtex(built_report):
    english = (built_report / "en/index.html").read_text("utf-8")
    assert ('<p class="how-to-cite-reference">Taro Yamada and Kakehashi editors. “Test Report”. Research '
            "report, version 1.2, 28 November 2025. <a href=\"https://example.org/report/en/\">"
            'https://example.org/report/en/</a> <a href="https://doi.org/10.5281/zenodo.1234567">'
            "doi:10.5281/zenodo.1234567</a>.</p>") in english
    japanese = (built_report / "ja/index.html").read_text("utf-8")
    assert "山田太郎、架け橋編集部「試験報告」研究報告、バージョン1.2、2025年11月28日。" in japanese
    for language, page in (("en", english), ("ja", japanese)):
        bibtex = re.search(r"<pre><code>(.*?)</code></pre>", page, re.DOTALL)[1]
        import html
        data = parse_string(html.unescape(bibtex), "bibtex")
        entry = data.entries["yamada-2025"]
        assert entry.type == "report"
        assert entry.fields["title"] == "{" + TITLES[language] + "}"
        assert entry.fields["date"] == "2025-11-28" and entry.fields["version"] == "1.2"
        assert entry.fields["doi"] == "10.5281/zenodo.1234567"
        assert [str(p) for p in entry.persons["author"]] == \
            {"en": ["Yamada, Taro", "{Kakehashi editors}"], "ja": ["山田, 太郎", "{架け橋編集部}"]}[language]


def test_no_report_table_means_no_how_to_cite(built_default):
    index = (built_default / "en/index.html").read_text("utf-8")
    assert "how-to-cite" not in index and "report-authors" not in index
    assert '<meta name="citation_title" content="Test Report">' in index


@pytest.mark.parametrize("table, message", [
    ('[report]\ndate = "28 Nov 2025"\n', 'site.toml:17: error: report.date "28 Nov 2025" must be a day '
     "written YYYY-MM-DD, e.g. 2025-11-28 [config.bad-value]"),
    ('[report]\ndoi = "zenodo 1234"\n', 'site.toml:17: error: report.doi "zenodo 1234" is not a DOI; '
     'write it as "10.5281/zenodo.1234567" [config.bad-value]'),
    ('[[report.authors]]\nname = "Yamada, Taro"\norcid = "0000-0002-1825-0098"\n',
     'site.toml:16: error: ORCID "0000-0002-1825-0098" is not a valid ORCID iD (16 digits as '
     "0000-0002-1825-0097, the last one a checksum) [config.bad-orcid]"),
    ('[[report.authors]]\nname = { ja = "山田, 太郎" }\n', 'site.toml:16: error: each author needs a '
     'name: name = "Family, Given", or one per language: name = { ja = "山田, 太郎", en = "Yamada, '
     'Taro" } [config.missing-name]'),
    ('[report]\nauthor = "x"\n', 'site.toml:17: error: unknown key "report.author"; known keys here: '
     "authors, date, doi, license, license_url, version [config.unknown-key]"),
    ('citation_style = "apa"\n', 'site.toml:1: error: citation_style must be "numeric" or "author-date", '
     'not "apa" [config.bad-value]'),
])
def test_report_metadata_errors_have_their_lines(tmp_path, monkeypatch, table, message):
    monkeypatch.chdir(tmp_path)
    text = SITE_TOML + "\n" + table if not table.startswith("citation_style") else table + SITE_TOML
    (tmp_path / "site.toml").write_text(text, "utf-8")
    diag = Diagnostics()
    assert load_config(tmp_path / "site.toml", diag) is None
    assert [item.format() for item in diag.sorted()] == [message]
