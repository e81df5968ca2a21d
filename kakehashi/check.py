"""The `check` command: every lint of the content, without writing anything.

Takes the content folder; builds the whole site in memory (so every build diagnostic is
found) and adds the lints a build does not need: translation drift between the languages
of a section, heading structures that differ between them, figures of a Japanese paragraph
missing from its English paragraph (numbers parity, see `parity.py`), broken internal
links and fragments, entries left unused when only cited ones are listed, titles still
to be confirmed, and cross-references to a figure, table or heading that only one language
of its section labels.
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .content import Section
from .crossrefs import list_one_language_targets
from .diagnostics import Diagnostics, Silence, display_path
from .import_leftovers import list_leftover_markers
from .markdown_ext import RenderedSection
from .parity import (Block, extract_figures, format_value, mentioned_values, pair_blocks,
                     split_blocks)
from .site import BuildOptions, Site, build, find_silences

SKIPPED_SCHEMES = ("http:", "https:", "mailto:", "tel:", "data:")
TOC_HEADING = re.compile(r"[ \t]{0,3}#{2,3}(?:[ \t]|$)")  # the levels a table of contents holds
PARITY_LANGUAGES = ("ja", "en")  # every figure of the first must appear in the second


class LinkCollector(HTMLParser):
    """Collects ids and local hrefs of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag in {"a", "link"} and attributes.get("href") and attributes.get("rel") != "canonical" \
                and attributes.get("rel") != "alternate":
            self.hrefs.append(attributes["href"])


