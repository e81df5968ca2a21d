"""The stages before planning pages, each reusing what earlier builds made.

`site.load_site` calls these in order: load the sections and the bibliography, resolve
citation numbers and cross-reference labels, check the content's files and markup, format
the bibliography, render each section's Markdown; together they give a `Site`. Each asks
`Reuse` (`cache.py`) for the values whose key (a digest of everything the value depends on)
an earlier build already computed, and computes the rest; formatting and Markdown, the
costly ones, run in parallel for large reports (`workers.py`). Diagnostics are part of a
stage's value, so a reused stage reports exactly what it reported when it ran.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .align import Row, align_blocks
from .assets import check_asset_references
from .bibliography import Bibliography, FormattedEntry, entry_formatter, load_bibliography
from .cache import Reuse, file_digest, fingerprint
from .citations import CitationIndex, CitationRef, resolve_citations, scan_references
from .config import SiteConfig
from .content import Report, Section, load_report, load_section
from .crossrefs import Label, LabelIndex, resolve_crossrefs, scan_labels
from .diagnostics import Diagnostic, Diagnostics
from .markdown_ext import RenderedSection, make_markdown, render_markdown
from .markup import scan_markup
from .workers import parallel_map


@dataclass(frozen=True)
class Site:
    """Everything the stages produced, ready to plan pages from."""

    config: SiteConfig
    report: Report
    bibliography: Bibliography
    index: CitationIndex
    entries: dict[str, dict[str, FormattedEntry]]  # language -> key -> entry
    rendered: dict[tuple[str, str], RenderedSection]  # (slug, language) -> section
    labels: LabelIndex = field(default_factory=lambda: LabelIndex({}))  # figures, tables, headings
    assets: dict[str, bytes] = field(default_factory=dict)  # "files/x.png" -> bytes, copied as is
    # (slug, language) -> the rows of the section side by side with the default language
    alignments: dict[tuple[str, str], tuple[Row, ...]] = field(default_factory=dict)
    scans: dict[Path, SectionScan] = field(default_factory=dict)  # each section's citations, labels


def load_sections(content_dir: Path, config: SiteConfig, diag: Diagnostics, drafts: bool,
                  reuse: Reuse) -> Report:
    """The report, each section file loaded again only when its bytes changed."""
    def key(path: Path) -> str:
        return fingerprint("section", path, file_digest(path), config.language_codes)

    def load(path: Path) -> tuple[Section | None, list[Diagnostic]]:
        own = Diagnostics()
        return load_section(path, config, own), own.items

    def load_all(paths: list[Path]) -> list[Section | None]:
        loaded = reuse.values("sections", paths, key, lambda missing: [load(p) for p in missing])
        return [replay(loaded[path], diag) for path in paths]
    return load_report(content_dir, config, diag, drafts=drafts, load=load_all)


def load_bibliography_once(path: Path, diag: Diagnostics, reuse: Reuse) -> Bibliography | None:
    """The parsed .bib, parsed again only when its bytes change."""
    def load(path: Path) -> tuple[Bibliography | None, list[Diagnostic]]:
        own = Diagnostics()
        return load_bibliography(path, own), own.items

    loaded = reuse.values("bibliography", [path],
                          lambda path: fingerprint("bibliography", path, file_digest(path)),
                          lambda missing: [load(path) for path in missing])
    return replay(loaded[path], diag)


def resolve_references(report: Report, scans: dict[Path, SectionScan], bibliography: Bibliography,
                       config: SiteConfig, diag: Diagnostics,
                       reuse: Reuse) -> tuple[CitationIndex, LabelIndex]:
    """Every source numbered and every figure, table and heading label too, from each
    section's scan (`scan_sections`); again only when the report, the bibliography or
    site.toml changed."""

    def resolve(_) -> tuple[tuple[CitationIndex, LabelIndex], list[Diagnostic]]:
        own = Diagnostics()
        return resolve_report(report, scans, bibliography, config, own), own.items

    resolved = reuse.values("references", ["report"],
                            lambda _: fingerprint("references", report, bibliography.digest, config),
                            lambda missing: [resolve(slot) for slot in missing])
    return replay(resolved["report"], diag)


def resolve_report(report: Report, scans: dict[Path, SectionScan], bibliography: Bibliography,
                   config: SiteConfig, diag: Diagnostics) -> tuple[CitationIndex, LabelIndex]:
    """Every source numbered and every label resolved, from the sections' scans."""
    index = resolve_citations(report, bibliography, config, diag,
                              lambda section: scans[section.path].references)
    return index, resolve_crossrefs(report, index, diag, lambda section: scans[section.path].labels)


@dataclass(frozen=True)
class SectionScan:
    """What one section cites and labels, as the scanner read it."""

    references: list[CitationRef]  # citations and cross-references, in text order
    labels: list[Label]  # figures, tables and labelled headings, in text order


def scan_sections(report: Report, diag: Diagnostics, reuse: Reuse) -> dict[Path, SectionScan]:
    """Each section's citations and labels, scanned again only when its file changed."""
    sections = {section.path: section for section in report.sections}

    def scan(path: Path) -> tuple[SectionScan, list[Diagnostic]]:
        own = Diagnostics()
        return scan_section(sections[path], own), own.items

    scanned = reuse.values("scans", list(sections),
                           lambda path: fingerprint("scans", sections[path]),
                           lambda missing: [scan(path) for path in missing])
    return {path: replay(scanned[path], diag) for path in sections}


