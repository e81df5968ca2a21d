"""Load and format stages: read `references.bib` with pybtex and format it per language.

`load_bibliography` takes the .bib file and gives a frozen `Bibliography` (the pybtex
database, keys in file order, and each key's line, which pybtex does not keep).
`entry_formatter` takes it with the citation numbers and the page languages and gives a
function from a key to its `FormattedEntry` in each language, through the style in
`bibstyle.py`; `format_bibliography` formats every entry for one language.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pybtex.errors
from pybtex.backends.plaintext import Backend as TextBackend
from pybtex.database import BibliographyData, parse_string
from pybtex.richtext import Text
from pybtex.scanner import PybtexSyntaxError

from .bibstyle import (CJK, UI, AuthorYearLabelStyle, HtmlBackend, KakehashiStyle,
                       PlainHtmlBackend, entry_language, safe_url, short_names)
from .cache import digested
from .config import read_text
from .diagnostics import Diagnostics

LOG = logging.getLogger("kakehashi")
ONLINE_TYPES = {"online", "www", "electronic"}  # biblatex's @online and its aliases
PROGRESS_EVERY = 5000  # entries between progress lines, for very large bibliographies
ENTRY_START = re.compile(r"@\s*([A-Za-z]+)\s*[{(]\s*([^,\s{}()]+)\s*,")
FORMATTING_MACROS = re.compile(r"\\(?:texttt|textit|textbf|textsc|textrm|textsf|textnormal|emph|"
                               r"enquote\*?|autocap|mkbibemph|mkbibitalic|mkbibbold|mbox|url)\s*\{")
QUOTE_MACRO = re.compile(r"\\mkbibquote\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
WORD_MACROS = {r"\LaTeXe": "LaTeX2ε", r"\LaTeX": "LaTeX", r"\TeX": "TeX", r"\BibTeX": "BibTeX",
               r"\hyphen": "-", r"\slash": "/", r"\textendash": "–", r"\textemdash": "—",
               r"\dots": "…", r"\ldots": "…", r"\space": " "}
PERSON_FIELD = re.compile(r"\b(author|editor|translator)\s*=\s*\{", re.IGNORECASE)
LEFTOVER_MACRO = re.compile(r"\\([A-Za-z]+)\s*")
BARE_PERCENT = re.compile(r"(?<!\\)%")  # a TeX comment to pybtex; in a title, a percent sign
SKIPPED_TYPES = {"set", "xdata", "comment", "preamble", "string"}
PROSE_FIELDS = ("title", "subtitle", "booktitle", "journal", "journaltitle", "publisher",
                "organization", "institution", "school", "location", "address", "englishtitle",
                "type", "edition", "series", "note")


@dataclass(frozen=True)
class Bibliography:
    """The parsed bibliography."""

    path: Path  # the .bib file
    data: BibliographyData  # pybtex's database (keys are case-insensitive)
    keys: tuple[str, ...]  # every citable key, in file order, as spelled in the file
    lines: dict[str, int]  # key (as spelled) -> 1-based line of its `@type{key,`
    digest: str  # SHA-256 of the file's text: what caches of formatted entries depend on

    def canonical(self, label: str) -> str | None:
        """The key as spelled in the file for a label written in any case."""
        return self.data.entries[label].key if label in self.data.entries else None


@digested
@dataclass(frozen=True)
class FormattedEntry:
    """One bibliography entry formatted for one page language."""

    key: str  # the BibTeX key
    number: int  # the site-wide citation number
    html: str  # the entry as HTML, with links
    html_plain: str  # the entry as HTML without links (for popovers inside a link)
    text: str  # the entry as plain text (for `title` tooltips)
    language: str  # the entry's own language, "ja" or "en"
    names: str = ""  # who an in-text citation names: "Becker", "Smith and Doe", "山田ほか"
    year: str = ""  # the year an author-date citation shows: "1984a", "n.d." / "刊行年不明"


def load_bibliography(path: Path, diag: Diagnostics) -> Bibliography | None:
    """Parse the .bib file, reporting every problem at its line."""
    if not path.is_file():
        diag.error(path, None, None, "the bibliography file is missing; create it or set "
                   "bibliography_file in site.toml", "bib.missing")
        return None
    text = read_text(path, diag)
    if text is None:
        return None
    lines, spans = scan_entry_lines(path, text, diag)
    with pybtex.errors.capture() as captured:
        try:
            data = parse_string(text, "bibtex")
        except PybtexSyntaxError as exc:
            captured.append(exc)
            data = None
    for exc in captured:
        report_pybtex_error(path, text, exc, lines, diag)
    if data is None:
        return None
    keys = tuple(key for key, entry in data.entries.items() if entry.type.lower() not in SKIPPED_TYPES)
    lines = {entry_key: lines.get(entry_key.lower(), 1) for entry_key in data.entries}
    for key in data.entries:
        check_entry(path, key, data, lines[key], spans.get(key.lower(), ""), diag)
    return Bibliography(path, data, keys, lines, hashlib.sha256(text.encode("utf-8")).hexdigest())


def scan_entry_lines(path: Path, text: str,
                     diag: Diagnostics) -> tuple[dict[str, int], dict[str, str]]:
    """Lower-cased key -> line and raw text of its definition; reports duplicate keys."""
    lines: dict[str, int] = {}
    spans: dict[str, str] = {}
    spelled: dict[str, str] = {}
    starts = list(ENTRY_START.finditer(text))
    line, counted = 1, 0  # lines are counted once, not from the top for every entry
    for index, match in enumerate(starts):
        line += text.count("\n", counted, match.start())
        counted = match.start()
        if match[1].lower() in {"string", "comment", "preamble"}:
            continue
        key = match[2]
        col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        if key.lower() in lines:
            first = lines[key.lower()]
            diag.error(path, line, col, f'duplicate key "{key}": "{spelled[key.lower()]}" is '
                       f"already defined on line {first} (keys ignore case); rename one",
                       "bib.duplicate-key")
            continue
        lines[key.lower()] = line
        spelled[key.lower()] = key
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        spans[key.lower()] = text[match.start():end]
    return lines, spans


def report_pybtex_error(path: Path, text: str, exc: Exception, lines: dict[str, int],
                        diag: Diagnostics) -> None:
    """Turn one captured pybtex error into a diagnostic at its line."""
    message = str(exc)
    if "repeated" in message.lower() or "duplicate entry" in message.lower():
        return  # reported by scan_entry_lines, which knows both lines
    line = getattr(exc, "lineno", None)
    if line is None:
        key = re.search(r'"([^"]+)"|key (\S+)', message)
        line = lines.get((key[1] or key[2]).lower()) if key else None
    message = re.sub(r"^syntax error in line \d+: ", "", message)
    code = "bib.undefined-macro" if "undefined string" in message.lower() or \
        type(exc).__name__ == "UndefinedMacro" else "bib.syntax"
    if code == "bib.undefined-macro":
        message = f"{message}; define it with @string{{name = {{…}}}} or brace the value"
    else:
        message = f"BibTeX syntax error: {message}"
    diag.error(path, line, None, message, code)


def comma_free_cjk_names(raw: str) -> list[tuple[str, str]]:
    """(role, name) for each CJK personal name written without a comma in an entry's text."""
    found = []
    for match in PERSON_FIELD.finditer(raw):
        depth, end = 1, match.end()
        while end < len(raw) and depth:
            depth += {"{": 1, "}": -1}.get(raw[end], 0)
            end += 1
        value = raw[match.end():end - 1]
        for written in re.split(r"\s+and\s+", value):
            if written.strip().startswith("{"):
                continue  # a braced name is kept whole (an organisation)
            name = " ".join(written.replace("{", "").replace("}", "").split())
            if CJK.search(name) and "," not in name and " " in name:
                found.append((match[1].lower(), name))
    return found


