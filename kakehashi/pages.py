"""Plan stage: every page of the site as frozen data, before anything is rendered.

Takes the `Site` (what loading, resolving, formatting and Markdown gave) and whether pages
link to the PDFs; gives a `SitePlan`: one `Page` per output file, with its path, URL, template and
a frozen content record (`SectionContent`, `BibliographyContent`…) holding exactly what its
template shows, plus each language's list of sections for the navigation. Links are site
URLs (`/ja/memo-leak/`) here; `Page.href` makes them relative when the page is rendered.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit

from .bibliography import FormattedEntry
from .config import LanguageConfig, SiteConfig
from .content import Section
from .markdown_ext import RenderedSection, ref_id
from .metadata import ReportDescription, describe_report
from .stages import Site, partner_language

UNLISTED = {"404.html", "search.html"}  # not in the sitemap: no content of their own


@dataclass(frozen=True)
class Chapter:
    """A section as the lists of sections show it, in one page language."""

    slug: str  # URL segment, the same in every language
    number: int  # 1-based position in reading order
    url: str  # e.g. "/ja/memo-leak/"
    title: str  # in the page language, or in another when not translated
    summary: str  # may be empty
    translated: bool  # False: the section is listed under its title in another language


@dataclass(frozen=True)
class BackLink:
    """One place that cites an entry: a paragraph of a section, at its first citation there."""

    url: str  # e.g. "/ja/memo-leak/#cite-3"
    print_anchor: str  # the same citation's id on the print page
    section: int  # the citing section's number
    title: str  # the citing section's title
    paragraph: int  # 1-based block of the section
    times: int  # how often that paragraph cites the entry


@dataclass(frozen=True)
class BibliographyItem:
    """One entry of a bibliography list, with every place that cites it."""

    entry: FormattedEntry  # the formatted entry
    id: str  # its fragment, e.g. "ref-altman-memo"
    backlinks: tuple[BackLink, ...]  # in reading order
    count: int  # citations in all (the back-links' `times` added up)


@dataclass(frozen=True)
class PrintSection:
    """One section on the one-page print version."""

    slug: str  # also the section's id on the print page
    title: str  # in the page language
    utf8: bytes  # the body, its ids prefixed with the slug (`RenderedSection.print_html`)

    @property
    def html(self) -> str:
        """The body as the print page shows it."""
        return self.utf8.decode()


@dataclass(frozen=True)
class IndexContent:
    """The language's home page: the report's title and its table of contents."""

    language: LanguageConfig
    sections: tuple[Chapter, ...]


@dataclass(frozen=True)
class SectionContent:
    """A section page, or its not-translated notice when `body` is None."""

    chapter: Chapter
    body: RenderedSection | None  # None: not translated into the page language
    previous: Chapter | None
    next: Chapter | None
    available: tuple[str, ...]  # languages the section exists in (for the notice)
    parallel_url: str | None = None  # its side-by-side page, when the partner language has it
    parallel_partner: str | None = None  # the language shown beside the page's there


@dataclass(frozen=True)
class ParallelRow:
    """One row of a side-by-side page: a block (or two) of each column, "" where none."""

    utf8: tuple[bytes, bytes]  # each cell's HTML, in column order (the page language first)
    kind: str  # the kind of its first block ("h2", "p", "list", "notes"…), for styling

    @property
    def cells(self) -> tuple[str, str]:
        """The cells' HTML, as the page shows it ("" where none)."""
        return tuple(cell.decode() for cell in self.utf8)


@dataclass(frozen=True)
class ParallelContent:
    """A section in two languages side by side; one column is empty if a translation is missing."""

    chapter: Chapter  # the section in the page language, as the lists show it
    columns: tuple[str, str]  # the two languages, the page language first
    original: str  # the report's default language: stacked first on narrow screens
    titles: tuple[str, str]  # the section's title in each column ("" where it is missing)
    section_urls: tuple[str | None, str | None]  # each column's section page (None: missing)
    rows: tuple[ParallelRow, ...]
    previous: Chapter | None  # the previous section's side-by-side page
    next: Chapter | None


