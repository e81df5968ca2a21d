"""`build.py pdf` for real: the flagship report printed by Chromium, read back with poppler.

The PDFs are made once for the module. pdfinfo gives the page count and size, pdffonts the
embedded fonts, pdftotext the text page by page; pypdf reads the outline (bookmarks) and
the link annotations, which poppler's tools do not show.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, require

FLAGSHIP = ROOT / "content"
LANGUAGES = ("ja", "en")
BIBLIOGRAPHY = {"ja": "参考文献", "en": "Bibliography"}
POPPLER = ("pdfinfo", "pdffonts", "pdftotext")
A4_POINTS = (595, 842)
# A Japanese font by name: Noto Sans/Serif CJK (…CJKjp…), IPAex/IPA Mincho and Gothic, …JP.
CJK_FONT_NAME = re.compile(r"CJK|JP|IPA|Mincho|Gothic", re.I)
SECTION_FILE = re.compile(r"^(\d+)-(.+)\.(ja|en)\.md$")


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


def run_pdf(content: Path, out: Path, env: dict[str, str] | None = None):
    """`python build.py pdf --content CONTENT --out OUT`."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), "pdf", "--content",
                           str(content), "--out", str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def tool(*command: str) -> str:
    """A poppler tool's standard output."""
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(scope="module")
def pdfs(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The flagship report printed once: language -> its PDF."""
    for name in POPPLER:
        require(shutil.which(name) is not None,
                f"{name} not found (Debian: apt-get install poppler-utils)")
    out = tmp_path_factory.mktemp("flagship-pdf") / "site"
    completed = run_pdf(FLAGSHIP, out, env={**os.environ, "CHROMIUM": chromium_path})
    assert completed.returncode == 0, completed.stderr
    found = {lang: out / lang / "report.pdf" for lang in LANGUAGES}
    for lang, path in found.items():
        assert path.is_file(), f"no {path}"
        site_page = (out / lang / "index.html").read_text("utf-8")
        assert 'href="report.pdf"' in site_page, "the site does not link its PDF"
    return found


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
def test_a_cjk_font_is_embedded(pdfs, lang):
    listing = tool("pdffonts", str(pdfs[lang])).splitlines()
    header = listing[0]
    emb = header.index("emb")
    rows = [(line[:header.index("type")].strip(), line[emb:emb + 3].strip())
            for line in listing[2:]]
    embedded_cjk = [name for name, embedded in rows if CJK_FONT_NAME.search(name) and
                    embedded == "yes"]
    assert embedded_cjk, "no embedded, named Japanese font:\n" + "\n".join(listing[:12])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_text_has_every_section_in_order_then_the_bibliography(pdfs, lang):
    titles = section_titles(lang) + [BIBLIOGRAPHY[lang]]
    starts = section_start_pages(pdfs[lang], titles)
    missing = [title for title, start in zip(titles, starts) if start is None]
    assert missing == [], f"no page begins with these titles (in order): {missing}"
    assert starts == sorted(starts) and starts[0] >= 1  # after the cover and contents


@pytest.mark.parametrize("lang", LANGUAGES)
def test_outline_lists_the_sections_and_the_bibliography(pdfs, pypdf, lang):
    reader = pypdf.PdfReader(pdfs[lang])
    top = [item for item in reader.outline if not isinstance(item, list)]
    titles = section_titles(lang) + [BIBLIOGRAPHY[lang]]
    # Chromium joins the lines of a wrapped heading without their space, so whitespace is
    # not compared; every other character is.
    assert [squash(item.title) for item in top[-len(titles):]] == [squash(t) for t in titles], \
        [item.title for item in top]
    pages = [reader.get_destination_page_number(item) for item in top[-len(titles):]]
    assert pages == section_start_pages(pdfs[lang], titles)


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