def check_entry(path: Path, key: str, data: BibliographyData, line: int, raw: str,
                diag: Diagnostics) -> None:
    """Per-entry checks: unsafe URLs, missing fields, crossrefs, CJK names, TeX leftovers."""
    entry = data.entries[key]
    entry_type = entry.type.lower()
    if entry_type in SKIPPED_TYPES:
        return
    url = entry.fields.get("url", "").strip()
    if url and not safe_url(url):
        scheme = url.split(":", 1)[0] if ":" in url else url
        diag.error(path, line, None, f'entry "{key}": url scheme "{scheme}" is not allowed; use '
                   "an http:// or https:// address", "bib.url-scheme")
        entry.fields.pop("url")
    crossref = entry.fields.get("crossref")
    if crossref and crossref not in data.entries:
        diag.warning(path, line, None, f'entry "{key}": crossref "{crossref}" does not exist; '
                     "the entry renders without it", "bib.missing-crossref")
        entry.fields.pop("crossref")
    if entry_type in ONLINE_TYPES and not url and not entry.fields.get("doi"):
        diag.warning(path, line, None, f'entry "{key}" is @{entry.type} but has no url, so '
                     "readers cannot find the page; add url = {https://…}", "bib.missing-field")
    if not entry.fields.get("title"):
        diag.warning(path, line, None, f'entry "{key}" has no title; it renders with what it '
                     "has", "bib.missing-field")
    for role, name in comma_free_cjk_names(raw):
        given, _, family = name.rpartition(" ")
        diag.warning(path, line, None, f'entry "{key}": {role} "{name}" has no comma, so pybtex '
                     f'reads "{given}" as the given name and "{family}" as the family name; '
                     f'write "{given}, {family}" (family, given)', "bib.cjk-name-order")
    for name in PROSE_FIELDS:
        if name in entry.fields:
            entry.fields[name] = clean_latex(path, key, name, entry.fields[name], line, diag)


