"""Load stage: read `content/site.toml` into a `SiteConfig`.

Takes the content folder's `site.toml`; gives a frozen `SiteConfig`. Unknown keys are
errors with their line, so a typo is never silently ignored.
"""

from __future__ import annotations

import datetime
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .diagnostics import Diagnostics

SUPPORTED_LANGUAGES = ("ja", "en")
NAVIGATION_LIMIT = 40  # up to this many sections, every page's navigation lists them all
TOP_LEVEL_KEYS = {
    "default_language": str,
    "base_url": str,
    "bibliography_file": str,
    "citation_numbering": str,
    "citation_style": str,
    "bibliography": str,
    "allow_missing_translations": bool,
    "navigation_limit": int,
    "silence": list,
    "languages": dict,
    "report": dict,
}
LANGUAGE_KEYS = {"title": str, "description": str}
REPORT_KEYS = {"date": (str, datetime.date), "version": str, "license": str, "license_url": str,
               "doi": str, "authors": list}
AUTHOR_KEYS = {"name": (str, dict), "affiliation": (str, dict), "orcid": str}
ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
AUTHORS_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*report\.authors[ \t]*\]\]", re.MULTILINE)
CHOICES = {
    "citation_style": ("numeric", "author-date"),
    "citation_numbering": ("bibliography", "first-cited"),
    "bibliography": ("all", "cited"),
}
TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
TOML_TABLE = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+")
SILENCE_RULE = re.compile(r"^(?:[^:]+:)?[a-z0-9]+(?:[.-][a-z0-9]+)+$")
# C0 and C1 controls except tab and newline, bidi embeddings/overrides/isolates,
# and the noncharacters U+FFFE/U+FFFF (ZWJ, ZWNJ and the like are legitimate text).
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
MAX_INVISIBLE_REPORTS = 10
TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


@dataclass(frozen=True)
class LanguageConfig:
    """One language the report is published in."""

    code: str  # "ja" or "en"
    title: str  # the report's title in this language
    description: str  # one or two sentences shown on the language's index page


@dataclass(frozen=True)
class Author:
    """One author of the report, as `[[report.authors]]` gives them."""

    names: dict[str, str]  # language -> "Family, Given" (BibTeX order) or an organisation's name
    affiliations: dict[str, str]  # language -> affiliation ("" when none)
    orcid: str  # "0000-0002-1825-0097", or ""


@dataclass(frozen=True)
class ReportMeta:
    """The report's own metadata (`[report]`): what readers need to cite it."""

    authors: tuple[Author, ...] = ()
    date: str = ""  # publication date, ISO "2025-11-28"
    version: str = ""  # "1.0"
    license: str = ""  # "CC BY 4.0"
    license_url: str = ""  # http(s) address of the licence text
    doi: str = ""  # "10.5281/zenodo.1234567" (without the https://doi.org/)

    def __bool__(self) -> bool:
        return bool(self.authors or self.date or self.version or self.license or self.doi)


@dataclass(frozen=True)
class SiteConfig:
    """Everything `site.toml` says, with defaults filled in."""

    path: Path  # the site.toml file
    content_dir: Path  # the folder holding site.toml, references.bib and sections/
    default_language: str  # the language of `x-default` and of first-cited numbering
    base_url: str  # absolute URL of the published site, ending in "/"
    bibliography_file: str  # relative to content_dir
    citation_numbering: str  # "bibliography" or "first-cited"
    bibliography: str  # "all" or "cited"
    allow_missing_translations: bool  # a missing section file gives a notice page, not an error
    languages: tuple[LanguageConfig, ...]  # default language first
    silence: tuple[str, ...] = ()  # warning codes silenced everywhere, or as "FILE:CODE"
    citation_style: str = "numeric"  # "numeric" ([1]) or "author-date" ((Becker 1984))
    report: ReportMeta = ReportMeta()  # authors, date, version, licence, DOI
    navigation_limit: int = NAVIGATION_LIMIT  # sections every page lists in full; beyond, neighbours

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages)

    def language(self, code: str) -> LanguageConfig:
        """The configuration of one declared language."""
        return next(language for language in self.languages if language.code == code)

    @property
    def bibliography_path(self) -> Path:
        return self.content_dir / self.bibliography_file


