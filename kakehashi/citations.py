"""Resolve stage: find citation references in the raw Markdown and number their sources.

`scan_citations` takes one section's raw text and gives every `CitationRef` with its
`file:line:col` (Python-Markdown keeps no positions, so it reads the raw text through the
shared scanner, `scanner.py`, which masks code, raw HTML, maths and footnote definitions
exactly where the renderer would not see citations). It reads every form pandoc reads:
`[@key]`, `[@a; @b]`, `[see @key, p. 12; also @other]`, `[-@key]`, narrative `@key` and
`@key [p. 12]`, and Kakehashi's own `[^key]` and `[^key, p. 12]`. Cross-references
(`@fig-x`, `@tbl-x`, `@sec-x`) use the same syntax; they come out as `CitationRef`s with
`crossref=True`, for `crossrefs.py`.
`resolve_citations` takes the report and the bibliography and gives a `CitationIndex`:
one number per source for the whole site, the same in every language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .bibliography import Bibliography
from .bibstyle import sort_key
from .config import SiteConfig
from .content import Report, Section
from .diagnostics import Diagnostics, line_col
from .locators import split_locator
from .scanner import scan_source

FOOTNOTE_REF = r"\[\^[^\]\n]*\]"
# A bracket is a pandoc citation when one of its `;`-separated items has an `@` at the
# start of a word: `[@a]`, `[see @a, p. 3]`, `[-@a]`; `[info@example.com]` is not one.
PANDOC_REF = r"\[(?=[^\[\]\n]*?(?<=[\[\s;])-?@)[^\[\]\n]*\]"
GROUP = re.compile(rf"(?<![\\!])(?:{FOOTNOTE_REF}|{PANDOC_REF})+(?![(\[:])")
REF = re.compile(rf"{FOOTNOTE_REF}|{PANDOC_REF}")
PANDOC_ITEM = re.compile(r"^(?P<prefix>(?:.*\s)?)(?P<suppress>-?)@(?P<key>[^\s;,@\[\]]+)"
                         r"(?P<rest>(?:[\s,][^@]*)?)$", re.DOTALL)
UNCLOSED_REF = re.compile(r"(?<![\\!])\[(?:\^(?=[^\s\]])|(?=[^\]\[\n]*?(?<=[\[\s;])-?@[^\s\]]))"
                          r"[^\]\[\n]*(?=\n|\[|$)")
# Narrative `@key` (pandoc's rule): an `@` right after an ASCII letter or digit, or after
# one of . _ % + - / : = (an e-mail address, a URL), is plain text; so is `\@` and an `@`
# that no letter, digit or _ follows. A key in running text is ASCII and ends with a letter,
# a digit or _, so `@becker1984が` and `@becker1984.` end before が and the full stop.
NARRATIVE = re.compile(r"(?<![A-Za-z0-9._%+\-/:=@\\])@(?P<key>[A-Za-z0-9_](?:[A-Za-z0-9_:.#%+\-/~]*"
                       r"[A-Za-z0-9_])?)(?:[ \t]\[(?P<locator>[^\[\]\n@^][^\[\]\n]*)\](?![(\[:]))?")
CROSSREF_PREFIXES = ("fig", "tbl", "sec")  # what Kakehashi numbers and links
RESERVED_PREFIXES = CROSSREF_PREFIXES + ("eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def",
                                         "exm", "exr", "sol", "rem")  # Quarto's; never keys


@dataclass(frozen=True)
class CitationRef:
    """One written reference: `[^key]`, one `@key` of `[@a; @b]`, or a narrative `@key`."""

    path: Path  # the section file
    line: int  # 1-based line in the file (front matter counted)
    col: int  # 1-based column in characters, of the reference's `[` (or of a narrative `@`)
    label: str  # the key as written
    group: int  # index of the group it belongs to, per file, in text order
    prefix: str = ""  # text before the key inside the brackets: "see"
    locator: str = ""  # what follows the key, as written: "p. 12" (see locators.py)
    suppress_author: bool = False  # `[-@key]`: the year (or number) without the name
    narrative: bool = False  # `@key` in running text: "Becker [5]", "Becker (1984)"
    crossref: bool = False  # `@fig-x`, `@tbl-x`, `@sec-x`: a cross-reference, not a citation


@dataclass(frozen=True)
class CiteItem:
    """One item of a written citation, as both the scanner and the renderer read it."""

    label: str  # the key (or cross-reference label) as written
    prefix: str = ""  # "see"
    locator: str = ""  # "p. 12" and any suffix, as written after the key
    suppress_author: bool = False  # written `-@key`
    narrative: bool = False  # written `@key` in running text


def is_crossref(label: str) -> bool:
    """Whether a label is a cross-reference (`fig-x`, `tbl-x`, `sec-x`, or another Quarto kind)."""
    return label.split("-", 1)[0] in RESERVED_PREFIXES and "-" in label


def parse_reference(written: str) -> list[CiteItem] | None:
    """The items of one bracketed reference; None if malformed.

    `[^key]` -> [key]; `[^key, p. 12]` -> [key at p. 12]; `[see @a, p. 3; @b]` -> [a, b].
    (A `[^label]` with a local definition is a footnote: callers check that first.)
    """
    if written.startswith("[^"):
        label, comma, locator = written[2:-1].partition(",")
        if comma and not locator.strip():
            return None
        return [CiteItem(label.strip() if comma else label, locator=locator.strip())]
    items = []
    for part in written[1:-1].split(";"):
        match = PANDOC_ITEM.match(part.strip())
        if not match:
            return None
        locator = match["rest"].strip()
        locator = locator[1:].strip() if locator.startswith(",") else locator
        items.append(CiteItem(match["key"], match["prefix"].strip(), locator,
                              bool(match["suppress"])))
    return items


def narrative_item(match: re.Match) -> tuple[CiteItem, int]:
    """The item of a narrative `@key` match and where it ends (after `[p. 12]` if a locator)."""
    written = match["locator"]
    if written is not None and split_locator(written)[0] is not None:
        return CiteItem(match["key"], locator=written.strip(), narrative=True), match.end()
    return CiteItem(match["key"], narrative=True), match.end("key")


def find_narratives(masked: str) -> list[tuple[int, CiteItem, int]]:
    """(start, item, end) of every narrative `@key` outside bracketed citations."""
    blanked = GROUP.sub(lambda m: " " * len(m[0]), masked)
    found = []
    for match in NARRATIVE.finditer(blanked):
        item, end = narrative_item(match)
        found.append((match.start(), item, end))
    return found


@dataclass(frozen=True)
class CitationIndex:
    """Which key each label means, and each source's site-wide number."""

    numbers: dict[str, int]  # key (as spelled in the .bib) -> number; the bibliography's order
    labels: dict[str, str]  # label as written -> key, for every label that resolved
    cited: tuple[str, ...]  # cited keys, in order of first citation (default language)
    crossrefs: tuple[CitationRef, ...] = ()  # every `@fig-x`-style reference, for crossrefs.py

    def key(self, label: str) -> str | None:
        """The key a label resolves to, if any."""
        return self.labels.get(label)


