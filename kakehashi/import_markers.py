"""Parse stage of `import`: an exported report's source list, citation markers and headings.

Takes the report's lines; gives frozen `SourceItem`s (the numbered list of URLs, repaired),
`Marker`s (every citation marker with its line, column and reading, or its candidate
readings when it has more than one) and `Heading`s (Markdown or recognised plain-text
headings with a level). Nothing here decides keys or writes files: that is `importer.py`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from itertools import islice
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .diagnostics import Diagnostics

NUMBER = r"\d{1,15}(?!\d)"
NUMS = rf"{NUMBER}(?:\s*[-–—~〜]\s*{NUMBER})?(?:\s*[,，、;]\s*{NUMBER}(?:\s*[-–—~〜]\s*{NUMBER})?)*"
LINK_TARGET = r"(?:[^()\s]|\([^()\s]*\))*"
NAMED_LINK = rf"\[(?=[^\]\n]*[^\d\s,\]])[^\[\]\n]+\]\((?:https?://){LINK_TARGET}\)"
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
CIRCLED = {**{chr(0x2460 + i): i + 1 for i in range(20)},
           **{chr(0x3251 + i): i + 21 for i in range(15)},
           **{chr(0x32B1 + i): i + 36 for i in range(15)}}
MARKER = re.compile("|".join([
    rf"(?P<paren_link>\(\s*\[(?P<pl>{NUMS})\]\((?P<plu>{LINK_TARGET})\)\s*\))",
    rf"(?P<named>\(\s*{NAMED_LINK}(?:\s*[,;、]\s*{NAMED_LINK})*\s*\))",
    rf"(?P<link>\[(?P<ln>{NUMS})\]\((?P<lu>{LINK_TARGET})\))",
    rf"(?P<escaped>\[\\\[(?P<en>{NUMS})\\\]\](?:\({LINK_TARGET}\))?)",
    rf"(?P<caret_group>\^\{{(?P<cg>(?:\[\s*{NUMS}\s*\]\s*)+)\}})",
    rf"(?P<caret>\^\[(?P<cn>{NUMS})\])",
    rf"(?P<sup><(?i:sup)>\s*\[?\s*(?P<sn>{NUMS})\s*\]?\s*</(?i:sup)>)",
    rf"(?P<lenticular>【\s*(?P<lt>{NUMS})\s*(?:†[^】\n]{{0,200}})?】)",
    rf"(?P<cite>\[(?i:cite):\s*(?P<ct>{NUMS})\s*\])",
    r"(?P<cite_start>\[(?i:cite_start)\])",
    rf"(?P<footnote>\[\^(?P<fn>{NUMBER})\](?!:))",
    rf"(?P<reflink>\[(?=[^\[\]\n]*[^\d\s,\[\]\\^])(?P<rt>[^\[\]\n]+)\]\[(?P<rn>{NUMBER})\])",
    r"(?P<skip>!?\[[^\[\]\n]*\]\([^)\n]*\)|<?https?://[^\s<>]*>?|www\.[^\s<>]+)",
    rf"(?P<bracket>\[\s*(?P<bn>{NUMS})\s*\])",
    rf"(?P<superscript>[{SUPERSCRIPTS}]+(?:[˒,⁻][{SUPERSCRIPTS}]+)*)",
    rf"(?P<circled>[{''.join(CIRCLED)}])",
    rf"(?P<broken>\^\{{|\^\[\s*\d|\[\\\[|【\s*\d|<(?i:sup)>\s*\[?\d|\[\s*{NUMS}\s*[,;]?\s*$)",
]))
MARKER_START = re.compile(rf"[\[(^<【{SUPERSCRIPTS}{''.join(CIRCLED)}]|https?://|www\.")
FORM_NAMES = {"paren_link": "([n](url))", "named": "([site](url))", "link": "[n](url)",
              "escaped": "[\\[n\\]](#)", "caret_group": "^{[n]}", "caret": "^[n]",
              "sup": "<sup>n</sup>", "lenticular": "【n】", "cite": "[cite: n]",
              "footnote": "[^n]", "reflink": "[text][n]", "bracket": "[n]",
              "superscript": "superscript digits", "circled": "circled number"}
RANGE_DASHES = "-–—~〜"
MAX_RANGE = 100
MAX_RUN = 12
MAX_READINGS = 12
YEARS = range(1800, 2200)

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"``[^\n]+?``|`[^`\n]+`")
HTML_COMMENT = re.compile(r"<!--.*?-->")
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
SOURCES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(works cited|sources|references|bibliography|citations|"
    r"sources cited|参考文献|参考資料|出典|引用文献|情報源|参照元|ソース)\s*[:：]?\s*(?:\*\*|__)?"
    r"\s*(?:[(（]\s*(?P<note>[^)）]*)[)）])?\s*$", re.IGNORECASE)
DEFINITION = re.compile(rf"^ {{0,3}}\[(?P<caret>\^?)(?P<n>{NUMBER})\]:[ \t]*(?P<rest>.*)$")
NUMBERED_ITEM = re.compile(rf"^\s*(?:(?P<a>{NUMBER})[.)]|\[(?P<b>{NUMBER})\]|\((?P<c>{NUMBER})\)|"
                           rf"【(?P<d>{NUMBER})】)\s*(?P<rest>.*)$")
BULLET_ITEM = re.compile(r"^\s*[-*+•・]\s+(?P<rest>.*)$")
LIST_LINE = re.compile(r"^\s*(?:[-*+•・>|]|\d+[.)]\s)")
URL_START = re.compile(r"https?://|www\.", re.IGNORECASE)
LINK_TEXT = re.compile(r"\[((?:\\.|[^\]\\\n])*)\]\(\s*<?(?=https?://|www\.)", re.IGNORECASE)
ANGLE_URL = re.compile(r"<((?:https?://|www\.)[^>\n]+)>", re.IGNORECASE)
BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
MONTHS = {name: index for index, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], 1)
    for name in names.split()}
MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (rf"(?:(?P<y1>\d{{4}})[-/.](?P<m1>\d{{1,2}})[-/.](?P<d1>\d{{1,2}})|"
        rf"(?P<y2>\d{{4}})年\s*(?P<m2>\d{{1,2}})月\s*(?P<d2>\d{{1,2}})日|"
        rf"(?P<n3>{MONTH})\.?\s+(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y3>\d{{4}})|"
        rf"(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<n4>{MONTH})\.?,?\s+(?P<y4>\d{{4}}))")
ACCESSED = re.compile(
    rf"[,;(（]?\s*(?:(?:last\s+)?(?:accessed|retrieved|viewed)(?:\s+on)?|閲覧日?|アクセス日?|参照日|"
    rf"取得日)\s*[:：]?\s*{DATE}\s*[)）]?\.?", re.IGNORECASE)
TRACKING = re.compile(r"^(?:utm_[^=]*|fbclid|gclid|mc_cid|mc_eid)$", re.IGNORECASE)
URL_SAFE = ":/?#@!$&'()*+,;=%~"
TRAILING = ".,;:!?'\"」』）>]*"
TITLE_TRIM = " \t-–—:|,;.*_"
QUOTES = [("“", "”"), ('"', '"'), ("'", "'"), ("‘", "’"), ("(", ")"), ("（", "）")]
SMALL_WORDS = set("a an and as at but by for from in into of on or the to vs via with".split())
SENTENCE_END = tuple("。．.!?！？:：;；,、，…")


@dataclass(frozen=True)
class SourceItem:
    """One entry of the report's source list."""

    number: int  # the number markers use for it (its position, for unnumbered lists)
    url: str | None  # repaired and percent-encoded; None when the item gives no URL
    title: str | None  # the list's own text for it, when it gives one
    site: str | None  # the site or publisher the list names after the title, if any
    accessed: str | None  # ISO date of its "accessed" note
    line: int  # 1-based line of the item in the report
    col: int  # 1-based column of the item's text


