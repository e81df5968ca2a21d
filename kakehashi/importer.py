"""The `import` command: an exported research report → section files and BibTeX entries.

Takes a report (Markdown or plain text from Gemini, ChatGPT, Perplexity, Claude… with
citation markers and source lists in any of the forms the parse modules' tables name),
its language and a content folder; gives `sections/NN-slug.LANG.md` files, new entries
appended to `references.bib`, a minimal `site.toml` when there is none, and the lines it
could place nowhere else in `import-leftovers.LANG.txt`. The recipe is parse
(`import_layout`, `import_sources`, `import_markers`, `import_headings`) → plan
(`import_entries`, `import_write`) → write, then the report (`import_summary`).
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .bibliography import load_bibliography
from .config import read_text
from .content import SECTION_NAME
from .diagnostics import Diagnostics, display_path
from .import_entries import (CACHE_NAME, Source, fetch_missing_titles, read_cache, resolve_sources,
                             source_identity)
from .import_headings import Heading, find_headings, normalise_heading
from .import_layout import Layout, read_layout
from .import_markers import Marker, scan_markers
from .import_sources import Document, SourceItem, parse_documents
from .import_summary import summarise
from .import_text import normalise_url, site_name
from .import_write import Plan, PlannedFile, clashing_files, plan_import, write_plan

LONG_LINE = 100_000


@dataclass(frozen=True)
class Export:
    """The parsed report: what each of its lines is."""

    shown: str  # the report's path as messages show it
    lines: tuple[str, ...]  # the report's lines
    layout: Layout  # Markdown or plain text; code, tables and the exporter's chrome
    documents: tuple[Document, ...]  # the reports in the file, each with its own source list
    markers: tuple[Marker, ...]  # every citation marker of the body, in reading order
    headings: tuple[Heading, ...]  # every heading; a second report's title is a section
    skip: frozenset[int]  # lines that are no body text: the source lists and the chrome

    def document(self, line: int) -> int:
        """The index of the report a 1-based line belongs to."""
        return next(i for i, d in enumerate(self.documents)
                    if d.start <= line < d.end or i == len(self.documents) - 1)


def import_report(report: Path, lang: str, content_dir: Path, dry_run: bool = False,
                  headings: Path | None = None, force: bool = False,
                  allow_unmapped: bool = False, fetch_titles: bool = False) -> int:
    """Import one report into the content folder; print the report; return the exit status."""
    diag = Diagnostics()
    planned = plan_report(report, lang, content_dir, headings, allow_unmapped, fetch_titles, diag)
    if planned is None:
        return finish(diag, [])
    export, plan, sources, keys = planned
    changed = [f for f in plan.files if not f.path.is_file() or f.path.read_bytes() != f.data]
    in_the_way = [f.path for f in changed if f.kind == "section" and f.path.exists()]
    in_the_way += clashing_files(plan.files, lang, content_dir)
    if in_the_way and not force:
        names = ", ".join(display_path(p) for p in in_the_way)
        diag.error(content_dir / "sections", None, None, f"these section files are in the way: {names}; "
                   "move them, or run again with --force to replace them", "import.in-the-way")
        return finish(diag, [])
    replaced = [path for path in in_the_way if path not in {f.path for f in plan.files}]
    if not dry_run and not write_plan(changed, replaced, diag):
        return finish(diag, [])
    return finish(diag, summarise(export, plan, sources, keys, lang, content_dir, changed, dry_run))


def plan_report(report: Path, lang: str, content_dir: Path, headings: Path | None,
                allow_unmapped: bool, fetch_titles: bool,
                diag: Diagnostics) -> tuple[Export, Plan, list[Source], tuple[dict[str, str], ...]] | None:
    """Parse the report and plan every file of its import (nothing is written); None on errors."""
    text = read_report(report, diag)
    named = read_headings_file(headings, diag) if headings else None
    if diag.errors:
        return None
    export = parse_export(text, display_path(report), named, diag)
    check_named_headings(export, named, headings, diag)
    bib_path, existing = read_existing(content_dir, diag)
    if diag.errors:
        return None
    items = [(item, document.sources.accessed, index) for index, document in enumerate(export.documents)
             for item in (*document.sources.items, *link_sources(export, index))]
    cache = read_cache(content_dir) if fetch_titles else {}
    fetched = fetch_missing_titles([item for item, _, _ in items], existing, cache, export.shown, diag) \
        if fetch_titles else {}
    sources = resolve_sources([(item, accessed) for item, accessed, _ in items], existing,
                              {**cache, **fetched})
    keys: tuple[dict[str, str], ...] = tuple({} for _ in export.documents)
    for (item, _, index), source in zip(items, sources):
        keys[index][source.label] = source.key
    url_keys = {normalise_url(item.url): source.key for (item, _, _), source in zip(items, sources)
                if item.url}
    plan = plan_import(export, keys, url_keys, sources, lang, content_dir, bib_path, named,
                       allow_unmapped, diag)
    if fetched:
        data = json.dumps({**cache, **fetched}, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        cache_file = PlannedFile(content_dir / CACHE_NAME, data.encode(), "cache")
        plan = replace(plan, files=(*plan.files, cache_file))
    listed = sum(len(document.sources.items) for document in export.documents)
    if listed and not plan.converted and not plan.unmapped:
        diag.warning(export.shown, None, None, f"the report lists {listed} sources but no citation marker "
                     "was found in it: its markers may be in a form the importer does not know; read "
                     "the section files before you publish", "import.no-markers")
    return export, plan, sources, keys


def read_report(report: Path, diag: Diagnostics) -> str:
    """The report's text; an error for a folder, an unreadable or an empty file."""
    text = read_text(report, diag) if report.is_file() or not report.exists() else None
    if report.is_dir():
        diag.error(report, None, None, "this is a folder; give the exported report file",
                   "import.not-a-file")
    elif text is not None and not text.strip():
        diag.error(report, None, None, "the report is empty; export it again", "import.empty")
    for number, line in enumerate((text or "").split("\n"), 1):
        if len(line) > LONG_LINE:
            diag.warning(report, number, 1, f"line {number} is {len(line):,} characters long; an export "
                         "breaks paragraphs into lines, so check this is the report", "import.long-line")
    return text or ""


