"""Parse stage of `import`: the report's source lists, from one table of list shapes.

Takes the report's lines and their `Layout`; gives the `Document`s of the file (one per
report: a second list whose numbering restarts after more report text starts a second
report) and, for each, its frozen `SourceList`: every item with its label (its number, or
its position in an unnumbered list), its URL kept whole, its title, site, access date and,
for a formatted reference, the fields `import_references.py` reads. Every line of a list
is an item or is named as a leftover, so nothing of the list is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diagnostics import Diagnostics
from .import_layout import ATX_HEADING, Layout
from .import_references import Reference, looks_formatted, parse_reference
from .import_text import (ACCESSED, BARE_URL, URL_START, clean_title, decode_escapes, parse_date,
                          repair_url, site_name, trim_url)

SOURCES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(works cited|sources|references|bibliography|citations|"
    r"sources cited|cited sources|参考文献|参考資料|出典|引用文献|情報源|参照元|ソース|参考リンク)"
    r"\s*[:：]?\s*(?:\*\*|__)?\s*(?:[(（]\s*(?P<note>[^)）]*)[)）])?\s*$", re.IGNORECASE)
LINK_TEXT = re.compile(r"\[((?:\\.|[^\]\\\n])*)\]\(\s*<?(?=https?://|www\.)", re.IGNORECASE)
ANGLE_URL = re.compile(r"<((?:https?://|www\.)[^>\n]+)>", re.IGNORECASE)
FILE_END = re.compile(r"\.(?:pdf|html?|php|aspx?|docx?|pptx?|xlsx?|txt|md|csv|json|xml|zip)\s*$",
                      re.IGNORECASE)
RUN_ITEM = re.compile(r"(?<=\S)\s+(?=(\d{1,4})[.)]\s+\S)")
SOURCE_LINE = re.compile(r"^[^。]{0,300}?(?:https?://|www\.)\S+\s*$|^\s*(?:https?://|www\.)", re.IGNORECASE)


@dataclass(frozen=True)
class Shape:
    """One way a source list writes its items."""

    name: str  # what the summary calls it
    pattern: re.Pattern  # one line of the list; groups `label` (if numbered) and `rest`
    numbered: bool  # the line carries its number; else its position in the list numbers it
    anywhere: bool = False  # found anywhere in the report, not only in a list


SHAPES = (
    Shape("[n]: …", re.compile(r"^ {0,3}\[\^?(?P<label>\d{1,4}(?:_\d{1,4})?)\]:[ \t]*(?P<rest>.*)$"),
          True, anywhere=True),
    Shape("n. …", re.compile(r"^\s*(?P<label>\d{1,4})[.)][ \t]+(?P<rest>\S.*)$"), True),
    Shape("[n] …", re.compile(r"^\s*[\[(【](?P<label>\d{1,4})[\])】][ \t]*(?P<rest>\S.*)$"), True),
    Shape("- …", re.compile(r"^\s*[-*+•・][ \t]+(?P<rest>\S.*)$"), False),
    Shape("one a line", re.compile(r"^\s*(?P<rest>\S.*)$"), False),
)


@dataclass(frozen=True)
class SourceItem:
    """One entry of a source list."""

    label: str  # what markers call it: "12", "1_3"; its position for an unnumbered list
    url: str | None  # repaired and percent-encoded; None when the item gives no URL
    title: str | None  # the list's own title for it, when it gives one
    site: str | None  # the site or publisher the list names after the title, if any
    accessed: str | None  # ISO date of its "accessed" note
    line: int  # 1-based line of the item in the report
    col: int  # 1-based column of the item's text
    text: str = ""  # the item as the list writes it (continuation lines joined)
    reference: Reference | None = None  # the fields of a formatted reference


@dataclass(frozen=True)
class SourceList:
    """One report's source list and where it sits."""

    items: tuple[SourceItem, ...]  # in list order
    lines: frozenset[int]  # 1-based lines that belong to the list (not body text)
    headings: tuple[str, ...] = ()  # the list's headings as written ("Works cited")
    accessed: str | None = None  # a list-wide "accessed" date, if the list gives one
    notes: tuple[int, ...] = ()  # lines of the list that are no item (kept as leftovers)
    shape: str = ""  # the shape of its items, for the summary


@dataclass(frozen=True)
class Document:
    """One report in the file: its lines and its own source list."""

    start: int  # 1-based first line
    end: int  # 1-based line after its last line
    sources: SourceList


