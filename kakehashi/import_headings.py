"""Parse stage of `import`: the headings of one report, and the slugs of its sections.

Takes the report's lines, their `Layout` and the lines already known to be something else
(the source list, lines holding markers); gives frozen `Heading`s with a level (1 the
report's title, 2 a section, 3+ inside one): Markdown `#` marks when the export has them,
else lines found by structure — numbered chapters (`第2章`, `2.1`, `Part 1`), named ones
(`緒論`, `結論`, `Introduction`) and short lines that stand before a paragraph — never a
line of code, a table cell or a list item. `section_slug` gives a heading's URL words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .import_layout import ATX_HEADING, CODE_LINE, STRONG_HEADING, Layout, display_width
from .import_text import URL_START, decode_escapes, slug_words

LIST_LINE = re.compile(r"^\s*(?:[-*+•・>|]\s|\d+[.)]\s)")
SENTENCE_END = tuple("。．.!?！？:：;；,、，…")
NUMBERING = re.compile(r"^\s*(?:第\s*[0-9０-９一二三四五六七八九十百]+\s*[章部編節]|(?:Part|Chapter|Section|Appendix)\s+"
                       r"(?:\d+|[IVX]{1,5})\b|\d{1,2}(?:\.\d{1,2}){0,3}\.?|[IVX]{1,5}\.)\s*[:：.\-–—]?\s*")
NUMBERED = re.compile(r"^(?:第\s*[0-9０-９一二三四五六七八九十百]+\s*[章部編節]|(?:Part|Chapter|Section)\s+(?:\d+|[IVX]{1,5})\b|"
                      r"\d{1,2}(?:\.\d{1,2}){0,3}\.?\s|[IVX]{1,5}\.\s)")
TITLE_WIDTH = 120
HEADING_WIDTH = 80
STRONG_WIDTH = 120


@dataclass(frozen=True)
class Heading:
    """A heading line of the report."""

    line: int  # 1-based line
    level: int  # 1 = the report's title, 2 = a section, 3+ = inside a section
    text: str  # the heading without its marks, escapes decoded


def strip_marks(text: str) -> str:
    """A heading's text without `#`, bold marks, escapes and surrounding space."""
    text = ATX_HEADING.match(text)[2] if ATX_HEADING.match(text) else text
    return re.sub(r"\s+", " ", decode_escapes(text.strip().strip("*_").strip()))


def normalise_heading(text: str) -> str:
    """The form a heading and its line in a --headings file share."""
    return re.sub(r"\s+", "", strip_marks(text)).casefold()


def section_slug(text: str) -> str:
    """A section's URL words from its heading (numbering dropped), or "" when it has none."""
    return "-".join(slug_words(NUMBERING.sub("", strip_marks(text), count=1))[:4])


