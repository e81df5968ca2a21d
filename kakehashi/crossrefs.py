"""Resolve stage: figures, tables and labelled headings, numbered; cross-references checked.

`scan_labels(section)` reads one section's raw text through the shared scanner and gives
each `Label` it defines, Quarto's way: a figure is a paragraph that is only an image with
an id, `![Caption](../files/growth.png){#fig-growth}`; a table is followed by its caption
line, `: Caption {#tbl-costs}`; a heading takes an id, `## Markets {#sec-markets}`.
`resolve_crossrefs` numbers them per page language in reading order (図1 / Figure 1,
表1 / Table 1; a heading by its place, 3.2 for the second `##` of section 3), so a number is
the same on the section page, the print page and in the PDF; it gives a `LabelIndex` and
reports every cross-reference (`@fig-growth`, `[-@tbl-costs]`, `@sec-markets`) whose label
does not exist, with the closest label, and every label defined twice.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .citations import CROSSREF_PREFIXES, RESERVED_PREFIXES, CitationIndex
from .content import Report, Section
from .diagnostics import Diagnostics, display_path, line_col
from .scanner import scan_source

ATTRIBUTES = r"\{:?[ \t]*(?P<attrs>[^{}\n]*)\}"
# A figure paragraph, as the scanner reads it and as markup.FigureProcessor renders it.
FIGURE = re.compile(r"^!\[(?P<caption>(?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(\s*<?(?P<src>[^()\s<>]+)>?"
                    rf"(?:\s+\"(?P<title>[^\"]*)\")?\s*\){ATTRIBUTES}[ \t]*$")
TABLE_CAPTION = re.compile(rf"^:[ \t]+(?P<caption>.*?)[ \t]*(?:{ATTRIBUTES})?[ \t]*$")
HEADING = re.compile(rf"^(?P<hashes>#{{1,6}})[ \t]+(?P<title>.*?)(?:[ \t]+{ATTRIBUTES})?[ \t]*#*[ \t]*$")
TABLE_LINE = re.compile(r"^[ \t]{0,3}\|.*\||^[ \t]{0,3}\|?[ \t]*:?-{3,}")
LABEL_ID = re.compile(r"(?:^|\s)#(?P<label>[^\s}]+)")
LABEL_LIKE = re.compile(r"\{[^{}\n]*#(?P<label>(?:" + "|".join(RESERVED_PREFIXES) +
                        r")-[^\s}]*)[^{}\n]*\}")
ATTRIBUTE = re.compile(r'(?P<name>[A-Za-z][\w-]*)=(?:"(?P<quoted>[^"]*)"|(?P<bare>\S+))')
INLINE_MARKUP = re.compile(r"\[\^[^\]]*\]|\[[^\]]*@[^\]]*\]|[*_`]|\\(?=[^\s])")
KIND_NAMES = {"fig": "figure", "tbl": "table", "sec": "heading"}
FIGURE_ATTRIBUTES = {"fig-alt"}


@dataclass(frozen=True)
class Label:
    """Something a cross-reference can point at: a figure, a table or a heading."""

    label: str  # "fig-growth"
    kind: str  # "fig", "tbl" or "sec"
    title: str  # the caption or heading text, without Markdown marks
    offset: int  # in the section body, of the `!`, the `:` or the first `#`
    level: int = 0  # a heading's level (2 for `##`); 0 for figures and tables


@dataclass(frozen=True)
class Target:
    """A label as a page shows it: its number and where it is."""

    label: str  # "fig-growth"
    kind: str  # "fig", "tbl" or "sec"
    number: str  # "1" for 図1 / Figure 1; "3.2" for a heading
    slug: str  # the section it is in
    title: str  # caption or heading text


@dataclass(frozen=True)
class LabelIndex:
    """Every label of the report, per page language."""

    targets: dict[tuple[str, str], Target]  # (language, label) -> target

    def target(self, language: str, label: str) -> Target | None:
        """The label as shown on pages of one language, if that language defines it."""
        return self.targets.get((language, label))

    def fingerprint(self) -> str:
        """A digest of every number and title (what a rendered section depends on)."""
        return hashlib.sha256(repr(sorted(self.targets.items())).encode("utf-8")).hexdigest()


def plain_title(text: str) -> str:
    """A caption or heading as plain text: citations and Markdown marks dropped."""
    return " ".join(INLINE_MARKUP.sub("", text).split())


def scan_labels(section: Section, diag: Diagnostics | None = None) -> list[Label]:
    """Every figure, table and labelled heading of a section, in text order."""
    diag = diag if diag is not None else Diagnostics()
    masked = scan_source(section.body).masked
    raw_lines = section.body.split("\n")
    offset = len(section.text) - len(section.body)
    labels: list[Label] = []
    understood: set[int] = set()  # offsets of the `{` of attribute lists read as labels
    lines = masked.split("\n")
    start = 0
    for index, line in enumerate(lines):
        blank_before = index == 0 or not lines[index - 1].strip()
        label = None
        figure = FIGURE.match(raw_lines[index]) if line.startswith("![") else None
        if figure and blank_before and is_last_line(lines, index):
            label = read_label(figure, "fig", figure["caption"], start, section, offset, diag)
            understood.add(start + figure.start("attrs") - 1)
            if label:
                check_figure_attributes(figure["attrs"], section, offset + start, diag)
        elif line.startswith(":") and (caption := TABLE_CAPTION.match(line)) and \
                follows_table(lines, index):
            if caption["attrs"] is not None:
                understood.add(start + caption.start("attrs") - 1)
                label = read_label(caption, "tbl", caption["caption"], start, section, offset,
                                   diag)
        elif (heading := HEADING.match(line)) and heading["attrs"] is not None:
            understood.add(start + heading.start("attrs") - 1)
            found = LABEL_ID.search(heading["attrs"])
            if found and found["label"].startswith("sec-"):
                label = Label(found["label"], "sec", plain_title(heading["title"]), start,
                              len(heading["hashes"]))
            elif found and found["label"].startswith(("fig-", "tbl-")):
                where = line_col(section.text, offset + start)
                diag.error(section.path, *where, f'a heading takes a sec- label, not '
                           f'"{found["label"]}"', "crossref.misplaced-label")
        if label:
            labels.append(label)
        for stray in LABEL_LIKE.finditer(line):
            if start + stray.start() not in understood:
                where = line_col(section.text, offset + start + stray.start())
                kind = stray["label"].split("-", 1)[0]
                if kind not in KIND_NAMES:
                    diag.error(section.path, *where, f'label "{stray["label"]}": Kakehashi numbers '
                               "figures (fig-), tables (tbl-) and headings (sec-), not this kind",
                               "crossref.unsupported-kind")
                    continue
                diag.error(section.path, *where, f'label "{stray["label"]}" is not where a '
                           f"{KIND_NAMES[kind]} label can be: {PLACES[kind]}",
                           "crossref.misplaced-label")
        start += len(line) + 1
    return labels


PLACES = {
    "fig": "a figure is a paragraph of its own, ![Caption](../files/x.png){#fig-x}",
    "tbl": "a table's caption is the line after it, : Caption {#tbl-x}",
    "sec": "a heading ends with it, ## Title {#sec-x}",
}


def is_last_line(lines: list[str], index: int) -> bool:
    """Whether a line ends its paragraph (the next line is blank or the text ends)."""
    return index + 1 >= len(lines) or not lines[index + 1].strip()


def follows_table(lines: list[str], index: int) -> bool:
    """Whether a `: Caption` line comes right after a table (a blank line between is fine)."""
    before = index - 1
    if before >= 0 and not lines[before].strip():
        before -= 1
    return before >= 0 and bool(TABLE_LINE.match(lines[before])) and "|" in lines[before]


def read_label(match: re.Match, kind: str, caption: str, start: int, section: Section,
               offset: int, diag: Diagnostics) -> Label | None:
    """The label of a figure or table's attribute list; an error if it has another kind."""
    found = LABEL_ID.search(match["attrs"] or "")
    if found is None:
        return None
    if not found["label"].startswith(f"{kind}-"):
        where = line_col(section.text, offset + start + match.start("attrs"))
        diag.error(section.path, *where, f'a {KIND_NAMES[kind]} takes a {kind}- label, not '
                   f'"{found["label"]}"', "crossref.misplaced-label")
        return None
    return Label(found["label"], kind, plain_title(caption), start)


