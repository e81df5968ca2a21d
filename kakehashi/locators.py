"""Resolve and render stages: pandoc's citation locators (`p. 12`, `ch. 2`, `第3章`) in both languages.

`split_locator(text)` takes what follows a key in a citation (`, p. 12, emphasis added`) and
gives a `Locator` (or None) and the rest, the suffix, as pandoc reads them: a known term
with its value, or a bare number, which is a page. `format_locator` gives the locator in
the page's language: `p. 12`, `pp. 3–5`, `ch. 2` on English pages; `第2章`, `図3`, `表1`
on Japanese ones, where a page follows the custom of Japanese references (`12頁` for a
Japanese source, `p. 12` for a foreign one). Author-date English pages write a page as the
bare number, as the Chicago author-date style does: `(Becker 1984, 12)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# term -> the ways an author may write it (pandoc's English terms and abbreviations)
TERMS_WRITTEN = {
    "page": ("pages", "page", "pp.", "p."),
    "chapter": ("chapters", "chapter", "chaps.", "chap.", "chs.", "ch."),
    "section": ("sections", "section", "secs.", "sec.", "§§", "§"),
    "figure": ("figures", "figure", "figs.", "fig."),
    "table": ("tables", "table", "tbls.", "tbl."),
    "volume": ("volumes", "volume", "vols.", "vol."),
    "issue": ("issues", "issue", "numbers", "number", "nos.", "no."),
    "note": ("notes", "note", "nn.", "n."),
    "paragraph": ("paragraphs", "paragraph", "paras.", "para.", "¶¶", "¶"),
    "line": ("lines", "line", "ll.", "l."),
    "part": ("parts", "part", "pts.", "pt."),
    "column": ("columns", "column", "cols.", "col."),
    "book": ("books", "book", "bks.", "bk."),
    "verse": ("verses", "verse", "vv.", "v."),
}
# term -> (singular, plural) forms on English pages; "{}" is the value
TERMS_EN = {
    "page": ("p.\u00a0{}", "pp.\u00a0{}"), "chapter": ("ch.\u00a0{}", "chs.\u00a0{}"),
    "section": ("sec.\u00a0{}", "secs.\u00a0{}"), "figure": ("fig.\u00a0{}", "figs.\u00a0{}"),
    "table": ("table\u00a0{}", "tables\u00a0{}"), "volume": ("vol.\u00a0{}", "vols.\u00a0{}"),
    "issue": ("no.\u00a0{}", "nos.\u00a0{}"), "note": ("n.\u00a0{}", "nn.\u00a0{}"),
    "paragraph": ("para.\u00a0{}", "paras.\u00a0{}"), "line": ("l.\u00a0{}", "ll.\u00a0{}"),
    "part": ("pt.\u00a0{}", "pts.\u00a0{}"), "column": ("col.\u00a0{}", "cols.\u00a0{}"),
    "book": ("bk.\u00a0{}", "bks.\u00a0{}"), "verse": ("v.\u00a0{}", "vv.\u00a0{}"),
}
TERMS_JA = {  # Japanese pages: the term around the value, the same for one or several
    "page": "{}頁", "chapter": "第{}章", "section": "第{}節", "figure": "図{}", "table": "表{}",
    "volume": "第{}巻", "issue": "第{}号", "note": "注{}", "paragraph": "第{}段落",
    "line": "第{}行", "part": "第{}部", "column": "第{}段", "book": "第{}巻", "verse": "第{}節",
}
PART = r"[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*"
VALUE = rf"{PART}(?:[ \t]*(?:[-–—]|,(?=[ \t]*[0-9])|&)[ \t]*{PART})*(?![0-9A-Za-z.])"
WRITTEN = sorted(((form, term) for term, forms in TERMS_WRITTEN.items() for form in forms),
                 key=lambda pair: -len(pair[0]))
PLURAL_FORMS = {"pages", "pp.", "chapters", "chaps.", "chs.", "sections", "secs.", "§§", "figures",
                "figs.", "tables", "tbls.", "volumes", "vols.", "issues", "numbers", "nos.",
                "notes", "nn.", "paragraphs", "paras.", "¶¶", "lines", "ll.", "parts", "pts.",
                "columns", "cols.", "books", "bks.", "verses", "vv."}
TERM_LOCATOR = re.compile(
    r"(?P<term>" + "|".join(re.escape(form) for form, _ in WRITTEN) + r")"
    rf"(?:(?<=[.§¶])[ \t\u00a0]*|[ \t\u00a0]+)(?P<value>{VALUE})", re.IGNORECASE)
JA_SUFFIX_LOCATOR = re.compile(rf"(?P<value>{VALUE})[ \t]*(?P<term>頁|ページ)")
JA_AROUND_LOCATOR = re.compile(rf"第[ \t]*(?P<value>{VALUE})[ \t]*(?P<term>章|節|巻|号|段落|行|部)")
JA_PREFIX_LOCATOR = re.compile(rf"(?P<term>図|表|注)[ \t]*(?P<value>{VALUE})")
BARE_NUMBER = re.compile(rf"(?P<value>[0-9]+[A-Za-z]?(?:[ \t]*(?:[-–—]|,(?=[ \t]*[0-9]))[ \t]*[0-9]+[A-Za-z]?)*)(?![0-9A-Za-z])")
JA_TERMS = {"頁": "page", "ページ": "page", "章": "chapter", "節": "section", "巻": "volume",
            "号": "issue", "段落": "paragraph", "行": "line", "部": "part", "図": "figure",
            "表": "table", "注": "note"}
FORM_TERM = {form.lower(): term for form, term in WRITTEN}
RANGE = re.compile(r"[ \t]*[-–—][ \t]*")


@dataclass(frozen=True)
class Locator:
    """Where in a source a citation points: a term and its value."""

    term: str  # "page", "chapter", … (a key of TERMS_EN)
    value: str  # as written, with ranges as en dashes: "3–5", "12, 14"
    plural: bool  # a range or a list, so "pp." not "p."


def split_locator(text: str) -> tuple[Locator | None, str]:
    """(locator, suffix) of what follows a key: `, p. 12, emphasis added`."""
    rest = text.strip()
    rest = rest[1:].lstrip() if rest.startswith(",") else rest
    for pattern in (TERM_LOCATOR, JA_AROUND_LOCATOR, JA_SUFFIX_LOCATOR, JA_PREFIX_LOCATOR,
                    BARE_NUMBER):
        match = pattern.match(rest)
        if not match:
            continue
        written = match.groupdict().get("term")
        term = "page" if written is None else FORM_TERM.get(written.lower(), JA_TERMS.get(written))
        value = RANGE.sub("–", match["value"].strip())
        plural = bool(re.search(r"[–,&]", value)) or (written or "").lower() in PLURAL_FORMS
        suffix = rest[match.end():].strip()
        suffix = suffix[1:].strip() if suffix.startswith(",") else suffix
        return Locator(term, value, plural), suffix
    return None, rest


def format_locator(locator: Locator, page_language: str, entry_language: str,
                   style: str = "numeric") -> str:
    """The locator in the page's language: `p. 12`, `pp. 3–5`, `第2章`, `12頁`, `図3`."""
    if page_language == "ja" and not (locator.term == "page" and entry_language != "ja"):
        return TERMS_JA[locator.term].format(locator.value)
    if locator.term == "page" and page_language == "en" and style == "author-date":
        return locator.value
    singular, plural = TERMS_EN[locator.term]
    return (plural if locator.plural else singular).format(locator.value)
