"""Serve, the edited section first: its page on disk before the rest of the site is rebuilt.

After a save that changed section files and nothing else, serve's build process renders
the pages of those sections from its last good build and writes them into the served
folder at once; then the whole site is rebuilt as usual, which writes the same bytes for
those pages and brings everything else up to date (the print and side-by-side pages, the
search index, the bibliography's back-links). At 1,000 sections the edited page is on disk
in a tenth of a second instead of after the whole rebuild.

A page is written ahead only where nothing it shows can differ from what the rebuild
makes of it: the section keeps its file, title, summary and draft flag (the navigation of
every page and its neighbours' links stay as they are), the report's sources keep their
numbers (the formatted entries the page shows stay valid), and the section, read, resolved
and checked again, has no error (with --strict, no warning). Its citations and labels are
resolved again over the whole report, exactly as the rebuild resolves them. In every other
case the rebuild alone runs, and reports what it finds.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from .content import Section, load_section
from .diagnostics import Diagnostics
from .markdown_ext import make_markdown, render_markdown
from .pages import SectionContent
from .site import LastBuild
from .stages import check_section, resolve_report, scan_section

KEPT = ("number", "slug", "language", "title", "summary", "draft")  # what the other pages show


def write_edited_pages(last: LastBuild, changed: set[str], out_dir: Path,
                       strict: bool = False) -> list[str]:
    """Write the pages of the edited sections `changed` (paths) into `out_dir` when the
    edit allows it (see the module's docstring); their URLs, or [] when it does not."""
    site = last.site
    by_path = {os.path.realpath(section.path): section for section in site.report.sections}
    if not changed or any(os.path.realpath(path) not in by_path for path in changed):
        return []  # another file changed, or a section was added or removed
    diag = Diagnostics()
    edited: dict[Path, Section] = {}
    for path in sorted(changed):
        before = by_path[os.path.realpath(path)]
        section = load_section(before.path, site.config, diag)
        if section is None or any(getattr(section, name) != getattr(before, name) for name in KEPT):
            return []
        edited[before.path] = section
    sections = tuple(edited.get(section.path, section) for section in site.report.sections)
    report = dataclasses.replace(site.report, sections=sections)
    scans = dict(site.scans)
    for path, section in edited.items():
        scans[path] = scan_section(section, diag)
        check_section(section, report.content_dir, site.assets, diag)
    index, labels = resolve_report(report, scans, site.bibliography, site.config, diag)
    if index.numbers != site.index.numbers or diag.failed(strict):
        return []
    pages = {page.url: page for page in last.plan.pages}
    written = {}
    for section in edited.values():
        page = pages.get(f"/{section.language}/{section.slug}/")
        if page is None or not isinstance(page.content, SectionContent) or page.content.body is None:
            return []
        code, style = section.language, site.config.citation_style
        try:
            body = render_markdown(section, make_markdown(index, code, labels, style),
                                   site.entries[code])
        except RecursionError:
            return []  # the rebuild reports it
        content = dataclasses.replace(page.content, body=body)
        written[page.url] = (page.output_path,
                             last.renderer.render(dataclasses.replace(page, content=content)))
    for path, data in written.values():
        replace_file(out_dir / path, data)
    return list(written)


def replace_file(path: Path, data: bytes) -> None:
    """Put `data` at `path` in one step: a reader sees the old page or the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        umask = os.umask(0)  # the mode every other file of the build has
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
