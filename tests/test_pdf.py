"""`build.py pdf` for real: reports printed by Chromium, read back with pypdf and poppler.

Each report is printed once per font set-up: with the machine's fonts, and through a
fontconfig file that hides the IPAex fonts, as on a machine with only fonts-noto-cjk (where
every bookmark of the Japanese PDF once came out doubled). The small report is the fixture
project of conftest.py with a section whose title wraps; the flagship is content/.
pdfinfo gives the page count and size, pdffonts the embedded fonts, pdftotext the text page
by page; pypdf reads the outline (bookmarks) and the link annotations, which poppler's tools
do not show.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SITE_TOML, require, require_packages, write_project
from kakehashi.pdf import JAPANESE_PRINT_FONTS, missing_fonts

FLAGSHIP = ROOT / "content"
LANGUAGES = ("ja", "en")
BIBLIOGRAPHY = {"ja": "参考文献", "en": "Bibliography"}
A4_POINTS = (595, 842)
# A Japanese font by name: Noto Sans/Serif CJK (…CJKjp…), IPAex/IPA Mincho and Gothic, …JP.
CJK_FONT_NAME = re.compile(r"CJK|JP|IPA|Mincho|Gothic", re.I)
SECTION_FILE = re.compile(r"^(\d+)-(.+)\.(ja|en)\.md$")
FONT_WARNING = ("pdf: warning: the IPAex fonts (IPAexMincho, IPAexGothic) are not installed, "
                "so the PDFs embed their Japanese text as unnamed Type 3 glyphs; install them "
                "(Debian: apt-get install fonts-ipaexfont-mincho fonts-ipaexfont-gothic)")

# What each font set-up needs, and whether it hides IPAex.
BASE_PACKAGES = ("chromium", "poppler-utils")
IPAEX_PACKAGES = ("fonts-ipaexfont-mincho", "fonts-ipaexfont-gothic")
SETUPS = {
    "system": (BASE_PACKAGES + ("fonts-noto-cjk",), False),  # whatever the machine has
    "ipaex": (BASE_PACKAGES + IPAEX_PACKAGES, False),
    "no-ipaex": (BASE_PACKAGES + ("fonts-noto-cjk",), True),
}
NO_IPAEX_FONTCONFIG = """\
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<!-- The machine's fonts without IPAex Mincho and Gothic. -->
<fontconfig>
  <include ignore_missing="yes">{system}</include>
  <selectfont>
    <rejectfont>
      <pattern><patelt name="family"><string>IPAexMincho</string></patelt></pattern>
      <pattern><patelt name="family"><string>IPAexGothic</string></patelt></pattern>
    </rejectfont>
  </selectfont>
</fontconfig>
"""

# The small report: the fixture project and a fourth section whose title wraps in print
# (a wrapped line once lost its space in the bookmark, and only the first line doubled).
LONG_TITLE = {
    "ja": "長い題の節：二行に折り返される見出しでも、"
          "PDFのしおりには題がちょうど一度だけ現れることを確かめる",
    "en": "A Long Section Title That Wraps onto a Second Line of the Printed Report and Still "
          "Appears Exactly Once, with Its Spaces, in the Bookmarks",
}
SMALL_FILES = {
    f"sections/04-long.{lang}.md": f'---\ntitle: "{LONG_TITLE[lang]}"\n---\n\n{body}\n'
    for lang, body in (("ja", "本文。[^doe-2023]"), ("en", "Text.[^doe-2023]"))
}
# The report's own metadata, for its PDF's first page.
SMALL_FILES["site.toml"] = SITE_TOML + """
[report]
date = 2025-11-28
version = "2.1"
doi = "10.5281/zenodo.1234567"