@dataclass(frozen=True)
class BibliographyContent:
    """The bibliography page: cited entries first, then the uncited ones."""

    cited: tuple[BibliographyItem, ...]
    uncited: tuple[BibliographyItem, ...]


@dataclass(frozen=True)
class PrintContent:
    """The whole report on one page, with its bibliography."""

    language: LanguageConfig
    print_sections: tuple[PrintSection, ...]
    cited: tuple[BibliographyItem, ...]
    uncited: tuple[BibliographyItem, ...]


@dataclass(frozen=True)
class SearchContent:
    """The search page: its form, and the results `static/search.js` puts under it."""

    language: LanguageConfig


@dataclass(frozen=True)
class SitemapEntry:
    """One page in sitemap.xml with its language alternates."""

    url: str  # the page's site URL
    alternates: dict[str, str]  # language -> the same page's URL in it; {} for the chooser
    default_url: str  # the x-default alternate


@dataclass(frozen=True)
class SitemapContent:
    """Every page but the 404 page."""

    pages: tuple[SitemapEntry, ...]


@dataclass(frozen=True)
class NoContent:
    """A page whose template needs only what every page has (the chooser, 404)."""


@dataclass(frozen=True)
class Page:
    """One output file, fully described before anything is rendered."""

    output_path: str  # inside the output folder, e.g. "ja/memo-leak/index.html"
    url: str  # site-relative URL, e.g. "/ja/memo-leak/"
    template: str  # the Jinja template
    lang: str | None  # the page language; None for the chooser, 404 and sitemap
    alternates: tuple[tuple[str, str], ...]  # (language, URL) of this page in each language
    default_url: str  # the x-default alternate
    pdf_url: str | None  # LANG/report.pdf when the pdf command builds
    base_url: str  # the site's absolute URL, for canonical and hreflang links
    base_path: str | None  # set for the 404 page, which is served at any depth: links from it
    content: object  # the template's own data: one of the *Content records above

    def href(self, target: str) -> str:
        """A link from this page to a site URL: relative, or under the base path for 404."""
        if self.base_path is not None:
            return self.base_path + target.lstrip("/")
        return relative_href(self.url, target)

    def absolute(self, target: str) -> str:
        """A site URL as an absolute URL (canonical, hreflang)."""
        return self.base_url + target.lstrip("/")


@dataclass(frozen=True)
class SitePlan:
    """Every page, and what all pages share: the navigation's sections, the report's metadata."""

    config: SiteConfig  # site.toml
    pages: tuple[Page, ...]  # in a fixed order: the chooser, 404, then each language's
    chapters: dict[str, tuple[Chapter, ...]]  # language -> its sections in reading order
    navigation_limit: int  # up to this many sections, the navigation lists them all
    reports: dict[str, ReportDescription]  # language -> the report's authors, date, citation


def relative_href(from_url: str, to_url: str) -> str:
    """A link from one site URL to another that works under any sub-path."""
    target, _, fragment = to_url.partition("#")
    if not target:
        return f"#{fragment}"
    here = [part for part in from_url[:from_url.rfind("/") + 1].split("/") if part]
    there = [part for part in target.split("/") if part]
    shared = 0
    for mine, theirs in zip(here, there):
        if mine != theirs:
            break
        shared += 1
    href = "/".join([".."] * (len(here) - shared) + there[shared:]) or "."
    if target.endswith("/") and not href.endswith("/"):
        href += "/"
    if href == "./" and fragment:
        href = ""
    return href + (f"#{fragment}" if fragment else "")