@dataclass(frozen=True)
class Marker:
    """One citation marker as written in the report."""

    line: int  # 1-based line in the report
    start: int  # 0-based character offset of the marker in its line
    end: int  # offset just after it
    form: str  # the kind of marker (a key of FORM_NAMES), or "broken" / "debris"
    numbers: tuple[int, ...]  # the certain reading, deduplicated; empty when there is none
    readings: tuple[tuple[int, ...], ...]  # candidate readings when it is ambiguous
    links: tuple[tuple[str, str], ...] = ()  # (text, url) of named links and [n](url)
    text: str = ""  # the link text a [text][n] marker keeps

    @property
    def col(self) -> int:
        return self.start + 1


@dataclass(frozen=True)
class Heading:
    """A heading line of the report."""

    line: int  # 1-based line
    level: int  # 1 = the report's title, 2 = a section, 3+ = inside a section
    text: str  # the heading without its marks


@dataclass(frozen=True)
class SourceList:
    """The report's source list and where it sits."""

    items: tuple[SourceItem, ...]  # in list order
    lines: frozenset[int]  # 1-based lines that belong to the list (not body text)
    accessed: str | None  # a report-wide "accessed" date, if the list gives one


def code_lines(lines: list[str]) -> frozenset[int]:
    """1-based numbers of the lines inside fenced code blocks (fences included)."""
    inside, fence, found = False, "", set()
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if inside:
            found.add(number)
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
                inside = False
        elif match:
            inside, fence = True, match[1]
            found.add(number)
    return frozenset(found)