def scan_citations(section: Section, diag: Diagnostics) -> list[CitationRef]:
    """Every citation reference in a section, in text order; malformed ones are errors."""
    return [ref for ref in scan_references(section, diag) if not ref.crossref]


def scan_references(section: Section, diag: Diagnostics | None = None) -> list[CitationRef]:
    """Every citation and cross-reference in a section, in text order (errors to `diag`)."""
    diag = diag if diag is not None else Diagnostics()
    source = scan_source(section.body)
    footnotes = source.footnote_labels
    offset = len(section.text) - len(section.body)
    masked = source.citation_text()
    for unclosed in UNCLOSED_REF.finditer(masked):
        line, col = line_col(section.text, offset + unclosed.start())
        diag.error(section.path, line, col, f'unclosed citation "{unclosed[0].split()[0][:60]}": '
                   "add the closing ] (or escape the bracket as \\[ if it is not a citation)",
                   "citation.unclosed")
    found: list[tuple[int, int, list[CiteItem]]] = []  # (offset, group offset, items)
    for group in GROUP.finditer(masked):
        for ref in REF.finditer(group[0]):
            start = group.start() + ref.start()
            written = ref[0]
            if written.startswith("[^") and written[2:-1] in footnotes:
                continue
            line, col = line_col(section.text, offset + start)
            items = parse_reference(written)
            if items is None:
                diag.error(section.path, line, col, f"malformed citation {written}; write "
                           "[@key], [@key1; @key2] or [see @key, p. 12]", "citation.malformed")
            elif not items[0].label.strip():
                diag.error(section.path, line, col, "empty citation [^]; write the BibTeX "
                           "key, as in [^smith2020]", "citation.empty")
            elif any(is_crossref(item.label) for item in items) and (
                    len(items) > 1 or items[0].prefix or items[0].locator):
                diag.error(section.path, line, col, f"cross-reference inside a citation {written}; "
                           "write it in the text, as in @fig-growth", "crossref.in-citation")
            else:
                found.append((start, group.start(), items))
    for start, item, _ in find_narratives(masked):
        found.append((start, start, [item]))
    refs = []
    groups = {group: number for number, group in enumerate(sorted({g for _, g, _ in found}))}
    for start, group, items in sorted(found, key=lambda f: f[0]):
        line, col = line_col(section.text, offset + start)
        for item in items:
            refs.append(CitationRef(section.path, line, col, item.label, groups[group],
                                    item.prefix, item.locator, item.suppress_author,
                                    item.narrative, is_crossref(item.label)))
    return refs