def read_text(path: Path, diag: Diagnostics) -> str | None:
    """A user file as NFC text with LF line endings; None (and an error) if not UTF-8.

    Control characters, bidirectional overrides and noncharacters are reported at their
    line and column: they are invisible in an editor and must not reach the site.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        diag.error(path, None, None, f"cannot read this file: {exc.strerror}", "file.unreadable")
        return None
    encoding = utf16_encoding(data)
    if encoding:
        diag.error(path, None, None, f"this file is {encoding}, not UTF-8; save it as UTF-8",
                   "file.not-utf8")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        diag.error(path, line, None, f"this file is not UTF-8 (byte 0x{data[exc.start]:02x}); "
                   "save it as UTF-8", "file.not-utf8")
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFC", text)
    report_invisible_characters(path, text, diag)
    return text


def utf16_encoding(data: bytes) -> str | None:
    """"UTF-16 (little-endian)" and the like when the bytes are UTF-16 text, else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        order = "little" if data.startswith(b"\xff\xfe") else "big"
        return f"UTF-16 ({order}-endian, with a byte-order mark)"
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > half * 0.3 and even < half * 0.05:
        return "UTF-16 (little-endian)"
    if even > half * 0.3 and odd < half * 0.05:
        return "UTF-16 (big-endian)"
    return None


def report_invisible_characters(path: Path, text: str, diag: Diagnostics) -> None:
    """Errors for control characters and noncharacters, warnings for bidi controls."""
    reported = 0
    for match in INVISIBLE.finditer(text):
        char = match[0]
        line = text.count("\n", 0, match.start()) + 1
        col = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        what = f"U+{ord(char):04X} ({unicodedata.name(char, 'a control character')})"
        if char in BIDI_CONTROLS:
            diag.warning(path, line, col, f"invisible bidirectional control {what}: it reorders "
                         "the text around it on screen; delete it unless you mean it",
                         "file.bidi-control")
        else:
            diag.error(path, line, col, f"invisible character {what} in the text; delete it "
                       "(it would be copied into the site)", "file.control-character")
        reported += 1
        if reported == MAX_INVISIBLE_REPORTS:
            rest = len(INVISIBLE.findall(text)) - reported
            if rest:
                diag.error(path, None, None, f"{rest} more invisible characters in this file "
                           "(not listed)", "file.control-character")
            return