[[report.authors]]
name = { ja = "山田, 太郎", en = "Yamada, Taro" }
affiliation = { ja = "架け橋研究所", en = "Kakehashi Institute" }
"""
FIRST_PAGE = {
    "ja": ["山田太郎", "架け橋研究所", "公開日", "2025年11月28日", "バージョン", "2.1",
           "https://doi.org/10.5281/zenodo.1234567", "この報告書の引用方法",
           "山田太郎「試験報告」研究報告、バージョン2.1、2025年11月28日。"],
    "en": ["Taro Yamada", "Kakehashi Institute", "Published", "28 November 2025", "Version", "2.1",
           "https://doi.org/10.5281/zenodo.1234567", "How to cite this report",
           "Taro Yamada. “Test Report”. Research report, version 2.1, 28 November 2025."],
}
SMALL_OUTLINE = {
    "ja": [("試験報告", [("この報告書の引用方法", []), ("目次", [])]),
           ("メモ流出", [("経緯", [])]),
           ("Gemini 3", [("性能", [("評価", [])])]),
           ("結論", []),
           (LONG_TITLE["ja"], []),
           ("参考文献", [("本文で引用した文献", [])])],
    "en": [("Test Report", [("How to cite this report", []), ("Contents", [])]),
           ("The memo leak", [("Background", [])]),
           ("Gemini 3", [("Performance", [("Evaluation", [])])]),
           ("Conclusion", []),
           (LONG_TITLE["en"], []),
           ("Bibliography", [("Sources cited in the text", [])])],
}

Outline = list[tuple[str, "Outline"]]


@dataclass(frozen=True)
class Printed:
    """One run of `build.py pdf`: its output folder, standard error and a PDF per language."""

    out: Path
    stderr: str
    pdfs: dict[str, Path]


def section_titles(lang: str) -> list[str]:
    """The flagship's section titles in reading order, from the sources' front matter."""
    found = []
    for path in (FLAGSHIP / "sections").iterdir():
        match = SECTION_FILE.match(path.name)
        if match and match[3] == lang:
            front = path.read_text("utf-8-sig").split("---", 2)[1]
            found.append((int(match[1]), yaml.safe_load(front)["title"]))
    return [title for _, title in sorted(found)]


def squash(text: str) -> str:
    """Text without any whitespace (PDF text breaks lines wherever the layout did)."""
    return re.sub(r"\s+", "", text)


def run_pdf(content: Path, out: Path, *args: str, env: dict[str, str] | None = None):
    """`python build.py pdf --content CONTENT --out OUT ARGS…`."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "pdf", "--content",
                           str(content), "--out", str(out), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def tool(*command: str) -> str:
    """A poppler tool's standard output."""
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


def warnings(stderr: str) -> list[str]:
    """The lines of `build.py pdf`'s standard error that are warnings."""
    return [line for line in stderr.splitlines() if "warning" in line]


@pytest.fixture(scope="module")
def no_ipaex_fontconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fontconfig file: the machine's configuration, with the IPAex fonts rejected."""
    system = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
    path = tmp_path_factory.mktemp("fontconfig") / "fonts.conf"
    path.write_text(NO_IPAEX_FONTCONFIG.format(system=system), "utf-8")
    return path


@pytest.fixture(scope="module")
def printed(chromium_path: str, tmp_path_factory: pytest.TempPathFactory,
            no_ipaex_fontconfig: Path):
    """A factory: `printed(report, setup)`, the "small" or "flagship" report printed with
    the fonts of a set-up of SETUPS (skipped without its packages), once for the module."""
    done: dict[tuple[str, bool], Printed] = {}

    def run(report: str, setup: str) -> Printed:
        packages, hide_ipaex = SETUPS[setup]
        require_packages(*packages)
        if (report, hide_ipaex) not in done:
            folder = tmp_path_factory.mktemp(f"{report}-{setup}")
            content = FLAGSHIP if report == "flagship" else \
                write_project(folder / "content", SMALL_FILES)
            env = {**os.environ, "CHROMIUM": chromium_path}
            if hide_ipaex:
                env["FONTCONFIG_FILE"] = str(no_ipaex_fontconfig)
            completed = run_pdf(content, folder / "site", env=env)
            assert completed.returncode == 0, completed.stderr
            pdfs = {lang: folder / "site" / lang / "report.pdf" for lang in LANGUAGES}
            for lang, path in pdfs.items():
                assert path.is_file(), f"no {path}"
                site_page = (folder / "site" / lang / "index.html").read_text("utf-8")
                assert 'href="report.pdf"' in site_page, "the site does not link its PDF"
            done[report, hide_ipaex] = Printed(folder / "site", completed.stderr, pdfs)
        return done[report, hide_ipaex]
    return run


