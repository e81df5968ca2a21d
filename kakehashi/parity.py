"""Check stage, numbers parity: the figures of a paragraph as normalised values.

`split_blocks` cuts a section body into blocks (paragraphs, list items, headings, tables…)
with their first lines; `pair_blocks` pairs the blocks of two languages by position.
`extract_figures` takes a Japanese or English text and gives its `Figure`s, each with
normalised values: 1,150億ドル and $115 billion both give 1.15e11, 5〜10% and 5–10% give
5 and 10, 2025年11月18日 and 18 November 2025 give "2025-11-18". `mentioned_values` gives
every value a text mentions, the set a translation is checked against. Numbers that are
part of names (GPT-5.1, Gemini 3, TPU v4, H100) and citation labels are not figures.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .scanner import MATH, scan_source

Value = float | str  # a number, or a date written "2025-11-18", "2025-11" or "--11-18"

MASK = "\x00"  # stands in for masked characters, so offsets stay those of the text
NUM = r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
MONTH = r"(?P<month>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*)\.?"
NUMBER_WORDS = {
    **{word: value for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split())},
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100}
MULTIPLE_WORDS = {"twice": 2, "double": 2, "doubled": 2, "doubles": 2, "doubling": 2,
                  "thrice": 3, "triple": 3, "tripled": 3, "triples": 3, "tripling": 3,
                  "quadruple": 4, "quadrupled": 4, "half": 0.5, "halved": 0.5}
FRACTION_WORDS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4,
                  "quarters": 4, "fifth": 5, "fifths": 5, "tenth": 10, "tenths": 10}
EN_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
JA_SCALES = {"万": 1e4, "億": 1e8, "兆": 1e12}
NOT_NAMES = {  # capitalised words a figure may follow without being part of a product name
    "a", "about", "above", "after", "almost", "and", "around", "at", "before", "below",
    "between", "by", "case", "chapter", "during", "each", "every", "fig", "figure", "for",
    "from", "hypothesis", "in", "item", "just", "level", "nearly", "no", "of", "on", "only",
    "or", "over", "part", "phase", "point", "question", "roughly", "round", "scenario",
    "section", "since", "some", "stage", "step", "table", "than", "the", "through", "tier",
    "to", "top", "under", "until", "up", "with", "within",
    *MONTHS, *(month[:3] for month in MONTHS), "sept"}
YEAR_PREFIXES = {"mid", "early", "late", "pre", "post"}  # mid-2025 is a year, not a name

CITATION = re.compile(r"\[\^[^\]\n]*\]|\[[^\[\]\n]*@[^\]\n]*\]")  # locators are no figures
NOT_PROSE = re.compile(r"`[^`\n]*`|\]\([^)\s]*(?:\s+\"[^\"]*\")?\)|https?://[^\s)>\]]+|<[^>\n]+>")
BLOCK_MARKER = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|(?:[-*+]|\d{1,9}[.)])[ \t]+|\[\^[^\]]+\]:|>)")
HEADING_LINE = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
COMMENT_LINE = re.compile(r"^\s{0,3}<!--.*-->\s*$")
ITEM_LINE = re.compile(r"[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+|\[\^[^\]]+\]:)")
NUMBER = re.compile(NUM)
DIGIT = re.compile(r"\d")
LETTERS_BEFORE = re.compile(r"([A-Za-z]+)-?$")
LETTER = re.compile(r"[A-Za-z]")
ALLOWED_SUFFIX = re.compile(r"(?:s|st|nd|rd|th|x)\b")
NAME_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Z][A-Za-z]*(?:-[A-Za-z]+)*)[ \u00a0]$")
UNIT_AFTER = re.compile(r"[ \t]*(?:%|percent\b|[千万億兆倍年]|ドル|円|times\b|"
                        r"(?:thousand|million|billion|trillion)\b)")
DATE_VALUE = re.compile(r"(\d{4}|-)-(\d{2})(?:-(\d{2}))?$")
JA_SCALE_TAIL = re.compile(r"[千万億兆]+$")
JA_TOKEN = re.compile(rf"{NUM}|[千万億兆]")

JA_UNITS = "%|ドル|円|倍|年間|年|か月|ヶ月|日間|日|ポイント|人|社|件|つ|個|回|チップ|トークン"  # shown
JA_QUANTITY = rf"{NUM}(?:[ \t]*[千万億兆])*(?:[ \t]*\d[\d,.]*(?:[ \t]*[千万億兆])+)*"
JA_DATE = re.compile(r"(?<!\d)(?P<year>\d{4})[ \t]*年[ \t]*(?P<month>\d{1,2})[ \t]*月"
                     r"(?:[ \t]*(?P<day>\d{1,2})[ \t]*日)?")
JA_MONTH_DAY = re.compile(r"(?<!\d)(?P<month>\d{1,2})[ \t]*月(?:[ \t]*(?P<day>\d{1,2})[ \t]*日)?"
                          r"(?![間末])")
JA_DECADE = re.compile(r"(?<!\d)(?P<year>\d{3}0)[ \t]*年代")
JA_FRACTION = re.compile(rf"(?P<den>{NUM})[ \t]*分の[ \t]*(?P<num>{NUM})")
JA_AMOUNT = re.compile(
    rf"\$?(?P<low>{JA_QUANTITY})(?:[ \t]*[〜~\-–—][ \t]*\$?(?P<high>{JA_QUANTITY}))?"
    rf"(?:[ \t]*(?:{JA_UNITS}))?")
EN_DATE = re.compile(
    rf"\b{MONTH}[ \t]+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?[ \t]+(?P<year>\d{{4}})\b"
    rf"|\b(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?P<month2>[A-Z][a-z]+)\.?,?"
    r"[ \t]+(?P<year2>\d{4})\b")
EN_MONTH_YEAR = re.compile(rf"\b{MONTH},?[ \t]+(?:of[ \t]+)?(?P<year>\d{{4}})\b")
EN_MONTH_DAY = re.compile(rf"\b{MONTH}[ \t]+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?![,.]?[ \t]*\d)")
EN_DECADE = re.compile(r"(?<![\d.,])(?P<year>\d{3}0)'?s\b")
EN_FRACTION = re.compile(r"\b(?P<count>a|one|two|three)[ \t-]"
                         r"(?P<part>halves|half|thirds?|quarters?|fifths?|tenths?)\b", re.I)
EN_MULTIPLE = re.compile(r"\b(?P<word>" + "|".join(MULTIPLE_WORDS) + r")\b", re.I)
EN_FOLD = re.compile(rf"(?:\b(?P<word>[a-z]+?)|(?P<number>{NUM}))-?fold\b|(?P<times>{NUM})x\b",
                     re.I)
EN_AMOUNT = re.compile(
    rf"(?:US)?[$€£¥]?(?P<low>{NUM})(?:[ \t]*(?:[-–—]|to)[ \t]*[$€£¥]?(?P<high>{NUM}))?"
    rf"(?:[ \t]*(?P<scale>{'|'.join(EN_SCALES)})\b)?(?:[ \t]*(?:%|percent\b))?")
EN_WORDS = re.compile(
    r"\b(?:(?P<tens>twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"(?:[ \t-](?P<unit>one|two|three|four|five|six|seven|eight|nine))?"
    r"|(?P<word>" + "|".join(NUMBER_WORDS) + r"))\b"
    rf"(?:[ \t]+(?P<scale>{'|'.join(EN_SCALES)})\b)?", re.I)
EN_ONE = re.compile(r"\b(?:a|an|per|every|each|single)[ \t]+(?:day|week|month|year|dollar|"
                    r"person|user|query|chip|time)\b", re.I)


@dataclass(frozen=True)
class Figure:
    """A figure found in a text."""

    text: str  # as written, e.g. "1,150億ドル" or "$115 billion"
    values: tuple[Value, ...]  # normalised; a range gives both ends, and both must appear
    offset: int  # character offset of the figure in the text it was found in


@dataclass(frozen=True)
class Block:
    """A paragraph, list item, heading, table or code block of a section body."""

    text: str  # the block's Markdown, lines joined by "\n"
    line: int  # 1-based line of the file on which it starts
    kind: str  # "heading", "code" or "text"


def split_blocks(body: str, first_line: int) -> list[Block]:
    """Blank-line separated blocks; each heading and each list item a block of its own.

    What is code or raw HTML is decided by the shared scanner, as for citations: such
    lines form "code" blocks, and comment lines (a silence comment) are no block at all.
    """
    blocks: list[Block] = []
    lines: list[str] = []
    start, kind = first_line, "text"

    def close() -> None:
        if lines:
            blocks.append(Block("\n".join(lines), start, kind))
            lines.clear()
    masked = scan_source(body).masked.split("\n")
    raw = body.split("\n")
    code = [bool(line.strip()) and not masked[i].strip() and not COMMENT_LINE.match(line)
            for i, line in enumerate(raw)]
    for index, line in enumerate(raw):
        number = first_line + index
        if not line.strip() and kind == "code" and lines:
            following = next((i for i in range(index + 1, len(raw)) if raw[i].strip()), None)
            if following is not None and code[following]:
                lines.append(line)  # a blank line inside a code block
                continue
        if not line.strip() or COMMENT_LINE.match(line):
            close()
            continue
        line_kind = "code" if code[index] else "text"
        if line_kind != kind or HEADING_LINE.match(line) or ITEM_LINE.match(line) and kind == "text":
            close()
        kind = line_kind
        if kind == "text" and HEADING_LINE.match(line):
            blocks.append(Block(line, number, "heading"))
            continue
        if not lines:
            start = number
        lines.append(line)
    close()
    return blocks


def pair_blocks(source: list[Block],
                target: list[Block]) -> list[tuple[Block, tuple[Block, ...]]]:
    """Each source block with its target block, or with the whole part if parts differ in size."""
    def parts(blocks: list[Block]) -> list[list[Block]]:
        cut: list[list[Block]] = [[]]
        for block in blocks:
            if block.kind == "heading":
                cut.append([])
            cut[-1].append(block)
        return cut
    source_parts, target_parts = parts(source), parts(target)
    if len(source_parts) != len(target_parts):
        source_parts, target_parts = [source], [target]
    pairs = []
    for source_part, target_part in zip(source_parts, target_parts):
        one_to_one = len(source_part) == len(target_part)
        for position, block in enumerate(source_part):
            pairs.append((block, (target_part[position],) if one_to_one else tuple(target_part)))
    return pairs


def extract_figures(text: str, language: str) -> list[Figure]:
    """The figures of a Japanese ("ja") or English ("en") text, in reading order."""
    work = mask_non_prose(text)
    digits = DIGIT.search(work) is not None
    if language == "ja" and not digits:
        return []  # every Japanese rule reads digits
    work = mask_names(work)
    found: list[Figure] = []
    for pattern, read in JA_RULES if language == "ja" else EN_RULES:
        if not digits and pattern in READS_DIGITS:
            continue  # it could not match
        for match in pattern.finditer(work):
            values = read(match)
            if values is None:
                continue
            found.append(Figure(text[match.start():match.end()].strip(), values, match.start()))
            work = work[:match.start()] + MASK * len(match[0]) + work[match.end():]
    return sorted(found, key=lambda figure: figure.offset)


def mentioned_values(text: str, language: str) -> set[Value]:
    """Every value a text mentions; a date also mentions its year and month."""
    values: set[Value] = set()
    for figure in extract_figures(text, language):
        for value in figure.values:
            values.add(value)
            date = DATE_VALUE.match(value) if isinstance(value, str) else None
            if date:
                year, month, day = date.groups()
                values.add(f"--{month}")
                if year != "-":
                    values.update({float(year), f"{year}-{month}"})
                if day:
                    values.add(f"--{month}-{day}")
    return values


def format_value(value: Value) -> str:
    """A value as a message shows it: 2025, 88.1, 1.15e11, 0.333333, 2025-11-18."""
    if isinstance(value, str):
        return value
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if abs(value) >= 1e6:
        mantissa, exponent = f"{value:.6e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return f"{value:.6g}"


def mask_non_prose(text: str) -> str:
    """Unify widths; blank out citations, code, links, URLs, tags and the block's marker."""
    text = text if text.isascii() else text.translate(NARROW)
    for pattern in (MATH, CITATION, NOT_PROSE, BLOCK_MARKER):  # maths, like code, is no prose
        text = pattern.sub(lambda m: MASK * len(m[0]), text)
    return text