def check_figure_attributes(attrs: str, section: Section, at: int, diag: Diagnostics) -> None:
    """A figure's attributes other than its label must be known ones (fig-alt)."""
    for attribute in ATTRIBUTE.finditer(attrs):
        if attribute["name"] not in FIGURE_ATTRIBUTES:
            diag.error(section.path, *line_col(section.text, at), f'unknown figure attribute '
                       f'"{attribute["name"]}"; a figure takes its label and fig-alt="…"',
                       "crossref.figure-attribute")


def resolve_crossrefs(report: Report, index: CitationIndex, diag: Diagnostics,
                      scanned: Callable[[Section], list[Label]] | None = None) -> LabelIndex:
    """Number every label per language; report duplicates and unknown cross-references.

    `scanned` gives a section's labels (by default `scan_labels`, reporting to `diag`).
    """
    scanned = scanned or (lambda section: scan_labels(section, diag))
    targets: dict[tuple[str, str], Target] = {}
    defined_at: dict[tuple[str, str], tuple[Path, int, int]] = {}
    languages = sorted({section.language for section in report.sections})
    for code in languages:
        counters = {"fig": 0, "tbl": 0}
        for chapter, slug in enumerate(report.slugs, start=1):
            section = report.section(slug, code)
            if section is None:
                continue
            for found, label in number_labels(section, chapter, scanned(section),
                                              counters):
                key = (code, label.label)
                where = line_col(section.text, len(section.text) - len(section.body)
                                 + found.offset)
                if key in defined_at:
                    first = defined_at[key]
                    diag.error(section.path, *where, f'label "{label.label}" is already defined '
                               f"at {display(first)}; give each {KIND_NAMES[label.kind]} its own "
                               "label", "crossref.duplicate-label")
                    continue
                defined_at[key] = (section.path, *where)
                targets[key] = label
    for ref in index.crossrefs:
        check_reference(ref, targets, languages, diag, report)
    return LabelIndex(targets)