@pytest.fixture(scope="module")
def pdfs(printed) -> dict[str, Path]:
    """The flagship report printed with the machine's fonts: language -> its PDF."""
    return printed("flagship", "system").pdfs


@pytest.fixture(scope="module")
def pypdf():
    """pypdf, for what poppler's tools do not show (outline, link annotations)."""
    try:
        import pypdf as module
    except ImportError:
        require(False, "pypdf is not installed (pip install -r requirements-test.txt)")
    return module


def page_texts(pdf: Path) -> list[str]:
    """The text of each page, in order."""
    return tool("pdftotext", "-enc", "UTF-8", str(pdf), "-").split("\f")[:-1]


def section_start_pages(pdf: Path, titles: list[str]) -> list[int | None]:
    """For each title, the first page (0-based) whose text begins with it, after the last."""
    pages = [squash(text) for text in page_texts(pdf)]
    found, after = [], 0
    for title in titles:
        start = next((n for n in range(after, len(pages)) if pages[n].startswith(squash(title))),
                     None)
        found.append(start)
        after = start + 1 if start is not None else after
    return found


def read_outline(reader) -> Outline:
    """The PDF's bookmarks as (title, children) trees (pypdf lists children after parents)."""
    def tree(items) -> Outline:
        found: Outline = []
        for item in items:
            if isinstance(item, list):
                found[-1][1].extend(tree(item))
            else:
                found.append((item.title, []))
        return found
    return tree(reader.outline)


