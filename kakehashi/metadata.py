"""Format stage: the report's own metadata, for readers, for citing and for search engines.

`describe_report(config, language)` takes `site.toml`'s `[report]` (authors with names per
language, affiliations and ORCID iDs; date, version, licence, DOI) and gives a
`ReportDescription` for one page language: the authors and facts as the index page and
the PDF's first page show them, the report formatted as a reference by Kakehashi's own
pybtex style, its BibTeX entry, the `citation_*` meta tags Google Scholar reads, and the
JSON-LD (schema.org `Report`) and Open Graph data every page carries.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pybtex.backends.plaintext import Backend as TextBackend
from pybtex.database import Entry, Person

from .bibstyle import HtmlBackend, KakehashiStyle, format_date
from .config import Author, SiteConfig

BIBTEX_SPECIAL = re.compile(r"([\\{}%&$#_])")
LOCALES = {"ja": "ja_JP", "en": "en_US"}
LANGUAGE_NAMES = {"ja": "japanese", "en": "english"}


@dataclass(frozen=True)
class Byline:
    """One author as a page shows them."""

    name: str  # "山田太郎", "Taro Yamada", or an organisation's name
    affiliation: str  # in the page's language, "" when none
    orcid: str  # "0000-0002-1825-0097", or ""
    person: bool  # a person (written "Family, Given"), not an organisation


@dataclass(frozen=True)
class ReportDescription:
    """The report's metadata in one page language."""

    language: str  # "ja" or "en"
    title: str  # the report's title in this language
    description: str  # its description
    url: str  # absolute URL of the language's index page
    bylines: tuple[Byline, ...]  # the authors
    date: str  # ISO publication date, or ""
    date_shown: str  # the date as the page writes it: 2025年11月28日 / 28 November 2025
    version: str
    license: str
    license_url: str
    doi: str
    reference_html: str  # the report as a formatted reference (HTML)
    reference_text: str  # the same as plain text
    bibtex: str  # its BibTeX entry
    authors_written: tuple[str, ...] = ()  # "Yamada, Taro", as written in site.toml

    @property
    def shown(self) -> bool:
        """Whether there is anything beyond the title to show (a `[report]` table)."""
        return bool(self.bylines or self.date or self.version or self.license or self.doi)

    def citation_tags(self, pdf_url: str | None) -> list[tuple[str, str]]:
        """Google Scholar's `citation_*` meta tags, in the order it reads them."""
        tags = [("citation_title", self.title)]
        for author, byline in zip(self.authors_written, self.bylines):
            tags.append(("citation_author", author))
            if byline.affiliation:
                tags.append(("citation_author_institution", byline.affiliation))
            if byline.orcid:
                tags.append(("citation_author_orcid", f"https://orcid.org/{byline.orcid}"))
        if self.date:
            tags.append(("citation_publication_date", self.date.replace("-", "/")))
        tags.append(("citation_language", self.language))
        if self.doi:
            tags.append(("citation_doi", self.doi))
        tags.append(("citation_abstract_html_url", self.url))
        if pdf_url:
            tags.append(("citation_pdf_url", pdf_url))
        return tags

    def open_graph(self, page_url: str, page_title: str, description: str, article: bool,
                   alternates: list[str]) -> list[tuple[str, str]]:
        """Open Graph properties of one page."""
        tags = [("og:type", "article" if article else "website"), ("og:title", page_title),
                ("og:description", description), ("og:url", page_url),
                ("og:site_name", self.title), ("og:locale", LOCALES[self.language])]
        tags += [("og:locale:alternate", LOCALES[code]) for code in alternates
                 if code != self.language]
        if article and self.date:
            tags.append(("article:published_time", self.date))
        if article:
            tags += [("article:author", byline.name) for byline in self.bylines]
        return tags

    def json_ld(self, page_url: str, page_title: str, kind: str) -> dict:
        """schema.org data of one page: the `Report` itself, or a `WebPage` that is part of it."""
        report: dict = {"@type": "Report", "name": self.title, "inLanguage": self.language,
                        "url": self.url}
        if self.description:
            report["description"] = self.description
        if self.bylines:
            report["author"] = [person_ld(byline) for byline in self.bylines]
        if self.date:
            report["datePublished"] = self.date
        if self.version:
            report["version"] = self.version
        if self.license_url or self.license:
            report["license"] = self.license_url or self.license
        if self.doi:
            report["identifier"] = {"@type": "PropertyValue", "propertyID": "DOI",
                                    "value": self.doi}
            report["sameAs"] = f"https://doi.org/{self.doi}"
        if kind == "report":
            return {"@context": "https://schema.org", **report, "url": page_url}
        return {"@context": "https://schema.org", "@type": "WebPage", "name": page_title,
                "inLanguage": self.language, "url": page_url, "isPartOf": report}