class NarrowTable(dict):
    """`str.translate`'s table of each character's NFKC form where that is one character
    (ｷｬｯｼｭ → キャッシュ, ５ → 5), filled in as characters are first met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        narrow = unicodedata.normalize("NFKC", char)
        self[code] = value = narrow if len(narrow) == 1 else char
        return value


NARROW = NarrowTable()


def mask_names(text: str) -> str:
    """Blank out numbers that are part of names: GPT-5.1, H100, TPU v4, Gemini 3, o1."""
    def name_or_number(match: re.Match) -> str:
        before, after = text[max(0, match.start() - 60):match.start()], text[match.end():]
        letters = LETTERS_BEFORE.search(before)
        word = NAME_WORD_BEFORE.search(before)
        if (letters and letters[1].lower() not in YEAR_PREFIXES
                or LETTER.match(after) and not ALLOWED_SUFFIX.match(after)
                or word and word[1].lower() not in NOT_NAMES and not UNIT_AFTER.match(after)):
            return MASK * len(match[0])
        return match[0]
    return NUMBER.sub(name_or_number, text)


def to_number(written: str) -> float:
    """A number written with digits, thousands separators and a decimal point."""
    return float(written.replace(",", ""))


def normalised(value: float) -> float:
    """A value rounded to nine significant digits, so that 1150 × 1e8 == 115 × 1e9."""
    return float(f"{value:.9g}")


def ja_quantity(written: str) -> float:
    """A Japanese quantity: 1,150億 = 1.15e11, 1兆2,000億 = 1.2e12, 3千万 = 3e7."""
    total = small = current = 0.0
    for token in JA_TOKEN.findall(written):
        if token == "千":
            small, current = small + (current or 1) * 1e3, 0.0
        elif token in JA_SCALES:
            total, small, current = total + (small + current) * JA_SCALES[token], 0.0, 0.0
        else:
            current = to_number(token)
    return normalised(total + small + current)


def read_ja_amount(match: re.Match) -> tuple[Value, ...]:
    """A Japanese amount or range: 80〜90億 gives 8e9 and 9e9."""
    if match["high"] is None:
        return (ja_quantity(match["low"]),)
    scale = JA_SCALE_TAIL.search(match["high"].replace(" ", ""))
    low = match["low"] if JA_SCALE_TAIL.search(match["low"]) or not scale \
        else match["low"] + scale[0]
    return ja_quantity(low), ja_quantity(match["high"])


def read_en_amount(match: re.Match) -> tuple[Value, ...]:
    """An English amount or range: $8–9 billion gives 8e9 and 9e9."""
    scale = EN_SCALES.get((match["scale"] or "").lower(), 1.0)
    low = to_number(match["low"])
    if match["high"] is None:
        return (normalised(low * scale),)
    high = normalised(to_number(match["high"]) * scale)
    return (normalised(low * scale) if low * scale <= high else low), high


def read_en_words(match: re.Match) -> tuple[Value, ...]:
    """Number words: "six", "twenty-five", "three billion"."""
    if match["tens"]:
        value = NUMBER_WORDS[match["tens"].lower()] + NUMBER_WORDS.get(
            (match["unit"] or "").lower(), 0)
    else:
        value = NUMBER_WORDS[match["word"].lower()]
    return (normalised(value * EN_SCALES.get((match["scale"] or "").lower(), 1.0)),)


def read_en_fold(match: re.Match) -> tuple[Value, ...] | None:
    """A multiple written "fifteenfold", "6-fold" or "10x"; None for words like "manifold"."""
    if match["word"]:
        value = NUMBER_WORDS.get(match["word"].lower())
        return None if value is None else (float(value),)
    return (to_number(match["number"] or match["times"]),)


def read_en_fraction(match: re.Match) -> tuple[Value, ...]:
    """A fraction in words: "a third", "one-third", "two-thirds", "three quarters"."""
    count = match["count"].lower()
    return (normalised((1 if count in ("a", "one") else NUMBER_WORDS[count])
                       / FRACTION_WORDS[match["part"].lower()]),)


def month_number(name: str) -> int | None:
    """1–12 for an English month name or its abbreviation, else None."""
    name = name.lower().rstrip(".")
    return next((n for n, month in enumerate(MONTHS, 1)
                 if len(name) >= 3 and month.startswith(name)), None)


def read_en_date(match: re.Match) -> tuple[Value, ...] | None:
    """18 November 2025 and November 18, 2025 as "2025-11-18"."""
    month = month_number(match["month"] or match["month2"])
    day = int(match["day"] or match["day2"])
    return (f"{match['year'] or match['year2']}-{month:02d}-{day:02d}",) if month else None


def read_en_month(match: re.Match) -> tuple[Value, ...] | None:
    """November 2025 as "2025-11"; November 18 as "--11-18"."""
    month = month_number(match["month"])
    if month is None:
        return None
    if "year" in match.re.groupindex:
        return (f"{match['year']}-{month:02d}",)
    return (f"--{month:02d}-{int(match['day']):02d}",)


def read_ja_date(match: re.Match) -> tuple[Value, ...]:
    """2025年11月18日 as "2025-11-18", 2025年11月 as "2025-11", 11月18日 as "--11-18"."""
    year = match["year"] if "year" in match.re.groupindex else "-"
    day = f"-{int(match['day']):02d}" if match["day"] else ""
    return (f"{year}-{int(match['month']):02d}{day}",)


def read_ja_fraction(match: re.Match) -> tuple[Value, ...] | None:
    """3分の1 as 1/3."""
    denominator = to_number(match["den"])
    return (normalised(to_number(match["num"]) / denominator),) if denominator else None


JA_RULES = (
    (JA_DATE, read_ja_date),
    (JA_DECADE, lambda match: (float(match["year"]),)),
    (JA_MONTH_DAY, read_ja_date),
    (JA_FRACTION, read_ja_fraction),
    (JA_AMOUNT, read_ja_amount),
)
READS_DIGITS = {EN_DATE, EN_MONTH_YEAR, EN_MONTH_DAY, EN_DECADE, EN_AMOUNT}  # each needs a digit
EN_RULES = (
    (EN_DATE, read_en_date),
    (EN_MONTH_YEAR, read_en_month),
    (EN_MONTH_DAY, read_en_month),
    (EN_DECADE, lambda match: (float(match["year"]),)),
    (EN_FRACTION, read_en_fraction),
    (EN_FOLD, read_en_fold),
    (EN_MULTIPLE, lambda match: (float(MULTIPLE_WORDS[match["word"].lower()]),)),
    (EN_AMOUNT, read_en_amount),
    (EN_ONE, lambda match: (1.0,)),
    (EN_WORDS, read_en_words),
)