def depth(text: str) -> int | None:
    """How deep a numbered or named heading sits (0 a part, 1 a chapter…), None for other lines."""
    text = strip_marks(text)
    if re.match(r"^(?:第\s*\S+?\s*[部編]|Part\s+(?:\d+|[IVX]{1,5})\b)", text):
        return 0
    if re.match(r"^(?:第\s*\S+?\s*節|Section\s+(?:\d+|[IVX]{1,5})\b)", text):
        return 2
    if numbered := re.match(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s", text):
        return numbered[1].count(".") + 1
    return 1 if STRONG_HEADING.match(text) else None


def is_heading_line(line: str, first: bool = False) -> bool:
    """Whether a plain-text line can be a heading: short, no sentence end, not a list item or code."""
    text = strip_marks(line)
    strong = STRONG_HEADING.match(text)
    if not text or (LIST_LINE.match(line) and not strong) or URL_START.search(text) or \
            text.startswith(("[", "^", "<", "!", "|")) or CODE_LINE.match(text):
        return False
    limit = TITLE_WIDTH if first else STRONG_WIDTH if strong else HEADING_WIDTH
    if display_width(text) > limit or text.endswith(SENTENCE_END):
        return False
    return bool(re.search(r"[^\W\d_]", text))


def find_headings(lines: list[str], layout: Layout, span: range, skip: frozenset[int],
                  marker_lines: set[int], named: dict[str, str] | None) -> tuple[Heading, ...]:
    """The headings of the lines in `span`, with levels."""
    body = [n for n in span if n not in skip and layout.prose(n)]
    if layout.markdown:
        found = markdown_headings(lines, body)
    else:
        free = [n for n in body if n not in layout.tables and n not in marker_lines]
        found = plain_headings(lines, body, free)
    return relevel(lines, body, found, named) if named is not None else found


def markdown_headings(lines: list[str], body: list[int]) -> tuple[Heading, ...]:
    """`#` headings: a lone top heading above the others is the title."""
    atx = [(n, len(m[1]), m[2].strip()) for n in body if (m := ATX_HEADING.match(lines[n - 1]))]
    if not atx:
        return ()
    levels = sorted({level for _, level, _ in atx})
    alone = [level for _, level, _ in atx].count(levels[0]) == 1
    titled = alone and atx[0][1] == levels[0] and len(levels) > 1  # one `#` title above `##`s
    section = levels[1] if titled else levels[0]
    return tuple(Heading(n, 1 if titled and i == 0 else 2 if level <= section else level - section + 2,
                         strip_marks(text)) for i, (n, level, text) in enumerate(atx))


def plain_headings(lines: list[str], body: list[int], free: list[int]) -> tuple[Heading, ...]:
    """Headings found by structure in a plain-text export."""
    if not body:
        return ()
    following = {n: body[i + 1] for i, n in enumerate(body[:-1])}
    spaced = sum(1 for n in free if n < len(lines) and not lines[n].strip()) * 2 > len(free)
    candidates = [n for n in free if n in following and is_heading_line(lines[n - 1], n == body[0])
                  and (not spaced or n == 1 or not lines[n - 2].strip())
                  and not listed(lines, n, following)]
    if not spaced:  # paragraphs one a line: a heading stands before a paragraph, at most two deep
        chosen = set(candidates)

        def before_paragraph(n: int) -> bool:
            below = following[n]
            return below not in chosen or below in following and following[below] not in chosen
        candidates = [n for n in candidates if before_paragraph(n) or depth(lines[n - 1]) is not None
                      or n == body[0]]
    if not candidates:
        return ()
    titled = len(candidates) > 1 and candidates[0] == body[0] and depth(lines[body[0] - 1]) is None
    rest = candidates[1:] if titled else candidates
    found = [Heading(candidates[0], 1, strip_marks(lines[candidates[0] - 1]))] if titled else []
    depths = {n: depth(lines[n - 1]) for n in rest}
    numbered = [n for n in rest if NUMBERED.match(strip_marks(lines[n - 1]))]
    if numbered and sum(d is not None for d in depths.values()) >= 2:  # chapters: 第2章, 2.1, 結論
        ranks = {d: rank for rank, d in enumerate(sorted({d for d in depths.values() if d is not None}))}
        last = None
        for n in rest:
            level = 2 + ranks[depths[n]] if depths[n] is not None else (last + 1 if last else 2)
            last = level if depths[n] is not None else last
            found.append(Heading(n, min(level, 6), strip_marks(lines[n - 1])))
        return tuple(found)
    chained = {n for n in rest if following[n] in depths}  # a heading right below a heading
    below = {following[n] for n in chained}
    for n in rest:
        lead = not chained or n in chained and n not in below
        found.append(Heading(n, 2 if lead else 3, strip_marks(lines[n - 1])))
    return tuple(found)


def listed(lines: list[str], number: int, following: dict[int, int]) -> bool:
    """Whether a numbered line is an item of a numbered list (the next line is the next item)."""
    this = re.match(r"^\s*(\d+)[.)]\s", lines[number - 1])
    after = re.match(r"^\s*(\d+)[.)]\s", lines[following[number] - 1]) if number in following else None
    return bool(this and after and int(after[1]) == int(this[1]) + 1)


def relevel(lines: list[str], body: list[int], found: tuple[Heading, ...],
            named: dict[str, str]) -> tuple[Heading, ...]:
    """With a --headings file: its headings are the sections, every other heading inside one."""
    wanted = {normalise_heading(text) for text in named.values()}
    seen = {h.line for h in found}
    extra = [Heading(n, 2, strip_marks(lines[n - 1])) for n in body
             if n not in seen and normalise_heading(lines[n - 1]) in wanted]
    first = min((h.line for h in (*found, *extra) if normalise_heading(h.text) in wanted), default=0)
    relevelled = [Heading(h.line, 2 if normalise_heading(h.text) in wanted else
                          1 if h.level == 1 and h.line < first else 3, h.text) for h in found]
    return tuple(sorted(relevelled + extra, key=lambda h: h.line))