@dataclass(frozen=True)
class Block:
    """A run of list lines before its items are read."""

    first: int  # 1-based first line (its heading, if it has one)
    last: int  # 1-based last line
    entries: tuple[tuple[int, str, str, int], ...]  # (line, label or "", text, column)
    notes: tuple[int, ...]  # lines that are no item
    heading: str  # "" without one
    shape: str


def parse_documents(lines: list[str], layout: Layout, path: str,
                    diag: Diagnostics) -> tuple[Document, ...]:
    """The reports of the file, each with its source list."""
    blocks = sorted(find_blocks(lines, layout), key=lambda b: b.first)
    groups: list[list[Block]] = []
    for block in blocks:
        if groups and (not prose_between(groups[-1][-1], block, layout) or not restarts(groups[-1], block)):
            groups[-1].append(block)
        else:
            groups.append([block])
    if not groups:
        return (Document(1, len(lines) + 1, SourceList((), frozenset())),)
    documents, start = [], 1
    for index, group in enumerate(groups):
        end = group[-1].last + 1 if index + 1 < len(groups) else len(lines) + 1
        documents.append(Document(start, end, read_list(group, lines, path, diag)))
        start = end
    return tuple(documents)


def prose_between(earlier: Block, later: Block, layout: Layout) -> bool:
    """Whether report text stands between two lists."""
    return any(layout.prose(n) for n in range(earlier.last + 1, later.first))


def restarts(group: list[Block], block: Block) -> bool:
    """Whether a later list numbers its items again from the start (a second report)."""
    seen = {label for earlier in group for _, label, _, _ in earlier.entries}
    labels = [label for _, label, _, _ in block.entries]
    return not all(labels) or not all(label for earlier in group for _, label, _, _ in earlier.entries) \
        or bool(seen & set(labels))


def find_blocks(lines: list[str], layout: Layout) -> list[Block]:
    """Every source list: definitions, lists under a sources heading, a list ending the report."""
    blocks, taken = [], set()
    definitions = [n for n, line in enumerate(lines, 1)
                   if n not in layout.code and SHAPES[0].pattern.match(line)]
    for run in runs(definitions, lines):
        entries, follow = [], run[0]
        for number in run:
            match = SHAPES[0].pattern.match(lines[number - 1])
            text, follow = match["rest"], number
            while follow < len(lines) and lines[follow].startswith(("    ", "\t")) \
                    and follow + 1 not in run:
                text, follow = f"{text} {lines[follow].strip()}", follow + 1
            entries.append((number, match["label"], text, match.start("rest") + 1))
            taken.update(range(number, follow + 1))
        blocks.append(Block(run[0], follow, tuple(entries), (), "", SHAPES[0].name))
    for number, line in enumerate(lines, 1):
        if number not in layout.code and number not in taken and SOURCES_HEADING.match(line):
            block = read_block(lines, number, layout, taken)
            following = next((n for n in range(number + 1, len(lines) + 1) if lines[n - 1].strip()), 0)
            below = next((b for b in blocks if b.first == following and not b.heading), None)
            if block.entries:
                blocks.append(block)
                taken.update(range(block.first, block.last + 1))
            elif below:  # `## References` above the definitions: the heading is the list's
                blocks[blocks.index(below)] = Block(number, below.last, below.entries, (),
                                                    re.sub(r"^[#\s*_]+|[\s*_]+$", "", line), below.shape)
                taken.update(range(number, following))
    if trailing := read_trailing(lines, layout, taken):
        blocks.append(trailing)
    return blocks


def runs(numbers: list[int], lines: list[str]) -> list[list[int]]:
    """Definition lines grouped into runs that only blank or continuation lines separate."""
    found: list[list[int]] = []
    for number in numbers:
        gap = range(found[-1][-1] + 1, number) if found else range(0)
        if found and all(not lines[n - 1].strip() or lines[n - 1].startswith(("    ", "\t")) for n in gap):
            found[-1].append(number)
        else:
            found.append([number])
    return found


def classify(line: str) -> tuple[str, str, str, int] | None:
    """(shape, label, text, column) of a line read as a list item."""
    for shape in SHAPES[1:]:
        if match := shape.pattern.match(line):
            label = match["label"] if shape.numbered else ""
            return shape.name, label, match["rest"], match.start("rest") + 1
    return None