def plan_site(site: Site, pdf_links: bool = False) -> SitePlan:
    """Every page of the site with its content; nothing rendered or written yet."""
    config = site.config
    by_language = {(section.slug, section.language): section for section in site.report.sections}
    chapters = {code: plan_chapters(site.report.slugs, by_language, code, config)
                for code in config.language_codes}
    pages = [make_page(config, pdf_links, "/", "chooser.html", None, NoContent()),
             make_page(config, pdf_links, "/404.html", "404.html", None, NoContent())]
    for code in config.language_codes:
        language, chapter_list = config.language(code), chapters[code]
        pages.append(make_page(config, pdf_links, f"/{code}/", "index.html", code,
                               IndexContent(language, chapter_list)))
        partner = partner_language(code, config)
        for position, chapter in enumerate(chapter_list):
            body = site.rendered.get((chapter.slug, code))
            side_by_side = parallel_url(chapter, code, partner, site)
            pages.append(make_page(config, pdf_links, chapter.url,
                                   "section.html" if body else "missing.html", code, SectionContent(
                                       chapter, body,
                                       chapter_list[position - 1] if position else None,
                                       chapter_list[position + 1] if position + 1 < len(chapter_list)
                                       else None,
                                       tuple(other for other in config.language_codes if other != code
                                             and (chapter.slug, other) in by_language),
                                       side_by_side, partner if side_by_side else None)))
        if partner is not None:
            pages += [make_page(config, pdf_links, f"/{code}/parallel/{chapter.slug}/",
                                "parallel.html", code,
                                plan_parallel(site, chapter_list, position, code, partner))
                      for position, chapter in enumerate(chapter_list)]
        cited, uncited = bibliography_items(site.entries[code], site.rendered, chapter_list, code)
        pages.append(make_page(config, pdf_links, f"/{code}/bibliography/", "bibliography.html",
                               code, BibliographyContent(cited, uncited)))
        prints = tuple(PrintSection(chapter.slug, chapter.title,
                                    site.rendered[chapter.slug, code].print_html)
                       for chapter in chapter_list if chapter.translated)
        pages.append(make_page(config, pdf_links, f"/{code}/print/", "print.html", code,
                               PrintContent(language, prints, cited, uncited)))
        pages.append(make_page(config, pdf_links, f"/{code}/search/", "search.html", code,
                               SearchContent(language)))
    sitemap = tuple(SitemapEntry(page.url, dict(page.alternates), page.default_url)
                    for page in pages if page.template not in UNLISTED)
    pages.append(make_page(config, pdf_links, "/sitemap.xml", "sitemap.xml", None,
                           SitemapContent(sitemap)))
    reports = {code: describe_report(config, code) for code in config.language_codes}
    return SitePlan(config, tuple(pages), chapters, config.navigation_limit, reports)


def make_page(config: SiteConfig, pdf_links: bool, url: str, template: str, lang: str | None,
              content: object) -> Page:
    """One page at `url`, with its alternates in every language."""
    alternates = tuple((code, url.replace(f"/{lang}/", f"/{code}/", 1))
                       for code in config.language_codes) if lang else ()
    default_url = "/" if url == f"/{lang}/" else dict(alternates).get(config.default_language, url)
    served_anywhere = template == "404.html"  # GitHub Pages serves it at any depth
    return Page(
        output_path=url.lstrip("/") + ("index.html" if url.endswith("/") else ""),
        url=url, template=template, lang=lang, alternates=alternates, default_url=default_url,
        pdf_url=f"/{lang}/report.pdf" if pdf_links and lang else None,
        base_url=config.base_url,
        base_path=(urlsplit(config.base_url).path or "/") if served_anywhere else None,
        content=content)


def plan_chapters(slugs: tuple[str, ...], by_language: dict[tuple[str, str], Section],
                  code: str, config: SiteConfig) -> tuple[Chapter, ...]:
    """The sections in reading order as the lists of sections show them, in one language."""
    chapters = []
    for number, slug in enumerate(slugs, start=1):
        section = by_language.get((slug, code))
        shown = section or next(by_language[slug, other] for other in config.language_codes
                                if (slug, other) in by_language)
        chapters.append(Chapter(slug, number, f"/{code}/{slug}/", shown.title,
                                section.summary if section else "", section is not None))
    return tuple(chapters)