def display(where: tuple[Path, int, int]) -> str:
    """`content/sections/02-x.ja.md:7:1`."""
    return f"{display_path(where[0])}:{where[1]}:{where[2]}"


def number_labels(section: Section, chapter: int, labels: list[Label],
                  counters: dict[str, int]) -> list[tuple[Label, Target]]:
    """Targets of a section's labels: figures and tables counted on, headings by their place."""
    if not labels:  # nothing to number: spare the section's scan (most sections have no labels)
        return []
    targets = []
    levels: list[int] = []  # the counters of the heading levels below the section's title
    masked = scan_source(section.body).masked
    heading_at = {}
    start = 0
    for line in masked.split("\n"):
        match = re.match(r"^(#{2,6})[ \t]", line)
        if match:
            depth = len(match[1]) - 1
            levels = (levels + [0] * depth)[:depth]
            levels[-1] += 1
            heading_at[start] = ".".join(str(n) for n in [chapter, *levels])
        start += len(line) + 1
    for label in labels:
        if label.kind == "sec":
            number = heading_at.get(label.offset, str(chapter))
        else:
            counters[label.kind] += 1
            number = str(counters[label.kind])
        targets.append((label, Target(label.label, label.kind, number, section.slug, label.title)))
    return targets


def check_reference(ref, targets: dict[tuple[str, str], Target], languages: list[str],
                    diag: Diagnostics, report: Report) -> None:
    """An error for a cross-reference to a label its language does not define."""
    language = next(s.language for s in report.sections if s.path == ref.path)
    kind = ref.label.split("-", 1)[0]
    if kind not in CROSSREF_PREFIXES:
        diag.error(ref.path, ref.line, ref.col, f'"@{ref.label}": Kakehashi numbers figures '
                   "(@fig-…), tables (@tbl-…) and headings (@sec-…), not this kind; write \\@ "
                   "for an @ that is not a reference", "crossref.unsupported-kind")
        return
    if (language, ref.label) in targets:
        return
    elsewhere = [code for code in languages if (code, ref.label) in targets]
    if elsewhere:
        hint = f"; it is defined only in the {', '.join(elsewhere)} files: add it here too"
    else:
        known = [label for code, label in targets if code == language]
        close = difflib.get_close_matches(ref.label, known, n=1, cutoff=0.5)
        hint = f'; did you mean "{close[0]}"?' if close else \
            f"; define it ({PLACES[kind]})"
    diag.error(ref.path, ref.line, ref.col, f'unknown label "{ref.label}"{hint}',
               "crossref.unknown-label")


def list_one_language_targets(report: Report, labels: LabelIndex, crossrefs, codes,
                              diag: Diagnostics) -> None:
    """Warn for each cross-reference whose target exists in its language but not in another."""
    by_path = {section.path: section for section in report.sections}
    for ref in crossrefs:
        section = by_path.get(ref.path)
        target = labels.target(section.language, ref.label) if section else None
        if target is None:
            continue  # unknown: already an error
        for other in codes:
            translated = report.section(target.slug, other)
            if other != section.language and translated and labels.target(other, ref.label) is None:
                diag.warning(ref.path, ref.line, ref.col, f'"@{ref.label}" points at a '
                             f"{KIND_NAMES[target.kind]} that only the {section.language} "
                             f"file has; label the same {KIND_NAMES[target.kind]} in "
                             f"{translated.path.name} too", "check.crossref-one-language")