class HeadingParser(HTMLParser):
    """The text of every h1–h6 of a page, without the permalink anchors."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []  # (level, text)
        self._level = 0
        self._anchor = False

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self._level = int(tag[1])
            self.headings.append((self._level, ""))
        elif tag == "a" and "anchor" in (dict(attrs).get("class") or "").split():
            self._anchor = True

    def handle_endtag(self, tag):
        if tag == "a":
            self._anchor = False
        elif re.fullmatch(r"h[1-6]", tag):
            self._level = 0

    def handle_data(self, data):
        if self._level and not self._anchor:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)


def heading_outline(page: Path) -> Outline:
    """The headings of a print page nested by level, as Chromium makes bookmarks of them."""
    parser = HeadingParser()
    parser.feed(page.read_text("utf-8"))
    root: Outline = []
    stack: list[tuple[int, Outline]] = [(0, root)]
    for level, text in parser.headings:
        while stack[-1][0] >= level:
            stack.pop()
        children: Outline = []
        stack[-1][1].append((text, children))
        stack.append((level, children))
    return root


# --- The flagship report ----------------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_page_count_is_plausible_and_pages_are_a4(pdfs, pypdf, lang):
    info = tool("pdfinfo", str(pdfs[lang]))
    pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M)[1])
    assert 15 <= pages <= 80, info
    assert re.search(r"^Page size:\s+594\.\d+ x 841\.\d+ pts \(A4\)$", info, re.M), info
    sizes = {(round(float(page.mediabox.width)), round(float(page.mediabox.height)))
             for page in pypdf.PdfReader(pdfs[lang]).pages}
    assert sizes == {A4_POINTS}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_named_cjk_font_is_embedded_and_no_type3_font(printed, lang):
    pdf = printed("flagship", "ipaex").pdfs[lang]
    listing = tool("pdffonts", str(pdf)).splitlines()
    header = listing[0]
    emb = header.index("emb")
    rows = [(line[:header.index("type")].strip(), line[header.index("type"):emb].strip(),
             line[emb:emb + 3].strip()) for line in listing[2:]]
    embedded_cjk = [name for name, _, embedded in rows if CJK_FONT_NAME.search(name) and
                    embedded == "yes"]
    assert embedded_cjk, "no embedded, named Japanese font:\n" + "\n".join(listing[:12])
    assert [row for row in rows if row[1] == "Type 3"] == [], "\n".join(listing)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_text_has_every_section_in_order_then_the_bibliography(pdfs, lang):
    titles = section_titles(lang) + [BIBLIOGRAPHY[lang]]
    starts = section_start_pages(pdfs[lang], titles)
    missing = [title for title, start in zip(titles, starts) if start is None]
    assert missing == [], f"no page begins with these titles (in order): {missing}"
    assert starts == sorted(starts) and starts[0] >= 1  # after the cover and contents


@pytest.mark.parametrize("setup", ["ipaex", "no-ipaex"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_outline_is_exactly_the_print_page_headings(printed, pypdf, lang, setup):
    run = printed("flagship", setup)
    reader = pypdf.PdfReader(run.pdfs[lang])
    outline = read_outline(reader)
    assert outline == heading_outline(run.out / lang / "print" / "index.html")
    titles = section_titles(lang) + [BIBLIOGRAPHY[lang]]
    assert [title for title, _ in outline[1:]] == titles  # after the cover (with contents)
    top = [item for item in reader.outline if not isinstance(item, list)][1:]
    pages = [reader.get_destination_page_number(item) for item in top]
    assert pages == section_start_pages(run.pdfs[lang], titles)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_citations_are_links_to_the_bibliography_inside_the_pdf(pdfs, pypdf, lang):
    reader = pypdf.PdfReader(pdfs[lang])
    bibliography_page = section_start_pages(pdfs[lang], section_titles(lang) +
                                            [BIBLIOGRAPHY[lang]])[-1]
    destinations = reader.named_destinations
    citations = []
    for number, page in enumerate(reader.pages[:bibliography_page]):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") != "/Link":
                continue
            target = annotation.get("/Dest")
            action = annotation.get("/A")
            if target is None and action is not None and action.get("/S") == "/GoTo":
                target = action.get("/D")
            if isinstance(target, str) and target.lstrip("/").startswith("ref-"):
                citations.append((number, target))
    assert len(citations) > 100, f"only {len(citations)} citation links"
    for number, target in citations:
        assert target in destinations, f"page {number + 1}: no destination {target}"
        landing = reader.get_destination_page_number(destinations[target])
        assert landing >= bibliography_page, (number, target, landing)


XREF_TARGETS = ("gemini-3-tbl-benchmarks", "gemini-3-sec-benchmarks", "anthropic-sec-enterprise-share")
CAPTION = {"ja": "表1：主要ベンチマーク", "en": "Table 1: Gemini 3 Pro"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_cross_references_are_links_inside_the_pdf(pdfs, pypdf, lang):
    """@tbl-benchmarks and the two @sec- references land on the page of their target."""
    reader = pypdf.PdfReader(pdfs[lang])
    destinations = reader.named_destinations
    found = {}
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            target = annotation.get("/Dest")
            action = annotation.get("/A")
            if target is None and action is not None and action.get("/S") == "/GoTo":
                target = action.get("/D")
            if isinstance(target, str) and target.lstrip("/") in XREF_TARGETS:
                found[target.lstrip("/")] = target
    assert sorted(found) == sorted(XREF_TARGETS)
    texts = page_texts(pdfs[lang])
    table_page = next(n for n, text in enumerate(texts) if squash(CAPTION[lang]) in squash(text))
    landing = reader.get_destination_page_number(destinations[found["gemini-3-tbl-benchmarks"]])
    assert landing == table_page


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_first_page_shows_the_report_metadata(printed, lang):
    first = squash(page_texts(printed("small", "system").pdfs[lang])[0])
    for text in FIRST_PAGE[lang]:
        assert squash(text) in first, text


# --- The small report: bookmarks, footnotes and the font warning ------------------------------

@pytest.mark.parametrize("setup", ["ipaex", "no-ipaex"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_small_report_bookmarks_are_exact_with_and_without_ipaex(printed, pypdf, lang, setup):
    run = printed("small", setup)
    reader = pypdf.PdfReader(run.pdfs[lang])
    assert read_outline(reader) == SMALL_OUTLINE[lang]
    titles = [title for title, _ in SMALL_OUTLINE[lang][1:]]
    top = [item for item in reader.outline if not isinstance(item, list)][1:]
    pages = [reader.get_destination_page_number(item) for item in top]
    assert pages == section_start_pages(run.pdfs[lang], titles) == [1, 2, 3, 4, 5]
    first_line = page_texts(run.pdfs[lang])[4].strip().splitlines()[0]
    assert squash(LONG_TITLE[lang]).startswith(squash(first_line))
    assert squash(first_line) != squash(LONG_TITLE[lang])  # the long title does wrap


@pytest.mark.parametrize("lang", LANGUAGES)
def test_footnotes_print_their_note_marks_without_the_way_back(printed, lang):
    text = page_texts(printed("small", "ipaex").pdfs[lang])[1]  # the memo-leak section
    mark, numbered = {"ja": ("注1", "注1これは通常の脚注である。"),
                      "en": ("note1", "Note1Thisisanordinaryfootnote.")}[lang]
    assert mark in squash(text)
    assert numbered in squash(text), text
    assert "↩" not in text


def test_pdf_warns_once_without_ipaex_and_still_prints(printed):
    run = printed("small", "no-ipaex")
    assert warnings(run.stderr) == [FONT_WARNING]
    assert run.stderr.index(FONT_WARNING) < run.stderr.index("Printed")  # before printing
    for pdf in run.pdfs.values():
        assert b"/Subtype /Type3" in pdf.read_bytes()  # what the warning is about


def test_pdf_does_not_warn_with_ipaex(printed):
    run = printed("small", "ipaex")
    assert warnings(run.stderr) == []
    for pdf in run.pdfs.values():
        assert b"/Subtype /Type3" not in pdf.read_bytes()


def test_without_fc_list_the_printed_pdfs_tell(chromium_path, no_ipaex_fontconfig, tmp_path):
    require_packages("fonts-noto-cjk")
    tools = tmp_path / "bin"  # every program of PATH but fc-list
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for program in Path(folder).glob("*") if Path(folder).is_dir() else ():
            target = tools / program.name
            if program.name != "fc-list" and not target.exists() and os.access(program, os.X_OK):
                target.symlink_to(program)
    env = {**os.environ, "PATH": str(tools), "FONTCONFIG_FILE": str(no_ipaex_fontconfig),
           "CHROMIUM": chromium_path}
    assert shutil.which("fc-list", path=env["PATH"]) is None
    completed = run_pdf(write_project(tmp_path / "content"), tmp_path / "site", env=env)
    assert completed.returncode == 0, completed.stderr
    assert warnings(completed.stderr) == [FONT_WARNING]
    assert completed.stderr.index(FONT_WARNING) > completed.stderr.rindex("Printed")


def test_missing_fonts_asks_fontconfig(no_ipaex_fontconfig, monkeypatch, tmp_path):
    require_packages(*IPAEX_PACKAGES)
    assert missing_fonts(JAPANESE_PRINT_FONTS) == []
    monkeypatch.setenv("FONTCONFIG_FILE", str(no_ipaex_fontconfig))
    assert missing_fonts(JAPANESE_PRINT_FONTS) == ["IPAexMincho", "IPAexGothic"]
    monkeypatch.setenv("PATH", str(tmp_path))  # no fc-list: fontconfig cannot tell
    assert missing_fonts(JAPANESE_PRINT_FONTS) is None


def test_the_checked_fonts_are_those_print_css_puts_first_for_japanese():
    css = (ROOT / "static" / "print.css").read_text("utf-8")
    text_stack = re.search(r"--print-serif-ja:\s*([^;]+);", css)[1]
    heading_stack = re.search(r":lang\(ja\) :is\(h1[^{]*\{\s*font-family:\s*([^;]+);", css)[1]
    firsts = tuple(stack.split(",")[0].strip().strip('"') for stack in (text_stack, heading_stack))
    assert firsts == JAPANESE_PRINT_FONTS


def test_without_chromium_pdf_says_so_in_one_sentence(project, tmp_path):
    env = {**os.environ, "CHROMIUM": str(tmp_path / "no-such-chromium")}
    completed = run_pdf(project(), tmp_path / "site", env=env)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert "Chromium" in lines[0] and "CHROMIUM" in lines[0] and "install" in lines[0]
    assert lines[0].count(". ") == 0  # one sentence
    assert not (tmp_path / "site").exists()  # nothing was built for nothing


# --- Chromium failing: the previous site and its PDFs survive ------------------------------------

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
               b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
               b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\n"
               b"trailer<</Root 1 0 R>>\n%%EOF\n")
FAKE_CHROMIUM = """\
#!{python}
# A stand-in for Chromium that fails the way real ones were seen to fail: {behaviour}.
import os, subprocess, sys, time
target = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--print-to-pdf="))
behaviour = {behaviour!r}
if behaviour == "crash":
    sys.stderr.write("Received signal 11 SEGV_MAPERR\\n"); sys.exit(139)