def parse_source_list(lines: list[str], code: frozenset[int], path: str,
                      diag: Diagnostics) -> SourceList:
    """Find the source list: `[n]: …` definitions, a 'References' heading, or a trailing list."""
    entries: dict[int, tuple[int, str, int]] = {}  # line → (number or 0, item text, column)
    taken: set[int] = set()
    for number, line in enumerate(lines, 1):
        if number not in code and (match := DEFINITION.match(line)):
            text, follow = match["rest"], number
            while match["caret"] and follow < len(lines) and lines[follow].startswith(("    ", "\t")):
                text, follow = f"{text} {lines[follow].strip()}", follow + 1
            entries[number] = (int(match["n"]), text, match.start("rest") + 1)
            taken.update(range(number, follow + 1))
    heading = next((n for n in range(len(lines), 0, -1) if n not in code
                    and SOURCES_HEADING.match(lines[n - 1])
                    and any(URL_START.search(line) or NUMBERED_ITEM.match(line) for line in lines[n:])),
                   None)
    accessed = None
    if heading:
        accessed = parse_date(SOURCES_HEADING.match(lines[heading - 1])["note"] or "")
        last = None
        for number in range(heading, len(lines) + 1):
            line = lines[number - 1]
            if number > heading and ATX_HEADING.match(line):
                break
            taken.add(number)
            if number == heading or number in entries or not line.strip():
                continue
            if item := list_item(line):
                entries[number], last = item, number
            elif last is not None:
                entries[last] = (entries[last][0], f"{entries[last][1]} {line.strip()}", entries[last][2])
            elif ACCESSED.search(line):
                accessed = accessed or parse_date(line)
    else:
        first = None
        for number in range(len(lines), 0, -1):
            line = lines[number - 1]
            if number in entries or not line.strip():
                continue
            if number in code or not URL_START.search(line) or not (item := list_item(line)):
                break
            entries[number], first = item, number
        taken.update(range(first or len(lines) + 1, len(lines) + 1))
    return SourceList(read_items(entries, path, diag), frozenset(taken), accessed)


def list_item(line: str) -> tuple[int, str, int] | None:
    """(its number or 0, its text, the text's column) when a line is a numbered or bulleted item."""
    if match := NUMBERED_ITEM.match(line):
        number = match["a"] or match["b"] or match["c"] or match["d"]
        return int(number), match["rest"], match.start("rest") + 1
    if match := BULLET_ITEM.match(line):
        return 0, match["rest"], match.start("rest") + 1
    return None


def read_items(entries: dict[int, tuple[int, str, int]], path: str,
               diag: Diagnostics) -> tuple[SourceItem, ...]:
    """The list's items in order; unnumbered ones take their position; duplicates are errors."""
    items: dict[int, SourceItem] = {}
    for position, number in enumerate(sorted(entries), 1):
        explicit, text, col = entries[number]
        url, title, site, when = parse_item(text)
        item = SourceItem(explicit or position, url, title, site, when, number, col)
        first = items.get(item.number)
        if first and first.url and first.url == item.url:
            diag.warning(path, number, col, f"source {item.number} is listed twice with the same URL "
                         f"(first on line {first.line}); the second is ignored", "import.duplicate-source")
        elif first:
            diag.error(path, number, col, f"source number {item.number} is listed twice (first on line "
                       f"{first.line}) with different text; renumber the list so each number names "
                       "one source", "import.duplicate-source")
        else:
            items[item.number] = item
    return tuple(items.values())


def parse_item(text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """The URL, title, site name and accessed date of one list item's text."""
    when = None
    if note := ACCESSED.search(text):
        when = parse_date(note[0])
        text = text[:note.start()] + text[note.end():]
    url, rest = None, text
    if link := LINK_TEXT.search(text):
        target, end = balanced_target(text, link.end())
        url = repair_url(target.strip().strip("<>"))
        label = link[1] if not URL_START.match(link[1].strip()) else ""
        rest = f"{text[:link.start()]} {label} {text[end:]}"
    elif angle := ANGLE_URL.search(text):
        url = repair_url(angle[1])
        rest = text[:angle.start()] + text[angle.end():]
    elif bare := BARE_URL.search(text):
        raw = trim_url(bare[0])
        url = repair_url(raw)
        rest = text[:bare.start()] + text[bare.start() + len(raw):]
    rest = re.sub(r"(?<![\w*])[*_]([^*_\n]+)[*_](?![\w*])", r"\1", re.sub(r"\\(.)", r"\1", rest))
    if quoted := re.search(r"[“\"]([^“”\"]+?)[.,]?[”\"]", rest):
        if len(quoted[1].split()) >= 2:
            return url, clean_title(quoted[1]), site_name(rest[:quoted.start()] + rest[quoted.end():]), when
    if japanese := re.match(r"^\s*([^「『\s][^「『]{0,30}?)\s*[「『](.+)[」』]\s*[.,。、]?\s*$", rest):
        return url, clean_title(japanese[2]), clean_title(japanese[1]), when
    title = clean_title(rest)
    if title and (split := re.match(r"^(.+?)\s+[|—]\s+([^|—]+)$", title)) and site_name(split[2]):
        return url, clean_title(split[1]), site_name(split[2]), when
    return url, title, None, when


def site_name(text: str) -> str | None:
    """Text that reads as a site or publisher name (capitalised words, no digits), or None."""
    text = (clean_title(text) or "").strip()
    words = text.split()
    if not words or len(words) > 5 or re.search(r"\d|\.\w", text):
        return None
    return text if all(w[0].isupper() or w in SMALL_WORDS or not w[0].isascii() for w in words) else None


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


def clean_title(text: str) -> str | None:
    """A list item's leftover text as a title, or None when nothing meaningful is left."""
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"\s+", " ", text.replace("**", "").replace("__", "")).strip(TITLE_TRIM)
    for opening, closing in QUOTES:
        if len(text) > 1 and text[0] == opening and text[-1] == closing \
                and closing not in text[1:-1]:
            text = text[1:-1].strip()
    text = text.strip(TITLE_TRIM)
    return text if re.search(r"\w", text) and not URL_START.match(text) else None


def trim_url(url: str) -> str:
    """A bare URL without the punctuation that ended its sentence."""
    while url and url[-1] in TRAILING + ")":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def repair_url(url: str) -> str:
    """Undo Markdown escapes, percent-encode spaces and non-ASCII, drop tracking parameters."""
    url = re.sub(r"\\([()\[\]_*#])", r"\1", url.strip())
    if url.lower().startswith("www."):
        url = "https://" + url
    url = quote(url, safe=URL_SAFE)
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if p and not TRACKING.match(p.split("=")[0]))
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "", query,
                       parts.fragment))


def normalise_url(url: str) -> str:
    """The form two URLs share when they name the same source."""
    parts = urlsplit(repair_url(url))
    host = parts.hostname or ""
    host = host[4:] if host.startswith("www.") else host
    path = quote(unquote(parts.path), safe=URL_SAFE.replace("%", "")).rstrip("/")
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def parse_date(text: str) -> str | None:
    """The first date in `text` as YYYY-MM-DD, or None."""
    match = re.search(DATE, text, re.IGNORECASE)
    if not match:
        return None
    found = {key[0]: value for key, value in match.groupdict().items() if value}
    month = int(found["m"]) if "m" in found else MONTHS[found["n"].lower()]
    try:
        return datetime.date(int(found["y"]), month, int(found["d"])).isoformat()
    except ValueError:
        return None