def parallel_url(chapter: Chapter, code: str, partner: str | None, site: Site) -> str | None:
    """The link from a section page to its side-by-side page: only when both languages have it."""
    if partner is None or not {(chapter.slug, code), (chapter.slug, partner)} <= set(site.rendered):
        return None
    return f"/{code}/parallel/{chapter.slug}/"


def plan_parallel(site: Site, chapters: tuple[Chapter, ...], position: int, code: str,
                  partner: str) -> ParallelContent:
    """One section side by side: the page language's column first, rows as aligned.

    The alignment pairs the original (default language) with each translation; on the
    original's own pages, the partner is its first translation.
    """
    chapter, slug = chapters[position], chapters[position].slug
    columns = (code, partner)
    sides = [site.rendered.get((slug, language)) for language in columns]
    original = site.config.default_language
    aligned = site.alignments.get((slug, partner if code == original else code))
    if aligned is None:  # one language only (or neither, in a third): its blocks on rows alone
        shown = sides[0] or sides[1]
        pairs = [((index,), ()) if sides[0] else ((), (index,))
                 for index in range(len(shown.blocks) if shown else 0)]
    else:  # the alignment's rows run original first
        pairs = [(row.first, row.second) if code == original else (row.second, row.first)
                 for row in aligned]
    rows = []
    for pair in pairs:
        cells = [[sides[side].blocks[index] for index in pair[side]] for side in (0, 1)]
        rows.append(ParallelRow(tuple(b"\n".join(block.html for block in cell) for cell in cells),
                                next(cell[0].kind for cell in cells if cell)))

    def beside(other: int) -> Chapter | None:
        if not 0 <= other < len(chapters):
            return None
        return dataclasses.replace(chapters[other], url=f"/{code}/parallel/{chapters[other].slug}/")
    return ParallelContent(
        chapter, columns, original,
        tuple(side.section.title if side else "" for side in sides),
        tuple(f"/{language}/{slug}/" if side else None for language, side in zip(columns, sides)),
        tuple(rows), beside(position - 1), beside(position + 1))


def bibliography_items(entries: dict[str, FormattedEntry],
                       rendered: dict[tuple[str, str], RenderedSection],
                       chapters: tuple[Chapter, ...], code: str
                       ) -> tuple[tuple[BibliographyItem, ...], tuple[BibliographyItem, ...]]:
    """The bibliography's entries, cited and uncited, each with its back-links.

    One back-link per citing place (section and paragraph), to its first citation there;
    `times` says how often the place cites the entry, so the links add up to `count`.
    """
    titles = {chapter.slug: chapter for chapter in chapters}
    places: dict[str, dict[tuple[str, int], list]] = {}  # key -> (slug, paragraph) -> [site, times]
    for chapter in chapters:
        if chapter.translated:
            for cite in rendered[chapter.slug, code].sites:
                place = places.setdefault(cite.key, {}).setdefault((cite.slug, cite.paragraph),
                                                                    [cite, 0])
                place[1] += 1
    cited, uncited = [], []
    for entry in sorted(entries.values(), key=lambda entry: entry.number):
        links = tuple(BackLink(f"{titles[cite.slug].url}#{cite.anchor}", f"{cite.slug}-{cite.anchor}",
                               titles[cite.slug].number, titles[cite.slug].title, cite.paragraph,
                               times)
                      for cite, times in places.get(entry.key, {}).values())
        item = BibliographyItem(entry, ref_id(entry.key), links, sum(link.times for link in links))
        (cited if links else uncited).append(item)
    return tuple(cited), tuple(uncited)