def parse_export(text: str, shown: str, named: dict[str, str] | None, diag: Diagnostics) -> Export:
    """The report's layout, its reports with their source lists, its markers and headings."""
    lines = text.split("\n")
    layout = read_layout(lines)
    documents = parse_documents(lines, layout, shown, diag)
    skip = frozenset().union(layout.chrome, *(document.sources.lines for document in documents))
    markers: list[Marker] = []
    found: list[Heading] = []
    for index, document in enumerate(documents):
        body = [n for n in range(document.start, document.end) if n not in skip]
        known = frozenset(item.label for item in document.sources.items)
        markers += scan_markers(layout.masked, body, known, layout.tables)
    marker_lines = {marker.line for marker in markers}
    for index, document in enumerate(documents):
        span = range(document.start, document.end)
        headings = find_headings(lines, layout, span, skip, marker_lines, named)
        found += [Heading(h.line, 2, h.text) if index and h.level == 1 else h for h in headings]
    return Export(shown, tuple(lines), layout, documents, tuple(markers), tuple(found), skip)


def check_named_headings(export: Export, named: dict[str, str] | None, path: Path | None,
                         diag: Diagnostics) -> None:
    """Every heading of a --headings file must be in the report."""
    present = {normalise_heading(h.text) for h in export.headings}
    for heading in (named or {}).values():
        if normalise_heading(heading) not in present:
            diag.error(path, None, None, f'heading "{heading}" is not in the report; copy it exactly',
                       "import.heading-not-found")


def finish(diag: Diagnostics, summary: list[str]) -> int:
    """Print the diagnostics (stderr) and the report (stdout); the exit status.

    A reader that stops early (`import … | head`) closes the pipe: the rest is not printed,
    and that is no error.
    """
    try:
        for item in diag.items:
            print(item.format(), file=sys.stderr)
        for line in summary:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 1 if diag.errors else 0


def read_headings_file(path: Path, diag: Diagnostics) -> dict[str, str]:
    """`slug<TAB>heading` lines → {slug: heading}; errors for bad lines."""
    text = read_text(path, diag)
    named: dict[str, str] = {}
    for number, line in enumerate((text or "").split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        slug, tab, heading = line.partition("\t")
        if not tab or not heading.strip():
            diag.error(path, number, 1, "write one 'slug<TAB>heading' a line", "import.headings-file")
        elif not SECTION_NAME.match(f"1-{slug.strip()}.ja.md"):
            diag.error(path, number, 1, f'slug "{slug}" must be lowercase ASCII letters, digits and '
                       "hyphens", "import.headings-file")
        elif slug.strip() in named:
            diag.error(path, number, 1, f'slug "{slug}" is used twice', "import.headings-file")
        else:
            named[slug.strip()] = heading.strip()
    return named


def read_existing(content_dir: Path, diag: Diagnostics) -> tuple[Path, dict[str, str]]:
    """The bibliography path and its entries' normalised URL → key (every key under "#key")."""
    bib_name = "references.bib"
    try:
        config = tomllib.loads((content_dir / "site.toml").read_text("utf-8-sig"))
        bib_name = str(config.get("bibliography_file", bib_name))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        pass
    path = content_dir / bib_name
    existing: dict[str, str] = {}
    if path.is_file():
        scratch = Diagnostics()
        bibliography = load_bibliography(path, scratch)
        diag.items.extend(scratch.errors)
        if bibliography is not None:
            for key in bibliography.keys:
                existing[f"#{key.lower()}"] = key
                fields = bibliography.data.entries[key].fields
                existing.setdefault(source_identity(fields.get("url"), fields.get("title")), key)
    return path, existing


def link_sources(export: Export, index: int) -> list[SourceItem]:
    """Sources named only by an inline link: `([site](url))`, or `[n](url)` with n not listed."""
    items = export.documents[index].sources.items
    labels = {item.label for item in items}
    by_url = {normalise_url(item.url): item.label for item in items if item.url}
    added: list[SourceItem] = []
    for marker in (m for m in export.markers if export.document(m.line) == index):
        for text, url in marker.links:
            listed = marker.form != "named" and marker.labels and marker.labels[0] in labels
            if listed or normalise_url(url) in by_url:
                continue
            named = marker.form == "named" or not marker.labels
            label = f"link-{len(added) + 1}" if named else marker.labels[0]  # never a list number
            words = text.strip("[]").split()
            title = text if named and len(words) > 5 else None
            added.append(SourceItem(label, url, title, site_name(text) if named else None, None,
                                    marker.line, marker.col))
            labels.add(label)
            by_url[normalise_url(url)] = label
    return added