def ref_labels(written: str) -> list[str] | None:
    """The labels of one reference: `[^a]` -> ["a"], `[@a; @b]` -> ["a", "b"]; None if malformed."""
    items = parse_reference(written)
    return None if items is None else [item.label for item in items]


def resolve_citations(report: Report, bibliography: Bibliography, config: SiteConfig,
                      diag: Diagnostics,
                      scanned: Callable[[Section], list[CitationRef]] | None = None
                      ) -> CitationIndex:
    """Resolve every label to a key and number the sources.

    `scanned` gives a section's references (by default `scan_references`, reporting to `diag`).
    """
    scanned = scanned or (lambda section: scan_references(section, diag))
    labels: dict[str, str] = {}
    first_cited: dict[str, None] = {}  # an ordered set
    order = {code: index for index, code in enumerate(config.language_codes)}
    crossrefs: list[CitationRef] = []
    citable = frozenset(bibliography.keys)  # asked once per citation: a set, not the tuple
    for section in sorted(report.sections, key=lambda s: order[s.language]):
        for ref in scanned(section):
            if ref.crossref:
                crossrefs.append(ref)
                continue
            key = resolve_label(ref, bibliography, citable, diag)
            if key is None:
                continue
            labels[ref.label] = key
            first_cited.setdefault(key)  # default language first, so its order wins
    numbered = number_sources(bibliography.keys, list(first_cited), config, bibliography)
    return CitationIndex({key: n for n, key in enumerate(numbered, start=1)}, labels,
                         tuple(first_cited), tuple(crossrefs))


def resolve_label(ref: CitationRef, bibliography: Bibliography, citable: frozenset[str],
                  diag: Diagnostics) -> str | None:
    """The key a reference means; an error for unknown keys, a warning for another case."""
    key = bibliography.canonical(ref.label)
    if key is None or key not in citable:
        close = difflib.get_close_matches(ref.label, bibliography.keys, n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else \
            "; add it to the bibliography or define a footnote [^label]: …"
        if ref.narrative:
            hint += " (an @ that is not a citation is written \\@)"
        diag.error(ref.path, ref.line, ref.col, f'unknown citation key "{ref.label}"{hint}',
                   "citation.unknown-key")
        return None
    if key != ref.label:
        diag.warning(ref.path, ref.line, ref.col, f'citation key "{ref.label}" is written '
                     f'"{key}" in the bibliography; use that spelling', "citation.key-case")
    return key


def number_sources(keys: tuple[str, ...], first_cited: list[str], config: SiteConfig,
                   bibliography: Bibliography | None = None) -> list[str]:
    """Keys in numbering order, as `citation_style`, `citation_numbering` and `bibliography` ask.

    Author-date lists the bibliography by author, then year and title (`sortkey` first).
    """
    cited = set(first_cited)
    if config.citation_style == "author-date" and bibliography:
        entries = bibliography.data.entries
        ordered = sorted(keys, key=lambda key: sort_key(entries[key]))
    elif config.citation_numbering == "first-cited":
        ordered = first_cited + [key for key in keys if key not in cited]
    else:
        ordered = list(keys)
    if config.bibliography == "cited":
        ordered = [key for key in ordered if key in cited]
    return ordered


def compress(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted runs of numbers: [1, 2, 3, 5] -> [(1, 3), (5, 5)]."""
    runs: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs
