"""Parse stage of `import`: every citation marker of a report, from one table of forms.

Takes the report's lines as `import_layout.py` masked them (no code, maths or comments)
and the labels its source list gives; gives a frozen `Marker` for each marker with its
line, column and reading, or its candidate readings when it has more than one. Each form
is one row of `FORMS`: its name, its pattern, how it reads its numbers and whether that
reading is certain. Bare digits (a plain-text export's flattened superscripts) are read
only when the report uses no other form, and are certain only where a careful reader
would take them for a citation; everything less certain is listed, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable

from .import_text import repair_url

NUMBER = r"\d{1,15}(?!\d)"
NUMS = rf"{NUMBER}(?:\s*[-–—~〜]\s*{NUMBER})?(?:\s*[,，、;]\s*{NUMBER}(?:\s*[-–—~〜]\s*{NUMBER})?)*"
LINK_TARGET = r"(?:[^()\s]|\([^()\s]*\))*"
NAMED_LINK = rf"\[(?=[^\]\n]*[^\d\s,\]])[^\[\]\n]+\]\((?:https?://){LINK_TARGET}\)"
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
CIRCLED = {**{chr(0x2460 + i): i + 1 for i in range(20)},
           **{chr(0x3251 + i): i + 21 for i in range(15)},
           **{chr(0x32B1 + i): i + 36 for i in range(15)}}
RANGE_DASHES = "-–—~〜"
MAX_RANGE = 100
MAX_RUN = 12
MAX_READINGS = 12
YEARS = range(1800, 2200)
CLEAR_FORM = 10  # this many markers of another form: the report does not use bare digits
KANA_KANJI = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
CLOSERS = ")）」』\"”’'\\]"
NUMBER_WORDS = set(
    "page pages p pp vol volume no nr number chapter ch section sec part step phase stage level "
    "version ver v fig figure table tab eq equation item rule case grade tier type model class "
    "article art top over under about around than to from of by at in on for with and or nearly "
    "almost only just least most up per every each first last next past the a an all any some "
    "windows python ios android iphone gpt llama gemini claude web is are was were be been became "
    "reach reached hit rose fell grew totalled totaled equals equal approximately roughly".split())
JA_PREFIXES = ("第", "約", "計", "全", "各", "毎", "同", "総", "例", "図", "表", "式", "章", "節", "項",
               "問", "案", "号", "版", "残り", "上位", "下位", "最大", "最小", "平均", "合計", "レベル",
               "ステップ", "フェーズ", "パート", "バージョン", "年", "月", "日", "時", "No", "Vol")
COUNTER_AFTER = re.compile(
    r"^[ \u3000]?(?:[%％°‰]|[年月日時分秒倍人件個社回台本枚円元ドル位度歳名点章節項号巻頁割万億兆千百つヶか]|"
    r"ページ|ポイント|パーセント|(?:percent|per|times|x|years?|months?|weeks?|days?|hours?|minutes?|"
    r"seconds?|people|million|billion|trillion|thousand|[kmgt]b|kg|km|ms|mph)\b)", re.IGNORECASE)
ABBREVIATION = re.compile(r"(?:\b(?:fig|no|nr|vol|pp?|eq|sec|ch|vs?|ver|art|ref|tab|op|cf|e\.g|i\.e)"
                          r"|\d)\.$", re.IGNORECASE)


@dataclass(frozen=True)
class Marker:
    """One citation marker as written in the report."""

    line: int  # 1-based line in the report
    start: int  # 0-based character offset of the marker in its line
    end: int  # offset just after it
    form: str  # the name of its row in FORMS, or "broken" / "debris"
    labels: tuple[str, ...]  # the certain reading: source labels ("12", "1_3"); empty when none
    readings: tuple[tuple[str, ...], ...] = ()  # candidate readings when it is not certain
    links: tuple[tuple[str, str], ...] = ()  # (text, url) of named links and [n](url)
    text: str = ""  # the link text a [text][n] marker keeps
    why: str = ""  # what makes bare digits uncertain ("after a closing bracket")

    @property
    def col(self) -> int:
        return self.start + 1


@dataclass(frozen=True)
class Context:
    """What a form's reader may look at around a match."""

    line: str  # the masked line
    known: frozenset[str]  # the labels of the source list
    top: int  # the highest numbered label of the list (0 when there is none)
    bare: bool  # whether bare digits are this report's markers
    table: bool  # whether the line is a table row or cell
    lint: bool = False  # `check` reads finished sections: bare digits only in their certain shapes


@dataclass(frozen=True)
class Reading:
    """What a reader makes of a match."""

    labels: tuple[str, ...] = ()  # the certain reading
    readings: tuple[tuple[str, ...], ...] = ()  # the candidates, when it has no certain one
    links: tuple[tuple[str, str], ...] = ()  # (text, url) of the links it holds
    text: str = ""  # link text to keep ([text][n])
    kind: str = ""  # "broken" or "debris" instead of the form's own name
    why: str = ""  # where uncertain bare digits stand


@dataclass(frozen=True)
class Form:
    """One way exporters write citation markers."""

    name: str  # what markers and the summary call it
    shown: str  # how the summary and `check` show it
    pattern: str  # one regex; group `n` holds the numbers as written, `url` a link target
    read: Callable[[re.Match, str, Context], Reading | None]  # its reading, None if no marker
    certain: bool  # a single reading of this form is converted; else the marker is listed
    lint: bool = True  # `check` reports it when a section still has it


def group(match: re.Match, form: str, name: str) -> str | None:
    """A named group of one form inside the combined pattern."""
    return match.group(f"{form}__{name}")


def read_numbers(match: re.Match, form: str, context: Context) -> Reading | None:
    """`1, 2, 4-6` as labels; a malformed range is a broken marker."""
    numbers = parse_numbers(group(match, form, "n"))
    if numbers is None:
        return Reading(kind="broken")
    url = group(match, form, "url") if f"{form}__url" in match.re.groupindex else None
    links = ((match[0], repair_url(url)),) if url else ()
    text = group(match, form, "text") if f"{form}__text" in match.re.groupindex else ""
    return Reading(tuple(map(str, numbers)), links=links, text=text or "")


def read_bracket(match: re.Match, form: str, context: Context) -> Reading | None:
    """`[1, 2]`, unless it is an index (`items[1]`), a year, an interval or holds a zero."""
    start, end = match.span()
    before, after = context.line[max(0, start - 40):start], context.line[end:end + 40]
    if re.search(r"[A-Za-z_]\w*$", before) and re.match(r"[\w(=]|\.\w", after):
        return None  # items[1].name
    if re.search(r"(?:[∈=≤≥<>]|\b(?:range|interval|between)|区間|範囲)\s*$", before, re.IGNORECASE):
        return None  # x ∈ [1, 5]
    reading = read_numbers(match, form, context)
    numbers = [int(n) for n in reading.labels] if reading and reading.labels else []
    if 0 in numbers or numbers and all(n in YEARS and str(n) not in context.known for n in numbers):
        return None  # [0, 1], [2025]
    return reading


def read_group(match: re.Match, form: str, context: Context) -> Reading | None:
    """`^{[1][2]}`: every bracket's numbers."""
    numbers = parse_numbers(",".join(re.findall(rf"\[\s*({NUMS})\s*\]", group(match, form, "n"))))
    return Reading(tuple(map(str, numbers))) if numbers else Reading(kind="broken")


def read_label(match: re.Match, form: str, context: Context) -> Reading | None:
    """`[^12]`, `[^1_3]`: the label as written."""
    return Reading((group(match, form, "n"),))


def read_links(match: re.Match, form: str, context: Context) -> Reading | None:
    """`([site](url), [site](url))`: each link's text and URL (its source is the URL)."""
    links = re.findall(rf"\[([^\[\]\n]+)\]\(((?:https?://){LINK_TARGET})\)", match[0])
    return Reading(links=tuple((text, repair_url(url)) for text, url in links))


def read_nothing(match: re.Match, form: str, context: Context) -> Reading | None:
    """A marker that names no number of the list (`citeturn0search3`)."""
    return Reading(readings=((match[0],),))


def read_debris(match: re.Match, form: str, context: Context) -> Reading | None:
    """`[cite_start]`: the exporter's own bookkeeping, removed."""
    return Reading(kind="debris")


def read_broken(match: re.Match, form: str, context: Context) -> Reading | None:
    """An unfinished marker (`^{[1][2]` without its brace)."""
    return Reading(kind="broken")


def read_skip(match: re.Match, form: str, context: Context) -> Reading | None:
    """Links, images and URLs: nothing inside them is a marker."""
    return None


def read_superscripts(match: re.Match, form: str, context: Context) -> Reading | None:
    """`¹`, `¹˒³`, `¹⁻³`; a run like `¹¹` has several readings; never an exponent."""
    before = context.line[max(0, match.start() - 40):match.start()]
    if re.search(r"(?:[\d^⁻⁺]|\d ?[A-Za-z]{1,2}|(?<![^\W\d_])[A-Za-zα-ωΑ-Ωа-яА-Я]|= ?[A-Za-z]{1,3})$",
                 before):
        return None  # 10², 10 m², x², σ², 10⁻⁶, E=mc²: a power or a unit
    digits = match[0].translate(str.maketrans(SUPERSCRIPTS + "⁻˒", "0123456789-,"))
    if re.search("[-,]", digits):
        numbers = parse_numbers(digits)
        return Reading(tuple(map(str, numbers))) if numbers else Reading(kind="broken")
    if len(digits) == 1:
        return Reading((digits,))
    if len(digits) > MAX_RUN:
        return Reading(kind="broken")
    readings = digit_readings(digits, numeric(context.known))
    if len(readings) == 1:
        return Reading(readings[0])
    return Reading(readings=readings or ((digits,),))


def read_circled(match: re.Match, form: str, context: Context) -> Reading | None:
    """`④` ends a sentence as a citation would, but is no citation form: always listed."""
    before, after = context.line[:match.start()], context.line[match.end():]
    after_stop = re.search(rf"[。．.!?！？][{CLOSERS}]*$", before)
    if not before.strip() or not after_stop and re.match(r"\s*[^\s、。，．,.;；)）」』\]]", after):
        return None  # ① at a line's start or before words (not after a sentence): an enumeration
    value, known = CIRCLED[match[0]], numeric(context.known)
    readings = digit_readings(str(value), known) if value >= 10 else \
        ((str(value),),) if value in known else ()
    return Reading(readings=readings or ((str(value),),))  # ⑫: 12, or 2 after a stray ¹, or 1 and 2


def read_bare(match: re.Match, form: str, context: Context) -> Reading | None:
    """Bare digits: certain at a sentence's end within the list's range, else listed or ignored."""
    if not context.bare and not context.lint:
        return None
    written, (start, end) = group(match, form, "n"), match.span()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", written):
        return None  # 2,439: a thousands separator
    before, after = context.line[:start], context.line[end:]
    if COUNTER_AFTER.match(after):
        return None
    certain, why = bare_shape(before, after, context.table)
    if why is None or context.lint and not certain:
        return None
    numbers = tuple(dict.fromkeys(re.findall(r"\d+", written)))
    if context.lint or all(n in context.known for n in numbers):
        return Reading(numbers) if certain else Reading(readings=(numbers,), why=why)
    readings = digit_readings(written, numeric(context.known)) if certain and len(numbers) == 1 else ()
    if readings:
        return Reading(readings=readings, why=why)
    if certain and all(int(n) <= 2 * context.top for n in numbers):
        return Reading(readings=(numbers,), why=why)  # listed: the list lacks it
    return None


def bare_shape(before: str, after: str, table: bool) -> tuple[bool, str | None]:
    """(certain, where the digits stand) for bare digits, or (False, None) when no marker."""
    next_sentence = re.match(rf"(?:\s*$|\s+[A-Z\"“‘'(\[{KANA_KANJI}])", after)
    if re.search(rf"(?:[^\W\d_]|[%{CLOSERS}])[.!?][.!?{CLOSERS}]*$", before):
        if ABBREVIATION.search(before.rstrip(CLOSERS)):
            return False, None  # Fig.2, No.3, e.g.1
        return (True, "after a full stop") if next_sentence else (False, "after a full stop, "
                                                                            "before a lowercase word")
    if re.search(r"(?<!\d)(?:1[89]|20)\d\d\.$", before) and next_sentence:
        return False, "after a year and a full stop"
    if re.search(rf"[。．！？][」』）)]*[ \u3000]?$", before):
        return (True, "after 。") if not after.strip() else (False, "after 。, before more text")
    if re.search(f"[{CLOSERS}]$", before) and re.match(r"\s+\S", after):
        return False, "after a closing bracket"
    spaced = re.search(r"(\S+)[ \u3000]$", before)
    if not spaced or re.search(r"\d$", spaced[1]):
        return False, None
    word, last = spaced[1], spaced[1][-1]
    if not re.search(r"[^\W\d_]", word):
        return False, None  # `x = 5.`: no word before the digits
    japanese = re.match(rf"[{KANA_KANJI}{CLOSERS}]", last) and re.search(f"[{KANA_KANJI}]", before[-20:])
    latin_word = word.lower().strip(",;:()\"'") not in NUMBER_WORDS
    if japanese and re.match(r"[。．！？]", after) or re.match(r"[.!?](?:[\s」』）)\"”']|$)", after):
        if japanese:
            return (False, None) if word.endswith(JA_PREFIXES) else (True, "before 。")
        return (False, "after a word, before the full stop") if latin_word else (False, None)
    if japanese and re.match(r"[、，,]", after) and re.match(f"[{KANA_KANJI}]", last):
        return False, "before 、"
    if re.match(f"[{CLOSERS}]", last) and re.match(r"\s+\S", after) and latin_word:
        return False, "after a closing bracket"
    if not after.strip() and (table or len(before) > 40) and latin_word:
        return False, "at the end of a table cell" if table else "at the end of a line"
    return False, None


def prefixed(form: Form) -> str:
    """The form's pattern with its group names prefixed (`n` → `bracket__n`), for one regex."""
    return re.sub(r"\(\?P<(\w+)>", lambda m: f"(?P<{form.name}__{m[1]}>", form.pattern)


BARE = (r"(?<![^\W\d_]|[\d,$¥€£#@/\\+~^*=<>×±:_-])(?P<n>\d{1,3}(?:[ \u3000]?[,、，][ \u3000]?\d{1,3})*)"
        r"(?![\d%％]|[.,]\d|[^\W\d_])")
TURN = r"\ue200?cite\ue202?(?:turn\d+(?:search|news|view|fetch|image|file)\d+\ue202?)+\ue201?"
BROKEN = rf"\^\{{(?=\[)|\^\[\s*\d|\[\\\[|【\s*\d|<(?i:sup)>\s*\[?\d|\[\s*{NUMS}\s*[,;]?\s*$"
FORMS = (  # the order is priority: the first form that matches at a position wins
    Form("paren_link", "([n](url))", rf"\(\s*\[(?P<n>{NUMS})\]\((?P<url>{LINK_TARGET})\)\s*\)",
         read_numbers, True),
    Form("named", "([site](url))", rf"\(\s*{NAMED_LINK}(?:\s*[,;、]\s*{NAMED_LINK})*\s*\)",
         read_links, True, lint=False),
    Form("link", "[n](url)", rf"\[(?P<n>{NUMS})\]\((?P<url>{LINK_TARGET})\)", read_numbers, True),
    Form("escaped", "[\\[n\\]](#)", rf"\[\\\[(?P<n>{NUMS})\\\]\](?:\({LINK_TARGET}\))?",
         read_numbers, True),
    Form("caret_group", "^{[n]}", rf"\^\{{(?P<n>(?:\[\s*{NUMS}\s*\]\s*)+)\}}", read_group, True),
    Form("caret", "^[n]", rf"\^\[(?P<n>{NUMS})\]", read_numbers, True),
    Form("sup", "<sup>n</sup>", rf"<(?i:sup)>\s*\[?\s*(?P<n>{NUMS})\s*\]?\s*</(?i:sup)>",
         read_numbers, True),
    Form("lenticular_turn", "【n:m†…】", r"【\s*\d+:\d+\s*†[^】\n]{0,200}】", read_nothing, False),
    Form("lenticular", "【n】", rf"【\s*(?P<n>{NUMS})\s*(?:†[^】\n]{{0,200}})?】", read_numbers, True),
    Form("dagger", "[n†…]", rf"\[\s*(?P<n>{NUMBER})\s*†[^\]\n]{{0,200}}\]", read_numbers, True),
    Form("cite", "[cite: n]", rf"\[(?i:cite):\s*(?P<n>{NUMS})\s*\]", read_numbers, True),
    Form("cite_start", "[cite_start]", r"\[(?i:cite_start)\]", read_debris, True),
    Form("turn", "citeturn…", TURN, read_nothing, False),
    Form("footnote_left", "\\[^n]", r"\\\[\^(?P<n>\d{1,4}(?:_\d{1,4})?)\]", read_label, False),
    Form("footnote_turn", "[^1_n]", r"\[\^(?P<n>\d{1,4}_\d{1,4})\](?!:)", read_label, True, lint=False),
    Form("footnote", "[^n]", rf"\[\^(?P<n>{NUMBER})\](?!:)", read_label, True, lint=False),
    Form("reflink", "[text][n]",
         rf"\[(?=[^\[\]\n]*[^\d\s,\[\]\\^])(?P<text>[^\[\]\n]+)\]\[(?P<n>{NUMBER})\]",
         read_numbers, True, lint=False),
    Form("skip", "", r"!?\[[^\[\]\n]*\]\([^)\n]*\)|<?https?://[^\s<>]*>?|www\.[^\s<>]+", read_skip, True),
    Form("bracket", "[n]", rf"\[\s*(?P<n>{NUMS})\s*\]", read_bracket, True),
    Form("superscript", "superscript digits", rf"[{SUPERSCRIPTS}]+(?:[˒,⁻][{SUPERSCRIPTS}]+)*",
         read_superscripts, True),
    Form("circled", "circled number", rf"[{''.join(CIRCLED)}]", read_circled, False),
    Form("bare", "bare digits", BARE, read_bare, True),
    Form("broken", "", BROKEN, read_broken, True),
)
FORM_NAMES = {form.name: form.shown for form in FORMS}
BY_NAME = {form.name: form for form in FORMS}
MARKER = re.compile("|".join(f"(?P<{form.name}>{prefixed(form)})" for form in FORMS))
STARTS = rf"[\[\\(^<【{SUPERSCRIPTS}{''.join(CIRCLED)}\ue200]|https?://|www\.|cite"
MARKER_START = re.compile(STARTS)
MARKER_OR_DIGIT_START = re.compile(rf"{STARTS}|(?<![^\W_])\d")  # bare digits start no word


def parse_numbers(text: str) -> tuple[int, ...] | None:
    """`1, 2, 4-6` as (1, 2, 4, 5, 6); None when a range is reversed or too large."""
    numbers: list[int] = []
    for part in re.split(r"\s*[,，、;]\s*", text.strip()):
        bounds = [int(n) for n in re.split(rf"\s*[{RANGE_DASHES}]\s*", part)]
        low, high = bounds[0], bounds[-1]
        if high < low or high - low > MAX_RANGE:
            return None
        numbers.extend(range(low, high + 1))
    return tuple(dict.fromkeys(numbers))


def numeric(labels: frozenset[str]) -> set[int]:
    """The labels that are plain numbers, as numbers."""
    return {int(label) for label in labels if label.isdigit()}


def digit_readings(digits: str, known: set[int]) -> tuple[tuple[str, ...], ...]:
    """Every reading of a run of digits (`¹⁶¹⁷¹⁸`) whose numbers are all in the list."""
    def split(rest: str):
        if not rest:
            yield ()
            return
        for width in (1, 2, 3):
            head = rest[:width]
            if len(head) == width and head[0] != "0" and int(head) in known:
                for tail in split(rest[width:]):
                    yield (int(head), *tail)
    readings = [tuple(dict.fromkeys(r)) for r in islice(split(digits), 8 * MAX_READINGS)]
    pairs = [digits[i:i + 2] for i in range(0, len(digits), 2)]
    preferred = [(int(digits),)] if digits[0] != "0" else []
    preferred += [tuple(dict.fromkeys(int(p) for p in pairs))] if all(p[0] != "0" for p in pairs) else []
    if len(digits) % 2 == 0 and digits[::2] == "1" * len(pairs) and "0" not in digits[1::2]:
        preferred.append(tuple(dict.fromkeys(int(d) for d in digits[1::2])))  # each ¹ a stray mark
    preferred += [tuple(dict.fromkeys(int(d) for d in digits))] if "0" not in digits else []
    valid = [r for r in preferred if all(n in known for n in r)]
    ordered = list(dict.fromkeys(valid + readings))[:MAX_READINGS]
    return tuple(tuple(map(str, reading)) for reading in ordered)


def scan_line(masked: str, number: int, context: Context) -> list[Marker]:
    """Every marker in one masked line, in reading order."""
    markers, position = [], 0
    starts = MARKER_OR_DIGIT_START if context.bare or context.lint else MARKER_START
    while candidate := starts.search(masked, position):
        match = MARKER.match(masked, candidate.start())
        if not match:
            position = candidate.start() + 1
            continue
        position = max(match.end(), candidate.start() + 1)
        reading = BY_NAME[match.lastgroup].read(match, match.lastgroup, context)
        if reading is not None:
            markers.append(Marker(number, match.start(), match.end(), reading.kind or match.lastgroup,
                                  reading.labels, reading.readings, reading.links, reading.text,
                                  reading.why))
    return markers


def scan_markers(masked: tuple[str, ...], lines: Iterable[int], known: frozenset[str],
                 tables: frozenset[int]) -> list[Marker]:
    """Every marker in the given 1-based lines; bare digits when they are the report's own form."""
    top, lines = max(numeric(known), default=0), [n for n in lines if masked[n - 1].strip()]

    def scan(bare: bool) -> list[Marker]:
        return [marker for number in lines for marker in scan_line(
            masked[number - 1], number, Context(masked[number - 1], known, top, bare, number in tables))]
    markers = scan(False)
    explicit = sum(m.form not in ("named", "debris", "broken", "circled") for m in markers)
    if not top or explicit >= CLEAR_FORM:
        return markers  # no numbered list for bare digits to cite, or the report's form is plain
    with_bare = scan(True)
    bare = sum(m.form == "bare" and bool(m.labels) for m in with_bare)
    return with_bare if bare > explicit or not explicit else markers  # one way per report


def is_listed(marker: Marker) -> bool:
    """Whether a marker's form never converts (circled numbers, `【n:m†…】`)."""
    return marker.form in BY_NAME and not BY_NAME[marker.form].certain
