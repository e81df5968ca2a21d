"""The `pdf` command: print each language's one-page version to PDF with headless Chromium.

Takes the build options; builds the site (with links to the PDFs), then prints
`/LANG/print/` to `LANG/report.pdf` inside the output folder. Chromium is found on PATH or
through the `CHROMIUM` environment variable, and runs behind one function with a timeout.
Before printing a report with Japanese, fontconfig is asked for the fonts the print
stylesheet puts first for Japanese; without them the PDFs still print, with one warning.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .site import BuildOptions, build

LOG = logging.getLogger("kakehashi")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_TIMEOUT = 180
PDF_NAME = "report.pdf"
# The first families of print.css's Japanese stacks (text, then headings): TrueType fonts,
# which Chromium embeds as named CID fonts. The fallbacks after them (Noto CJK, a CFF font
# collection) are embedded as unnamed Type 3 glyph procedures.
JAPANESE_PRINT_FONTS = ("IPAexMincho", "IPAexGothic")
FONT_PACKAGES = "fonts-ipaexfont-mincho fonts-ipaexfont-gothic"
FONT_WARNING = ("pdf: warning: the IPAex fonts (IPAexMincho, IPAexGothic) are not installed, "
                "so the PDFs embed their Japanese text as unnamed Type 3 glyphs; install them "
                f"(Debian: apt-get install {FONT_PACKAGES})")
FC_LIST_TIMEOUT = 30
TYPE3_FONT = b"/Subtype /Type3"


class ChromiumError(Exception):
    """Chromium failed; the message is one sentence for the user."""


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, else the first known name on PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if shutil.which(configured) else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def run_chromium(binary: str, arguments: list[str], timeout: int = CHROMIUM_TIMEOUT) -> None:
    """Run headless Chromium once with a fresh profile; raise ChromiumError on failure."""
    with tempfile.TemporaryDirectory(prefix="kakehashi-chromium-") as profile:
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", f"--user-data-dir={profile}", *arguments]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                       stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium did not finish within {timeout} s") from None
        except OSError as exc:
            raise ChromiumError(f"Chromium could not be started ({exc.strerror})") from None
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ChromiumError(f"Chromium exited with status {completed.returncode}: {last}")


def missing_fonts(families: tuple[str, ...]) -> list[str] | None:
    """The families that fontconfig does not have; None when fc-list cannot be run."""
    try:
        completed = subprocess.run(["fc-list", "--format", "%{family}\n"], capture_output=True,
                                   text=True, timeout=FC_LIST_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if completed.returncode != 0:
        return None
    # One line a font, its family names (English and localised) separated by commas.
    known = {name.strip().casefold() for line in completed.stdout.splitlines()
             for name in line.split(",")}
    return [family for family in families if family.casefold() not in known]


def has_type3_fonts(pdf: Path) -> bool:
    """Whether Chromium embedded any font of the PDF as Type 3 glyph procedures."""
    return TYPE3_FONT in pdf.read_bytes()


def print_pdfs(options: BuildOptions) -> int:
    """Build the site, then print one PDF per language into it; return the exit status."""
    chromium = find_chromium()
    if chromium is None:
        print("pdf: no Chromium found; install it (Debian: apt-get install chromium "
              "fonts-noto-cjk) or set CHROMIUM to its path", file=sys.stderr)
        return 1
    options = dataclasses.replace(options, pdf_links=True)
    result = build(options)
    for item in result.diagnostics.sorted():
        print(item.format(), file=sys.stderr)
    if result.diagnostics.failed(options.strict) or result.site is None:
        return 1
    out = options.out_dir.expanduser().resolve()
    codes = result.site.config.language_codes
    fonts_missing = missing_fonts(JAPANESE_PRINT_FONTS) if "ja" in codes else []
    if fonts_missing:
        print(FONT_WARNING, file=sys.stderr)
    for code in codes:
        started = time.perf_counter()
        target = out / code / PDF_NAME
        source = (out / code / "print" / "index.html").as_uri()
        try:
            run_chromium(chromium, ["--no-pdf-header-footer", "--generate-pdf-document-outline",
                                    f"--print-to-pdf={target}", source])
        except ChromiumError as exc:
            print(f"pdf: {exc}.", file=sys.stderr)
            return 1
        if not target.is_file():
            print(f"pdf: Chromium wrote no PDF for /{code}/print/.", file=sys.stderr)
            return 1
        LOG.info("Printed %s in %.1f s", target, time.perf_counter() - started)
    if fonts_missing is None and any(has_type3_fonts(out / code / PDF_NAME) for code in codes):
        print(FONT_WARNING, file=sys.stderr)  # fontconfig could not tell; the PDFs do
    return 0