def load_config(path: Path, diag: Diagnostics, base_url: str | None = None) -> SiteConfig | None:
    """Read and validate `site.toml`; None when it cannot be used at all."""
    if not path.is_file():
        diag.error(path, None, None, "site.toml is missing; every content folder needs one "
                   "(see the README, 'Configuration')", "config.missing")
        return None
    text = read_text(path, diag)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except RecursionError:
        diag.error(path, None, None, "site.toml nests arrays or tables too deeply to read; "
                   "flatten it", "config.syntax")
        return None
    except tomllib.TOMLDecodeError as exc:
        match = TOML_POSITION.search(str(exc))
        line, col = (int(match[1]), int(match[2])) if match else (None, None)
        message = TOML_POSITION.sub("", str(exc)).strip()
        diag.error(path, line, col, f"invalid TOML: {message}", "config.syntax")
        return None

    lines = key_lines(text)
    errors_before = len(diag.errors)
    check_keys(data, TOP_LEVEL_KEYS, (), path, lines, diag)
    for option, allowed in CHOICES.items():
        if option in data and data[option] not in allowed:
            choices = " or ".join(f'"{choice}"' for choice in allowed)
            diag.error(path, lines.get(((), option)), None,
                       f'{option} must be {choices}, not "{data[option]}"', "config.bad-value")

    languages_table = data.get("languages", {})
    languages = []
    for code, table in languages_table.items() if isinstance(languages_table, dict) else ():
        where = lines.get((("languages",), code)) or lines.get(((), "languages"))
        if code not in SUPPORTED_LANGUAGES:
            diag.error(path, where, None, f'language "{code}" is not supported; use '
                       + " or ".join(SUPPORTED_LANGUAGES), "config.unknown-language")
            continue
        if not isinstance(table, dict):
            diag.error(path, where, None, f"[languages.{code}] must be a table", "config.bad-type")
            continue
        check_keys(table, LANGUAGE_KEYS, ("languages", code), path, lines, diag)
        if not isinstance(table.get("title"), str) or not table.get("title", "").strip():
            diag.error(path, where, None, f"[languages.{code}] needs a title", "config.missing-title")
        languages.append(LanguageConfig(code, str(table.get("title", "")),
                                        str(table.get("description", ""))))

    default = data.get("default_language", "ja")
    if not languages:
        diag.error(path, 1, None, "declare at least one language, e.g. [languages.ja] with a "
                   "title", "config.no-languages")
    elif default not in [language.code for language in languages]:
        diag.error(path, lines.get(((), "default_language"), 1), None,
                   f'default_language "{default}" is not declared; add [languages.{default}]',
                   "config.undeclared-default")
    silence = data.get("silence", [])
    for rule in silence if isinstance(silence, list) else ():
        if not isinstance(rule, str) or not SILENCE_RULE.match(rule):
            diag.error(path, lines.get(((), "silence")), None, f"silence: {rule!r} is not a "
                       'warning code ("check.drift") or FILE:CODE '
                       '("sections/01-intro.en.md:check.number-parity")', "config.bad-value")
    report = load_report_meta(data.get("report", {}), [lang.code for lang in languages], path,
                              text, lines, diag)
    limit = data.get("navigation_limit", NAVIGATION_LIMIT)
    if isinstance(limit, int) and (isinstance(limit, bool) or limit < 1):
        diag.error(path, lines.get(((), "navigation_limit")), None, "navigation_limit must be a "
                   f"number of sections, 1 or more (default {NAVIGATION_LIMIT})", "config.bad-value")
    if len(diag.errors) > errors_before:
        return None

    languages.sort(key=lambda language: language.code != default)
    url = base_url if base_url is not None else data.get("base_url", "/")
    if not valid_base_url(url):
        where = "--base-url" if base_url is not None else None
        diag.error(path if where is None else "--base-url",
                   lines.get(((), "base_url")) if where is None else None, None,
                   f'base_url "{url}" must be an absolute http:// or https:// address such as '
                   '"https://user.github.io/report/" (or "/" for a site served at the root)',
                   "config.bad-base-url")
        return None
    return SiteConfig(
        path=path,
        content_dir=path.parent,
        default_language=default,
        base_url=url if url.endswith("/") else url + "/",
        bibliography_file=data.get("bibliography_file", "references.bib"),
        citation_numbering=data.get("citation_numbering", "bibliography"),
        bibliography=data.get("bibliography", "all"),
        allow_missing_translations=data.get("allow_missing_translations", False),
        languages=tuple(languages),
        silence=tuple(silence),
        citation_style=data.get("citation_style", "numeric"),
        report=report,
        navigation_limit=limit,
    )


