"""Resolve stage: find citation references in the raw Markdown and number their sources.

`scan_citations` takes one section's raw text and gives every `CitationRef` with its
`file:line:col` (Python-Markdown keeps no positions, so it reads the raw text through the
shared scanner, `scanner.py`, which masks code, raw HTML and footnote definitions exactly
where the renderer would not see citations).
`resolve_citations` takes the report and the bibliography and gives a `CitationIndex`:
one number per source for the whole site, the same in every language.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .bibliography import Bibliography
from .config import SiteConfig
from .content import Report, Section
from .diagnostics import Diagnostics, line_col
from .scanner import scan_source

FOOTNOTE_REF = r"\[\^[^\]\n]*\]"
PANDOC_REF = r"\[@[^\]\n]*\]"
GROUP = re.compile(rf"(?<!\\)(?:{FOOTNOTE_REF}|{PANDOC_REF})+(?![(\[:])")
REF = re.compile(rf"{FOOTNOTE_REF}|{PANDOC_REF}")
PANDOC_ITEM = re.compile(r"^\s*@([^\s;,@\[\]]+)\s*$")
UNCLOSED_REF = re.compile(r"(?<!\\)\[[\^@](?=[^\s\]])[^\]\[\n]*(?=\n|\[|$)")


@dataclass(frozen=True)
class CitationRef:
    """One written reference: `[^key]` or one `@key` of `[@a; @b]`."""

    path: Path  # the section file
    line: int  # 1-based line in the file (front matter counted)
    col: int  # 1-based column in characters, of the reference's `[`
    label: str  # the key as written
    group: int  # index of the adjacent group it belongs to, per file


@dataclass(frozen=True)
class CitationIndex:
    """Which key each label means, and each source's site-wide number."""

    numbers: dict[str, int]  # key (as spelled in the .bib) -> number; the bibliography's order
    labels: dict[str, str]  # label as written -> key, for every label that resolved
    cited: tuple[str, ...]  # cited keys, in order of first citation (default language)

    def key(self, label: str) -> str | None:
        """The key a label resolves to, if any."""
        return self.labels.get(label)


def scan_citations(section: Section, diag: Diagnostics) -> list[CitationRef]:
    """Every citation reference in a section, in text order; malformed ones are errors."""
    source = scan_source(section.body)
    footnotes = source.footnote_labels
    offset = len(section.text) - len(section.body)
    masked = source.citation_text()
    for unclosed in UNCLOSED_REF.finditer(masked):
        line, col = line_col(section.text, offset + unclosed.start())
        diag.error(section.path, line, col, f'unclosed citation "{unclosed[0].split()[0][:60]}": '
                   "add the closing ] (or escape the bracket as \\[ if it is not a citation)",
                   "citation.unclosed")
    refs = []
    for number, group in enumerate(GROUP.finditer(masked)):
        for ref in REF.finditer(group[0]):
            start = group.start() + ref.start()
            line, col = line_col(section.text, offset + start)
            written = ref[0]
            labels = ref_labels(written)
            if written.startswith("[^") and labels[0] in footnotes:
                continue
            if labels is None:
                diag.error(section.path, line, col, f"malformed citation {written}; write "
                           "[@key] or [@key1; @key2]", "citation.malformed")
            elif not labels[0].strip():
                diag.error(section.path, line, col, "empty citation [^]; write the BibTeX "
                           "key, as in [^smith2020]", "citation.empty")
            else:
                refs.extend(CitationRef(section.path, line, col, label, number) for label in labels)
    return refs


def ref_labels(written: str) -> list[str] | None:
    """The labels of one reference: `[^a]` -> ["a"], `[@a; @b]` -> ["a", "b"]; None if malformed."""
    if written.startswith("[^"):
        return [written[2:-1]]
    items = [PANDOC_ITEM.match(item) for item in written[1:-1].split(";")]
    return [item[1] for item in items] if all(items) else None


def resolve_citations(report: Report, bibliography: Bibliography, config: SiteConfig,
                      diag: Diagnostics) -> CitationIndex:
    """Resolve every label to a key and number the sources."""
    labels: dict[str, str] = {}
    first_cited: dict[str, None] = {}  # an ordered set
    order = {code: index for index, code in enumerate(config.language_codes)}
    for section in sorted(report.sections, key=lambda s: order[s.language]):
        for ref in scan_citations(section, diag):
            key = resolve_label(ref, bibliography, diag)
            if key is None:
                continue
            labels[ref.label] = key
            first_cited.setdefault(key)  # default language first, so its order wins
    numbered = number_sources(bibliography.keys, list(first_cited), config)
    return CitationIndex({key: n for n, key in enumerate(numbered, start=1)}, labels,
                         tuple(first_cited))


def resolve_label(ref: CitationRef, bibliography: Bibliography, diag: Diagnostics) -> str | None:
    """The key a reference means; an error for unknown keys, a warning for another case."""
    key = bibliography.canonical(ref.label)
    if key is None or key not in bibliography.keys:
        close = difflib.get_close_matches(ref.label, bibliography.keys, n=1, cutoff=0.6)
        hint = f'; did you mean "{close[0]}"?' if close else \
            "; add it to the bibliography or define a footnote [^label]: …"
        diag.error(ref.path, ref.line, ref.col, f'unknown citation key "{ref.label}"{hint}',
                   "citation.unknown-key")
        return None
    if key != ref.label:
        diag.warning(ref.path, ref.line, ref.col, f'citation key "{ref.label}" is written '
                     f'"{key}" in the bibliography; use that spelling', "citation.key-case")
    return key


def number_sources(keys: tuple[str, ...], first_cited: list[str], config: SiteConfig) -> list[str]:
    """Keys in numbering order, as `citation_numbering` and `bibliography` ask."""
    cited = set(first_cited)
    if config.citation_numbering == "first-cited":
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