def scan_section(section: Section, diag: Diagnostics) -> SectionScan:
    """One section's citations and labels."""
    return SectionScan(scan_references(section, diag), scan_labels(section, diag))


def check_content(report: Report, assets: dict[str, bytes], diag: Diagnostics,
                  reuse: Reuse) -> None:
    """Each section's links to the content's files, its maths and callouts, checked again only
    when the section or the list of files changed."""
    sections = {section.path: section for section in report.sections}
    names = sorted(assets)

    def check(path: Path) -> tuple[None, list[Diagnostic]]:
        own = Diagnostics()
        check_section(sections[path], report.content_dir, assets, own)
        return None, own.items

    checked = reuse.values("content-checks", list(sections),
                           lambda path: fingerprint("content-checks", sections[path], names),
                           lambda missing: [check(path) for path in missing])
    for path in sections:
        replay(checked[path], diag)


def check_section(section: Section, content_dir: Path, assets: dict[str, bytes],
                  diag: Diagnostics) -> None:
    """One section's links to the content's files, its maths and callouts."""
    check_asset_references(Report(content_dir, (section.slug,), (section,)), assets, diag)
    scan_markup([section], diag)


def format_entries(bibliography: Bibliography, index: CitationIndex, config: SiteConfig,
                   reuse: Reuse) -> dict[str, dict[str, FormattedEntry]]:
    """Every entry formatted for each page language; the entries shared among the workers."""
    style = config.citation_style

    def key(code: str) -> str:
        return fingerprint("entries", code, bibliography.digest, index.numbers, style)

    def format_all(missing: list[str]) -> list[dict[str, FormattedEntry]]:
        format_entry = entry_formatter(bibliography, index.numbers, tuple(missing), style)
        keys = list(index.numbers)
        formatted = dict(zip(keys, parallel_map(format_entry, keys)))
        return [{key: formatted[key][code] for key in keys} for code in missing]
    return reuse.values("entries", list(config.language_codes), key, format_all)


def render_sections(report: Report, scans: dict[Path, SectionScan], index: CitationIndex,
                    labels: LabelIndex, entries: dict[str, dict[str, FormattedEntry]],
                    config: SiteConfig, diag: Diagnostics,
                    reuse: Reuse) -> dict[tuple[str, str], RenderedSection]:
    """Each section's Markdown in its language, with its print version.

    A section's key holds its file and, for each label it cites, the key, number and
    formatted entry the label resolves to now, so an edit of one entry renders again only
    the sections that cite it; and the report's figure, table and heading labels, which any
    section may refer to.
    """
    sections = {(section.slug, section.language): section for section in report.sections}
    style = config.citation_style
    # whatever else the index holds (the cross-references are read through `labels`)
    rest = dataclasses.replace(index, numbers={}, labels={}, cited=(), crossrefs=())
    cites = {path: tuple(dict.fromkeys(ref.label for ref in scan.references if not ref.crossref))
             for path, scan in scans.items()}  # the citation labels each section writes

    def key(slot: tuple[str, str]) -> str:
        section, code = sections[slot], slot[1]
        cited = [(label, index.key(label)) for label in cites[section.path]]
        used = [(key, index.numbers.get(key), entries[code].get(key)) for _, key in cited if key]
        return fingerprint("rendered", section, cited, used, rest, labels, style)

    def render_all(missing: list[tuple[str, str]]) -> list[RenderedSection | None]:
        converters = {code: make_markdown(index, code, labels, style)
                      for code in {code for _, code in missing}}

        def render(slot: tuple[str, str]) -> RenderedSection | None:
            code = slot[1]
            try:
                return render_markdown(sections[slot], converters[code], entries[code],
                                       print_ids=True, parallel=True)
            except RecursionError:  # a structure the limits in scanner.py did not foresee
                converters[code] = make_markdown(index, code, labels, style)  # state unknown now
                return None
        return parallel_map(render, missing)

    rendered = {}
    for slot, value in reuse.values("rendered", list(sections), key, render_all).items():
        if value is None:
            diag.error(sections[slot].path, None, None, "this section nests its Markdown too "
                       "deeply to render; flatten its lists, quotes or brackets",
                       "markdown.too-deep")
        elif value.section is sections[slot]:
            rendered[slot] = value
        else:  # made by a worker or an earlier build: point it at this report's section
            rendered[slot] = dataclasses.replace(value, section=sections[slot])
    return rendered


def partner_language(code: str, config: SiteConfig) -> str | None:
    """The language shown beside `code` on its side-by-side pages: the original (the default
    language), or for the original itself the first other language; None in a one-language site."""
    if code != config.default_language:
        return config.default_language
    return next((other for other in config.language_codes if other != code), None)


def align_sections(rendered: dict[tuple[str, str], RenderedSection], config: SiteConfig,
                   reuse: Reuse) -> dict[tuple[str, str], tuple[Row, ...]]:
    """Each translated section's blocks aligned with the original's, again only after edits."""
    original = config.default_language
    slots = [(slug, code) for slug, code in rendered if code != original
             and (slug, original) in rendered]
    return reuse.values(
        "alignments", slots,
        lambda slot: fingerprint("alignments", rendered[slot[0], original].blocks,
                                 rendered[slot].blocks),
        lambda missing: [align_blocks(rendered[slug, original].blocks, rendered[slug, code].blocks)
                         for slug, code in missing])


def replay(value: tuple, diag: Diagnostics):
    """A stage's result, its diagnostics reported (again, when the result was reused)."""
    result, items = value
    diag.items.extend(items)
    return result
