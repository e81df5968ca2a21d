"""Load stage: the content's own files (images, data), copied into the site as they are.

`load_assets` takes the content folder and gives every file of `content/files/` (any depth)
as output path -> bytes, ready to be written as `files/…` beside the pages.
`check_asset_references` takes the report and those files and reports, at `file:line:col`,
every image or link of a section that names a file of the folder that is not there (with
the closest name), every image kept outside it, and every image without alt text.
Section files write the address relative to themselves, as any Markdown preview reads it:
`![Growth](../files/growth.png)`; the renderer rewrites it for the page.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .content import Report
from .diagnostics import Diagnostics, line_col
from .scanner import scan_source

FILES_DIR = "files"  # content/files/ -> _site/files/
IGNORED = re.compile(r"^[.#]|~$|\.(?:swp|swo|bak|tmp)$")
EMPTY_ALT = re.compile(r"!\[[ \t]*\](?=[( ])")  # the scanner blanks the address itself
FIGURE_ALT = re.compile(r'fig-alt="[^"]*\S[^"]*"')


def load_assets(content_dir: Path, diag: Diagnostics) -> dict[str, bytes]:
    """Every file of `content/files/` as {"files/NAME": bytes}; hidden and editor files skipped."""
    folder = content_dir / FILES_DIR
    if not folder.is_dir():
        return {}
    root = content_dir.resolve()
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(content_dir)
        if any(IGNORED.search(part) for part in relative.parts[1:]):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            diag.error(path, None, None, "this symlink leads outside the content folder and is "
                       "not followed; copy the file in instead", "content.symlink-outside")
            continue
        if path.is_file():
            try:
                files[relative.as_posix()] = path.read_bytes()
            except OSError as exc:
                diag.error(path, None, None, f"cannot read this file: {exc.strerror}",
                           "file.unreadable")
    return files


def content_path(address: str) -> str | None:
    """The content-relative path a section's relative address names; None if not a file path."""
    split = urlsplit(address)
    if split.scheme or split.netloc or address.startswith(("/", "#")) or not split.path:
        return None
    return posixpath.normpath(posixpath.join("sections", unquote(split.path)))


def check_asset_references(report: Report, assets: dict[str, bytes], diag: Diagnostics) -> None:
    """Errors for missing or misplaced files; warnings for images without alt text."""
    prefix = FILES_DIR + "/"
    for section in report.sections:
        source = scan_source(section.body)
        offset = len(section.text) - len(section.body)
        for at, address, image in source.links:
            path = content_path(address)
            if path is None:
                continue
            where = line_col(section.text, offset + at)
            if path.startswith(prefix):
                if path not in assets:
                    close = difflib.get_close_matches(path, list(assets), n=1, cutoff=0.75)
                    hint = f'; did you mean "../{close[0]}"?' if close else \
                        f"; put the file in content/{FILES_DIR}/"
                    diag.error(section.path, *where, f'"{address}": there is no such file '
                               f"(content/{path}){hint}", "file.missing")
            elif image:
                diag.error(section.path, *where, f'image "{address}" is outside content/'
                           f"{FILES_DIR}/, so it would not be published; move it there and "
                           f"write ../{FILES_DIR}/NAME", "file.outside-files")
        for empty in EMPTY_ALT.finditer(source.masked):
            line_end = source.masked.find("\n", empty.start())
            rest = source.masked[empty.start():line_end if line_end >= 0 else None]
            if FIGURE_ALT.search(rest):
                continue
            diag.warning(section.path, *line_col(section.text, offset + empty.start()),
                         "image without alt text: write what it shows between ![ and ] (for a "
                         'figure, its caption, or fig-alt="…")', "figure.missing-alt")