def clean_latex(path: Path, key: str, name: str, value: str, line: int,
                diag: Diagnostics) -> str:
    """Replace formatting macros pybtex does not know; warn about any other leftover macro."""
    value = BARE_PERCENT.sub(r"\\%", value)  # `27% of OpenAI` must not lose `of OpenAI`
    value = QUOTE_MACRO.sub(lambda m: f"“{m[1]}”", value)
    value = FORMATTING_MACROS.sub("{", value)
    for macro, replacement in WORD_MACROS.items():
        value = re.sub(re.escape(macro) + r"(?![A-Za-z])\s?", replacement, value)
    leftover = LEFTOVER_MACRO.findall(str(Text.from_latex(value))) if "\\" in value else []
    if leftover:
        diag.warning(path, line, None, f'entry "{key}": {name} uses the TeX command '
                     f"\\{leftover[0]}, which the web page cannot show; it is left out",
                     "bib.tex-command")
        value = LEFTOVER_MACRO.sub("", value)
    return value


def year_labels(bibliography: Bibliography, numbers: dict[str, int]) -> dict[str, str]:
    """Each entry's author-date year, with a, b, … where names and year are the same.

    The letters follow the bibliography's order (by author, year, title), so "Becker 1984a"
    is listed before "Becker 1984b".
    """
    keys = sorted(numbers, key=numbers.get)
    entries = [bibliography.data.entries[key] for key in keys]
    return dict(zip(keys, AuthorYearLabelStyle().format_labels(entries)))


def format_bibliography(bibliography: Bibliography, numbers: dict[str, int], language: str,
                        citation_style: str = "numeric") -> dict[str, FormattedEntry]:
    """Format every numbered entry for one page language and style; keyed by BibTeX key."""
    format_entry = entry_formatter(bibliography, numbers, (language,), citation_style)
    return {key: format_entry(key)[language] for key in numbers}


def entry_formatter(bibliography: Bibliography, numbers: dict[str, int],
                    languages: tuple[str, ...], citation_style: str = "numeric"
                    ) -> Callable[[str], dict[str, FormattedEntry]]:
    """A function formatting one numbered entry for each of these page languages.

    An entry is formatted for the first language; only an entry whose formatting asked for
    the page's language (an access note, a described title, an English title, "n.d.") is
    formatted again for the others. Most sources read the same on every page.
    """
    years = year_labels(bibliography, numbers)
    memo: dict = {}  # the parts of entries that read the same in every language
    styles = {code: KakehashiStyle(code, citation_style,
                                   years if citation_style == "author-date" else {}, memo)
              for code in languages}
    html, plain, text = HtmlBackend(), PlainHtmlBackend(), TextBackend()
    order = {key: position for position, key in enumerate(numbers, start=1)}

    def format_entry(key: str) -> dict[str, FormattedEntry]:
        if order[key] % PROGRESS_EVERY == 0:  # whichever worker formats it says so
            LOG.info("Formatting the bibliography: entry %d of %d", order[key], len(numbers))
        entry = bibliography.data.entries[key]
        formatted, rendered = {}, None
        for code, style in styles.items():
            if rendered is None or styles[languages[0]].consulted:
                style.consulted = False
                rich = style.format_entry(str(numbers[key]), entry, bib_data=bibliography.data).text
                rendered = (rich.render(html), rich.render(plain), rich.render(text))
            formatted[code] = FormattedEntry(
                key=key, number=numbers[key], html=rendered[0], html_plain=rendered[1],
                text=rendered[2], language=entry_language(entry), names=short_names(entry),
                year=years[key] or UI[code]["no_date"])
        return formatted
    return format_entry

