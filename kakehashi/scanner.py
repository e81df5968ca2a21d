"""Shared by every stage that reads raw Markdown: what each part of a section's text is.

Python-Markdown keeps no source positions, so the stages that report `file:line:col`
(citations, local footnotes, the numbers-parity lint) read the raw text themselves. They
all ask this module, so they agree with each other and with Python-Markdown about what is
fenced, indented or inline code, a raw HTML block or comment, a footnote definition, maths
(`$…$`, `$$…$$`, pandoc's rule: never a citation), and a link or image address.
`scan_source(text)` gives a `SourceMap`; `find_pathological(source)` gives the places
Python-Markdown would take quadratic time or too deep a recursion on.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

FENCED_CODE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[`~]*[ \t]*$|\Z)",
                         re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
HTML_BLOCK = re.compile(r"^<(address|article|aside|blockquote|details|dialog|div|dl|fieldset|"
                        r"figure|footer|form|h[1-6]|header|hr|nav|ol|p|pre|section|table|ul|"
                        r"script|style|iframe|canvas|video|audio)\b.*?(?:</\1>[^\n]*$|\n\s*\n|\Z)",
                        re.MULTILINE | re.DOTALL | re.IGNORECASE)
LINK_DESTINATION = re.compile(r"(?<=\])\((?:<[^>\n]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)"
                              r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?\s*\)")
AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):[^>\s]*>")
FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]\n]+)\]:", re.MULTILINE)
# Pandoc's tex_math_dollars: `$` opens when a non-space follows it; the closing `$` has a
# non-space before it and no digit after it (so "$5 and $10" is money, not maths); `$$`
# encloses display maths. Neither crosses a blank line; `\$` is a dollar sign.
MATH = re.compile(r"(?<![\\$])\$\$(?P<display>(?:[^$\\]|\\.|\$(?!\$))+?)\$\$"
                  r"|(?<![\\$])\$(?![\s$])(?P<inline>(?:[^$\\\n]|\\.|\n(?![ \t]*\n))+?)"
                  r"(?<![\s\\])\$(?!\d)", re.DOTALL)
BLANK_LINE = re.compile(r"\n[ \t]*\n")
LINK_TARGET = re.compile(r"(?P<image>!?)\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]\(\s*<?(?P<dest>[^()\s<>]+)")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)[^\]\n]+\]:[ \t]*<?(?P<dest>[^\s>]+)", re.MULTILINE)
LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d+[.)])\s")
NESTED_LINE = re.compile(r"^((?:[ \t]*>)*)([ \t]*)(?:[-*+]|\d+[.)])?")
MAX_OPEN_BRACKETS = 200  # unclosed or nested "[" in one paragraph; cost grows as their square
MAX_NESTING = 40  # levels of nested lists and block quotes
SCANS_KEPT = 1 << 14  # section bodies whose map is kept: loading, citations, cross-references,
# files and maths each ask for every section's, so each is scanned once (SourceMap is frozen)


@dataclass(frozen=True)
class SourceMap:
    """One section body, and which of its characters Markdown reads as prose."""

    text: str  # the raw Markdown
    masked: str  # the text with code, raw HTML, comments, maths and link addresses as spaces
    definitions: tuple[tuple[str, int], ...]  # (label, offset) of each footnote definition
    maths: tuple[tuple[int, str, bool], ...] = ()  # (offset of `$`, LaTeX, display) per formula
    links: tuple[tuple[int, str, bool], ...] = ()  # (offset, address, is an image) per link

    @property
    def footnote_labels(self) -> set[str]:
        """Labels that the text defines as ordinary footnotes (`[^note]: text`)."""
        return {label for label, _ in self.definitions}

    def citation_text(self) -> str:
        """The masked text with footnote-definition labels blanked too (they cite nothing)."""
        return FOOTNOTE_DEFINITION.sub(blank, self.masked)


def blank(match: re.Match) -> str:
    """The matched text as spaces, keeping its line breaks (so offsets stay valid)."""
    return re.sub(r"[^\n]", " ", match[0])


@functools.lru_cache(maxsize=SCANS_KEPT)
def scan_source(text: str) -> SourceMap:
    """Classify a section body: code, raw HTML and comments masked; definitions found."""
    masked = FENCED_CODE.sub(blank, text)
    masked = mask_indented_code(masked)
    masked = HTML_COMMENT.sub(blank, masked)
    masked = HTML_BLOCK.sub(blank, masked)
    masked = CODE_SPAN.sub(blank, masked)
    maths = find_maths(masked)
    for start, latex, display in maths:  # maths is read before links, as Markdown reads it
        end = start + len(latex) + (4 if display else 2)
        masked = masked[:start] + re.sub(r"[^\n]", " ", masked[start:end]) + masked[end:]
    links = find_links(masked)
    masked = AUTOLINK.sub(blank, LINK_DESTINATION.sub(blank, masked))  # addresses are not prose
    definitions = tuple((m[1], m.start()) for m in FOOTNOTE_DEFINITION.finditer(masked))
    return SourceMap(text, masked, definitions, maths, links)


def find_maths(masked: str) -> tuple[tuple[int, str, bool], ...]:
    """Every `$…$` and `$$…$$` of the (code-masked) text that Markdown reads as maths."""
    found = []
    if "$" not in masked:  # the pattern would try every position only to find nothing
        return ()
    for match in MATH.finditer(masked):
        latex = match["display"] if match["display"] is not None else match["inline"]
        if BLANK_LINE.search(latex):
            continue
        found.append((match.start(), latex, match["display"] is not None))
    return tuple(found)


def find_links(masked: str) -> tuple[tuple[int, str, bool], ...]:
    """The address of every inline link, image and reference definition, with its offset."""
    if "](" not in masked and "]:" not in masked:  # no link, image or definition to find
        return ()
    found = [(m.start("dest"), m["dest"], bool(m["image"])) for m in LINK_TARGET.finditer(masked)
             if m.start() == 0 or masked[m.start() - 1] != "\\"]
    found += [(m.start("dest"), m["dest"], False) for m in REFERENCE_DEFINITION.finditer(masked)]
    return tuple(sorted(found))


def mask_indented_code(text: str) -> str:
    """Blank indented code blocks: indented lines after a blank line, outside lists."""
    lines = text.split("\n")
    in_list = in_code = False
    previous_blank = True
    for number, line in enumerate(lines):
        indented = line.startswith(("    ", "\t"))
        if not line.strip():
            previous_blank = True
            continue
        if not indented:
            in_code = False
            in_list = bool(LIST_ITEM.match(line)) or (in_list and not previous_blank)
        elif in_code or (previous_blank and not in_list):
            in_code = True
            lines[number] = " " * len(line)
        previous_blank = False
    return "\n".join(lines)


def find_pathological(source: SourceMap) -> list[tuple[int, str, str]]:
    """(offset, message, code) of each construct Python-Markdown cannot render in bounded time.

    Runs of unclosed or nested `[` make its inline parsing quadratic (10,000 take 20 s);
    deeply nested lists and quotes exhaust its recursion. Real prose has neither.
    """
    found = []
    offset = 0
    for paragraph in re.split(r"(\n[ \t]*\n)", source.masked):
        if len(found) < 5 and paragraph.count("[") > MAX_OPEN_BRACKETS:
            problem = open_bracket_problem(paragraph)
            if problem is not None:
                found.append((offset + problem, f'more than {MAX_OPEN_BRACKETS} unclosed or '
                              'nested "[" in one paragraph, starting here; Markdown would take '
                              'minutes over them: close or escape them (\\[)', "markdown.bracket-run"))
        offset += len(paragraph)
    start = 0
    for line in source.masked.split("\n"):
        match = NESTED_LINE.match(line)
        quotes = match[1].count(">")
        depth = quotes + len(match[2].expandtabs(4)) // 2
        if line.strip() and (quotes > MAX_NESTING or depth > MAX_NESTING * 2):
            found.append((start, f"lists or quotes nested deeper than {MAX_NESTING} levels; "
                          "Markdown cannot render them: flatten the structure", "markdown.too-deep"))
            break
        start += len(line) + 1
    return found


def open_bracket_problem(paragraph: str) -> int | None:
    """Offset of the first `[` of a too-long run of open brackets, or None."""
    stack: list[int] = []
    escaped = False
    deepest = 0
    for index, char in enumerate(paragraph):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            stack.append(index)
            deepest = max(deepest, len(stack))
        elif char == "]" and stack:
            stack.pop()
    unclosed = len(stack)
    if unclosed > MAX_OPEN_BRACKETS or deepest > MAX_OPEN_BRACKETS:
        return stack[0] if stack else paragraph.index("[")
    return None