def load_report_meta(table: dict, codes: list[str], path: Path, text: str, lines: dict,
                     diag: Diagnostics) -> ReportMeta:
    """Validate `[report]` and its `[[report.authors]]`; errors at their lines."""
    if not isinstance(table, dict):
        return ReportMeta()
    check_keys(table, REPORT_KEYS, ("report",), path, lines, diag)
    where = lambda key: lines.get((("report",), key)) or lines.get(((), "report"))  # noqa: E731
    date = table.get("date", "")
    date = date.isoformat() if isinstance(date, datetime.date) else str(date)
    if date and not (ISO_DAY.match(date) and valid_day(date)):
        diag.error(path, where("date"), None, f'report.date "{date}" must be a day written '
                   "YYYY-MM-DD, e.g. 2025-11-28", "config.bad-value")
    doi = str(table.get("doi", "")).strip()
    if doi:
        match = DOI.match(doi)
        if match is None:
            diag.error(path, where("doi"), None, f'report.doi "{doi}" is not a DOI; write it as '
                       '"10.5281/zenodo.1234567"', "config.bad-value")
        doi = match[1] if match else ""
    license_url = str(table.get("license_url", ""))
    if license_url and not license_url.startswith(("http://", "https://")):
        diag.error(path, where("license_url"), None, "report.license_url must be an http:// "
                   "or https:// address", "config.bad-value")
    headers = [text.count("\n", 0, m.start()) + 1 for m in AUTHORS_HEADER.finditer(text)]
    authors = []
    written = table.get("authors", [])
    for number, author in enumerate(written if isinstance(written, list) else []):
        line = headers[number] if number < len(headers) else where("authors")
        if not isinstance(author, dict):
            diag.error(path, line, None, "each of report.authors is a table with a name",
                       "config.bad-type")
            continue
        for key, value in author.items():
            if key not in AUTHOR_KEYS:
                diag.error(path, line, None, f'unknown key "report.authors.{key}"; known keys '
                           "here: affiliation, name, orcid", "config.unknown-key")
            elif not isinstance(value, AUTHOR_KEYS[key]):
                diag.error(path, line, None, f'"report.authors.{key}" must be a string'
                           + ("" if key == "orcid" else " or a table of languages"), "config.bad-type")
        names = per_language(author.get("name"), codes)
        if not names or not all(names.get(code, "").strip() for code in codes):
            diag.error(path, line, None, "each author needs a name: name = \"Family, Given\", "
                       'or one per language: name = { ja = "山田, 太郎", en = "Yamada, Taro" }',
                       "config.missing-name")
            continue
        orcid = str(author.get("orcid", "")).strip()
        if orcid:
            match = ORCID.match(orcid)
            if match is None or not orcid_checksum_ok(match[1]):
                diag.error(path, line, None, f'ORCID "{orcid}" is not a valid ORCID iD (16 digits '
                           "as 0000-0002-1825-0097, the last one a checksum)", "config.bad-orcid")
            orcid = match[1] if match else ""
        affiliations = per_language(author.get("affiliation", ""), codes)
        authors.append(Author({code: names[code].strip() for code in codes},
                              {code: affiliations.get(code, "").strip() for code in codes}, orcid))
    return ReportMeta(tuple(authors), date, str(table.get("version", "")),
                      str(table.get("license", "")), license_url, doi)


def per_language(value, codes: list[str]) -> dict[str, str]:
    """A string for every language, or a table `{ ja = "…", en = "…" }`."""
    if isinstance(value, str):
        return {code: value for code in codes}
    if isinstance(value, dict):
        return {str(code): str(text) for code, text in value.items() if isinstance(text, str)}
    return {}


def valid_day(value: str) -> bool:
    """Whether an ISO day exists (2025-02-30 does not)."""
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 11,2, the check digit ORCID uses."""
    digits = orcid.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def valid_base_url(url: str) -> bool:
    """An absolute http(s) URL with a host and no query or fragment, or "/"."""
    if url == "/":
        return True
    split = urlsplit(url)
    return (split.scheme in ("http", "https") and bool(split.hostname) and not split.query
            and not split.fragment and not any(c.isspace() or ord(c) < 32 for c in url))


def check_keys(table: dict, allowed: dict, where: tuple[str, ...], path: Path,
               lines: dict, diag: Diagnostics) -> None:
    """Report unknown keys and values of the wrong type in one TOML table."""
    prefix = "".join(f"{part}." for part in where)
    for key, value in table.items():
        line = lines.get((where, key))
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            diag.error(path, line, None, f'unknown key "{prefix}{key}"; known keys here: {known}',
                       "config.unknown-key")
        elif not isinstance(value, allowed[key]):
            kinds = allowed[key] if isinstance(allowed[key], tuple) else (allowed[key],)
            named = " or ".join(kind.__name__ for kind in kinds)
            diag.error(path, line, None, f'"{prefix}{key}" must be a {named}', "config.bad-type")


def key_lines(text: str) -> dict[tuple[tuple[str, ...], str], int]:
    """Map (table path, key) to the 1-based line that defines it, for diagnostics."""
    lines: dict[tuple[tuple[str, ...], str], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if header := TOML_TABLE.match(line):
            parts = tuple(part.strip().strip("\"'") for part in header[1].split("."))
            for depth in range(len(parts)):
                lines.setdefault((parts[:depth], parts[depth]), number)
            table = parts
        elif key := TOML_KEY.match(line):
            parts = tuple(part.strip("\"'") for part in key[1].split("."))
            lines.setdefault((table + parts[:-1], parts[-1]), number)
    return lines