def parse_numbers(text: str) -> tuple[int, ...] | None:
    """`1, 2, 4-6` as (1, 2, 4, 5, 6); None when a range is reversed or too large."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,，、;]\s*", text.strip()):
        bounds = [int(n) for n in re.split(rf"\s*[{RANGE_DASHES}]\s*", part)]
        low, high = bounds[0], bounds[-1]
        if high < low or high - low > MAX_RANGE:
            return None
        numbers.extend(range(low, high + 1))
    return unique(numbers)


def unique(numbers: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    """The numbers in first-seen order without repeats."""
    return tuple(dict.fromkeys(numbers))


def superscript_readings(digits: str, known: set[int]) -> tuple[tuple[int, ...], ...]:
    """Every reading of a run of superscript digits whose numbers are all in the list."""
    def split(rest: str):
        if not rest:
            yield ()
            return
        for width in (1, 2, 3):
            head = rest[:width]
            if len(head) == width and head[0] != "0" and int(head) in known:
                for tail in split(rest[width:]):
                    yield (int(head), *tail)
    readings = [unique(r) for r in islice(split(digits), 8 * MAX_READINGS)]
    pairs = [digits[i:i + 2] for i in range(0, len(digits), 2)]
    preferred = [(int(digits),)] if digits[0] != "0" else []
    preferred += [unique([int(p) for p in pairs])] if all(p[0] != "0" for p in pairs) else []
    if len(digits) % 2 == 0 and digits[::2] == "1" * len(pairs) and "0" not in digits[1::2]:
        preferred.append(unique([int(d) for d in digits[1::2]]))  # "¹⁶¹⁷¹⁸": each ¹ a stray mark
    preferred += [unique([int(d) for d in digits])] if "0" not in digits else []
    valid = [r for r in preferred if all(n in known for n in r)]
    return tuple(dict.fromkeys(valid + readings))[:MAX_READINGS]


def scan_markers(lines: list[str], skip: frozenset[int], known: set[int]) -> list[Marker]:
    """Every citation marker in the body lines, in reading order."""
    markers = []
    for number, line in enumerate(lines, 1):
        if number in skip or not line.strip():
            continue
        masked = CODE_SPAN.sub(lambda m: " " * len(m[0]), HTML_COMMENT.sub(lambda m: " " * len(m[0]), line))
        position = 0
        while candidate := MARKER_START.search(masked, position):
            match = MARKER.match(masked, candidate.start())
            if not match:
                position = candidate.start() + 1
                continue
            position = max(match.end(), candidate.start() + 1)
            if (marker := read_marker(match, line, number, known)) is not None:
                markers.append(marker)
    return markers


def read_marker(match: re.Match, line: str, number: int, known: set[int]) -> Marker | None:
    """The marker a token stands for, or None when it is plainly not a citation."""
    form = match.lastgroup
    start, end = match.span()
    before, after = line[max(0, start - 40):start], line[end:end + 40]

    def make(numbers=(), readings=(), links=(), text="", kind=form):
        return Marker(number, start, end, kind, tuple(numbers), tuple(readings), tuple(links), text)

    if form == "skip":
        return None
    if form == "cite_start":
        return make(kind="debris")
    if form == "broken":
        return make(kind="broken")
    if form == "named":
        links = re.findall(rf"\[([^\[\]\n]+)\]\(((?:https?://){LINK_TARGET})\)", match[0])
        return make(links=[(text, repair_url(url)) for text, url in links])
    if form == "superscript":
        if re.search(r"(?:[\d^]|\d ?[A-Za-z]{1,2}|(?<![A-Za-z])[A-Za-z]|= ?[A-Za-z]{1,3})$", before):
            return None  # 10², 10 m², x², E=mc²: a power or a unit, not a citation
        if re.search("[˒,⁻]", match[0]):
            parts = re.split("[˒,]", match[0].translate(str.maketrans(SUPERSCRIPTS + "⁻", "0123456789-")))
            numbers = parse_numbers(",".join(parts))
            return make(numbers or ()) if numbers else make(kind="broken")
        digits = match[0].translate(str.maketrans(SUPERSCRIPTS, "0123456789"))
        if len(digits) == 1:
            return make((int(digits),))
        if len(digits) > MAX_RUN:
            return make(kind="broken")
        readings = superscript_readings(digits, known)
        return make(readings[0]) if len(readings) == 1 else make(readings=readings or ((int(digits),),))
    if form == "circled":
        if line[:start].isspace() or not start or re.match(r"\s*[^\s、。，．,.;；)）」』\]]", after):
            return None  # ① at a line's start or before words: an enumeration
        value = CIRCLED[match[0]]
        readings = [(value,)] if value in known or not known else []
        if value >= 10 and all(int(d) in known for d in str(value) if d != "0") and "0" not in str(value):
            readings.append(unique([int(d) for d in str(value)]))
        return make(readings=unique(readings) or ((value,),))
    group = next(g for g in ("pl", "ln", "en", "cg", "cn", "sn", "lt", "ct", "fn", "rn", "bn")
                 if match.group(g) is not None)
    raw = match[group]
    if form == "caret_group":
        raw = ",".join(re.findall(rf"\[\s*({NUMS})\s*\]", raw))
    numbers = parse_numbers(raw)
    if numbers is None:
        return make(kind="broken")
    if form == "bracket":
        if re.search(r"[A-Za-z_]\w*$", before) and re.match(r"[\w(=]|\.\w", after):
            return None  # items[1].name: an index, not a citation
        if all(n in YEARS and n not in known for n in numbers):
            return None  # [2025]: a year
    links = ((match[0], repair_url(match["plu"] or match["lu"])),) if form in {"paren_link", "link"} else ()
    return make(numbers, links=links, text=match["rt"] or "")


def is_heading_line(line: str) -> bool:
    """Whether a plain-text line looks like a heading: short, no sentence end, not a list item."""
    text = line.strip().strip("*_").strip()
    if not text or LIST_LINE.match(line) or URL_START.search(text) or text.startswith(("[", "^", "<", "!")):
        return False
    wide = re.search(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]", text)
    if len(text) > (50 if wide else 80) or text.endswith(SENTENCE_END):
        return False
    return bool(re.search(r"[^\W\d_]", text))


def find_headings(lines: list[str], skip: frozenset[int], marker_lines: set[int],
                  named: dict[str, str] | None) -> tuple[Heading, ...]:
    """The report's headings with levels: Markdown `#` marks, else recognised plain lines."""
    body = [n for n in range(1, len(lines) + 1) if n not in skip and lines[n - 1].strip()]
    atx = [(n, len(m[1]), m[2].strip()) for n in body if (m := ATX_HEADING.match(lines[n - 1]))]
    if atx:
        levels = sorted({level for _, level, _ in atx})
        alone = [level for _, level, _ in atx].count(levels[0]) == 1
        titled = alone and atx[0][1] == levels[0] and len(levels) > 1  # one `#` title above `##`s
        section = levels[1] if titled else levels[0]
        found = [Heading(n, 1 if titled and i == 0 else 2 if level <= section else level - section + 2,
                         strip_marks(text)) for i, (n, level, text) in enumerate(atx)]
    else:
        candidates = []
        for index, n in enumerate(body):
            previous_blank = n == 1 or not lines[n - 2].strip()
            if previous_blank and n not in marker_lines and is_heading_line(lines[n - 1]) \
                    and index + 1 < len(body):
                candidates.append(n)
        position = {n: i for i, n in enumerate(body)}
        following = {n: body[position[n] + 1] for n in candidates}
        after_first = following.get(candidates[0]) if candidates else None
        titled = len(candidates) > 1 and candidates[0] == body[0] and (
            after_first not in following or following[after_first] in following)
        rest = candidates[1:] if titled else candidates
        chained = {n for n in rest if following[n] in following}  # a heading right below a heading
        below = {following[n] for n in chained}
        found = [Heading(candidates[0], 1, strip_marks(lines[candidates[0] - 1]))] if titled else []
        for n in rest:
            lead = not chained or n in chained and n not in below
            found.append(Heading(n, 2 if lead else 3, strip_marks(lines[n - 1])))
    if named is None:
        return tuple(found)
    wanted = {normalise_heading(text) for text in named.values()}
    seen = {h.line for h in found}
    extra = [Heading(n, 2, strip_marks(lines[n - 1])) for n in body
             if n not in seen and normalise_heading(lines[n - 1]) in wanted]
    first = min((h.line for h in found + extra if normalise_heading(h.text) in wanted), default=0)
    relevelled = [Heading(h.line, 2 if normalise_heading(h.text) in wanted else
                          1 if h.level == 1 and h.line < first else 3, h.text) for h in found]
    return tuple(sorted(relevelled + extra, key=lambda h: h.line))


def strip_marks(text: str) -> str:
    """A heading's text without `#`, bold marks and surrounding space."""
    text = ATX_HEADING.match(text)[2] if ATX_HEADING.match(text) else text
    return re.sub(r"\s+", " ", text.strip().strip("*_").strip())


def normalise_heading(text: str) -> str:
    """The form a heading and its line in a --headings file share."""
    return re.sub(r"\s+", "", strip_marks(text)).casefold()
