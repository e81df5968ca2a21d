"""The `pdf` command: print each language's one-page version to PDF with headless Chromium.

Takes the build options; builds the site (with links to the PDFs) in memory, prints
`/LANG/print/` of a staging copy to `LANG/report.pdf`, checks each is a PDF with pages,
and only then writes site and PDFs into the output folder in one atomic swap. Chromium is found on PATH or
through the `CHROMIUM` environment variable, and runs behind one function with a timeout.
Before printing a report with Japanese, fontconfig is asked for the fonts the print
stylesheet puts first for Japanese; without them the PDFs still print, with one warning.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .site import BuildOptions, build, check_output_dir, write_site

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
PDF_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")


class ChromiumError(Exception):
    """Chromium failed; the message is one sentence for the user."""


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, else the first known name on PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured if shutil.which(configured) else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def run_chromium(binary: str, arguments: list[str], timeout: float = CHROMIUM_TIMEOUT) -> None:
    """Run headless Chromium once with a fresh profile; raise ChromiumError on failure.

    Chromium runs in a process group of its own, so a timeout ends its helpers too.
    """
    with tempfile.TemporaryDirectory(prefix="kakehashi-chromium-") as profile:
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", f"--user-data-dir={profile}", *arguments]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, start_new_session=True)
        except OSError as exc:
            raise ChromiumError(f"Chromium could not be started ({exc.strerror})") from None
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChromiumError(f"Chromium did not finish within {timeout:g} s") from None
        finally:
            kill_group(process)
    if process.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise ChromiumError(f"Chromium exited with status {process.returncode}: {last}")


def kill_group(process: subprocess.Popen) -> None:
    """End Chromium and every process it started (renderers, GPU and zygote helpers)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.kill()
    process.communicate()


def verified_pdf(path: Path) -> bytes:
    """The bytes of a complete PDF with at least one page; ChromiumError otherwise."""
    if not path.is_file():
        raise ChromiumError("Chromium wrote no PDF")
    data = path.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ChromiumError("Chromium wrote a file that is not a PDF")
    if b"%%EOF" not in data[-1024:]:
        raise ChromiumError("Chromium's PDF is truncated (no end-of-file marker)")
    if not PDF_PAGE.search(data):
        raise ChromiumError("Chromium's PDF has no pages")
    return data


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


def print_pdfs(options: BuildOptions, timeout: float = CHROMIUM_TIMEOUT) -> int:
    """Build the site, print one PDF per language, then swap site and PDFs in together.

    The pages are printed from a staging copy of the new site; the output folder changes
    only when every PDF is a verified PDF, so a failed print leaves the previous site and
    its PDFs as they were.
    """
    chromium = find_chromium()
    if chromium is None:
        print("pdf: no Chromium found; install it (Debian: apt-get install chromium "
              "fonts-noto-cjk) or set CHROMIUM to its path", file=sys.stderr)
        return 1
    options = dataclasses.replace(options, pdf_links=True)
    result = build(options, write=False)
    diag = result.diagnostics
    if diag.failed(options.strict) or result.site is None:
        for item in diag.sorted():
            print(item.format(), file=sys.stderr)
        return 1
    check_output_dir(options, diag)
    codes = result.site.config.language_codes
    fonts_missing = missing_fonts(JAPANESE_PRINT_FONTS) if "ja" in codes and not diag.errors else []
    if fonts_missing:
        print(FONT_WARNING, file=sys.stderr)
    files = dict(result.files)
    if not diag.errors:
        try:
            files.update(print_staged(chromium, files, codes, timeout))
        except ChromiumError as exc:
            print(f"pdf: {exc}; the previous site and its PDFs are unchanged.", file=sys.stderr)
            return 1
        write_site(files, options, diag)
    for item in diag.sorted():
        print(item.format(), file=sys.stderr)
    if diag.failed(options.strict):
        return 1
    if fonts_missing is None and any(TYPE3_FONT in files[f"{code}/{PDF_NAME}"] for code in codes):
        print(FONT_WARNING, file=sys.stderr)  # fontconfig could not tell; the PDFs do
    LOG.info("Built %d files with %d PDFs into %s", len(files), len(codes),
             options.out_dir)
    return 0


def print_staged(chromium: str, files: dict[str, bytes], codes: tuple[str, ...],
                 timeout: float) -> dict[str, bytes]:
    """Write the site into a staging folder, print each language there; the PDFs' bytes."""
    printed = {}
    with tempfile.TemporaryDirectory(prefix="kakehashi-pdf-") as staging:
        root = Path(staging)
        for relative, data in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for code in codes:
            started = time.perf_counter()
            target = root / code / PDF_NAME
            source = (root / code / "print" / "index.html").as_uri()
            try:
                run_chromium(chromium, ["--no-pdf-header-footer", "--generate-pdf-document-outline",
                                        f"--print-to-pdf={target}", source], timeout)
                printed[f"{code}/{PDF_NAME}"] = verified_pdf(target)
            except ChromiumError as exc:
                raise ChromiumError(f"{exc} for /{code}/print/") from None
            LOG.info("Printed /%s/%s in %.1f s", code, PDF_NAME, time.perf_counter() - started)
    return printed
