"""Shared by the parse stages of `import`: URLs, dates, escapes, titles and slugs in text.

Takes pieces of an exported report's text; gives URLs repaired the way a reader would
type them (escapes decoded, spaces percent-encoded, tracking parameters and text
fragments dropped), the form two URLs share when they name one page, ISO dates from the
English and Japanese ways of writing them, titles without Markdown marks, and readable
ASCII words for slugs and keys (accented and Greek or Cyrillic letters transliterated).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from html import unescape
from urllib.parse import quote, unquote, urlsplit, urlunsplit

URL_START = re.compile(r"https?://|www\.", re.IGNORECASE)
BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)
CJK_CHAR = re.compile(r"([\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f])")
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
TRACKING = re.compile(r"^(?:utm_[^=]*|fbclid|gclid|mc_cid|mc_eid|srsltid)$", re.IGNORECASE)
URL_SAFE = ":/?#@!$&'()*+,;=%~"
TRAILING = ".,;:!?'\"」』）>]*"
TITLE_TRIM = " \t-–—:|,;*_"
QUOTES = [("“", "”"), ('"', '"'), ("'", "'"), ("‘", "’"), ("(", ")"), ("（", "）"), ("「", "」")]
TRUNCATED = re.compile(r"(?:\.\.\.|…)\s*[)\]”\"]?$")
MONTHS = {name: index for index, names in enumerate(
    ["jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"], 1)
    for name in names.split()}
MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (rf"(?:(?P<y1>\d{{4}})[-/.](?P<m1>\d{{1,2}})[-/.](?P<d1>\d{{1,2}})|"
        rf"(?P<y2>\d{{4}})\s*年\s*(?P<m2>\d{{1,2}})\s*月\s*(?P<d2>\d{{1,2}})\s*日|"
        rf"(?P<m5>\d{{1,2}})\s*月\s*(?P<d5>\d{{1,2}})\s*日?\s*[,，]\s*(?P<y5>\d{{4}})|"
        rf"(?P<n3>{MONTH})\.?\s+(?P<d3>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y3>\d{{4}})|"
        rf"(?P<d4>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<n4>{MONTH})\.?,?\s+(?P<y4>\d{{4}}))")
ANY_DATE = re.sub(r"\(\?P<\w+>", "(?:", DATE)
ACCESS_WORDS = r"(?:last\s+)?(?:accessed|retrieved|viewed|consulted)(?:\s+on)?|最終アクセス日?|" \
               r"閲覧日?|アクセス日?|参照日|取得日"
ACCESSED = re.compile(  # "accessed November 24, 2025", "2月 11, 2026にアクセス", "2025年3月1日閲覧"
    rf"[,;、，(（]?\s*(?:(?:{ACCESS_WORDS})\s*[:：]?\s*{ANY_DATE}|{ANY_DATE}\s*(?:に)?(?:アクセス|閲覧|参照|取得)"
    rf"(?:した)?)\s*[)）]?[.,、，。]?", re.IGNORECASE)
TRANSLITERATION = str.maketrans({
    "ß": "ss", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe",
    "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ð": "d", "Ð": "d", "ı": "i", "ħ": "h",
    **dict(zip("αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋΐΰς",
               "a b g d e z i th i k l m n x o p r s t y f ch ps o a e i i o y o i y i y s".split())),
    **dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
               "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya i yi ye g"
               .split())),
})
STOP_WORDS = set("a an and are as at by for from how in into is it its of on or the this to what "
                 "when why with will www html htm php aspx cms pdf index article articles news p "
                 "post posts blog amp".split())
SMALL_WORDS = set("a an and as at but by for from in into of on or the to vs via with".split())


def decode_escapes(text: str) -> str:
    """Markdown backslash escapes and HTML entities decoded: `1\\. Plan` → `1. Plan`."""
    return unescape(MARKDOWN_ESCAPE.sub(r"\1", text))


def repair_url(url: str) -> str:
    """Escapes undone, spaces and non-ASCII percent-encoded, tracking and text fragments dropped."""
    url = MARKDOWN_ESCAPE.sub(r"\1", url.strip()).replace("&amp;", "&")
    if url.lower().startswith("www."):
        url = "https://" + url
    parts = urlsplit(quote(url, safe=URL_SAFE))
    query = "&".join(p for p in parts.query.split("&") if p and not TRACKING.match(p.split("=")[0]))
    fragment = parts.fragment.split(":~:", 1)[0]  # `#:~:text=…` quotes the page; it names no part
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "", query, fragment))


def normalise_url(url: str) -> str:
    """The form two URLs share when they name the same source."""
    parts = urlsplit(repair_url(url))
    host = (parts.hostname or "").removeprefix("www.")
    path = quote(unquote(parts.path), safe=URL_SAFE.replace("%", "")).rstrip("/")
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def trim_url(url: str) -> str:
    """A bare URL without the punctuation that ended its sentence."""
    while url and url[-1] in TRAILING + ")":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


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


def clean_title(text: str) -> str | None:
    """A list item's leftover text as a title, or None when nothing meaningful is left."""
    text = decode_escapes(text)
    text = re.sub(r"\s+", " ", text.replace("**", "").replace("__", "")).strip(TITLE_TRIM)
    text = text.rstrip(".") if not TRUNCATED.search(text) else text
    for opening, closing in QUOTES:
        if len(text) > 1 and text[0] == opening and text[-1] == closing \
                and closing not in text[1:-1]:
            text = text[1:-1].strip()
    text = text.strip(TITLE_TRIM)
    return text if re.search(r"\w", text) and not URL_START.match(text) else None


def is_truncated(title: str | None) -> bool:
    """Whether a title was cut short by the export (`…is by far the ...`)."""
    return bool(title and TRUNCATED.search(title))


def site_name(text: str) -> str | None:
    """Text that reads as a site or publisher name (capitalised words, no digits), or None."""
    text = (clean_title(text) or "").strip()
    words = text.split()
    if not words or len(words) > 5 or re.search(r"\d|\.\w", text):
        return None
    return text if all(w[0].isupper() or w in SMALL_WORDS or not w[0].isascii() for w in words) else None


def ascii_words(text: str) -> list[str]:
    """The words of a text in lowercase ASCII, transliterated; a word that cannot be is left out."""
    words = []
    for word in re.findall(r"[^\W_]+", CJK_CHAR.sub(r" \1 ", text.lower())):
        plain = "".join(c for c in unicodedata.normalize("NFKD", word.translate(TRANSLITERATION))
                        if not unicodedata.combining(c)).replace("_", "")
        if plain and plain.isascii():
            words.append(plain)
    return words


def slug_words(text: str) -> list[str]:
    """Readable ASCII words of a text for a slug or key, without stop words and long numbers."""
    return [w for w in ascii_words(text) if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())
            and len(w) <= 16 and not (w.isdigit() and len(w) > 4)]