def split_run(number: int, line: str) -> list[tuple[int, str, str, int]] | None:
    """`1. A, https://a 2. B, https://b` (a whole list on one line) as its items."""
    first = SHAPES[1].pattern.match(line)
    if not first or not BARE_URL.search(line):
        return None
    items, expected, start = [], int(first["label"]) + 1, first.start("rest")
    for cut in RUN_ITEM.finditer(line, start):
        if int(cut[1]) == expected and BARE_URL.search(line, start, cut.start()):
            items.append((number, str(expected - 1), line[start:cut.start()], start + 1))
            start, expected = cut.end() + len(cut[1]) + 1, expected + 1
            start = len(line) - len(line[start:].lstrip())
    if not items:
        return None
    return items + [(number, str(expected - 1), line[start:], start + 1)]


def read_block(lines: list[str], heading: int, layout: Layout, taken: set[int]) -> Block:
    """The list under a sources heading, to the next heading or the report text after it."""
    entries: list[list] = []
    notes: list[int] = []
    kind, last = "", heading
    number = heading + 1
    while number <= len(lines):
        line = lines[number - 1]
        if number in taken or not line.strip():
            number += 1
            continue
        if ATX_HEADING.match(line) or SOURCES_HEADING.match(line) or number in layout.code:
            break
        item = classify(line)
        if number in layout.chrome:
            notes.append(number)
        elif item and (run := split_run(number, line)) and len(run) > 1:
            entries += [list(entry) for entry in run]
            kind = kind or item[0]
        elif item and item[0] != SHAPES[-1].name and item[0] == (kind or item[0]):
            kind = kind or item[0]
            entries.append([number, item[1], item[2], item[3]])
        elif entries and kind != SHAPES[-1].name and (line[:1] in " \t" or not url_of(entries[-1][2])):
            entries[-1][2] = f"{entries[-1][2]} {line.strip()}"
        elif kind in ("", SHAPES[-1].name) and (SOURCE_LINE.match(line) or entries and len(line) < 200
                                                and "。" not in line[:-1] and next_is_source(lines, number)):
            kind = SHAPES[-1].name  # one source a line: its position numbers it
            entries.append([number, "", line.strip(), len(line) - len(line.lstrip()) + 1])
        elif not entries and len(line) < 300:
            notes.append(number)
        else:
            break
        last = number
        number += 1
    notes = [n for n in notes if n < last or entries]
    title = re.sub(r"^[#\s*_]+|[\s*_]+$", "", lines[heading - 1])
    return Block(heading, last, tuple(tuple(e) for e in entries), tuple(notes), title, kind)


def next_is_source(lines: list[str], number: int) -> bool:
    """Whether the next non-blank line after `number` is a source line, or there is none."""
    following = next((line for line in lines[number:] if line.strip()), None)
    return following is None or bool(SOURCE_LINE.match(following))


def read_trailing(lines: list[str], layout: Layout, taken: set[int]) -> Block | None:
    """A list that ends the report without a heading: item lines that each give a URL."""
    entries, first = [], None
    for number in range(len(lines), 0, -1):
        line = lines[number - 1]
        if number in taken or not line.strip():
            continue
        item = classify(line)
        if number in layout.code or not item or not URL_START.search(line) or \
                item[0] == SHAPES[-1].name and not SOURCE_LINE.match(line):
            break
        entries.insert(0, (number, item[1], item[2], item[3]))
        first = number
    shapes = {classify(lines[n - 1])[0] for n, *_ in entries}
    if not entries or shapes == {SHAPES[-1].name} and len(entries) < 2:
        return None
    return Block(first, entries[-1][0], tuple(entries), (), "", classify(lines[first - 1])[0])


def read_list(group: list[Block], lines: list[str], path: str, diag: Diagnostics) -> SourceList:
    """The items of one report's lists; unnumbered ones take their position; duplicates are errors."""
    items: dict[str, SourceItem] = {}
    notes: list[int] = []
    accessed = None
    for block in group:
        heading = SOURCES_HEADING.match(block.heading) if block.heading else None
        accessed = accessed or parse_date(heading["note"] or "") if heading else accessed
        labels = [label for _, label, _, _ in block.entries]
        positional = not all(labels) or len(labels) >= 3 and set(labels) == {"1"}
        clash = not positional and set(labels) & set(items) and block is not group[0]
        for position, (number, label, text, col) in enumerate(block.entries, 1):
            label = str(len(items) + 1) if positional and block is not group[0] else \
                str(position) if positional else label
            label = f"{block.first}:{label}" if clash else label  # a second list of sources not cited
            item = read_item(label, text, number, col)
            first = items.get(item.label)
            if first and first.url and first.url == item.url:
                diag.warning(path, number, col, f"source {item.label} is listed twice with the same "
                             f"URL (first on line {first.line}); the second is ignored",
                             "import.duplicate-source")
                notes.append(number)
            elif first:
                diag.error(path, number, col, f"source number {item.label} is listed twice (first on "
                           f"line {first.line}) with different text; renumber the list so each number "
                           "names one source", "import.duplicate-source")
            else:
                items[item.label] = item
        for number in block.notes:
            if ACCESSED.search(lines[number - 1]) and not accessed:
                accessed = parse_date(lines[number - 1])
            notes.append(number)
    taken = {n for block in group for n in range(block.first, block.last + 1)}
    headings = tuple(block.heading for block in group if block.heading)
    return SourceList(tuple(items.values()), frozenset(taken), headings, accessed, tuple(notes),
                      group[0].shape)