def check(content_dir: Path, strict: bool = False, drafts: bool = False,
          output: str = "text") -> int:
    """Run every lint; print diagnostics as text or JSON; return the exit status."""
    options = BuildOptions(content_dir=content_dir, out_dir=Path("_site"), strict=False,
                           drafts=drafts)
    result = build(options, write=False)
    diag = result.diagnostics
    if result.site is not None:  # lint even when there are errors: every problem, in one run
        check_drift(result.site, diag)
        check_headings(result.site, diag)
        check_number_parity(result.site, diag)
        list_one_language_targets(result.site.report, result.site.labels, result.site.index.crossrefs,
                                  result.site.config.language_codes, diag)
        check_links(result.site, result.files, diag)
        list_unused_entries(result.site, diag)
        list_unconfirmed_titles(result.site, diag)
        list_leftover_markers(result.site, diag)
        silences = find_silences(content_dir, result.site.config)
        diag.silence(silences)
        list_unused_silences(silences, diag)
    items = diag.sorted()
    if output == "json":
        json.dump([item.as_dict() for item in items], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for item in items:
            print(item.format(), file=sys.stderr)
        counts = f"{len(diag.errors)} error(s), {len(diag.warnings)} warning(s)"
        silenced = len(set(diag.silenced))
        print(f"check: {counts}" + (f", {silenced} silenced" if silenced else ""), file=sys.stderr)
    return 1 if diag.failed(strict) else 0


def list_unused_silences(silences: list[Silence], diag: Diagnostics) -> None:
    """Warn for each silence rule that keeps nothing quiet (a typo, or a fixed warning)."""
    for place, rules in groupby_place(silences).items():
        unused = [rule.code for rule in rules
                  if not any(rule.covers(item) for item in diag.silenced)]
        if unused:
            codes = ", ".join(dict.fromkeys(unused))
            diag.warning(place[0], place[1], None, f"this silence rule keeps nothing quiet "
                         f"({codes}): no such warning is there any more, or the code is "
                         "misspelled; remove or correct it", "check.unused-silence")


def groupby_place(silences: list[Silence]) -> dict[tuple[str, int], list[Silence]]:
    """Silence rules grouped by where they are written."""
    places: dict[tuple[str, int], list[Silence]] = {}
    for rule in silences:
        places.setdefault(rule.written_at, []).append(rule)
    return places


def check_drift(site: Site, diag: Diagnostics) -> None:
    """Warn when the languages of a section cite different sources."""
    codes = site.config.language_codes
    broken = {item.path for item in diag.errors if item.code.startswith("citation.")}
    for slug in site.report.slugs:
        if any(display_path(section.path) in broken for section in site.report.sections
               if section.slug == slug):
            continue  # an unresolved citation is already an error; drift would repeat it
        cited = {code: {cite.key for cite in site.rendered[slug, code].sites}
                 for code in codes if (slug, code) in site.rendered}
        for code, keys in cited.items():
            for other, other_keys in cited.items():
                if other <= code:
                    continue
                for key in sorted(keys ^ other_keys):
                    has, lacks = (code, other) if key in keys else (other, code)
                    section = site.report.section(slug, lacks)
                    diag.warning(section.path, 1, 1, f'translation drift: the {has} file cites '
                                 f'"{key}" but this {lacks} file does not', "check.drift")


def check_headings(site: Site, diag: Diagnostics) -> None:
    """Warn when a translation's headings (## / ###) differ in number or level."""
    default = site.config.default_language
    for slug in site.report.slugs:
        base = site.rendered.get((slug, default))
        for code in site.config.language_codes:
            other = site.rendered.get((slug, code))
            if base is None or other is None or code == default:
                continue
            ours, theirs = heading_lines(other), heading_lines(base)
            levels, base_levels = [h[1] for h in ours], [h[1] for h in theirs]
            if levels == base_levels:
                continue
            index = next((i for i, (level, base_level) in enumerate(zip(levels, base_levels))
                          if level != base_level), min(len(levels), len(base_levels)))
            line, here = place_heading(ours, index, other.section)
            base_line, there = place_heading(theirs, index, base.section)
            base_place = display_path(base.section.path) + (f":{base_line}" if base_line else "")
            diag.warning(other.section.path, line, 1 if line else None,
                         f"heading structure differs from {base_place}: heading {index + 1} "
                         f"is {here} here but {there} there", "check.heading-mismatch")


def heading_lines(rendered: RenderedSection) -> list[tuple[int | None, int, str]]:
    """(line, level, title) of each heading in the table of contents, from the raw text."""
    section = rendered.section
    lines = [block.line for block in split_blocks(section.body, section.body_line)
             if block.kind == "heading" and TOC_HEADING.match(block.text)]
    if len(lines) != len(rendered.toc):  # a heading the raw scan does not see (setext, HTML)
        lines = [None] * len(rendered.toc)
    return [(line, item.level, item.title) for line, item in zip(lines, rendered.toc)]


def place_heading(headings: list[tuple[int | None, int, str]], index: int,
                  section: Section) -> tuple[int | None, str]:
    """The line of heading `index` (or of the last heading) and how a message names it."""
    if index < len(headings):
        line, level, title = headings[index]
        return line, f'"{"#" * level} {title}"'
    return (headings[-1][0] if headings else section.body_line), "missing"


def check_number_parity(site: Site, diag: Diagnostics) -> None:
    """Warn for each figure of a Japanese paragraph that the English paragraph lacks."""
    source_code, target_code = PARITY_LANGUAGES
    if not set(PARITY_LANGUAGES) <= set(site.config.language_codes):
        return
    for slug in site.report.slugs:
        source = site.report.section(slug, source_code)
        target = site.report.section(slug, target_code)
        if source is None or target is None:
            continue
        mentioned: dict[int, set] = {}
        for block, matches in pair_blocks(split_blocks(source.body, source.body_line),
                                          split_blocks(target.body, target.body_line)):
            if block.kind == "code":
                continue
            present = set().union(*(mentioned.setdefault(m.line, mentioned_values(
                m.text, target_code) if m.kind != "code" else set()) for m in matches))
            for figure in extract_figures(block.text, source_code):
                if all(value in present for value in figure.values):
                    continue
                line = block.line + block.text.count("\n", 0, figure.offset)
                values = "–".join(format_value(value) for value in figure.values)
                diag.warning(target.path, matches[0].line if matches else target.body_line, 1,
                             f'figure "{figure.text}" ({values}) of {display_path(source.path)}:'
                             f"{line} is missing from {describe_place(matches)}",
                             "check.number-parity")


def describe_place(blocks: tuple[Block, ...]) -> str:
    """Where a figure was looked for: "this paragraph", or the lines of a part."""
    if len(blocks) == 1:
        return "this paragraph"
    if not blocks:
        return "this file (it has no matching paragraph)"
    last = blocks[-1].line + blocks[-1].text.count("\n")
    return f"the matching part of this file (lines {blocks[0].line}–{last})"


def check_links(site: Site, files: dict[str, bytes], diag: Diagnostics) -> None:
    """Every internal link and fragment of the rendered site (the build's files) must resolve."""
    parsed: dict[str, LinkCollector] = {}
    for path, data in files.items():
        if path.endswith(".html"):
            collector = LinkCollector()
            collector.feed(data.decode("utf-8"))
            parsed[path] = collector
    base_path = urlsplit(site.config.base_url).path or "/"
    sources = {f"{language}/{slug}/index.html": site.report.section(slug, language)
               for slug, language in site.rendered}
    for path, collector in sorted(parsed.items()):
        if path.endswith("/print/index.html") or "/parallel/" in path:
            continue  # its links are the section pages' links, already checked there
        for href in collector.hrefs:
            if href.startswith(SKIPPED_SCHEMES) or href.startswith("//"):
                continue
            problem = resolve_link(path, href, files, parsed, base_path)
            if problem:
                section = sources.get(path)
                where = section.path if section else site.config.content_dir
                line = next((n for n, text in enumerate(section.text.split("\n"), 1)
                             if href in text), None) if section else None
                diag.error(where, line, None, f"broken link {href} on /{path}: {problem}",
                           "check.broken-link")


def resolve_link(page: str, href: str, files: dict, parsed: dict, base_path: str) -> str | None:
    """Why a link from a page does not resolve, or None when it does."""
    split = urlsplit(href)
    target = page
    if split.path.startswith("/"):
        if not split.path.startswith(base_path):
            return f"it leaves the site's base path {base_path}"
        page, split = "index.html", split._replace(path=split.path[len(base_path):] or "./")
    if split.path:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(split.path)))
        target = joined + "/index.html" if href.split("#")[0].endswith("/") or \
            joined + "/index.html" in files else joined
        if target not in files:
            return "no such page"
    if split.fragment and target in parsed and unquote(split.fragment) not in parsed[target].ids:
        return f'no element with id "{unquote(split.fragment)}"'
    return None


def list_unused_entries(site: Site, diag: Diagnostics) -> None:
    """With `bibliography = "cited"`, warn for each entry that no section cites."""
    if site.config.bibliography != "cited":
        return
    cited = set(site.index.cited)
    for key in site.bibliography.keys:
        if key not in cited:
            diag.warning(site.bibliography.path, site.bibliography.lines[key], None,
                         f'entry "{key}" is never cited, so bibliography = "cited" leaves it '
                         "out of the site; cite it or remove it", "check.unused-entry")


def list_unconfirmed_titles(site: Site, diag: Diagnostics) -> None:
    """Note each entry whose title is marked `verify = {title}`."""
    bibliography = site.bibliography
    for key in bibliography.keys:
        if "title" in bibliography.data.entries[key].fields.get("verify", "").lower():
            diag.note(bibliography.path, bibliography.lines[key], None,
                      f'entry "{key}": title still needs confirming (verify = {{title}})',
                      "check.unconfirmed-title")