if behaviour == "hang":
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open({pid_file!r}, "w").write(str(helper.pid))
    time.sleep(300)
if behaviour == "not-a-pdf":
    open(target, "w").write("<html>Error</html>")
if behaviour == "truncated":
    open(target, "wb").write({pdf!r}[:60])
if behaviour == "no-pages":
    open(target, "wb").write(b"%PDF-1.4\\ntrailer<<>>\\n%%EOF\\n")
if behaviour == "good":
    open(target, "wb").write({pdf!r})
"""
CHROMIUM_FAILURES = {
    "crash": "pdf: Chromium exited with status 139: Received signal 11 SEGV_MAPERR for /ja/print/; "
             "the previous site and its PDFs are unchanged.",
    "hang": "pdf: Chromium did not finish within 3 s for /ja/print/; the previous site and its "
            "PDFs are unchanged.",
    "writes-nothing": "pdf: Chromium wrote no PDF for /ja/print/; the previous site and its PDFs "
                      "are unchanged.",
    "not-a-pdf": "pdf: Chromium wrote a file that is not a PDF for /ja/print/; the previous site "
                 "and its PDFs are unchanged.",
    "truncated": "pdf: Chromium's PDF is truncated (no end-of-file marker) for /ja/print/; the "
                 "previous site and its PDFs are unchanged.",
    "no-pages": "pdf: Chromium's PDF has no pages for /ja/print/; the previous site and its PDFs "
                "are unchanged.",
}


def fake_chromium(folder: Path, behaviour: str) -> Path:
    path = folder / f"chromium-{behaviour}"
    path.write_text(FAKE_CHROMIUM.format(python=sys.executable, behaviour=behaviour,
                                         pid_file=str(folder / "helper.pid"), pdf=MINIMAL_PDF))
    path.chmod(0o755)
    return path


@pytest.fixture
def printed_site(project, tmp_path):
    """A site with both PDFs, printed by a Chromium that works: (content, out, tree)."""
    from conftest import tree_bytes
    content = project()
    out = tmp_path / "site"
    env = {**os.environ, "CHROMIUM": str(fake_chromium(tmp_path, "good"))}
    completed = run_pdf(content, out, env=env)
    assert completed.returncode == 0, completed.stderr
    assert (out / "ja" / "report.pdf").read_bytes() == MINIMAL_PDF
    return content, out, tree_bytes(out)


@pytest.mark.parametrize("behaviour", sorted(CHROMIUM_FAILURES))
def test_a_failing_chromium_leaves_the_previous_site_and_pdfs(behaviour, printed_site, tmp_path):
    from conftest import tree_bytes
    content, out, before = printed_site
    env = {**os.environ, "CHROMIUM": str(fake_chromium(tmp_path, behaviour))}
    completed = run_pdf(content, out, "--timeout", "3", env=env)
    assert completed.returncode == 1
    assert [line for line in completed.stderr.splitlines()
            if not line.startswith("pdf: warning:")] == [CHROMIUM_FAILURES[behaviour]]
    assert tree_bytes(out) == before  # the pages still link PDFs that are there
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".site")) == []


def test_a_hung_chromium_and_its_helpers_are_ended(printed_site, tmp_path):
    content, out, _ = printed_site
    env = {**os.environ, "CHROMIUM": str(fake_chromium(tmp_path, "hang"))}
    assert run_pdf(content, out, "--timeout", "3", env=env).returncode == 1
    helper = int((tmp_path / "helper.pid").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{helper}").exists() \
            and "Z" not in Path(f"/proc/{helper}/stat").read_text().split()[2]:
        time.sleep(0.1)
    assert not Path(f"/proc/{helper}").exists() or \
        "Z" in Path(f"/proc/{helper}/stat").read_text().split()[2], "Chromium's helper outlived it"
