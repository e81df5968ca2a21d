#!/usr/bin/env python3
"""Make the README's screenshots from the flagship report: the site in both languages and
the PDF's first page.

Builds the site and its PDFs into a temporary folder with `build.py pdf`, photographs a
section page at 1280×800 in Chromium (driven by Playwright, with a citation preview open),
and renders the Japanese PDF's first page with poppler's pdftoppm. Writes
docs/screenshots/site-ja.png, site-en.png and pdf-ja-page1.png.

Needs the test dependencies (requirements-test.txt), Chromium (`CHROMIUM` or
/usr/bin/chromium) and poppler-utils.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "memo-leak"  # the page photographed, in each language
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PDF_DPI = "60"


def build_site(out: Path, chromium: str) -> None:
    """The flagship site with its PDFs, via the project's own command."""
    subprocess.run([sys.executable, str(ROOT / "build.py"), "pdf", "--content",
                    str(ROOT / "content"), "--out", str(out)], cwd=ROOT, check=True,
                   env={**os.environ, "CHROMIUM": chromium}, timeout=300)


def photograph_site(site: Path, target: Path, chromium: str) -> None:
    """A 1280×800 screenshot of the section page in each language, a citation preview open."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        for lang in ("ja", "en"):
            page.goto((site / lang / SECTION / "index.html").as_uri())
            citation = page.locator("sup.cite a").nth(2)
            citation.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -window.innerHeight / 3)")
            citation.hover()
            page.locator("sup.cite:hover .cite-pop").wait_for(state="visible")
            page.screenshot(path=str(target / f"site-{lang}.png"))
        browser.close()


def render_pdf_page(pdf: Path, target: Path) -> None:
    """The PDF's first page as a PNG at 60 dpi."""
    subprocess.run(["pdftoppm", "-png", "-r", PDF_DPI, "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(target.with_suffix(""))], check=True, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots",
                        help="folder for the PNG files (default: docs/screenshots)")
    args = parser.parse_args()
    chromium = shutil.which(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
    if chromium is None or shutil.which("pdftoppm") is None:
        print("screenshots: needs Chromium (set CHROMIUM) and poppler-utils (pdftoppm)",
              file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kakehashi-screenshots-") as folder:
        site = Path(folder) / "site"
        build_site(site, chromium)
        photograph_site(site, args.out, chromium)
        render_pdf_page(site / "ja" / "report.pdf", args.out / "pdf-ja-page1.png")
    for name in ("site-ja.png", "site-en.png", "pdf-ja-page1.png"):
        path = args.out / name
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
              f"{path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