def url_of(text: str) -> str | None:
    """The URL an item's text gives, if any."""
    return find_url(text)[0]


def find_url(text: str) -> tuple[str | None, str]:
    """The item's URL (a link's target, <url>, or a bare URL kept to its end) and the rest."""
    if link := LINK_TEXT.search(text):
        target, end = balanced_target(text, link.end())
        label = link[1] if not URL_START.match(link[1].strip()) else ""
        return repair_url(target.strip().strip("<>")), f"{text[:link.start()]} {label} {text[end:]}"
    if angle := ANGLE_URL.search(text):
        return repair_url(angle[1]), text[:angle.start()] + text[angle.end():]
    if bare := BARE_URL.search(text):
        raw, tail = trim_url(bare[0]), text[bare.end():]
        if tail.strip() and not URL_START.search(tail) and (FILE_END.search(tail)
                                                             or re.match(r"\s+\S*/", tail)):
            raw = trim_url(text[bare.start():].rstrip())  # `…/Vindas et al. - 2023 - Title.pdf`: one URL
        return repair_url(raw), text[:bare.start()] + text[bare.start() + len(raw):]
    return None, text


def balanced_target(text: str, start: int) -> tuple[str, int]:
    """A link target from `start` up to its balancing ')' (spaces and parentheses allowed)."""
    depth = 1
    for index in range(start, len(text)):
        if text[index] == "(" and text[index - 1] != "\\":
            depth += 1
        elif text[index] == ")" and text[index - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start:index], index + 1
    return text[start:], len(text)


def read_item(label: str, text: str, line: int, col: int) -> SourceItem:
    """One item: its URL, title, site, access date and, if formatted, its reference fields."""
    written, when = text.strip(), None
    if note := ACCESSED.search(text):
        when = parse_date(note[0])
        text = text[:note.start()] + " " + text[note.end():]
    url, rest = find_url(text)
    rest = re.sub(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])", r"\1", decode_escapes(rest))
    ending = r"Available (?:at|from)|Retrieved from|\[Online\]\.?" + (r"|from" if when else "")
    rest = re.sub(rf"\s*\b(?:{ending})\s*:?\s*$", "", rest.strip(), flags=re.IGNORECASE)
    reference = parse_reference(rest) if looks_formatted(rest) else None
    fields = dict(reference.fields) if reference else {}
    if not url and fields.get("eprinttype") == "arxiv":
        url = f"https://arxiv.org/abs/{fields['eprint']}"  # an arXiv id names its page
    elif not url and fields.get("doi"):
        url = f"https://doi.org/{fields['doi']}"
    if reference and not {"author", "title"} & set(fields):
        return SourceItem(label, url, None, None, when, line, col, written)  # `arXiv:2404.16696` alone
    if reference:
        return SourceItem(label, url, fields.get("title"), None, when, line, col, written, reference)
    title, site = read_title(rest)
    return SourceItem(label, url, title, site, when, line, col, written)


def read_title(rest: str) -> tuple[str | None, str | None]:
    """The title and site name of an item's text without its URL."""
    if quoted := re.search(r"[“\"]([^“”\"]+?)[.,]?[”\"]", rest):
        if len(quoted[1].split()) >= 2:
            return clean_title(quoted[1]), site_name(rest[:quoted.start()] + rest[quoted.end():])
    if japanese := re.match(r"^\s*([^「『\s][^「『]{0,30}?)\s*[「『](.+)[」』]\s*[.,。、]?\s*$", rest):
        return clean_title(japanese[2]), clean_title(japanese[1])
    title = clean_title(rest)
    if title and (split := re.match(r"^(.+)\s+[|—–-]\s+([^|—–]+?)$", title)) and site_name(split[2]):
        return clean_title(split[1]), site_name(split[2])  # `Title - Site`: the last part names the site
    return title, None