def person_ld(byline: Byline) -> dict:
    """An author as schema.org `Person` or `Organization`."""
    data: dict = {"@type": "Person" if byline.person else "Organization", "name": byline.name}
    if byline.affiliation:
        data["affiliation"] = {"@type": "Organization", "name": byline.affiliation}
    if byline.orcid:
        data["identifier"] = f"https://orcid.org/{byline.orcid}"
    return data


def pybtex_person(written: str) -> Person:
    """`Family, Given` as a person; a name without a comma as an organisation, kept whole."""
    return Person(written) if "," in written else Person("{" + written + "}")


def describe_report(config: SiteConfig, language: str) -> ReportDescription:
    """Everything the pages say about the report itself, in one language."""
    meta = config.report
    style = KakehashiStyle(language, config.citation_style,
                           {"report": meta.date[:4]} if meta.date else {})
    text = TextBackend()
    written = tuple(author.names[language] for author in meta.authors)
    bylines = tuple(byline(author, language, style, text) for author in meta.authors)
    url = f"{config.base_url}{language}/"
    title = config.language(language).title
    fields = {"title": title, "type": "resreport", "url": url,
              "language": LANGUAGE_NAMES[language]}
    for name, value in (("date", meta.date), ("version", meta.version), ("doi", meta.doi)):
        if value:
            fields[name] = value
    entry = Entry("report", fields=fields,
                  persons={"author": [pybtex_person(name) for name in written]} if written else {})
    entry.key = "report"
    rich = style.format_entry("", entry).text
    return ReportDescription(
        language=language, title=title, description=config.language(language).description,
        url=url, bylines=bylines, date=meta.date,
        date_shown=format_date(meta.date, language) if meta.date else "",
        version=meta.version, license=meta.license, license_url=meta.license_url, doi=meta.doi,
        reference_html=rich.render(HtmlBackend()), reference_text=rich.render(text),
        bibtex=bibtex_entry(config, language, written), authors_written=written)


def byline(author: Author, language: str, style: KakehashiStyle, text: TextBackend) -> Byline:
    """One author's name in the page's language, formatted as the bibliography names people."""
    written = author.names[language]
    person = "," in written
    formatted = style.format_name(pybtex_person(written))  # rich text, or a template node
    formatted = formatted.format_data({}) if hasattr(formatted, "format_data") else formatted
    name = formatted.render(text) if person else written
    return Byline(name, author.affiliations.get(language, ""), author.orcid, person)


def bibtex_entry(config: SiteConfig, language: str, authors: tuple[str, ...]) -> str:
    """The report's BibTeX entry in one language (biblatex `@report`, BibTeX-readable)."""
    meta = config.report
    lines = [f"@report{{{bibtex_key(config)},"]
    if authors:
        lines.append("  author   = {" + " and ".join(
            bibtex_escape(name) if "," in name else "{" + bibtex_escape(name) + "}"
            for name in authors) + "},")
    lines.append(f"  title    = {{{{{bibtex_escape(config.language(language).title)}}}}},")
    lines.append("  type     = {" + ("研究報告" if language == "ja" else "Research report") + "},")
    if meta.date:
        lines.append(f"  date     = {{{meta.date}}},")
        lines.append(f"  year     = {{{meta.date[:4]}}},")
    if meta.version:
        lines.append(f"  version  = {{{bibtex_escape(meta.version)}}},")
    if meta.doi:
        lines.append(f"  doi      = {{{bibtex_escape(meta.doi)}}},")
    lines.append(f"  url      = {{{config.base_url}{language}/}},")
    lines.append(f"  language = {{{LANGUAGE_NAMES[language]}}},")
    lines.append("}")
    return "\n".join(lines)


def bibtex_key(config: SiteConfig) -> str:
    """`yamada-2025`: the first author's ASCII family name and the year, or `report-2025`."""
    meta = config.report
    year = meta.date[:4]
    names = [author.names.get("en") or next(iter(author.names.values())) for author in meta.authors]
    first = names[0].split(",")[0] if names else ""
    ascii_name = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "report"
    return "-".join(part for part in (slug, year) if part)


def bibtex_escape(value: str) -> str:
    """A value safe inside BibTeX braces: TeX's special characters escaped."""
    return BIBTEX_SPECIAL.sub(r"\\\1", value)
